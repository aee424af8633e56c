/* runtime.c -- the Lambda runtime loop (see runtime.h).
 *
 * One `rt` holds everything that lives for the process: the curl handle (and
 * so the kept-alive connection), the buffer /next's body is read into (grown
 * once, reused), and the arena of the current invocation.  Each call to the
 * Runtime API goes through perform(), which repeats it on transport errors
 * with exponential backoff; what the HTTP status means is decided by the
 * caller, next() or post(), following the table in runtime.h.
 */
#include "vz/runtime.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "vz/batch.h"
#include "vz/buf.h"
#include "vz/invocation.h"
#include "vz/log.h"
#include "vz/version.h"

#define API_PREFIX "/2018-06-01"
#define MAX_EVENT_BYTES ((size_t)64 * 1024 * 1024) /* Lambda sends at most 6 MB; this only guards memory */

static volatile sig_atomic_t g_stop; /* set by SIGTERM/SIGINT, read by the loop */

typedef enum call_result {
    CALL_OK = 0,    /* an HTTP answer arrived (any status) */
    CALL_FATAL = 1, /* give up: the process must exit non-zero */
    CALL_STOP = 2   /* SIGTERM arrived while waiting: exit cleanly */
} call_result;

typedef struct rt {
    const vz_runtime_config *cfg;
    vz_runtime_stats *stats;
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE]; /* curl's text for the last transport error */
    char base[300];               /* "http://host:port/2018-06-01" */
    char *body;                   /* the last answer's body, reused across calls */
    size_t body_len, body_cap;
    bool body_overflow;        /* the answer was larger than MAX_EVENT_BYTES */
    bool in_next;              /* the transfer is /next: parse headers, SIGTERM aborts it */
    vz_arena arena;            /* per-invocation memory, reset after each answer */
    vz_runtime_invocation inv; /* headers of the current /next answer */
    int64_t started_ms;        /* epoch ms when the loop started: no real deadline is earlier */
    long timeout_s;            /* AWS_LAMBDA_FUNCTION_TIMEOUT when set: the deadline of last resort */
    bool told_deadline;        /* an implausible deadline was logged (once per process) */
} rt;

/* ---- small pure helpers (unit-tested) ---- */

bool vz_runtime_error_type_valid(const char *type)
{
    const char *rest;
    if (!type)
        return false;
    if (strncmp(type, "Runtime.", 8) == 0)
        rest = type + 8;
    else if (strncmp(type, "Function.", 9) == 0)
        rest = type + 9;
    else
        return false;
    if (!(rest[0] >= 'A' && rest[0] <= 'Z') || rest[1] == '\0')
        return false;
    for (const char *p = rest + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

long vz_runtime_backoff_ms(int attempt, long base_ms)
{
    long ms = base_ms > 0 ? base_ms : 1;
    for (int i = 2; i < attempt && ms < VZ_RUNTIME_MAX_BACKOFF_MS; i++)
        ms *= 2;
    return ms < VZ_RUNTIME_MAX_BACKOFF_MS ? ms : VZ_RUNTIME_MAX_BACKOFF_MS;
}

bool vz_runtime_invocation_path(char *out, size_t n, const char *request_id, const char *what, const char **why)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = request_id ? strlen(request_id) : 0;
    *why = NULL;
    if (len == 0)
        *why = "it is empty";
    else if (len > VZ_RUNTIME_MAX_REQUEST_ID)
        *why = "it is longer than 1024 characters";
    for (size_t i = 0; !*why && i < len; i++)
        if ((unsigned char)request_id[i] < 0x20 || request_id[i] == 0x7f)
            *why = "it holds a control character";
    if (*why)
        return false;
    int o = snprintf(out, n, "/runtime/invocation/");
    for (size_t i = 0; i < len && o >= 0 && (size_t)o + 4 < n; i++) {
        unsigned char c = (unsigned char)request_id[i];
        /* RFC 3986 unreserved, but '.': an id of ".." must not become a dot segment */
        if (isalnum(c) || c == '-' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o < 0 || (size_t)o + strlen(what) + 2 > n) {
        *why = "the path does not fit";
        return false;
    }
    snprintf(out + o, n - (size_t)o, "/%s", what);
    return true;
}

int64_t vz_runtime_plausible_deadline(int64_t deadline_ms, int64_t now_ms, int64_t started_ms, long timeout_s)
{
    if (deadline_ms >= started_ms && deadline_ms <= now_ms + (int64_t)900000)
        return deadline_ms;
    return timeout_s > 0 ? now_ms + (int64_t)timeout_s * 1000 : 0;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return false;
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return true;
}

bool vz_runtime_parse_header(vz_runtime_invocation *inv, vz_arena *arena, const char *line, size_t len)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"Lambda-Runtime-Aws-Request-Id", offsetof(vz_runtime_invocation, request_id)},
        {"Lambda-Runtime-Invoked-Function-Arn", offsetof(vz_runtime_invocation, function_arn)},
        {"Lambda-Runtime-Trace-Id", offsetof(vz_runtime_invocation, trace_id)},
        {"Lambda-Runtime-Client-Context", offsetof(vz_runtime_invocation, client_context)},
        {"Lambda-Runtime-Cognito-Identity", offsetof(vz_runtime_invocation, cognito_identity)},
        {"Lambda-Runtime-Aws-Tenant-Id", offsetof(vz_runtime_invocation, tenant_id)},
        {"Lambda-Runtime-Invocation-Id", offsetof(vz_runtime_invocation, invocation_id)},
    };
    const char *v;
    size_t vlen;
    if (header_is(line, len, "Lambda-Runtime-Deadline-Ms", &v, &vlen)) {
        char num[32];
        if (vlen == 0 || vlen >= sizeof num)
            return true;
        memcpy(num, v, vlen);
        num[vlen] = '\0';
        char *end;
        errno = 0;
        long long ms = strtoll(num, &end, 10);
        if (end == num + vlen && errno == 0 && ms > 0) /* all of it: no NUL inside, nothing after */
            inv->deadline_ms = ms;
        return true;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (header_is(line, len, fields[i].name, &v, &vlen)) {
            if (vlen > 0) {
                char *copy = vz_arena_strndup(arena, v, vlen);
                /* a NUL inside would cut the value silently: keep its length, as a control character */
                for (size_t k = 0; copy && k < vlen; k++)
                    if (copy[k] == '\0')
                        copy[k] = 0x7f;
                *(const char **)((char *)inv + fields[i].offset) = copy;
            }
            return true;
        }
    }
    return false;
}

/* ---- configuration ---- */

static int env_long(const char *name, long lo, long hi, long *out, vz_error *err)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > hi) {
        vz_error_set(err, "Runtime.InvalidConfiguration", "%s=\"%.32s\" is not a whole number between %ld and %ld",
                     name, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

vz_status vz_runtime_config_from_env(vz_runtime_config *cfg, vz_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->connect_timeout_ms = VZ_RUNTIME_DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->max_attempts = VZ_RUNTIME_DEFAULT_MAX_ATTEMPTS;
    cfg->backoff_ms = VZ_RUNTIME_DEFAULT_BACKOFF_MS;
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api || strlen(api) >= sizeof cfg->api || strchr(api, '/') || strchr(api, ' ')) {
        vz_error_set(err, "Runtime.InvalidConfiguration",
                     "AWS_LAMBDA_RUNTIME_API=\"%.64s\" is not a host:port (Lambda sets it; locally, vz-emulator does)",
                     api ? api : "");
        return VZ_EINVAL;
    }
    snprintf(cfg->api, sizeof cfg->api, "%s", api);
    /* host for NOPROXY: "[::1]:9001" -> "::1", "127.0.0.1:9001" -> "127.0.0.1" */
    const char *h = api, *colon = strrchr(api, ':');
    size_t hlen = colon ? (size_t)(colon - api) : strlen(api);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    snprintf(cfg->host, sizeof cfg->host, "%.*s", (int)hlen, h);
    long attempts = cfg->max_attempts;
    if (env_long("VZ_RUNTIME_CONNECT_TIMEOUT_MS", 1, 60000, &cfg->connect_timeout_ms, err) ||
        env_long("VZ_RUNTIME_MAX_ATTEMPTS", 1, 100, &attempts, err) ||
        env_long("VZ_RUNTIME_BACKOFF_MS", 1, VZ_RUNTIME_MAX_BACKOFF_MS, &cfg->backoff_ms, err))
        return VZ_EINVAL;
    cfg->max_attempts = (int)attempts;
    return VZ_OK;
}

/* ---- curl plumbing ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    rt *r = userdata;
    size_t n = size * nmemb;
    if (r->body_len + n > MAX_EVENT_BYTES) {
        r->body_overflow = true;
        return 0; /* aborts the transfer */
    }
    if (vz_buf_append(&r->body, &r->body_len, &r->body_cap, data, n, (size_t)64 * 1024) != 0)
        return 0;
    return n;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    rt *r = userdata;
    size_t n = size * nmemb;
    if (!r->in_next)
        return n;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) /* a new answer (after a 100, or a retry) */
        memset(&r->inv, 0, sizeof r->inv);
    else
        vz_runtime_parse_header(&r->inv, &r->arena, line, n);
    return n;
}

/* Called by curl about once a second while a transfer waits: SIGTERM ends the /next long poll. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const rt *r = userdata;
    return r->in_next && g_stop ? 1 : 0;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int rt_open(rt *r, const vz_runtime_config *cfg, vz_runtime_stats *stats)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->stats = stats;
    vz_arena_init(&r->arena, 0);
    r->started_ms = vz_now_ms();
    const char *timeout = getenv("AWS_LAMBDA_FUNCTION_TIMEOUT");
    r->timeout_s = timeout ? strtol(timeout, NULL, 10) : 0;
    if (r->timeout_s < 1 || r->timeout_s > 900)
        r->timeout_s = 0;
    snprintf(r->base, sizeof r->base, "http://%s" API_PREFIX, cfg->api);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(r->curl = curl_easy_init())) {
        vz_log(VZ_LOG_FATAL, NULL, "cannot initialise libcurl; the runtime cannot talk to the Runtime API");
        return -1;
    }
    CURL *c = r->curl;
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_NOPROXY, cfg->host);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L); /* never a total timeout: frozen between events */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vz-events/" VZ_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    return 0;
}

static void rt_close(rt *r)
{
    if (r->curl)
        curl_easy_cleanup(r->curl); /* closes the kept-alive connection */
    r->curl = NULL;
    curl_global_cleanup();
    free(r->body);
    r->body = NULL;
    vz_arena_destroy(&r->arena);
}

/* Sleep ms milliseconds; returns false when a stop signal cut it short. */
static bool pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        if (g_stop)
            return false;
    return !g_stop;
}

/* Run the prepared transfer, repeating it on transport errors; *code gets the HTTP status. */
static call_result perform(rt *r, const char *what, long *code)
{
    double t0 = vz_monotonic_ms();
    for (int attempt = 1;; attempt++) {
        r->body_len = 0;
        r->body_overflow = false;
        r->errbuf[0] = '\0';
        CURLcode rc = curl_easy_perform(r->curl);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, code);
            return CALL_OK;
        }
        if (rc == CURLE_ABORTED_BY_CALLBACK && g_stop)
            return CALL_STOP;
        const char *why = r->body_overflow ? "the answer is larger than 64 MiB"
                          : r->errbuf[0]   ? r->errbuf
                                           : curl_easy_strerror(rc);
        if (attempt >= r->cfg->max_attempts) {
            vz_log(VZ_LOG_FATAL, NULL,
                   "the Lambda Runtime API at %s did not answer %s after %d attempts over %.0f ms "
                   "(last error: %s); exiting so that Lambda restarts the runtime",
                   r->cfg->api, what, attempt, vz_monotonic_ms() - t0, why);
            return CALL_FATAL;
        }
        long wait = vz_runtime_backoff_ms(attempt + 1, r->cfg->backoff_ms);
        vz_log(VZ_LOG_WARN, NULL, "%s to the Runtime API at %s failed (%s); attempt %d of %d in %ld ms", what,
               r->cfg->api, why, attempt + 1, r->cfg->max_attempts, wait);
        if (r->stats)
            r->stats->transport_retries++;
        if (!pause_ms(wait))
            return CALL_STOP;
    }
}

/* First bytes of an error answer from the Runtime API, printable, for a log line. */
static const char *answer_excerpt(rt *r)
{
    if (!r->body || r->body_len == 0)
        return "(empty)";
    size_t n = r->body_len < 200 ? r->body_len : 200;
    r->body[n] = '\0';
    for (char *p = r->body; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    return r->body;
}

/* ---- the calls of the Runtime API ---- */

typedef enum post_result {
    POST_ACCEPTED,  /* 202 */
    POST_REJECTED,  /* 400/403 or another 4xx: logged, dropped */
    POST_TOO_LARGE, /* 413 */
    POST_FATAL,     /* 5xx or unreachable: exit non-zero */
    POST_STOP       /* SIGTERM while retrying */
} post_result;

/* POST body to path (under /2018-06-01); error_type adds Lambda-Runtime-Function-Error-Type. */
static post_result post(rt *r, const char *path, const char *body, size_t len, const char *content_type,
                        const char *error_type)
{
    char url[3600], hdr[320], what[3500];
    snprintf(url, sizeof url, "%s%s", r->base, path);
    snprintf(what, sizeof what, "POST %s%s", API_PREFIX, path);
    struct curl_slist *h = NULL, *t;
    snprintf(hdr, sizeof hdr, "Content-Type: %s", content_type);
    h = curl_slist_append(h, hdr);
    h = (t = curl_slist_append(h, "Expect:")) ? t : h; /* no 100-continue wait on large bodies */
    if (error_type) {
        snprintf(hdr, sizeof hdr, "Lambda-Runtime-Function-Error-Type: %s", error_type);
        h = (t = curl_slist_append(h, hdr)) ? t : h;
    }
    if (r->inv.invocation_id) {
        snprintf(hdr, sizeof hdr, "Lambda-Runtime-Invocation-Id: %.256s", r->inv.invocation_id);
        h = (t = curl_slist_append(h, hdr)) ? t : h;
    }
    curl_easy_setopt(r->curl, CURLOPT_URL, url);
    curl_easy_setopt(r->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
    long code = 0;
    call_result cr = perform(r, what, &code);
    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(h);
    if (cr == CALL_STOP)
        return POST_STOP;
    if (cr == CALL_FATAL)
        return POST_FATAL;
    if (code == 202 || code == 200)
        return POST_ACCEPTED;
    if (code == 413) {
        vz_log(VZ_LOG_ERROR, NULL,
               "the Runtime API refused the %zu-byte answer to %s as too large (413, Lambda's limit is 6 MB); "
               "Lambda reports the invocation as failed, so no /error is posted: %s",
               len, what, answer_excerpt(r));
        if (r->stats)
            r->stats->too_large++;
        return POST_TOO_LARGE;
    }
    if (code >= 500) {
        vz_log(VZ_LOG_FATAL, NULL,
               "the Runtime API answered %ld to %s: %s; exiting so that Lambda restarts the runtime", code, what,
               answer_excerpt(r));
        return POST_FATAL;
    }
    vz_log(VZ_LOG_ERROR, NULL, "the Runtime API answered %ld to %s: %s; not repeating it, going on with the next event",
           code, what, answer_excerpt(r));
    if (r->stats)
        r->stats->rejected++;
    return POST_REJECTED;
}

/* Replace bytes that are not well-formed UTF-8 by '?' in place, so that the JSON we send is valid. */
static void utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = n > 0 && !(n == 2 && *p < 0xC2) && !(n == 4 && *p > 0xF4);
        for (int i = 1; ok && i < n; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && n == 3)
            ok = !(p[0] == 0xE0 && p[1] < 0xA0) && !(p[0] == 0xED && p[1] >= 0xA0);
        if (ok && n == 4)
            ok = !(p[0] == 0xF0 && p[1] < 0x90) && !(p[0] == 0xF4 && p[1] >= 0x90);
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

/* POST an error document for err to path (an invocation's /error or /runtime/init/error). */
static post_result post_error(rt *r, const char *path, const vz_error *err_in)
{
    vz_error err = *err_in;
    if (!vz_runtime_error_type_valid(err.type)) {
        if (err.type[0])
            vz_log(VZ_LOG_WARN, NULL,
                   "error type \"%.60s\" is not of the form Runtime.Xxx or Function.Xxx; "
                   "reporting Runtime.Unknown",
                   err.type);
        snprintf(err.type, sizeof err.type, "Runtime.Unknown");
    }
    utf8_scrub(err.message);
    char *body = vz_error_body(&err);
    if (!body) {
        static const char oom[] = "{\"errorMessage\":\"out of memory\",\"errorType\":\"Runtime.OutOfMemory\","
                                  "\"stackTrace\":[]}";
        return post(r, path, oom, sizeof oom - 1, "application/vnd.aws.lambda.error+json", "Runtime.OutOfMemory");
    }
    post_result pr = post(r, path, body, strlen(body), "application/vnd.aws.lambda.error+json", err.type);
    free(body);
    return pr;
}

/* Long-poll /next; CALL_OK with r->inv and r->body filled, or FATAL/STOP. */
static call_result next(rt *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s/runtime/invocation/next", r->base);
    for (int refused = 1;; refused++) {
        curl_easy_setopt(r->curl, CURLOPT_URL, url);
        curl_easy_setopt(r->curl, CURLOPT_HTTPGET, 1L);
        memset(&r->inv, 0, sizeof r->inv);
        r->in_next = true;
        long code = 0;
        call_result cr = perform(r, "GET " API_PREFIX "/runtime/invocation/next", &code);
        r->in_next = false;
        if (cr != CALL_OK)
            return cr;
        char path[3500];
        const char *why = NULL;
        if (code == 200 && r->inv.request_id &&
            vz_runtime_invocation_path(path, sizeof path, r->inv.request_id, "response", &why))
            return CALL_OK;
        if (code == 200 && why) {
            vz_log(VZ_LOG_ERROR, NULL,
                   "the Runtime API sent an event of %zu bytes whose Lambda-Runtime-Aws-Request-Id (%zu bytes) "
                   "cannot be answered: %s; asking for the next",
                   r->body_len, strlen(r->inv.request_id), why);
        } else if (code == 200) {
            vz_log(VZ_LOG_ERROR, NULL,
                   "the Runtime API sent an event of %zu bytes without "
                   "Lambda-Runtime-Aws-Request-Id; it cannot be answered, asking for the next",
                   r->body_len);
        } else if (code >= 500) {
            vz_log(VZ_LOG_FATAL, NULL,
                   "the Runtime API at %s answered %ld to GET /next: %s; exiting so that "
                   "Lambda restarts the runtime",
                   r->cfg->api, code, answer_excerpt(r));
            return CALL_FATAL;
        } else {
            vz_log(VZ_LOG_ERROR, NULL, "the Runtime API at %s answered %ld to GET /next: %s; asking again", r->cfg->api,
                   code, answer_excerpt(r));
        }
        /* A /next that keeps refusing would spin: pause as for transport errors, and give up as they do. */
        if (refused >= r->cfg->max_attempts) {
            vz_log(VZ_LOG_FATAL, NULL, "GET /next at %s failed %d times in a row; exiting", r->cfg->api, refused);
            return CALL_FATAL;
        }
        if (!pause_ms(vz_runtime_backoff_ms(refused + 1, r->cfg->backoff_ms)))
            return CALL_STOP;
    }
}

/* _X_AMZN_TRACE_ID lives in a buffer of ours handed to putenv(): glibc's setenv() keeps every value
 * ever set for the life of the process, which would grow memory with each new trace id. */
static struct {
    char *buf;
    size_t cap;
} g_trace_env;

static void trace_env_set(const char *value)
{
    static const char name[] = "_X_AMZN_TRACE_ID=";
    if (!value) {
        unsetenv("_X_AMZN_TRACE_ID");
        return;
    }
    size_t need = sizeof name + strlen(value);
    if (need > g_trace_env.cap) {
        size_t cap = need < 256 ? 256 : need;
        char *nb = malloc(cap);
        if (!nb) {
            unsetenv("_X_AMZN_TRACE_ID");
            return;
        }
        snprintf(nb, cap, "%s%s", name, value);
        putenv(nb); /* environ now points at nb; the old buffer is no longer referenced */
        free(g_trace_env.buf);
        g_trace_env.buf = nb;
        g_trace_env.cap = cap;
        return;
    }
    unsetenv("_X_AMZN_TRACE_ID"); /* edit the buffer while environ does not point at it */
    snprintf(g_trace_env.buf, g_trace_env.cap, "%s%s", name, value);
    putenv(g_trace_env.buf);
}

static void trace_env_free(void)
{
    unsetenv("_X_AMZN_TRACE_ID");
    free(g_trace_env.buf);
    g_trace_env.buf = NULL;
    g_trace_env.cap = 0;
}

static void log_invocation(const rt *r)
{
    if (!vz_log_enabled(VZ_LOG_DEBUG))
        return;
    const vz_runtime_invocation *v = &r->inv;
    /* Client context and Cognito identity may hold personal data: sizes only. */
    vz_log(VZ_LOG_DEBUG, NULL,
           "invocation: %zu-byte event, deadline %" PRId64 " (%" PRId64 " ms left), function %s, trace %s, "
           "tenant %s, invocation id %s, client context %zu bytes, cognito identity %zu bytes",
           r->body_len, v->deadline_ms, v->deadline_ms ? v->deadline_ms - vz_now_ms() : 0,
           v->function_arn ? v->function_arn : "-", v->trace_id ? v->trace_id : "-", v->tenant_id ? v->tenant_id : "-",
           v->invocation_id ? v->invocation_id : "-", v->client_context ? strlen(v->client_context) : 0,
           v->cognito_identity ? strlen(v->cognito_identity) : 0);
}

/* Run the event in r->body and post its answer; false when the loop must stop with status 1. */
static bool invoke(rt *r, const vz_batch_options *opts)
{
    const vz_runtime_invocation *v = &r->inv;
    vz_log_set_request_id(v->request_id);
    trace_env_set(v->trace_id);
    /* The invocation's lines go out together, before its answer (or as they come once the deadline is near). */
    vz_log_hold(v->deadline_ms ? v->deadline_ms - opts->deadline_margin_ms : 0);
    if (!v->deadline_ms)
        vz_log(VZ_LOG_WARN, NULL, "no usable Lambda-Runtime-Deadline-Ms header: running without a deadline");
    int64_t now = vz_now_ms();
    int64_t deadline =
        v->deadline_ms ? vz_runtime_plausible_deadline(v->deadline_ms, now, r->started_ms, r->timeout_s) : 0;
    if (deadline != v->deadline_ms && !r->told_deadline) {
        r->told_deadline = true;
        vz_log(VZ_LOG_WARN, NULL,
               "Lambda-Runtime-Deadline-Ms %" PRId64 " is not a plausible epoch time (before this process started, "
               "or more than 15 minutes ahead): running %s; said once for this process",
               v->deadline_ms, r->timeout_s ? "with AWS_LAMBDA_FUNCTION_TIMEOUT from now" : "without a deadline");
    }
    log_invocation(r);
    if (r->stats)
        r->stats->invocations++;

    vz_context ctx = {v->request_id, deadline,         v->function_arn,   v->trace_id,        &r->arena,
                      v->tenant_id,  v->invocation_id, v->client_context, v->cognito_identity};
    vz_invocation_result res;
    vz_error err = {{0}, {0}};
    vz_status st = vz_invocation_run(opts, &ctx, r->body ? r->body : "", r->body_len, &res, &err);
    char path[3500];
    const char *why;
    post_result pr;
    vz_log_release(); /* every line of the invocation is out before its answer is */
    if (st == VZ_OK) {
        vz_runtime_invocation_path(path, sizeof path, v->request_id, "response", &why); /* checked by next() */
        pr = post(r, path, res.response, strlen(res.response), "application/json", NULL);
        free(res.response);
        if (pr == POST_ACCEPTED && r->stats)
            r->stats->responses++;
    } else {
        vz_runtime_invocation_path(path, sizeof path, v->request_id, "error", &why);
        pr = post_error(r, path, &err);
        if (pr == POST_ACCEPTED && r->stats)
            r->stats->errors++;
    }
    trace_env_set(NULL);
    vz_log_set_request_id(NULL);
    vz_arena_reset(&r->arena);
    return pr != POST_FATAL;
}

static int init_failed(rt *r, const vz_error *err)
{
    vz_log(VZ_LOG_FATAL, NULL, "initialisation failed (%s): %s", err->type, err->message);
    post_error(r, "/runtime/init/error", err);
    return 1;
}

static int run(const vz_runtime_config *cfg, const vz_error *config_err, vz_runtime_stats *stats)
{
    rt r;
    if (rt_open(&r, cfg, stats) != 0) {
        rt_close(&r);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: a signal interrupts waits */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 0;
    vz_error err = {{0}, {0}};
    vz_batch_options opts;
    if (config_err) {
        rc = init_failed(&r, config_err);
    } else if (vz_batch_options_from_env(&opts, &err) != VZ_OK || vz_handlers_init(&err) != VZ_OK) {
        rc = init_failed(&r, &err);
    } else {
        vz_log(VZ_LOG_INFO, NULL, "vz-events %s ready; waiting for events from %s", VZ_VERSION, cfg->api);
        while (!g_stop) {
            call_result cr = next(&r);
            if (cr == CALL_STOP)
                break;
            if (cr == CALL_FATAL || !invoke(&r, &opts)) {
                rc = 1;
                break;
            }
        }
        if (g_stop && rc == 0)
            vz_log(VZ_LOG_INFO, NULL, "stop signal received: shutting down after %" PRIu64 " invocations",
                   stats ? stats->invocations : 0);
    }
    vz_handlers_shutdown();
    trace_env_free();
    rt_close(&r);
    vz_log_flush();
    return rc;
}

int vz_runtime_run(const vz_runtime_config *cfg, vz_runtime_stats *stats)
{
    return run(cfg, NULL, stats);
}

int vz_runtime_main(void)
{
    vz_runtime_config cfg;
    vz_error err = {{0}, {0}};
    vz_runtime_stats stats;
    memset(&stats, 0, sizeof stats);
    vz_invocation_tune_memory();
    if (vz_runtime_config_from_env(&cfg, &err) != VZ_OK && !cfg.api[0]) {
        vz_log(VZ_LOG_FATAL, NULL, "%s", err.message);
        return 1;
    }
    return run(&cfg, err.type[0] ? &err : NULL, &stats);
}
