/* runtime_api.c -- the Lambda Runtime API that vz-emulator serves to the runtime it runs.
 *
 *   GET  /2018-06-01/runtime/invocation/next           long poll; the event and its headers
 *   POST /2018-06-01/runtime/invocation/{id}/response  202, 400 (not running / wrong invocation id), 413
 *   POST /2018-06-01/runtime/invocation/{id}/error     202, 400
 *   POST /2018-06-01/runtime/init/error                202, 403 after the first /next
 * Every call is logged with its answer so that tests can see what the runtime
 * did.  The --test-fault injections are applied here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu.h"
#include "vz/log.h"

#define PREFIX "/2018-06-01"
#define INVOCATION PREFIX "/runtime/invocation/"

static enum MHD_Result fault_answer(struct MHD_Connection *c, const char *what, unsigned status)
{
    vz_log(VZ_LOG_INFO, NULL, "emulator: runtime API %s -> %u (test fault)", what, status);
    return emu_http_error(c, status, status >= 500 ? "ServiceException" : "TestFault",
                          "an error injected by vz-emulator --test-fault");
}

/* next-truncated: the body source that stops half-way and fails the transfer (MHD closes the connection). */
typedef struct truncated {
    char *event;
    size_t len, half;
} truncated;

static ssize_t truncated_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    truncated *t = cls;
    if (pos >= t->half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->half - (size_t)pos < max ? t->half - (size_t)pos : max;
    memcpy(buf, t->event + pos, n);
    return (ssize_t)n;
}

static void truncated_free(void *cls)
{
    truncated *t = cls;
    free(t->event);
    free(t);
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
    if (value && *value)
        MHD_add_response_header(r, name, value);
}

static enum MHD_Result next(struct MHD_Connection *c, emu_upload *u)
{
    const char *what = "GET " INVOCATION "next";
    if (emu_core_fault(EMU_FAULT_NEXT_DROP)) {
        vz_log(VZ_LOG_INFO, NULL, "emulator: runtime API %s -> connection closed (test fault)", what);
        return MHD_NO;
    }
    if (emu_core_fault(EMU_FAULT_NEXT_500))
        return fault_answer(c, what, 500);
    if (emu_core_fault(EMU_FAULT_NEXT_403))
        return fault_answer(c, what, 403);
    emu_next n;
    if (emu_core_next(u->gen, &n) != 0)
        return MHD_NO; /* stopping, or that runtime is gone */
    if (emu_core_fault(EMU_FAULT_NEXT_GARBAGE)) {
        static const char junk[] = "\x89PNG\r\n\x1a\n\x00\xff{\"Records\":[ not an event";
        struct MHD_Response *g = MHD_create_response_from_buffer(sizeof junk - 1, (void *)junk, MHD_RESPMEM_PERSISTENT);
        if (g) {
            MHD_add_response_header(g, "Lambda-Runtime-Deadline-Ms", "soon");
            MHD_add_response_header(g, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
        }
        vz_log(VZ_LOG_INFO, NULL, "emulator: runtime API %s -> 200 with garbage instead of invocation %s (test fault)",
               what, n.request_id);
        enum MHD_Result gr = g ? MHD_queue_response(c, MHD_HTTP_OK, g) : MHD_NO;
        if (g)
            MHD_destroy_response(g);
        emu_next_free(&n);
        return gr;
    }
    struct MHD_Response *r = NULL;
    if (emu_core_fault(EMU_FAULT_NEXT_TRUNCATED)) {
        truncated *t = malloc(sizeof *t);
        if (t) {
            *t = (truncated){n.event, n.len, n.len / 2};
            r = MHD_create_response_from_callback(n.len, 4096, truncated_read, t, truncated_free);
            if (!r)
                free(t);
        }
        vz_log(VZ_LOG_INFO, NULL, "emulator: runtime API %s -> 200, %zu of %zu bytes, then closed (test fault)", what,
               n.len / 2, n.len);
    } else {
        r = MHD_create_response_from_buffer(n.len, n.event, MHD_RESPMEM_MUST_FREE);
    }
    if (!r) {
        emu_next_free(&n);
        return MHD_NO;
    }
    n.event = NULL;
    char deadline[32], arn[256];
    snprintf(deadline, sizeof deadline, "%" PRId64, n.deadline_ms);
    const char *region = getenv("AWS_REGION"), *fn = getenv("AWS_LAMBDA_FUNCTION_NAME");
    snprintf(arn, sizeof arn, "arn:aws:lambda:%s:012345678912:function:%s", region ? region : "us-east-1",
             fn ? fn : "function");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    add_header(r, "Lambda-Runtime-Aws-Request-Id", n.request_id);
    add_header(r, "Lambda-Runtime-Deadline-Ms", deadline);
    add_header(r, "Lambda-Runtime-Invoked-Function-Arn", arn);
    if (!(n.trace_generated && emu_core_fault(EMU_FAULT_NO_TRACE_ID)))
        add_header(r, "Lambda-Runtime-Trace-Id", n.trace_id);
    add_header(r, "Lambda-Runtime-Client-Context", n.client_context);
    add_header(r, "Lambda-Runtime-Cognito-Identity", n.cognito_identity);
    add_header(r, "Lambda-Runtime-Aws-Tenant-Id", n.tenant_id);
    add_header(r, "Lambda-Runtime-Invocation-Id", n.invocation_id);
    vz_log(VZ_LOG_DEBUG, NULL, "emulator: runtime API %s -> 200 (invocation %s, %zu bytes)", what, n.request_id, n.len);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    emu_next_free(&n);
    return ret;
}

static enum MHD_Result post_answer(struct MHD_Connection *c, const char *what, size_t len, emu_answer a)
{
    vz_log(a.status == 202 ? VZ_LOG_DEBUG : VZ_LOG_INFO, NULL, "emulator: runtime API %s (%zu bytes) -> %u%s%s", what,
           len, a.status, a.status == 202 ? "" : ": ", a.status == 202 ? "" : a.message);
    if (a.status == 202) {
        static const char ok[] = "{\"status\":\"OK\"}";
        char *body = strdup(ok);
        return emu_http_answer(c, 202, "application/json", body, body ? strlen(body) : 0);
    }
    const char *type = a.status == 413   ? "RequestEntityTooLarge"
                       : a.status == 403 ? "InvalidStateTransition"
                                         : "InvalidRequestID";
    return emu_http_error(c, a.status, type, a.message);
}

/* POST .../{id}/response or .../{id}/error */
static enum MHD_Result invocation_post(struct MHD_Connection *c, emu_upload *u, const char *url)
{
    const char *id = url + strlen(INVOCATION);
    const char *slash = strchr(id, '/');
    if (!slash || slash == id || slash - id > 64)
        return emu_http_error(c, 404, "NotFound", "no such Runtime API path");
    char rid[65];
    snprintf(rid, sizeof rid, "%.*s", (int)(slash - id), id);
    bool is_response = strcmp(slash, "/response") == 0;
    if (!is_response && strcmp(slash, "/error") != 0)
        return emu_http_error(c, 404, "NotFound", "no such Runtime API path");
    char what[160];
    snprintf(what, sizeof what, "POST " INVOCATION "%s%s", rid, slash);
    const char *inv_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Runtime-Invocation-Id");
    if (is_response) {
        if (emu_core_fault(EMU_FAULT_RESPONSE_HANG)) {
            /* Say nothing until the invocation has timed out (the supervisor kills the runtime), then close. */
            vz_log(VZ_LOG_INFO, NULL, "emulator: runtime API %s -> no answer (test fault)", what);
            struct timespec ts = {0, 0};
            int64_t ms = emu_core_timeout_ms() + 1000;
            ts.tv_sec = (time_t)(ms / 1000);
            ts.tv_nsec = (long)(ms % 1000) * 1000000L;
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
            return MHD_NO;
        }
        if (emu_core_fault(EMU_FAULT_RESPONSE_DROP)) {
            vz_log(VZ_LOG_INFO, NULL, "emulator: runtime API %s -> connection closed (test fault)", what);
            return MHD_NO;
        }
        static const emu_fault f[] = {EMU_FAULT_RESPONSE_400, EMU_FAULT_RESPONSE_403, EMU_FAULT_RESPONSE_500};
        static const unsigned st[] = {400, 403, 500};
        for (int i = 0; i < 3; i++) {
            if (emu_core_fault(f[i])) {
                emu_core_fail_running(rid, st[i]);
                return fault_answer(c, what, st[i]);
            }
        }
        char *body = u->data;
        u->data = NULL;
        return post_answer(c, what, u->len,
                           emu_core_response(rid, inv_id, body, u->too_large ? 0 : u->len, u->too_large));
    }
    static const emu_fault f[] = {EMU_FAULT_ERROR_400, EMU_FAULT_ERROR_403, EMU_FAULT_ERROR_500};
    static const unsigned st[] = {400, 403, 500};
    for (int i = 0; i < 3; i++) {
        if (emu_core_fault(f[i])) {
            emu_core_fail_running(rid, st[i]);
            return fault_answer(c, what, st[i]);
        }
    }
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Runtime-Function-Error-Type");
    vz_log(VZ_LOG_INFO, NULL, "emulator: runtime API %s with Lambda-Runtime-Function-Error-Type: %s", what,
           type ? type : "(missing)");
    char *body = u->data;
    u->data = NULL;
    if (u->too_large) {
        free(body);
        return post_answer(c, what, u->len, (emu_answer){413, "the error document is larger than 6 MB"});
    }
    return post_answer(c, what, u->len, emu_core_error(rid, inv_id, type, body, u->len));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls, (void)version;
    enum MHD_Result ret;
    if (!emu_http_collect(con_cls, EMU_MAX_PAYLOAD, upload_data, upload_data_size, &ret))
        return ret;
    emu_upload *u = *con_cls;
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (get && strcmp(url, INVOCATION "next") == 0)
        return next(c, u);
    if (post && strncmp(url, INVOCATION, strlen(INVOCATION)) == 0)
        return invocation_post(c, u, url);
    if (post && strcmp(url, PREFIX "/runtime/init/error") == 0) {
        const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Runtime-Function-Error-Type");
        vz_log(VZ_LOG_INFO, NULL,
               "emulator: runtime API POST /2018-06-01/runtime/init/error with "
               "Lambda-Runtime-Function-Error-Type: %s",
               type ? type : "(missing)");
        char *body = u->data;
        u->data = NULL;
        size_t len = u->too_large ? 0 : u->len;
        if (u->too_large) {
            free(body);
            body = NULL;
        }
        return post_answer(c, "POST " PREFIX "/runtime/init/error", u->len, emu_core_init_error(type, body, len));
    }
    vz_log(VZ_LOG_INFO, NULL, "emulator: runtime API %s %s -> 404", method, url);
    return emu_http_error(c, 404, "NotFound", "no such Runtime API path");
}

struct MHD_Daemon *emu_runtime_api_start(const emu_config *cfg, unsigned *port)
{
    return emu_http_start(cfg->bind, 0, on_request, NULL, port);
}
