/* invoke_api.c -- the front users call: POST /2015-03-31/functions/NAME/invocations.
 *
 * As with AWS's Runtime Interface Emulator, the body is the event and the
 * answer is the function's response (200), or its error document with
 * X-Amz-Function-Error: Unhandled (still 200, as Lambda's Invoke API does).
 * The error type the runtime reported is repeated in the answer header
 * Lambda-Runtime-Function-Error-Type.  Optional request headers passed on to
 * the runtime: X-Amzn-Trace-Id, X-Amz-Client-Context, X-Amz-Cognito-Identity
 * and X-Amz-Tenant-Id.  Bodies over the limit get 413.  X-Amz-Client-Context is
 * base64 (at most 3,583 characters), decoded before the runtime gets it in
 * Lambda-Runtime-Client-Context, as Lambda does; a value that is not base64, or
 * that decodes to invalid UTF-8 (JSON or not), is refused with 400
 * InvalidRequestContentException, Lambda's answer to an invalid request header
 * (see docs/emulator.md).
 * GET /vz-emulator/stats (not part of Lambda's API) answers emu_core_stats_json(): the runtime's pid
 * and its cold-start timestamps, for scripts/bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "emu.h"
#include "vz/base64.h"
#include "vz/json.h"
#include "vz/log.h"

#define FUNCTIONS "/2015-03-31/functions/"
#define INVOCATIONS "/invocations"
#define MAX_CLIENT_CONTEXT 3583 /* Lambda's limit on X-Amz-Client-Context, in base64 characters */

static bool is_invoke_path(const char *url)
{
    size_t n = strlen(url), p = strlen(FUNCTIONS), s = strlen(INVOCATIONS);
    if (n <= p + s || strncmp(url, FUNCTIONS, p) != 0 || strcmp(url + n - s, INVOCATIONS) != 0)
        return false;
    return memchr(url + p, '/', n - p - s) == NULL; /* exactly one function name segment */
}

/* The client context the runtime gets: the header's base64 decoded (a JSON document compacted to
 * one line, since it travels in a header).  Returns a malloc'd string (caller frees), or NULL
 * with *why saying what is wrong with the header (a static text). */
static char *decode_client_context(const char *header, const char **why)
{
    size_t len = strlen(header), n = 0;
    *why = NULL;
    if (len > MAX_CLIENT_CONTEXT) {
        *why = "X-Amz-Client-Context is longer than 3583 characters";
        return NULL;
    }
    unsigned char *raw = vz_base64_decode(header, len, &n);
    if (!raw) {
        *why = "X-Amz-Client-Context must be a valid base64 encoded string";
        return NULL;
    }
    /* Lambda takes the client context as UTF-8 JSON: invalid UTF-8 is refused whether or not the
     * rest parses (cJSON would copy the bytes through unchecked). */
    if (!vz_json_utf8_valid((const char *)raw, n)) {
        free(raw);
        *why = "X-Amz-Client-Context decodes to invalid UTF-8";
        return NULL;
    }
    cJSON *doc = cJSON_ParseWithLength((const char *)raw, n);
    char *out = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (out) {
        free(raw);
        return out;
    }
    /* Not JSON: passed on as it is, if it can travel in a header. */
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++)
        ok = raw[i] >= 0x20 && raw[i] != 0x7f;
    if (!ok) {
        free(raw);
        *why = "X-Amz-Client-Context decodes to text with control characters";
        return NULL;
    }
    return (char *)raw;
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
    const char *encoded = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Client-Context");
    char *client_context = NULL;
    if (encoded && *encoded) {
        const char *why;
        if (!(client_context = decode_client_context(encoded, &why))) {
            vz_log(VZ_LOG_WARN, NULL, "emulator: invocation refused (400): %s (%zu characters)", why, strlen(encoded));
            return emu_http_error(c, 400, "InvalidRequestContentException", why);
        }
    }
    emu_request req = {
        .payload = u->data ? u->data : "",
        .len = u->len,
        .trace_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-Trace-Id"),
        .client_context = client_context,
        .cognito_identity = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Cognito-Identity"),
        .tenant_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Tenant-Id"),
    };
    emu_result res;
    int rc = emu_invoke(&req, &res);
    free(client_context);
    if (rc != 0)
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
