/* rowsync.c -- parse keys, run one transaction per record, log each outcome (see rowsync.h).
 *
 * The work statement's answer is checked by the database before its transaction commits: the
 * statement runs wrapped (guard() below), its answer a last CTE whose rows the wrapper counts
 * and whose third column's type it checks, raising an error (hence a rollback) when there is
 * more than one row or `wrote` is not a boolean.  The check has to be in the statement: the
 * records' transactions are committed by the pipeline's Syncs, sent before any answer is read,
 * so a check in C could only see a row once it was written.  The wrapper goes around the
 * top-level WITH list's last statement, on the same line, so that an error's line number is
 * still the file's. */
#include "vz/rowsync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vz/hasura.h"

enum { COL_OLD, COL_NEW, COL_WROTE, COL_BRANCH, COL_MIN };

/* The marker of the guard's own errors (an integer cast of this text fails with it). */
#define GUARD_MARK "rowsync: "
#define GUARD_CTE "rowsync_answer"
#define GUARD_TAIL                                                                                                     \
    "\n) SELECT " GUARD_CTE ".* FROM " GUARD_CTE " WHERE CASE WHEN (SELECT count(*) FROM " GUARD_CTE ") > 1"           \
    " THEN ('" GUARD_MARK "' || (SELECT count(*) FROM " GUARD_CTE ") || ' rows')::integer IS NULL"                     \
    " WHEN pg_catalog.pg_typeof(rowsync_wrote) <> 'boolean'::regtype"                                                  \
    " THEN ('" GUARD_MARK "wrote is ' || pg_catalog.pg_typeof(rowsync_wrote)::text)::integer IS NULL"                  \
    " ELSE true END"
#define GUARD_HEAD GUARD_CTE "(rowsync_old, rowsync_new, rowsync_wrote, rowsync_branch) AS ("

/* A work statement and its guarded twin; a list, so that a twin's address never changes. */
typedef struct guarded {
    const vz_db_stmt *work;
    vz_db_stmt stmt;
    struct guarded *next;
} guarded;

static guarded *guards;

/* Past whitespace and comments (nested block comments too). */
static const char *skip_space(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 0;
            do {
                if (p[0] == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else if (*p) {
                    p++;
                } else {
                    return p;
                }
            } while (depth > 0);
        } else {
            return p;
        }
    }
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
           (unsigned char)c >= 0x80;
}

/* Past one atom at p (not space): a word, a quoted name, a string, a dollar-quoted string, or one
 * character (a parenthesis too).  NULL when the text ends inside it. */
static const char *skip_atom(const char *p)
{
    if (*p == '\'' || *p == '"' || ((*p == 'E' || *p == 'e') && p[1] == '\'')) {
        bool backslash = *p != '\'' && *p != '"';
        if (backslash)
            p++;
        const char q = *p;
        for (p++; *p; p++) {
            if (backslash && *p == '\\' && p[1]) {
                p++;
            } else if (*p == q) {
                if (p[1] != q)
                    return p + 1;
                p++;
            }
        }
        return NULL;
    }
    if (*p == '$' && !(p[1] >= '0' && p[1] <= '9')) {
        size_t n = 1;
        while (p[n] && p[n] != '$' && ident_char(p[n]))
            n++;
        if (p[n] == '$') {
            const char *end = p + n + 1;
            for (;;) {
                end = strchr(end, '$');
                if (!end)
                    return NULL;
                if (strncmp(end, p, n + 1) == 0)
                    return end + n + 1;
                end++;
            }
        }
    }
    if (ident_char(*p)) {
        while (ident_char(*p))
            p++;
        return p;
    }
    return *p ? p + 1 : NULL;
}

/* Past one token at p (not space): an atom, or a parenthesised group whole.  NULL when the text
 * ends inside it. */
static const char *skip_token(const char *p)
{
    if (*p != '(')
        return skip_atom(p);
    int depth = 0;
    while (*p) {
        if (*p == '(' || *p == ')') {
            depth += *p == '(' ? 1 : -1;
            p++;
            if (depth == 0)
                return p;
        } else if (!(p = skip_atom(p))) {
            return NULL;
        }
        p = skip_space(p);
    }
    return NULL;
}

static bool is_word(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) == n && strncasecmp(p, word, n) == 0;
}

/* Where the answering statement of sql begins (after its top-level WITH list, or sql itself when
 * there is none) and ends (before a final `;`); false when sql is not a statement this can read. */
static bool find_answer(const char *sql, const char **begin, const char **end)
{
    const char *p = skip_space(sql), *next;
    *begin = sql;
    if ((next = skip_token(p)) && is_word(p, next, "with")) {
        p = skip_space(next);
        if ((next = skip_token(p)) && is_word(p, next, "recursive"))
            p = skip_space(next);
        for (;;) {
            if (!(next = skip_token(p)) || *p == '(' || *p == ',') /* the CTE's name */
                return false;
            p = skip_space(next);
            if (*p == '(' && !(p = skip_token(p))) /* its column names */
                return false;
            p = skip_space(p);
            if (!(next = skip_token(p)) || !is_word(p, next, "as"))
                return false;
            p = skip_space(next);
            while ((next = skip_token(p)) && *p != '(' && (is_word(p, next, "not") || is_word(p, next, "materialized")))
                p = skip_space(next);
            if (*p != '(' || !(next = skip_token(p)))
                return false;
            p = skip_space(next);
            if (*p != ',')
                break;
            p = skip_space(p + 1);
        }
        *begin = p;
    }
    /* The end: after the last token that is not a `;`. */
    const char *last = NULL;
    for (p = skip_space(p); *p; p = skip_space(next)) {
        if (!(next = skip_token(p)))
            return false;
        if (*p != ';')
            last = next;
    }
    *end = last;
    return last != NULL && last > *begin;
}

/* rs's work statement wrapped in the guard (see the top of this file), made once per statement and
 * kept for the process; NULL when its text cannot be read (err says so) or memory is short. */
static vz_db_stmt *guard(const vz_rowsync *rs, vz_error *err)
{
    for (guarded *g = guards; g; g = g->next)
        if (g->work == rs->work)
            return &g->stmt;
    const char *sql = rs->work->sql, *begin, *end;
    if (!find_answer(sql, &begin, &end)) {
        vz_error_set(err, "Runtime.HandlerContract",
                     "%s: cannot find the statement's answer (a SELECT, or a WITH list then one); nothing was run",
                     rs->work->name);
        return NULL;
    }
    bool with = begin != sql;
    size_t len = (size_t)(begin - sql) + strlen(", " GUARD_HEAD) + strlen("WITH ") + (size_t)(end - begin) +
                 strlen(GUARD_TAIL) + 1;
    guarded *g = calloc(1, sizeof *g);
    char *text = malloc(len);
    if (!g || !text) {
        free(g);
        free(text);
        vz_error_set(err, "Runtime.OutOfMemory", "out of memory in handler %s", rs->handler->name);
        return NULL;
    }
    /* The WITH list as it is (its trailing space kept: line numbers stay the file's), then the answer. */
    snprintf(text, len, "%.*s%s" GUARD_HEAD "%.*s" GUARD_TAIL, (int)(begin - sql), sql, with ? ", " : "WITH ",
             (int)(end - begin), begin);
    g->work = rs->work;
    g->stmt = (vz_db_stmt){rs->work->name, text, rs->work->nparams, 0};
    g->next = guards;
    guards = g;
    return &g->stmt;
}

vz_db_stmt *vz_rowsync_work(const vz_rowsync *rs, vz_error *err)
{
    return guard(rs, err);
}

/* The guard's own error in a statement's error message, made a sentence for the record; false when
 * the message is another error. */
static bool guard_error(const vz_rowsync *rs, int32_t key, const char *msg, vz_error *out)
{
    const char *m = strstr(msg, "\"" GUARD_MARK);
    if (!m)
        return false;
    m += strlen("\"" GUARD_MARK);
    if (strncmp(m, "wrote is ", 9) == 0) {
        int n = (int)strcspn(m + 9, "\"");
        vz_error_set(out, "Runtime.HandlerContract",
                     "%s=%" PRId32 ": %s answered `wrote` (its third column) as %.*s; it must be a boolean "
                     "(EXISTS (SELECT 1 FROM written), or count(*) > 0); nothing was written",
                     rs->key_field, key, rs->work->name, n, m + 9);
    } else {
        vz_error_set(out, "Runtime.HandlerContract",
                     "%s=%" PRId32 ": %s answered %ld rows for one key; it must answer one (a join that matches "
                     "twice? pick one row: ORDER BY ... LIMIT 1, or aggregate); nothing was written",
                     rs->key_field, key, rs->work->name, strtol(m, NULL, 10));
    }
    return true;
}

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

/* Whether the answer's wrote is a boolean's text (the guard checked its type; this is for a rule run
 * without it). */
static bool boolean_text(const char *v)
{
    return v && (strcmp(v, "t") == 0 || strcmp(v, "f") == 0);
}

/* Whether a transaction that succeeded answered as the rule must: one row, its four columns, a boolean
 * wrote. */
static bool answer_kept(const vz_db_txn *t)
{
    return t->nrows == 1 && t->ncols >= COL_MIN && boolean_text(t->row[COL_WROTE]);
}

static void settle(const vz_rowsync *rs, vz_item *it, const vz_db_txn *t, int32_t key)
{
    if (t->status != VZ_OK) {
        it->status = t->status;
        if (!guard_error(rs, key, t->error.message, &it->error))
            vz_error_set(&it->error, t->error.type, "%s=%" PRId32 " (%s.%s): %s", rs->key_field, key, rs->table,
                         rs->value_field, t->error.message);
        else
            it->status = VZ_EINVAL;
    } else if (t->nrows == 0) {
        it->status = VZ_ENOTFOUND;
        vz_error_set(&it->error, "Function.RowNotFound",
                     "%s %" PRId32 " does not exist in %s; nothing written (the record fails so that it "
                     "reaches the dead-letter queue after its retries)",
                     rs->key_field, key, rs->table);
    } else if (t->ncols < COL_MIN) {
        it->status = VZ_ERR;
        vz_error_set(&it->error, "Runtime.HandlerContract",
                     "%s=%" PRId32 ": %s answered %d columns; it must answer at least %d (old, new, wrote, branch)",
                     rs->key_field, key, rs->work->name, t->ncols, COL_MIN);
    } else if (!answer_kept(t)) {
        it->status = VZ_ERR;
        vz_error_set(&it->error, "Runtime.HandlerContract",
                     "%s=%" PRId32 ": %s answered %d rows, wrote %s%s%s; it must answer one row whose wrote is a "
                     "boolean",
                     rs->key_field, key, rs->work->name, t->nrows, t->row[COL_WROTE] ? "\"" : "",
                     t->row[COL_WROTE] ? t->row[COL_WROTE] : "NULL", t->row[COL_WROTE] ? "\"" : "");
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
    vz_error gerr = {{0}, {0}};
    vz_db_stmt *work = guard(rs, &gerr);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t key;
        vz_error_clear(&items[i].error);
        items[i].status = vz_hasura_key(items[i].body, rs->key_field, &key, &items[i].error);
        if (items[i].status != VZ_OK)
            continue; /* the error names the field; the outcome line logs it */
        if (!work) {
            items[i].status = VZ_ERR;
            vz_error_set(&items[i].error, gerr.type, "%s=%" PRId32 ": %s", rs->key_field, key, gerr.message);
            continue;
        }
        vz_db_txn *t = &txns[m];
        t->lock = rs->lock;
        t->work = work;
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
    vz_error gerr = {{0}, {0}};
    vz_db_stmt *work = guard(rs, &gerr);
    if (!work) {
        for (size_t i = 0; i < n; i++) {
            out[i].status = VZ_ERR;
            out[i].error = gerr;
        }
        if (n > 0)
            vz_handler_log(rs->handler, NULL, VZ_LOG_ERROR, NULL, "%s: %s", rs->handler->name, gerr.message);
        return;
    }
    if (!txns)
        return;
    for (size_t i = 0; i < n; i++) {
        /* A report (rolled back) takes no row lock: it writes nothing, so it needs no FOR UPDATE (nor
         * the UPDATE privilege PostgreSQL asks for one), and it never waits for an event's lock or holds
         * one an event waits for.  The work statement compares with the row as it is now on its own. */
        txns[i].lock = commit ? rs->lock : NULL;
        txns[i].work = work;
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
        if (t->status == VZ_OK && answer_kept(t)) {
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
