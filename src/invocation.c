/* invocation.c -- classify an event and run it (see invocation.h). */
#include "vz/invocation.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "vz/endpoint.h"
#include "vz/json.h"
#include "vz/log.h"
#include "vz/reconcile.h"
#include "vz/registry.h"
#include "vz/sqs.h"

static vz_status run_sqs(const vz_batch_options *opts, const vz_context *ctx, cJSON *root, vz_invocation_result *result,
                         vz_error *err)
{
    vz_sqs_event ev;
    vz_status st = ctx->arena ? vz_sqs_from_arena_json(root, &ev, err) : vz_sqs_from_json(root, &ev, err);
    if (st != VZ_OK) {
        vz_log(VZ_LOG_ERROR, NULL, "invocation rejected (%s): %s", err->type, err->message);
        return st;
    }
    cJSON *resp = NULL;
    st = vz_batch_process(opts, ctx, &ev, &resp, &result->summary, err);
    vz_sqs_event_free(&ev);
    if (st != VZ_OK)
        return st;
    result->response = cJSON_PrintUnformatted(resp);
    cJSON_Delete(resp);
    if (!result->response) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot serialise the batch response");
        return VZ_ENOMEM;
    }
    return VZ_OK;
}

vz_status vz_invocation_run(const vz_batch_options *opts, const vz_context *ctx, const char *event, size_t len,
                            vz_invocation_result *result, vz_error *err)
{
    memset(result, 0, sizeof *result);
    if (vz_reconcile_scheduled()) /* the scheduled function: whatever the event (EventBridge's), reconcile */
        return vz_reconcile_invoke(ctx, &result->response, err);
    const char *end = NULL;
    /* One parse, in the invocation's arena: the tree is never walked to be freed. */
    bool nul_escape = false;
    cJSON *root = vz_json_parse_nul(ctx->arena, event, len, &end, &nul_escape);
    if (!root) {
        size_t off = end && end >= event ? (size_t)(end - event) : 0;
        vz_error_set(err, "Function.InvalidEvent", "the event is not valid JSON (error near byte %zu of %zu)", off,
                     len);
        vz_log(VZ_LOG_ERROR, NULL, "invocation rejected (%s): %s", err->type, err->message);
        return VZ_EINVAL;
    }
    bool sqs = vz_sqs_is_event(root);
    /* One JSON value and nothing else: trailing bytes mean a cut or glued event, never Lambda's. */
    const char *odd = !vz_json_only_space_after(event, len, end) ? "the event has bytes after its JSON value"
                      : sqs && nul_escape
                          ? "the SQS event holds a NUL character (\\u0000) in a string: SQS never sends one, and "
                            "the string would be read cut short (a messageId would name another record)"
                          : NULL;
    if (odd) {
        vz_error_set(err, "Function.InvalidEvent", "%s; the whole batch fails so that it is retried", odd);
        vz_log(VZ_LOG_ERROR, NULL, "invocation rejected (%s): %s", err->type, err->message);
        if (!ctx->arena) /* else the arena's */
            cJSON_Delete(root);
        return VZ_EINVAL;
    }
    if (sqs)
        return run_sqs(opts, ctx, root, result, err);
    if (vz_endpoint_is_http_event(root)) {
        vz_status st = vz_endpoint_run(ctx, opts->queue_prefix, root, &result->response, &result->http_status, err);
        if (!ctx->arena)
            cJSON_Delete(root);
        return st;
    }
    vz_error_set(err, "Function.InvalidEvent",
                 "the event is neither an SQS batch (no \"Records\" array) nor an HTTP request this function serves");
    vz_log(VZ_LOG_ERROR, NULL, "invocation rejected (%s): %s", err->type, err->message);
    if (!ctx->arena)
        cJSON_Delete(root);
    return VZ_EINVAL;
}

vz_status vz_handlers_init(vz_error *err)
{
    for (size_t i = 0; i < vz_registry_count(); i++) {
        const vz_handler *h = vz_registry_at(i);
        if (h->init) {
            vz_status st = h->init(err);
            if (st != VZ_OK)
                return st;
        }
    }
    return VZ_OK;
}

void vz_handlers_shutdown(void)
{
    for (size_t i = 0; i < vz_registry_count(); i++) {
        const vz_handler *h = vz_registry_at(i);
        if (h->shutdown)
            h->shutdown();
    }
    vz_endpoint_shutdown();
}

char *vz_error_body(const vz_error *err)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "errorMessage", err->message);
    cJSON_AddStringToObject(o, "errorType", err->type[0] ? err->type : "Runtime.Unknown");
    cJSON_AddItemToObject(o, "stackTrace", cJSON_CreateArray());
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void vz_invocation_tune_memory(void)
{
    /* An event of 10 x 256 KiB bodies allocates strings over glibc's default
     * mmap threshold; each was mapped, faulted in and unmapped again, five
     * times slower than reusing heap memory (bench_parse, 10x256KiB case).
     * Fixed thresholds also stop glibc's dynamic ones from drifting. */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}
