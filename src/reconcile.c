/* reconcile.c -- a rowsync rule over a whole table (see reconcile.h).
 *
 * The loop: read the next page of keys (one statement answering them as one
 * comma-separated text, so that it goes through vz_db_run like any other),
 * run the rule on them (vz_rowsync_run_keys: one transaction per key, one
 * round trip per page, rolled back unless fixing), count, repeat.  Memory of
 * a page lives in a private arena reset after it; the summary keeps copies.
 * The page and count statements are built once per handler from its table
 * and key (checked to be plain identifiers, as deploy/handlerconf.py checks
 * them at the build, and quoted) and kept for the process, so that each is
 * prepared once per connection like the handlers' own; db.c names them on
 * the server, uniquely whatever the handler's name. */
#include "vz/reconcile.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vz/db.h"
#include "vz/log.h"
#include "vz/metrics.h"
#include "vz/registry.h"
#include "vz/rowsync.h"

#define MAX_CACHED 32

typedef struct statements {
    const vz_handler *handler;
    char page_name[96], count_name[96];
    char page_sql[640], count_sql[448];
    vz_db_stmt page, count;
} statements;

static statements cache[MAX_CACHED];
static size_t ncache;

/* A name as PostgreSQL stores an unquoted one, [schema.]name, each part at most 63 bytes: the rule of
 * deploy/handlerconf.py (IDENT_RE), which refuses anything else at the build. */
static bool plain_identifier(const char *s, bool qualified)
{
    size_t part = 0;
    int dots = 0;
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '.' && qualified && part > 0 && dots++ == 0) {
            part = 0;
            continue;
        }
        if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (part > 0 && *p >= '0' && *p <= '9')) || ++part > 63)
            return false;
    }
    return part > 0;
}

/* The name quoted for SQL: "a" or "schema"."a" (plain_identifier checked it holds no quote). */
static void quote_name(char *dst, size_t n, const char *name)
{
    const char *dot = strchr(name, '.');
    if (dot)
        snprintf(dst, n, "\"%.*s\".\"%s\"", (int)(dot - name), name, dot + 1);
    else
        snprintf(dst, n, "\"%s\"", name);
}

static statements *statements_for(const vz_handler *h, vz_error *err)
{
    for (size_t i = 0; i < ncache; i++)
        if (cache[i].handler == h)
            return &cache[i];
    const vz_rowsync *rs = h->rowsync;
    if (!plain_identifier(rs->table, true) || !plain_identifier(rs->key_field, false)) {
        vz_error_set(err, "Runtime.InvalidConfiguration",
                     "handler %s: table \"%.64s\" or key \"%.64s\" is not a name as PostgreSQL stores it (lower-case "
                     "letters, digits and _, starting with a letter or _, at most 63 bytes; the build refuses it in a "
                     "handler.conf)",
                     h->name, rs->table ? rs->table : "", rs->key_field ? rs->key_field : "");
        return NULL;
    }
    if (ncache == MAX_CACHED) {
        vz_error_set(err, "Runtime.OutOfMemory", "more than %d handlers reconciled in one process", MAX_CACHED);
        return NULL;
    }
    statements *s = &cache[ncache++];
    s->handler = h;
    /* Labels for messages; db.c gives each a server-side name of its own (unique, within 63 bytes). */
    snprintf(s->page_name, sizeof s->page_name, "reconcile page of %.64s", h->name);
    snprintf(s->count_name, sizeof s->count_name, "reconcile count of %.64s", h->name);
    char table[140], key[72];
    quote_name(table, sizeof table, rs->table);
    quote_name(key, sizeof key, rs->key_field);
    /* One row whatever the page holds: the keys in order, their number, the last one. */
    snprintf(s->page_sql, sizeof s->page_sql,
             "SELECT string_agg(k::text, ',' ORDER BY k), count(*)::text, max(k)::text "
             "FROM (SELECT %s AS k FROM %s WHERE %s > $1::bigint ORDER BY %s LIMIT $2::integer) AS page",
             key, table, key, key);
    snprintf(s->count_sql, sizeof s->count_sql, "SELECT count(*)::text FROM %s WHERE %s > $1::bigint", table, key);
    s->page = (vz_db_stmt){s->page_name, s->page_sql, 2, 0};
    s->count = (vz_db_stmt){s->count_name, s->count_sql, 1, 0};
    return s;
}

static void copy_value(char *dst, size_t n, bool *is_null, const char *v)
{
    *is_null = v == NULL;
    snprintf(dst, n, "%s", v ? v : "");
}

static void count_branch(vz_reconcile_summary *sum, const char *branch)
{
    const char *b = branch ? branch : "?";
    for (size_t i = 0; i < sum->nbranches; i++) {
        if (strcmp(sum->branches[i].name, b) == 0) {
            sum->branches[i].count++;
            return;
        }
    }
    vz_reconcile_branch *slot = &sum->branches[sum->nbranches < VZ_RECONCILE_MAX_BRANCHES ? sum->nbranches : 0];
    if (sum->nbranches < VZ_RECONCILE_MAX_BRANCHES - 1) {
        snprintf(slot->name, sizeof slot->name, "%s", b);
        slot->count = 1;
        sum->nbranches++;
        return;
    }
    /* A rule with more branches than that: the rest are counted together in the last slot. */
    slot = &sum->branches[VZ_RECONCILE_MAX_BRANCHES - 1];
    if (sum->nbranches == VZ_RECONCILE_MAX_BRANCHES - 1) {
        snprintf(slot->name, sizeof slot->name, "other");
        slot->count = 0;
        sum->nbranches++;
    }
    slot->count++;
}

static void note(vz_reconcile_summary *sum, int32_t key, const vz_rowsync_outcome *o, bool fix)
{
    sum->scanned++;
    /* lastKey is where a rerun may resume (--after) without skipping anything: it stops before the
     * first row that failed. */
    if (o->status != VZ_OK && o->status != VZ_ENOTFOUND)
        sum->resume_fixed = true;
    if (!sum->resume_fixed)
        sum->last_key = key;
    if (o->status == VZ_ENOTFOUND) {
        sum->vanished++;
        return;
    }
    if (o->status != VZ_OK) {
        if (sum->failed++ == 0)
            snprintf(sum->first_error, sizeof sum->first_error, "%.500s", o->error.message);
        return;
    }
    if (!o->wrote)
        return;
    sum->drift++;
    if (fix)
        sum->fixed++;
    count_branch(sum, o->branch);
    if (sum->nsample < VZ_RECONCILE_SAMPLE) {
        vz_reconcile_sample *s = &sum->sample[sum->nsample++];
        s->key = key;
        copy_value(s->old_value, sizeof s->old_value, &s->old_null, o->old_value);
        copy_value(s->new_value, sizeof s->new_value, &s->new_null, o->new_value);
        snprintf(s->branch, sizeof s->branch, "%s", o->branch ? o->branch : "?");
    }
}

/* Run one single-row statement (page or count) through vz_db_run; its first row in *row. */
static vz_status query(const vz_context *ctx, vz_db_stmt *stmt, const char *p1, const char *p2, char ***row,
                       vz_error *err)
{
    vz_db_txn t;
    memset(&t, 0, sizeof t);
    t.work = stmt;
    t.params[0] = p1;
    t.params[1] = p2;
    vz_db_run(ctx, &t, 1, err);
    if (t.status != VZ_OK) {
        *err = t.error;
        return t.status;
    }
    if (t.nrows != 1 || t.ncols < 1) {
        vz_error_set(err, "Runtime.DatabaseError", "the %s statement answered %d rows", stmt->name, t.nrows);
        return VZ_EIO;
    }
    *row = t.row;
    return VZ_OK;
}

static void show_progress(const vz_reconcile_summary *sum, double elapsed_s, bool last)
{
    double rate = elapsed_s > 0 ? (double)sum->scanned / elapsed_s : 0;
    char eta[32] = "?";
    if (rate > 0 && sum->total >= sum->scanned) {
        double left = (double)(sum->total - sum->scanned) / rate;
        snprintf(eta, sizeof eta, "%dm%02ds", (int)(left / 60), (int)left % 60);
    }
    fprintf(stderr, "\r%s: %zu/%zu rows, %.0f rows/s, ETA %s, drift %zu%s\033[K%s", sum->handler, sum->scanned,
            sum->total, rate, eta, sum->drift, sum->fix ? " (fixing)" : "", last ? "\n" : "");
    fflush(stderr);
}

/* Parse "k1,k2,..." (n keys) into keys; false when the text is not that. */
static bool parse_keys(const char *text, size_t n, int32_t *keys)
{
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < INT32_MIN || v > INT32_MAX || (*end != ',' && *end != '\0'))
            return false;
        keys[i] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    return *p == '\0';
}

/* Whether a page may still start: the run's own deadline keeps room for two more pages and the answer. */
static bool time_for_a_page(const vz_context *ctx, double last_page_ms)
{
    int64_t left = vz_context_remaining_ms(ctx);
    return left == INT64_MAX || (double)left > 2.0 * last_page_ms + 1000.0;
}

static vz_status run_pages(const vz_rowsync *rs, statements *st, const vz_reconcile_options *opts, vz_context *pctx,
                           vz_reconcile_summary *sum, vz_error *err)
{
    size_t batch = opts->batch ? opts->batch : VZ_RECONCILE_DEFAULT_BATCH;
    int32_t *keys = malloc(batch * sizeof *keys);
    vz_rowsync_outcome *out = malloc(batch * sizeof *out);
    vz_status status = VZ_OK;
    if (!keys || !out) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot allocate a page of %zu keys", batch);
        status = VZ_ENOMEM;
    }
    double t0 = vz_monotonic_ms(), last_page_ms = 0, last_shown = 0;
    int64_t cursor = opts->after;
    while (status == VZ_OK) {
        if (opts->stop && *opts->stop) {
            snprintf(sum->stopped, sizeof sum->stopped, "interrupted");
            break;
        }
        if (!time_for_a_page(pctx, last_page_ms)) {
            snprintf(sum->stopped, sizeof sum->stopped, "the invocation's deadline is near");
            break;
        }
        size_t want = batch;
        if (opts->limit > 0 && (int64_t)(sum->scanned + want) > opts->limit)
            want = (size_t)(opts->limit - (int64_t)sum->scanned);
        if (want == 0) {
            snprintf(sum->stopped, sizeof sum->stopped, "--limit reached");
            break;
        }
        double p0 = vz_monotonic_ms();
        vz_arena_reset(pctx->arena);
        char *from = vz_arena_sprintf(pctx->arena, "%" PRId64, cursor);
        char *count = vz_arena_sprintf(pctx->arena, "%zu", want);
        char **row = NULL;
        status = from && count ? query(pctx, &st->page, from, count, &row, err) : VZ_ENOMEM;
        if (status != VZ_OK)
            break;
        size_t n = row[1] ? strtoul(row[1], NULL, 10) : 0;
        if (n == 0) {
            sum->complete = true;
            break;
        }
        if (n > want || !row[0] || !parse_keys(row[0], n, keys)) {
            vz_error_set(err, "Runtime.DatabaseError", "the page of keys after %" PRId64 " is not a list of %zu keys",
                         cursor, n);
            status = VZ_EIO;
            break;
        }
        vz_rowsync_run_keys(rs, pctx, keys, n, opts->fix, out);
        size_t failed_before = sum->failed;
        for (size_t i = 0; i < n; i++)
            note(sum, keys[i], &out[i], opts->fix);
        int64_t page_after = cursor;
        cursor = keys[n - 1];
        last_page_ms = vz_monotonic_ms() - p0;
        if (sum->failed - failed_before == n) {
            /* Every row of the page failed: the database is gone or refusing; do not sweep on.  The
             * message says where the page began (what --after resumes from) and its keys. */
            char began[48] = "from the table's first key";
            if (page_after != VZ_RECONCILE_FROM_FIRST)
                snprintf(began, sizeof began, "after key %" PRId64, page_after);
            vz_error_set(err, out[0].error.type[0] ? out[0].error.type : "Runtime.DatabaseError",
                         "every row of the page %s (keys %" PRId32 " to %" PRId32 ") failed: %s", began, keys[0],
                         keys[n - 1], out[0].error.message);
            status = out[0].status ? out[0].status : VZ_EIO;
            break;
        }
        double now = vz_monotonic_ms();
        if (opts->progress && now - last_shown > 250) {
            show_progress(sum, (now - t0) / 1000.0, false);
            last_shown = now;
        }
    }
    if (status != VZ_OK)
        snprintf(sum->stopped, sizeof sum->stopped, "%.250s", err->message);
    if (opts->progress)
        show_progress(sum, (vz_monotonic_ms() - t0) / 1000.0, true);
    free(keys);
    free(out);
    return status;
}

vz_status vz_reconcile_run(const vz_handler *h, const vz_reconcile_options *opts, const vz_context *ctx,
                           vz_reconcile_summary *sum, vz_error *err)
{
    memset(sum, 0, sizeof *sum);
    sum->handler = h->name;
    sum->fix = opts->fix;
    sum->last_key = VZ_RECONCILE_FROM_FIRST;
    double t0 = vz_monotonic_ms();
    if (!h->rowsync) {
        vz_error_set(err, "Runtime.InvalidConfiguration",
                     "handler %s has no row rule (vz_handler.rowsync): it cannot be reconciled", h->name);
        snprintf(sum->stopped, sizeof sum->stopped, "%.250s", err->message);
        return VZ_EINVAL;
    }
    if (opts->batch > VZ_RECONCILE_MAX_BATCH) {
        vz_error_set(err, "Runtime.InvalidConfiguration", "a page holds at most %d keys", VZ_RECONCILE_MAX_BATCH);
        snprintf(sum->stopped, sizeof sum->stopped, "%.250s", err->message);
        return VZ_EINVAL;
    }
    statements *st = statements_for(h, err);
    if (!st) {
        snprintf(sum->stopped, sizeof sum->stopped, "%.250s", err->message);
        return VZ_EINVAL;
    }
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context pctx = *ctx;
    pctx.arena = &arena;
    char *from = vz_arena_sprintf(&arena, "%" PRId64, opts->after);
    char **row = NULL;
    vz_status status = from ? query(&pctx, &st->count, from, NULL, &row, err) : VZ_ENOMEM;
    if (status == VZ_OK) {
        sum->total = row[0] ? strtoul(row[0], NULL, 10) : 0;
        status = run_pages(h->rowsync, st, opts, &pctx, sum, err);
    } else {
        snprintf(sum->stopped, sizeof sum->stopped, "%.250s", err->message);
    }
    vz_arena_destroy(&arena);
    sum->seconds = (vz_monotonic_ms() - t0) / 1000.0;
    vz_metrics_emit_drift(h->name, (double)sum->drift, (double)sum->fixed);
    vz_log_fields f = VZ_LOG_FIELDS_NONE;
    f.handler = h->name;
    f.outcome = sum->complete ? "complete" : "stopped";
    f.duration_ms = sum->seconds * 1000.0;
    vz_log(status == VZ_OK ? VZ_LOG_INFO : VZ_LOG_ERROR, &f,
           "reconcile %s (%s): %zu rows scanned, drift %zu, fixed %zu, failed %zu%s%s", h->name,
           opts->fix ? "fix" : "report", sum->scanned, sum->drift, sum->fixed, sum->failed,
           sum->complete ? "" : "; stopped: ", sum->complete ? "" : sum->stopped);
    return status;
}

static void add_nullable(cJSON *o, const char *name, const char *v, bool is_null)
{
    if (is_null)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddStringToObject(o, name, v);
}

cJSON *vz_reconcile_summary_json(const vz_reconcile_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "handler", s->handler ? s->handler : "");
    cJSON_AddStringToObject(o, "mode", s->fix ? "fix" : "report");
    cJSON_AddBoolToObject(o, "complete", s->complete);
    if (s->stopped[0])
        cJSON_AddStringToObject(o, "stopped", s->stopped);
    else
        cJSON_AddNullToObject(o, "stopped");
    cJSON_AddNumberToObject(o, "rows", (double)s->total);
    cJSON_AddNumberToObject(o, "scanned", (double)s->scanned);
    cJSON_AddNumberToObject(o, "drift", (double)s->drift);
    cJSON_AddNumberToObject(o, "fixed", (double)s->fixed);
    cJSON_AddNumberToObject(o, "failed", (double)s->failed);
    cJSON_AddNumberToObject(o, "vanished", (double)s->vanished);
    cJSON *by = cJSON_AddObjectToObject(o, "byBranch");
    for (size_t i = 0; by && i < s->nbranches; i++)
        cJSON_AddNumberToObject(by, s->branches[i].name, (double)s->branches[i].count);
    cJSON *sample = cJSON_AddArrayToObject(o, "sample");
    for (size_t i = 0; sample && i < s->nsample; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(sample, e)) {
            cJSON_Delete(e);
            break;
        }
        cJSON_AddNumberToObject(e, "key", s->sample[i].key);
        add_nullable(e, "old", s->sample[i].old_value, s->sample[i].old_null);
        add_nullable(e, "new", s->sample[i].new_value, s->sample[i].new_null);
        cJSON_AddStringToObject(e, "branch", s->sample[i].branch);
    }
    if (s->last_key != VZ_RECONCILE_FROM_FIRST)
        cJSON_AddNumberToObject(o, "lastKey", (double)s->last_key);
    else
        cJSON_AddNullToObject(o, "lastKey");
    cJSON_AddNumberToObject(o, "seconds", (double)(long long)(s->seconds * 1000.0 + 0.5) / 1000.0);
    cJSON_AddNumberToObject(o, "rowsPerSecond",
                            s->seconds > 0 ? (double)(long long)((double)s->scanned / s->seconds + 0.5) : 0);
    if (s->first_error[0])
        cJSON_AddStringToObject(o, "firstError", s->first_error);
    return o;
}

/* ---- the scheduled function ---- */

bool vz_reconcile_scheduled(void)
{
    const char *h = getenv("_HANDLER");
    return h && strcmp(h, "reconcile") == 0;
}

/* The handlers named in VZ_RECONCILE_HANDLERS; false with err when one is unknown or has no rule. */
static bool scheduled_handlers(const vz_handler **list, size_t cap, size_t *n, vz_error *err)
{
    const char *env = getenv("VZ_RECONCILE_HANDLERS");
    *n = 0;
    if (!env || !*env) {
        vz_error_set(err, "Runtime.InvalidConfiguration",
                     "VZ_RECONCILE_HANDLERS is not set: name the handlers to reconcile, separated by commas");
        return false;
    }
    const char *p = env;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == 0)
            break;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        p += len;
        const vz_handler *h = vz_registry_find(name);
        if (!h || !h->rowsync) {
            vz_error_set(err, "Runtime.InvalidConfiguration", "VZ_RECONCILE_HANDLERS names \"%.64s\", which is %s",
                         name,
                         h ? "not a rowsync handler (no row rule to reconcile)" : "no handler built into this binary");
            return false;
        }
        if (*n == cap) {
            vz_error_set(err, "Runtime.InvalidConfiguration", "VZ_RECONCILE_HANDLERS names more than %zu handlers",
                         cap);
            return false;
        }
        list[(*n)++] = h;
    }
    if (*n == 0) {
        vz_error_set(err, "Runtime.InvalidConfiguration", "VZ_RECONCILE_HANDLERS names no handler");
        return false;
    }
    return true;
}

vz_status vz_reconcile_invoke(const vz_context *ctx, char **response, vz_error *err)
{
    *response = NULL;
    const vz_handler *list[MAX_CACHED];
    size_t n = 0;
    const char *fix = getenv("VZ_RECONCILE_FIX");
    if (fix && *fix && strcmp(fix, "0") != 0 && strcmp(fix, "1") != 0) {
        vz_error_set(err, "Runtime.InvalidConfiguration", "VZ_RECONCILE_FIX=\"%.16s\" is neither 1 nor 0", fix);
        return VZ_EINVAL;
    }
    if (!scheduled_handlers(list, MAX_CACHED, &n, err))
        return VZ_EINVAL;
    vz_reconcile_options opts = {fix && strcmp(fix, "1") == 0, 0, 0, VZ_RECONCILE_FROM_FIRST, false, NULL};
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "handlers") : NULL;
    if (!arr) {
        cJSON_Delete(root);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build the reconcile summary");
        return VZ_ENOMEM;
    }
    cJSON_AddStringToObject(root, "mode", opts.fix ? "fix" : "report");
    bool complete = true;
    vz_status st = VZ_OK;
    vz_reconcile_summary *sum = malloc(sizeof *sum);
    for (size_t i = 0; sum && i < n && st == VZ_OK; i++) {
        /* Each handler gets an equal share of the time left, so that a large first table cannot
         * starve the others; what one leaves unused goes to those after it. */
        vz_context hctx = *ctx;
        int64_t left = vz_context_remaining_ms(ctx);
        if (left != INT64_MAX)
            hctx.deadline_ms = vz_now_ms() + left / (int64_t)(n - i);
        st = vz_reconcile_run(list[i], &opts, &hctx, sum, err);
        complete = complete && sum->complete;
        cJSON *one = vz_reconcile_summary_json(sum);
        if (one)
            cJSON_AddItemToArray(arr, one);
    }
    free(sum);
    if (!sum) {
        cJSON_Delete(root);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot allocate the reconcile summary");
        return VZ_ENOMEM;
    }
    if (st != VZ_OK) {
        cJSON_Delete(root);
        return st; /* err says which handler and why; the function's error metric and alarm see it */
    }
    cJSON_AddBoolToObject(root, "complete", complete);
    *response = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!*response) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot serialise the reconcile summary");
        return VZ_ENOMEM;
    }
    return VZ_OK;
}

/* ---- the command ---- */

static volatile sig_atomic_t g_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static int usage(FILE *out)
{
    fprintf(out,
            "usage: vz-events reconcile HANDLER [--fix] [--batch N] [--limit N] [--after KEY] [--json]\n"
            "Runs HANDLER's own rule over its whole table and reports drift (rows whose stored value the\n"
            "rule would change), by branch, with a sample of keys and old -> new.  Nothing is written\n"
            "unless --fix.  --batch: keys per round trip (default %d); --limit: stop after N rows;\n"
            "--after: start after this key (a summary's lastKey, to resume); --json: the summary as JSON.\n"
            "Uses DATABASE_URL (or PG*) as the handlers do.  Safe to interrupt and run again.\n",
            VZ_RECONCILE_DEFAULT_BATCH);
    return 2;
}

static bool parse_count(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static void print_summary(const vz_reconcile_summary *s)
{
    printf("reconcile %s (%s): %zu of %zu rows scanned in %.1f s (%.0f rows/s)%s%s\n", s->handler,
           s->fix ? "fix" : "report only", s->scanned, s->total, s->seconds,
           s->seconds > 0 ? (double)s->scanned / s->seconds : 0.0,
           s->complete ? ", complete" : "; stopped: ", s->complete ? "" : s->stopped);
    printf("  drift: %zu rows", s->drift);
    for (size_t i = 0; i < s->nbranches; i++)
        printf("%s%s %zu", i ? ", " : " (", s->branches[i].name, s->branches[i].count);
    printf("%s\n", s->nbranches ? ")" : "");
    for (size_t i = 0; i < s->nsample; i++)
        printf("    %s %" PRId32 ": %s -> %s (%s)\n", s->handler, s->sample[i].key,
               s->sample[i].old_null ? "NULL" : s->sample[i].old_value,
               s->sample[i].new_null ? "NULL" : s->sample[i].new_value, s->sample[i].branch);
    if (s->fix)
        printf("  fixed: %zu rows\n", s->fixed);
    else if (s->drift)
        printf("  nothing written: run with --fix to write the corrections\n");
    if (s->failed)
        printf("  failed: %zu rows, nothing written for them (first: %s)\n", s->failed, s->first_error);
    if (s->vanished)
        printf("  vanished: %zu rows deleted while the run went on\n", s->vanished);
    if (!s->complete && s->last_key != VZ_RECONCILE_FROM_FIRST)
        printf("  resume with: --after %" PRId64 "\n", s->last_key);
}

int vz_cmd_reconcile(int argc, char **argv)
{
    static const struct option longopts[] = {{"fix", no_argument, NULL, 'f'},
                                             {"batch", required_argument, NULL, 'b'},
                                             {"limit", required_argument, NULL, 'l'},
                                             {"after", required_argument, NULL, 'a'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    vz_reconcile_options opts = {false, 0, 0, VZ_RECONCILE_FROM_FIRST, false, &g_interrupted};
    bool json = false;
    long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "fb:l:a:jh", longopts, NULL)) != -1) {
        if (c == 'f') {
            opts.fix = true;
        } else if (c == 'b') {
            if (!parse_count(optarg, 1, VZ_RECONCILE_MAX_BATCH, &v)) {
                fprintf(stderr, "vz-events reconcile: --batch wants 1 to %d keys\n", VZ_RECONCILE_MAX_BATCH);
                return 2;
            }
            opts.batch = (size_t)v;
        } else if (c == 'l') {
            if (!parse_count(optarg, 1, INT64_MAX, &v)) {
                fprintf(stderr, "vz-events reconcile: --limit wants a positive number of rows\n");
                return 2;
            }
            opts.limit = v;
        } else if (c == 'a') {
            if (!parse_count(optarg, INT32_MIN, INT32_MAX, &v)) {
                fprintf(stderr, "vz-events reconcile: --after wants a key (%" PRId32 " to %" PRId32 ")\n", INT32_MIN,
                        INT32_MAX);
                return 2;
            }
            opts.after = v;
        } else if (c == 'j') {
            json = true;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            return usage(stderr);
        }
    }
    if (optind != argc - 1)
        return usage(stderr);
    const vz_handler *h = vz_registry_find(argv[optind]);
    if (!h) {
        fprintf(stderr, "vz-events reconcile: no handler named \"%s\" (see `vz-events handlers`)\n", argv[optind]);
        return 2;
    }
    if (!h->rowsync) {
        fprintf(stderr, "vz-events reconcile: handler %s has no row rule to run over a table\n", h->name);
        return 2;
    }
    opts.progress = isatty(STDERR_FILENO) == 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context ctx = {"", 0, NULL, NULL, &arena, NULL, NULL, NULL, NULL};
    vz_error err = {{0}, {0}};
    vz_reconcile_summary *sum = malloc(sizeof *sum);
    if (!sum) {
        fprintf(stderr, "vz-events reconcile: out of memory\n");
        vz_arena_destroy(&arena);
        return 1;
    }
    vz_status st = vz_reconcile_run(h, &opts, &ctx, sum, &err);
    if (json) {
        cJSON *o = vz_reconcile_summary_json(sum);
        char *text = o ? cJSON_PrintUnformatted(o) : NULL;
        printf("%s\n", text ? text : "{}");
        cJSON_free(text);
        cJSON_Delete(o);
    } else {
        print_summary(sum);
    }
    fflush(stdout);
    if (st != VZ_OK)
        fprintf(stderr, "vz-events reconcile: %s\n", err.message);
    int rc = g_interrupted ? 130 : st != VZ_OK || sum->failed || (!sum->complete && opts.limit == 0) ? 1 : 0;
    free(sum);
    vz_db_close();
    vz_arena_destroy(&arena);
    return rc;
}
