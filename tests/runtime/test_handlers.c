/* test_handlers.c -- handlers that exist only for the runtime's integration tests.
 *
 * Linked with src/main.c and the core into `vz-events-test` (never into
 * vz-events), with this file's own registry table:
 *   slow     sleeps the body's "sleep_ms" milliseconds, then succeeds (deadline and kill tests)
 *   trace    logs what the invocation context and environment carried (trace id, deadline, ARN)
 *   example  the real example handler
 * When VZ_TEST_INIT_FAIL is set, `trace`'s init hook fails with that text (init error tests). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vz/handler.h"
#include "vz/md5.h"

static vz_status slow_handle(const vz_context *ctx, const vz_sqs_record *record, const cJSON *body, vz_error *err)
{
    (void)ctx;
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(body, "sleep_ms");
    if (!cJSON_IsNumber(ms) || ms->valuedouble < 0) {
        vz_error_set(err, "Function.InvalidBody", "record %s: the body has no \"sleep_ms\" number", record->message_id);
        return VZ_EINVAL;
    }
    vz_log(VZ_LOG_INFO, NULL, "slow: sleeping %.0f ms for %s", ms->valuedouble, record->message_id);
    vz_log_flush(); /* about to wait: the line is seen now, not with the answer */
    double until = vz_monotonic_ms() + ms->valuedouble;
    /* Signals (SIGTERM) interrupt nanosleep: keep sleeping, as a handler busy with I/O would. */
    for (double left; (left = until - vz_monotonic_ms()) > 0;) {
        struct timespec ts = {(time_t)(left / 1000), (long)((long long)left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return VZ_OK;
}

static vz_status trace_handle(const vz_context *ctx, const vz_sqs_record *record, const cJSON *body, vz_error *err)
{
    (void)record, (void)body, (void)err;
    const char *env = getenv("_X_AMZN_TRACE_ID");
    vz_log(VZ_LOG_INFO, NULL, "trace: env=%s ctx=%s arn=%s deadline_ms=%lld remaining_ms=%lld", env ? env : "(unset)",
           ctx->trace_id ? ctx->trace_id : "(none)", ctx->function_arn ? ctx->function_arn : "(none)",
           (long long)ctx->deadline_ms, (long long)vz_context_remaining_ms(ctx));
    vz_log(VZ_LOG_INFO, NULL, "trace: tenant=%s invocation=%s client_context_bytes=%zu cognito_bytes=%zu",
           ctx->tenant_id ? ctx->tenant_id : "(none)", ctx->invocation_id ? ctx->invocation_id : "(none)",
           ctx->client_context ? strlen(ctx->client_context) : 0,
           ctx->cognito_identity ? strlen(ctx->cognito_identity) : 0);
    /* What the runtime received as the client context, without logging it: its MD5. */
    char md5[33] = "(none)";
    if (ctx->client_context)
        vz_md5_hex(ctx->client_context, strlen(ctx->client_context), md5);
    vz_log(VZ_LOG_INFO, NULL, "trace: client_context_md5=%s", md5);
    return VZ_OK;
}

static vz_status trace_init(vz_error *err)
{
    const char *msg = getenv("VZ_TEST_INIT_FAIL");
    if (msg && *msg) {
        vz_error_set(err, "Function.TestInitFailure", "%s", msg);
        return VZ_ERR;
    }
    return VZ_OK;
}

VZ_HANDLER(slow) = {.name = "slow", .needs_json = true, .handle = slow_handle};
VZ_HANDLER(trace) = {.name = "trace", .needs_json = false, .init = trace_init, .handle = trace_handle};
extern const vz_handler vz_handler_example;

const vz_handler *const vz_registry_table[];
const vz_handler *const vz_registry_table[] = {&vz_handler_example, &vz_handler_slow, &vz_handler_trace, NULL};
