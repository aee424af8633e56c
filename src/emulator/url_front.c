/* url_front.c -- a Lambda function URL on a local port: HTTP request → event → HTTP response.
 *
 * Any request to the port becomes a payload 2.0 event as function URLs build it
 * (lower-case headers, repeated ones joined by ",", query parameters, a body that
 * is text for textual content types and base64 otherwise, requestContext.http).
 * The runtime's answer is read as function URLs read it: an object with
 * "statusCode" gives the status, "headers" and "body" (decoded when
 * "isBase64Encoded"); any other successful answer is returned as a 200 JSON
 * body.  A function error gives 502, as a function URL does; a stopping
 * emulator 503.  This lets curl or a local Hasura POST to /events/.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "emu.h"
#include "vz/base64.h"
#include "vz/fixture.h"
#include "vz/handler.h"
#include "vz/log.h"

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    cJSON *headers = cls;
    char name[256];
    size_t n = 0;
    for (; key[n] && n + 1 < sizeof name; n++)
        name[n] = (char)tolower((unsigned char)key[n]);
    name[n] = '\0';
    if (!value)
        value = "";
    cJSON *have = cJSON_GetObjectItemCaseSensitive(headers, name);
    if (cJSON_IsString(have)) {
        size_t len = strlen(have->valuestring) + strlen(value) + 2;
        char *joined = malloc(len);
        if (joined) {
            snprintf(joined, len, "%s,%s", have->valuestring, value);
            cJSON_ReplaceItemInObjectCaseSensitive(headers, name, cJSON_CreateString(joined));
            free(joined);
        }
    } else {
        cJSON_AddStringToObject(headers, name, value);
    }
    return MHD_YES;
}

typedef struct query {
    cJSON *params;
    char raw[4096];
} query;

static enum MHD_Result add_param(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    query *q = cls;
    if (!cJSON_GetObjectItemCaseSensitive(q->params, key))
        cJSON_AddStringToObject(q->params, key, value ? value : "");
    size_t used = strlen(q->raw);
    snprintf(q->raw + used, sizeof q->raw - used, "%s%s%s%s", used ? "&" : "", key, value ? "=" : "",
             value ? value : "");
    return MHD_YES;
}

static bool textual(const char *content_type)
{
    if (!content_type || !*content_type)
        return true;
    return strncasecmp(content_type, "text/", 5) == 0 || strcasestr(content_type, "json") ||
           strcasestr(content_type, "xml") || strcasestr(content_type, "javascript") ||
           strcasestr(content_type, "x-www-form-urlencoded");
}

/* The function URL event for this request; caller frees with free(). NULL on OOM. */
static char *build_event(struct MHD_Connection *c, const char *url, const char *method, const emu_upload *u)
{
    cJSON *ev = cJSON_CreateObject();
    if (!ev)
        return NULL;
    char rid[37], when[64];
    vz_uuid4(rid);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    cJSON *headers = cJSON_CreateObject();
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, headers);
    query q = {cJSON_CreateObject(), ""};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_param, &q);
    const cJSON *ua = cJSON_GetObjectItemCaseSensitive(headers, "user-agent");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(headers, "content-type");

    cJSON_AddStringToObject(ev, "version", "2.0");
    cJSON_AddStringToObject(ev, "routeKey", "$default");
    cJSON_AddStringToObject(ev, "rawPath", url);
    cJSON_AddStringToObject(ev, "rawQueryString", q.raw);
    cJSON_AddItemToObject(ev, "headers", headers);
    if (cJSON_GetArraySize(q.params) > 0)
        cJSON_AddItemToObject(ev, "queryStringParameters", q.params);
    else
        cJSON_Delete(q.params);
    cJSON *rc = cJSON_AddObjectToObject(ev, "requestContext");
    cJSON_AddStringToObject(rc, "accountId", "anonymous");
    cJSON_AddStringToObject(rc, "apiId", "vzlocalfunctionurl");
    cJSON_AddStringToObject(rc, "domainName", "localhost");
    cJSON_AddStringToObject(rc, "domainPrefix", "vzlocalfunctionurl");
    cJSON *http = cJSON_AddObjectToObject(rc, "http");
    cJSON_AddStringToObject(http, "method", method);
    cJSON_AddStringToObject(http, "path", url);
    cJSON_AddStringToObject(http, "protocol", "HTTP/1.1");
    cJSON_AddStringToObject(http, "sourceIp", "127.0.0.1");
    cJSON_AddStringToObject(http, "userAgent", cJSON_IsString(ua) ? ua->valuestring : "");
    cJSON_AddStringToObject(rc, "requestId", rid);
    cJSON_AddStringToObject(rc, "routeKey", "$default");
    cJSON_AddStringToObject(rc, "stage", "$default");
    cJSON_AddStringToObject(rc, "time", when);
    cJSON_AddNumberToObject(rc, "timeEpoch", (double)vz_now_ms());
    bool b64 = false;
    if (u->len > 0) {
        b64 = !textual(cJSON_IsString(ct) ? ct->valuestring : NULL) || memchr(u->data, '\0', u->len) != NULL;
        if (b64) {
            char *e = vz_base64_encode(u->data, u->len);
            cJSON_AddStringToObject(ev, "body", e ? e : "");
            free(e);
        } else {
            cJSON_AddStringToObject(ev, "body", u->data);
        }
    }
    cJSON_AddBoolToObject(ev, "isBase64Encoded", b64);
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    return text;
}

/* Turn the function's successful answer into the HTTP response, as function URLs do. */
static enum MHD_Result reply(struct MHD_Connection *c, const emu_result *res)
{
    cJSON *doc = cJSON_ParseWithLength(res->body ? res->body : "", res->len);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(doc, "statusCode");
    unsigned status = 200;
    char *body = NULL;
    size_t len = 0;
    const cJSON *headers = NULL;
    if (cJSON_IsObject(doc) && cJSON_IsNumber(code)) {
        status = code->valueint >= 100 && code->valueint <= 599 ? (unsigned)code->valueint : 502;
        headers = cJSON_GetObjectItemCaseSensitive(doc, "headers");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(doc, "body");
        if (cJSON_IsString(b)) {
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "isBase64Encoded"))) {
                body = (char *)vz_base64_decode(b->valuestring, strlen(b->valuestring), &len);
            } else {
                body = strdup(b->valuestring);
                len = body ? strlen(body) : 0;
            }
        }
    } else if (res->body) {
        body = malloc(res->len + 1);
        if (body) {
            memcpy(body, res->body, res->len + 1);
            len = res->len;
        }
    }
    struct MHD_Response *r = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                  : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        cJSON_Delete(doc);
        return MHD_NO;
    }
    bool typed = false;
    const cJSON *h;
    cJSON_ArrayForEach(h, headers)
    {
        if (h->string && cJSON_IsString(h)) {
            MHD_add_response_header(r, h->string, h->valuestring);
            typed = typed || strcasecmp(h->string, "content-type") == 0;
        }
    }
    if (!typed)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, "X-Amzn-RequestId", res->request_id);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    cJSON_Delete(doc);
    return ret;
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
    if (u->too_large)
        return emu_http_error(c, 413, "RequestEntityTooLargeException", "the request body is over the limit");
    char *event = build_event(c, url, method, u);
    if (!event)
        return emu_http_error(c, 500, "ServiceException", "the emulator ran out of memory");
    emu_request req = {.payload = event, .len = strlen(event)};
    req.trace_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-Trace-Id");
    emu_result res;
    int rc = emu_invoke(&req, &res);
    free(event);
    if (rc != 0)
        return emu_http_error(c, 500, "ServiceException", "the emulator ran out of memory");
    if (res.outcome == EMU_SUCCEEDED)
        ret = reply(c, &res);
    else if (res.outcome == EMU_FUNCTION_ERROR)
        ret = emu_http_error(c, 502, res.error_type, "the function failed (see the runtime's log)");
    else
        ret = emu_http_error(c, 503, "ServiceUnavailable", "the emulator is stopping");
    vz_log(VZ_LOG_INFO, NULL, "emulator: function URL %s %s → %s (%s) in %.1f ms", method, url,
           res.outcome == EMU_SUCCEEDED ? "response" : "error", res.request_id, res.duration_ms);
    emu_result_free(&res);
    return ret;
}

struct MHD_Daemon *emu_url_front_start(const emu_config *cfg, unsigned *port)
{
    return emu_http_start(cfg->bind, (unsigned)cfg->url_port, on_request, (void *)cfg, port);
}
