/* rowsync.c -- parse keys, run one transaction per record, log each outcome (see rowsync.h). */
#include "vz/rowsync.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vz/hasura.h"

enum { COL_OLD, COL_NEW, COL_WROTE, COL_BRANCH, COL_MIN };

static void add_text(cJSON *o, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

/* One line per record that succeeded: key, old and new value, wrote, branch.  A failed record
 * is not logged here: its error says what failed for which key, and the runtime's outcome line
 * for the record (batch.c) carries it, so that a failure is one line holding everything. */
static void log_success(const vz_rowsync *rs, const vz_item *it, int32_t key, const vz_db_txn *t)
{
    cJSON *extra = cJSON_CreateObject();
    const char *old = t->row[COL_OLD], *new = t->row[COL_NEW], *branch = t->row[COL_BRANCH];
    bool wrote = t->row[COL_WROTE] && t->row[COL_WROTE][0] == 't';
    if (extra) {
        cJSON_AddNumberToObject(extra, "key", key);
        cJSON_AddStringToObject(extra, "keyField", rs->key_field);
        cJSON_AddStringToObject(extra, "field", rs->value_field);
        add_text(extra, "old", old);
        add_text(extra, "new", new);
        cJSON_AddBoolToObject(extra, "wrote", wrote);
        add_text(extra, "branch", branch);
        if (rs->describe)
            rs->describe(t, extra);
    }
    vz_handler_log(rs->handler, it->record, VZ_LOG_INFO, extra, "%s %s=%" PRId32 ": %s %s -> %s (%s, %s)",
                   rs->handler->name, rs->key_field, key, rs->value_field, old ? old : "NULL", new ? new : "NULL",
                   wrote ? "wrote" : "unchanged", branch ? branch : "?");
    cJSON_Delete(extra);
}

static void settle(const vz_rowsync *rs, vz_item *it, const vz_db_txn *t, int32_t key)
{
    if (t->status != VZ_OK) {
        it->status = t->status;
        vz_error_set(&it->error, t->error.type, "%s=%" PRId32 " (%s.%s): %s", rs->key_field, key, rs->table,
                     rs->value_field, t->error.message);
    } else if (t->nrows == 0) {
        it->status = VZ_ENOTFOUND;
        vz_error_set(&it->error, "Function.RowNotFound",
                     "%s %" PRId32 " does not exist in %s; nothing written (the record fails so that it "
                     "reaches the dead-letter queue after its retries)",
                     rs->key_field, key, rs->table);
    } else if (t->ncols < COL_MIN) {
        it->status = VZ_ERR;
        vz_error_set(&it->error, "Runtime.HandlerContract",
                     "the %s statement answered %d columns, expected at least %d", rs->work->name, t->ncols, COL_MIN);
    } else {
        it->status = VZ_OK;
        it->wrote = t->row[COL_WROTE] && t->row[COL_WROTE][0] == 't';
        log_success(rs, it, key, t);
    }
}

void vz_rowsync_batch(const vz_rowsync *rs, const vz_context *ctx, vz_item *items, size_t n)
{
    vz_db_txn *txns = vz_arena_calloc(ctx->arena, n ? n : 1, sizeof *txns);
    size_t *which = vz_arena_calloc(ctx->arena, n ? n : 1, sizeof *which);
    int32_t *keys = vz_arena_calloc(ctx->arena, n ? n : 1, sizeof *keys);
    if (!txns || !which || !keys) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = VZ_ENOMEM;
            vz_error_set(&items[i].error, "Runtime.OutOfMemory", "out of memory in handler %s", rs->handler->name);
        }
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t key;
        vz_error_clear(&items[i].error);
        items[i].status = vz_hasura_key(items[i].body, rs->key_field, &key, &items[i].error);
        if (items[i].status != VZ_OK)
            continue; /* the error names the field; the outcome line logs it */
        vz_db_txn *t = &txns[m];
        t->lock = rs->lock;
        t->work = rs->work;
        t->params[0] = vz_arena_sprintf(ctx->arena, "%" PRId32, key);
        if (!t->params[0]) {
            items[i].status = VZ_ENOMEM;
            vz_error_set(&items[i].error, "Runtime.OutOfMemory", "out of memory in handler %s", rs->handler->name);
            continue;
        }
        keys[m] = key;
        which[m++] = i;
    }
    if (m == 0)
        return;
    vz_error err = {{0}, {0}};
    vz_db_run(ctx, txns, m, &err); /* every txn's own status says what happened to it */
    for (size_t j = 0; j < m; j++)
        settle(rs, &items[which[j]], &txns[j], keys[j]);
}

void vz_rowsync_run_keys(const vz_rowsync *rs, const vz_context *ctx, const int32_t *keys, size_t n, bool commit,
                         vz_rowsync_outcome *out)
{
    vz_db_txn *txns = vz_arena_calloc(ctx->arena, n ? n : 1, sizeof *txns);
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].status = VZ_ENOMEM;
        vz_error_set(&out[i].error, "Runtime.OutOfMemory", "out of memory in handler %s", rs->handler->name);
    }
    if (!txns)
        return;
    for (size_t i = 0; i < n; i++) {
        /* A report (rolled back) takes no row lock: it writes nothing, so it needs no FOR UPDATE (nor
         * the UPDATE privilege PostgreSQL asks for one), and it never waits for an event's lock or holds
         * one an event waits for.  The work statement compares with the row as it is now on its own. */
        txns[i].lock = commit ? rs->lock : NULL;
        txns[i].work = rs->work;
        txns[i].rollback = !commit;
        txns[i].params[0] = vz_arena_sprintf(ctx->arena, "%" PRId32, keys[i]);
        if (!txns[i].params[0])
            return;
    }
    vz_error err = {{0}, {0}};
    vz_db_run(ctx, txns, n, &err); /* every txn's own status says what happened to it */
    for (size_t i = 0; i < n; i++) {
        vz_item it = {NULL, NULL, VZ_ERR, {{0}, {0}}, -1};
        const vz_db_txn *t = &txns[i];
        if (t->status == VZ_OK && t->nrows > 0 && t->ncols >= COL_MIN) {
            it.status = VZ_OK;
            out[i].status = VZ_OK;
            out[i].old_value = t->row[COL_OLD];
            out[i].new_value = t->row[COL_NEW];
            out[i].branch = t->row[COL_BRANCH];
            out[i].wrote = t->row[COL_WROTE] && t->row[COL_WROTE][0] == 't';
            if (commit && out[i].wrote)
                log_success(rs, &it, keys[i], t);
            continue;
        }
        settle(rs, &it, t, keys[i]); /* the failure, as an event reports it */
        out[i].status = it.status;
        out[i].error = it.error;
        vz_handler_log(rs->handler, NULL, it.status == VZ_ENOTFOUND ? VZ_LOG_WARN : VZ_LOG_ERROR, NULL, "%s: %s",
                       rs->handler->name, it.error.message);
    }
}
