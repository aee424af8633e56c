/* batch.c -- the batch processor (see batch.h).
 *
 * Three passes: route (resolve each record's handler and parse its body),
 * run (in order; records of one batch-capable handler are handed over
 * together), answer (the failed messageIds, in record order).  A handler
 * that leaves an item's status unset (it must not) has the item failed, so
 * that no record is reported as done without having been done. */
#include "vz/batch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vz/json.h"
#include "vz/log.h"
#include "vz/metrics.h"
#include "vz/registry.h"

#define VZ_STATUS_PENDING 1 /* item routed, not run yet */

typedef struct slot {
    vz_item item;              /* what the handler sees */
    const vz_handler *handler; /* NULL when unroutable */
    cJSON *parsed;             /* body tree we own */
    double duration_ms;        /* time spent in the handler for this record */
} slot;

vz_status vz_batch_options_from_env(vz_batch_options *opts, vz_error *err)
{
    opts->queue_prefix = getenv("VZ_QUEUE_PREFIX");
    opts->fallback = NULL;
    opts->deadline_margin_ms = VZ_DEFAULT_DEADLINE_MARGIN_MS;
    const char *h = getenv("_HANDLER");
    /* "endpoint" (the /events/ function's Handler field) dispatches like "bootstrap": HTTP events go to
     * the endpoint whatever the handler, and no queue consumer is implied.  "reconcile" is the scheduled
     * function (reconcile.h), never a handler: no fallback either. */
    if (h && *h && strcmp(h, "bootstrap") != 0 && strcmp(h, "endpoint") != 0 && strcmp(h, "reconcile") != 0) {
        opts->fallback = vz_registry_find(h);
        if (!opts->fallback) {
            vz_error_set(err, "Runtime.HandlerNotFound",
                         "_HANDLER=\"%.64s\" names no handler built into this binary (run `vz-events handlers`)", h);
            return VZ_EINVAL;
        }
    }
    const char *m = getenv("VZ_DEADLINE_MARGIN_MS");
    if (m && *m) {
        char *end;
        long long v = strtoll(m, &end, 10);
        if (*end || v < 0 || v > 600000) {
            vz_error_set(err, "Runtime.InvalidConfiguration",
                         "VZ_DEADLINE_MARGIN_MS=\"%.32s\" is not a number of milliseconds between 0 and 600000", m);
            return VZ_EINVAL;
        }
        opts->deadline_margin_ms = v;
    }
    return VZ_OK;
}

int64_t vz_batch_effective_margin(int64_t margin_ms, int64_t budget_ms)
{
    /* A 1 s function cannot give up 300 ms of it: keep at most a tenth of the
     * budget (never under 20 ms, so a report still has time to go out). */
    if (budget_ms == INT64_MAX || budget_ms <= 0)
        return margin_ms;
    int64_t cap = budget_ms / 10;
    if (cap < 20)
        cap = 20;
    return margin_ms < cap ? margin_ms : cap;
}

static void fail_item(slot *s, vz_status st, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail_item(slot *s, vz_status st, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s->item.status = st;
    vz_error_setv(&s->item.error, type, fmt, ap);
    va_end(ap);
}

static void route(const vz_batch_options *opts, const vz_sqs_record *r, slot *s, vz_arena *arena)
{
    s->item.record = r;
    s->item.status = VZ_STATUS_PENDING;
    s->item.wrote = -1;
    if (r->invalid[0]) {
        fail_item(s, VZ_EINVAL, "Function.InvalidRecord", "invalid SQS record: %s", r->invalid);
        return;
    }
    s->handler = vz_registry_resolve_queue(r->queue_name, opts->queue_prefix);
    if (!s->handler)
        s->handler = opts->fallback;
    if (!s->handler) {
        fail_item(s, VZ_ENOTFOUND, "Runtime.HandlerNotFound",
                  "queue \"%s\" matches no handler in this binary and _HANDLER is not set; "
                  "deploy the handler or map the queue to the right function (prefix \"%s\")",
                  r->queue_name[0] ? r->queue_name : "(no eventSourceARN)",
                  opts->queue_prefix ? opts->queue_prefix : VZ_DEFAULT_QUEUE_PREFIX);
        return;
    }
    if (s->handler->needs_json) {
        const char *end = NULL;
        bool nul_escape = false;
        s->parsed = vz_json_parse_nul(arena, r->body, r->body_len, &end, &nul_escape);
        if (!s->parsed) {
            char where[32];
            snprintf(where, sizeof where, "%zu", end && end >= r->body ? (size_t)(end - r->body) : 0);
            fail_item(s, VZ_EINVAL, "Function.InvalidBody",
                      "the body is not JSON (error near byte %s), and handler %s needs JSON", where, s->handler->name);
            return;
        }
        /* cJSON ends a string at an escaped NUL: "12\u00003" would read as key "12", another row. */
        if (nul_escape) {
            fail_item(s, VZ_EINVAL, "Function.InvalidBody",
                      "the body holds a \\u0000 escape, which its strings cannot carry whole; handler %s refuses it",
                      s->handler->name);
            return;
        }
        s->item.body = s->parsed;
    }
}

static void run_one(const vz_context *ctx, slot *s)
{
    double t0 = vz_monotonic_ms();
    vz_error_clear(&s->item.error);
    s->item.status = s->handler->handle(ctx, s->item.record, s->item.body, &s->item.error);
    s->duration_ms = vz_monotonic_ms() - t0;
}

/* Run slots[i] and, for a batch handler, every later pending slot of the same handler. */
static void run_group(const vz_context *ctx, slot *slots, size_t n, size_t i, vz_arena *arena)
{
    const vz_handler *h = slots[i].handler;
    if (!h->handle && !h->handle_batch) {
        fail_item(&slots[i], VZ_ERR, "Runtime.HandlerContract",
                  "handler %s defines neither handle nor handle_batch; it cannot run records", h->name);
        return;
    }
    if (!h->handle_batch || slots[i].item.record->fifo) {
        if (h->handle) {
            run_one(ctx, &slots[i]);
            return;
        }
    }
    size_t count = 0;
    size_t *idx = vz_arena_alloc(arena, sizeof *idx * (n - i));
    vz_item *items = vz_arena_alloc(arena, sizeof *items * (n - i));
    if (!idx || !items) {
        fail_item(&slots[i], VZ_ENOMEM, "Runtime.OutOfMemory", "out of memory before running handler %s", h->name);
        return;
    }
    bool fifo = slots[i].item.record->fifo;
    for (size_t j = i; j < n && !(fifo && count == 1); j++) {
        if (slots[j].handler == h && slots[j].item.status == VZ_STATUS_PENDING) {
            idx[count] = j;
            items[count] = slots[j].item;
            items[count].status = VZ_STATUS_PENDING;
            items[count].wrote = -1;
            vz_error_clear(&items[count].error);
            count++;
        }
    }
    double t0 = vz_monotonic_ms();
    h->handle_batch(ctx, items, count);
    double each = (vz_monotonic_ms() - t0) / (double)count;
    for (size_t k = 0; k < count; k++) {
        slot *s = &slots[idx[k]];
        s->item.status = items[k].status;
        s->item.error = items[k].error;
        s->item.wrote = items[k].wrote;
        s->duration_ms = each;
        if (s->item.status == VZ_STATUS_PENDING)
            fail_item(s, VZ_ERR, "Runtime.HandlerContract", "handler %s returned without an outcome for this record",
                      h->name);
    }
}

static void skip_rest(slot *slots, size_t n, size_t from, const char *why)
{
    for (size_t j = from; j < n; j++)
        if (slots[j].item.status == VZ_STATUS_PENDING)
            fail_item(&slots[j], VZ_ESKIPPED, "Runtime.NotStarted", "not started: %s", why);
}

static void log_outcome(const slot *s)
{
    vz_log_fields f = VZ_LOG_FIELDS_NONE;
    f.handler = s->handler ? s->handler->name : NULL;
    f.message_id = s->item.record->message_id;
    f.duration_ms = s->duration_ms;
    if (s->item.status == VZ_OK) {
        f.outcome = "succeeded";
        vz_log(VZ_LOG_INFO, &f, "record %zu succeeded", s->item.record->index);
    } else if (s->item.status == VZ_ESKIPPED) {
        f.outcome = "skipped";
        vz_log(VZ_LOG_WARN, &f, "record %zu reported for retry: %s", s->item.record->index, s->item.error.message);
    } else {
        /* The one line of a failed record: what failed and why (handlers put the key in the
         * message).  A row that does not exist is the data's doing, not the system's: WARN. */
        f.outcome = "failed";
        vz_log(s->item.status == VZ_ENOTFOUND && s->handler ? VZ_LOG_WARN : VZ_LOG_ERROR, &f,
               "record %zu failed (%s): %s", s->item.record->index,
               s->item.error.type[0] ? s->item.error.type : vz_status_name(s->item.status), s->item.error.message);
    }
}

/* One EMF line per handler of the batch (records with no handler count under "unknown"). */
static void emit_metrics(const slot *slots, size_t n, double duration_ms)
{
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = slots[j].handler == slots[i].handler;
        if (seen)
            continue;
        vz_metrics_batch b = {0, 0, 0, 0, 0, duration_ms};
        for (size_t j = i; j < n; j++) {
            const slot *s = &slots[j];
            if (s->handler != slots[i].handler)
                continue;
            if (s->item.status == VZ_OK) {
                b.succeeded++;
                b.written += s->item.wrote == 1;
                b.unchanged += s->item.wrote == 0;
            } else if (s->item.status == VZ_ESKIPPED) {
                b.skipped++;
            } else {
                b.failed++;
            }
        }
        vz_metrics_emit_batch(slots[i].handler ? slots[i].handler->name : NULL, &b);
    }
}

static cJSON *build_response(const slot *slots, size_t n, vz_batch_summary *sum)
{
    cJSON *resp = cJSON_CreateObject();
    cJSON *list = resp ? cJSON_AddArrayToObject(resp, "batchItemFailures") : NULL;
    if (!list) {
        cJSON_Delete(resp);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const slot *s = &slots[i];
        if (s->item.status == VZ_OK) {
            sum->succeeded++;
            continue;
        }
        if (s->item.status == VZ_ESKIPPED)
            sum->skipped++;
        else
            sum->failed++;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "itemIdentifier", s->item.record->message_id)) {
            cJSON_Delete(o);
            cJSON_Delete(resp);
            return NULL;
        }
        cJSON_AddItemToArray(list, o);
    }
    return resp;
}

vz_status vz_batch_process(const vz_batch_options *opts, const vz_context *ctx, const vz_sqs_event *ev,
                           cJSON **response, vz_batch_summary *summary, vz_error *err)
{
    double t0 = vz_monotonic_ms();
    vz_batch_summary local = {0};
    vz_batch_summary *sum = summary ? summary : &local;
    memset(sum, 0, sizeof *sum);
    sum->total = ev->count;
    *response = NULL;
    slot *slots = calloc(ev->count ? ev->count : 1, sizeof *slots);
    if (!slots) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot allocate state for %zu records", ev->count);
        return VZ_ENOMEM;
    }
    for (size_t i = 0; i < ev->count; i++)
        route(opts, &ev->records[i], &slots[i], ctx->arena);

    int64_t margin = vz_batch_effective_margin(opts->deadline_margin_ms, vz_context_remaining_ms(ctx));
    bool fifo_broken = false;
    for (size_t i = 0; i < ev->count; i++) {
        slot *s = &slots[i];
        if (s->item.record->fifo && fifo_broken) {
            if (s->item.status == VZ_STATUS_PENDING || s->item.status == VZ_OK)
                fail_item(s, VZ_ESKIPPED, "Runtime.NotStarted",
                          "not started: an earlier record of this FIFO batch failed");
            continue;
        }
        if (s->item.status == VZ_STATUS_PENDING) {
            if (vz_context_remaining_ms(ctx) < margin) {
                skip_rest(slots, ev->count, i, "the invocation's deadline is near; SQS will redeliver");
            } else {
                run_group(ctx, slots, ev->count, i, ctx->arena);
            }
        }
        if (s->item.record->fifo && s->item.status != VZ_OK)
            fifo_broken = true;
    }
    for (size_t i = 0; i < ev->count; i++)
        log_outcome(&slots[i]);
    *response = build_response(slots, ev->count, sum);
    emit_metrics(slots, ev->count, vz_monotonic_ms() - t0);
    if (!ctx->arena) /* else the bodies are the arena's, released with it */
        for (size_t i = 0; i < ev->count; i++)
            cJSON_Delete(slots[i].parsed);
    free(slots);
    if (!*response) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build the batch response");
        return VZ_ENOMEM;
    }
    return VZ_OK;
}
