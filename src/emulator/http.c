/* http.c -- what the two HTTP servers of vz-emulator share (libmicrohttpd).
 *
 * Both servers run a thread per connection, so an access handler may block
 * (a /next long poll, an invoke waiting for its answer).  Request bodies are
 * collected into an emu_upload up to a limit; past it the rest is read and
 * dropped so that the answer (413) goes out on a connection that stays open.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "emu.h"
#include "vz/log.h"

bool emu_http_collect(void **con_cls, size_t limit, const char *upload_data, size_t *upload_data_size,
                      enum MHD_Result *ret)
{
    emu_upload *u = *con_cls;
    *ret = MHD_YES;
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u) {
            *ret = MHD_NO;
            return false;
        }
        u->limit = limit;
        u->gen = emu_core_generation();
        *con_cls = u;
        return false;
    }
    if (*upload_data_size == 0)
        return true;
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (u->too_large || u->len + n > u->limit) {
        u->too_large = true;
        u->len += n; /* counted, not kept */
        return false;
    }
    if (u->len + n + 1 > u->cap) {
        size_t cap = u->cap ? u->cap : (size_t)16 * 1024;
        while (cap < u->len + n + 1)
            cap *= 2;
        char *nd = realloc(u->data, cap);
        if (!nd) {
            *ret = MHD_NO;
            return false;
        }
        u->data = nd;
        u->cap = cap;
    }
    memcpy(u->data + u->len, upload_data, n);
    u->len += n;
    u->data[u->len] = '\0';
    return false;
}

void emu_http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    emu_upload *u = *con_cls;
    if (u) {
        free(u->data);
        free(u);
        *con_cls = NULL;
    }
}

enum MHD_Result emu_http_answer(struct MHD_Connection *c, unsigned status, const char *content_type, char *body,
                                size_t len)
{
    struct MHD_Response *r = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                  : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result emu_http_error(struct MHD_Connection *c, unsigned status, const char *type, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorMessage", msg);
    cJSON_AddStringToObject(o, "errorType", type);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return MHD_NO;
    return emu_http_answer(c, status, "application/json", s, strlen(s));
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* libmicrohttpd's own messages ("closing connection" after a deliberate drop) at DEBUG level. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    vz_log(VZ_LOG_DEBUG, NULL, "emulator: libmicrohttpd: %s", msg);
}

struct MHD_Daemon *emu_http_start(const char *bind, unsigned port, MHD_AccessHandlerCallback handler, void *cls,
                                  unsigned *bound)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind, &sa.sin_addr) != 1) {
        vz_log(VZ_LOG_ERROR, NULL, "emulator: %s is not an IPv4 address", bind);
        return NULL;
    }
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                         (uint16_t)port, NULL, NULL, handler, cls, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, emu_http_completed,
                         NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0, MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound = info ? info->port : port;
    return d;
}
