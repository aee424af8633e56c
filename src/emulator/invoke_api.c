/* invoke_api.c -- the front users call: POST /2015-03-31/functions/NAME/invocations.
 *
 * As with AWS's Runtime Interface Emulator, the body is the event and the
 * answer is the function's response (200), or its error document with
 * X-Amz-Function-Error: Unhandled (still 200, as Lambda's Invoke API does).
 * The error type the runtime reported is repeated in the answer header
 * Lambda-Runtime-Function-Error-Type.  Optional request headers passed on to
 * the runtime: X-Amzn-Trace-Id, X-Amz-Client-Context, X-Amz-Cognito-Identity
 * and X-Amz-Tenant-Id.  Bodies over the limit get 413.
 * GET /vz-emulator/stats (not part of Lambda's API) answers emu_core_stats_json(): the runtime's pid
 * and its cold-start timestamps, for scripts/bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "vz/log.h"

#define FUNCTIONS "/2015-03-31/functions/"
#define INVOCATIONS "/invocations"

static bool is_invoke_path(const char *url)
{
    size_t n = strlen(url), p = strlen(FUNCTIONS), s = strlen(INVOCATIONS);
    if (n <= p + s || strncmp(url, FUNCTIONS, p) != 0 || strcmp(url + n - s, INVOCATIONS) != 0)
        return false;
    return memchr(url + p, '/', n - p - s) == NULL; /* exactly one function name segment */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    const emu_config *cfg = cls;
    enum MHD_Result ret;
    if (!emu_http_collect(con_cls, cfg->max_event_bytes, upload_data, upload_data_size, &ret))
        return ret;
    emu_upload *u = *con_cls;
    if (strcmp(url, "/vz-emulator/stats") == 0 && strcmp(method, "GET") == 0) {
        char *stats = emu_core_stats_json();
        if (!stats)
            return emu_http_error(c, 500, "ServiceException", "the emulator ran out of memory");
        return emu_http_answer(c, 200, "application/json", stats, strlen(stats));
    }
    if (!is_invoke_path(url))
        return emu_http_error(c, 404, "ResourceNotFoundException",
                              "POST events to /2015-03-31/functions/function/invocations");
    if (strcmp(method, "POST") != 0)
        return emu_http_error(c, 405, "MethodNotAllowed", "invocations are POSTed");
    if (u->too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "the %zu-byte event is over the %zu-byte limit (--max-event-bytes)", u->len,
                 cfg->max_event_bytes);
        return emu_http_error(c, 413, "RequestEntityTooLargeException", msg);
    }
    emu_request req = {
        .payload = u->data ? u->data : "",
        .len = u->len,
        .trace_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-Trace-Id"),
        .client_context = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Client-Context"),
        .cognito_identity = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Cognito-Identity"),
        .tenant_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Tenant-Id"),
    };
    emu_result res;
    if (emu_invoke(&req, &res) != 0)
        return emu_http_error(c, 500, "ServiceException", "the emulator ran out of memory");
    struct MHD_Response *r = res.body ? MHD_create_response_from_buffer(res.len, res.body, MHD_RESPMEM_MUST_FREE)
                                      : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        emu_result_free(&res);
        return MHD_NO;
    }
    res.body = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, "X-Amzn-RequestId", res.request_id);
    MHD_add_response_header(r, "X-Amz-Executed-Version", "$LATEST");
    unsigned status = MHD_HTTP_OK;
    if (res.outcome == EMU_FUNCTION_ERROR) {
        MHD_add_response_header(r, "X-Amz-Function-Error", "Unhandled");
        MHD_add_response_header(r, "Lambda-Runtime-Function-Error-Type", res.error_type);
    } else if (res.outcome == EMU_STOPPED) {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

struct MHD_Daemon *emu_invoke_api_start(const emu_config *cfg, unsigned *port)
{
    return emu_http_start(cfg->bind, cfg->port, on_request, (void *)cfg, port);
}
