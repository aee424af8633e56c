/* sqs_client.c -- Amazon SQS over AWS JSON 1.0, signed by our SigV4 (see sqs_client.h, sigv4.h).
 *
 * Every call is one POST of a JSON document to the endpoint's root with
 * X-Amz-Target naming the action.  The request carries exactly the headers it
 * signs (Host, Content-Type, X-Amz-Date, X-Amz-Target, X-Amz-Security-Token when
 * there is a session token) plus the Authorization built from them; "Expect:" only
 * stops libcurl from adding one and is neither sent nor signed.  An answer of
 * 200 is the result document; any other status carries the service's error
 * code and message, JSON or the Query protocol's XML (aws_error.h), which
 * become the vz_error.  The curl handle is reused so that calls share one connection.
 *
 * SendMessage (and the GetQueueUrl it may need) is retried as the AWS SDKs'
 * standard retry mode does: at most 3 attempts; a retry only after a transient
 * failure (no answer, a dropped connection, HTTP 500/502/503/504) or a
 * throttling error code; before attempt i a pause drawn uniformly from
 * [0, min(20 s, 100 ms * 2^(i-2))] (exponential backoff with full jitter); a
 * retry quota per client (500 tokens, 5 a retry, 10 after a timeout, one back
 * per success) so that a failing service is not hammered; and never past the
 * request's time budget.  Each failed attempt is logged (the error's type and
 * message, which never hold a credential).  A retried SendMessage may deliver
 * the message twice when the first answer was lost: SQS is at-least-once, and
 * the handlers are idempotent.
 */
#include "vz/sqs_client.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "vz/aws_error.h"
#include "vz/buf.h"
#include "vz/handler.h"
#include "vz/log.h"
#include "vz/sigv4.h"

#define QUEUE_CACHE_SIZE 32
#define DEFAULT_TIMEOUT_MS 10000L
#define MAX_ANSWER ((size_t)8 * 1024 * 1024)
#define RETRY_MAX_ATTEMPTS 3
#define RETRY_BASE_MS 100.0
#define RETRY_MAX_BACKOFF_MS 20000.0
#define RETRY_QUOTA 500
#define RETRY_COST 5
#define RETRY_TIMEOUT_COST 10
#define RETRY_MIN_ATTEMPT_MS 50.0        /* an attempt with less time than this left is not started */
#define DEFAULT_ATTEMPT_TIMEOUT_MS 2000L /* a retried attempt's cap: a dead keep-alive connection costs this */
#define MIN_ATTEMPT_TIMEOUT_MS 200L

typedef struct queue_entry {
    char *name; /* queue name */
    char *url;  /* its QueueUrl */
} queue_entry;

struct vz_sqs_client {
    CURL *curl;        /* one handle, one keep-alive connection */
    char *endpoint;    /* base URL, no trailing slash */
    char *region;      /* signing region */
    char *key_id;      /* AWS_ACCESS_KEY_ID */
    char *secret;      /* AWS_SECRET_ACCESS_KEY; wiped on free */
    char *token;       /* AWS_SESSION_TOKEN or NULL; wiped on free */
    char *host;        /* the Host header sent and signed: the endpoint's authority, default port left out */
    char *path;        /* the path every call posts to: the endpoint's, then "/" */
    long timeout_ms;   /* default request cap */
    long attempt_ms;   /* cap of each retried attempt but the last */
    long connect_ms;   /* cap of a connection's set-up (TCP and TLS) */
    const int *cancel; /* abandon requests when non-zero, or NULL */
    queue_entry queues[QUEUE_CACHE_SIZE];
    size_t nqueues;
    size_t next_evict; /* round-robin slot to reuse when the cache is full */
    int retry_tokens;  /* the standard retry mode's quota */
    uint64_t rng;      /* xorshift state for the backoff's jitter */
    long last_http;    /* HTTP status of the last answer, 0 when none came */
};

typedef struct buffer {
    char *data;
    size_t len, cap;
    bool overflow;
} buffer;

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = 0;
    free(s);
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

vz_status vz_sqs_client_config_from_env(vz_sqs_client_config *cfg, vz_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->region = env_nonempty("AWS_REGION");
    if (!cfg->region)
        cfg->region = env_nonempty("AWS_DEFAULT_REGION");
    cfg->endpoint = env_nonempty("AWS_ENDPOINT_URL_SQS");
    if (!cfg->endpoint)
        cfg->endpoint = env_nonempty("AWS_ENDPOINT_URL");
    cfg->access_key_id = env_nonempty("AWS_ACCESS_KEY_ID");
    cfg->secret_key = env_nonempty("AWS_SECRET_ACCESS_KEY");
    cfg->session_token = env_nonempty("AWS_SESSION_TOKEN");
    const char *attempt = env_nonempty("VZ_SQS_ATTEMPT_TIMEOUT_MS");
    cfg->attempt_timeout_ms = attempt ? strtol(attempt, NULL, 10) : 0;
    const char *missing = !cfg->region          ? "AWS_REGION"
                          : !cfg->access_key_id ? "AWS_ACCESS_KEY_ID"
                          : !cfg->secret_key    ? "AWS_SECRET_ACCESS_KEY"
                                                : NULL;
    if (missing) {
        vz_error_set(err, "SQS.Configuration", "%s is not set: the SQS client cannot sign requests", missing);
        return VZ_EINVAL;
    }
    return VZ_OK;
}

/* The Host header and path of c->endpoint ("scheme://[user@]host[:port][/path]"), as libcurl would send
 * them: the authority in lower case, without the scheme's default port; the path, then "/". */
static vz_status split_endpoint(vz_sqs_client *c, vz_error *err)
{
    const char *e = c->endpoint, *sep = strstr(e, "://");
    if (!sep || sep == e) {
        vz_error_set(err, "SQS.Configuration",
                     "the SQS endpoint %s is not a URL: set AWS_ENDPOINT_URL_SQS to http://HOST:PORT or https://HOST",
                     e);
        return VZ_EINVAL;
    }
    bool https = (size_t)(sep - e) == 5 && strncasecmp(e, "https", 5) == 0;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    const char *dflt = https ? ":443" : ":80";
    if (alen > strlen(dflt) && strncmp(auth + alen - strlen(dflt), dflt, strlen(dflt)) == 0)
        alen -= strlen(dflt);
    const char *path = auth + strcspn(auth, "/?#");
    size_t plen = strcspn(path, "?#");
    c->host = strndup(auth, alen);
    c->path = malloc(plen + 2);
    if (!c->host || !c->path || alen == 0) {
        vz_error_set(err, alen == 0 ? "SQS.Configuration" : "Runtime.OutOfMemory",
                     "cannot take the host out of the SQS endpoint %s", e);
        return alen == 0 ? VZ_EINVAL : VZ_ENOMEM;
    }
    for (char *p = c->host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    memcpy(c->path, path, plen);
    memcpy(c->path + plen, "/", 2);
    return VZ_OK;
}

vz_sqs_client *vz_sqs_client_new(const vz_sqs_client_config *cfg, vz_error *err)
{
    static bool curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            vz_error_set(err, "SQS.Transport", "curl_global_init failed");
            return NULL;
        }
        curl_ready = true;
    }
    if (!cfg->region || !cfg->access_key_id || !cfg->secret_key) {
        vz_error_set(err, "SQS.Configuration", "the SQS client needs a region and credentials");
        return NULL;
    }
    vz_sqs_client *c = calloc(1, sizeof *c);
    if (!c) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot allocate the SQS client");
        return NULL;
    }
    c->curl = curl_easy_init();
    c->region = dup_str(cfg->region);
    if (cfg->endpoint) {
        c->endpoint = dup_str(cfg->endpoint);
    } else {
        size_t n = strlen(cfg->region) + 32;
        c->endpoint = malloc(n);
        if (c->endpoint)
            snprintf(c->endpoint, n, "https://sqs.%s.amazonaws.com", cfg->region);
    }
    c->key_id = dup_str(cfg->access_key_id);
    c->secret = dup_str(cfg->secret_key);
    bool token = cfg->session_token && *cfg->session_token;
    if (token)
        c->token = dup_str(cfg->session_token);
    if (!c->curl || !c->region || !c->endpoint || !c->key_id || !c->secret || (token && !c->token)) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot set up the SQS client");
        vz_sqs_client_free(c);
        return NULL;
    }
    size_t elen = strlen(c->endpoint);
    while (elen > 0 && c->endpoint[elen - 1] == '/')
        c->endpoint[--elen] = '\0';
    if (split_endpoint(c, err) != VZ_OK) {
        vz_sqs_client_free(c);
        return NULL;
    }
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->attempt_ms = cfg->attempt_timeout_ms > 0 ? cfg->attempt_timeout_ms : DEFAULT_ATTEMPT_TIMEOUT_MS;
    if (c->attempt_ms < MIN_ATTEMPT_TIMEOUT_MS)
        c->attempt_ms = MIN_ATTEMPT_TIMEOUT_MS;
    c->connect_ms = c->attempt_ms / 2;
    c->cancel = cfg->cancel;
    c->retry_tokens = RETRY_QUOTA;
    c->rng = (uint64_t)(vz_monotonic_ms() * 1000.0) ^ (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ULL;
    return c;
}

void vz_sqs_client_free(vz_sqs_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    for (size_t i = 0; i < c->nqueues; i++) {
        free(c->queues[i].name);
        free(c->queues[i].url);
    }
    free(c->endpoint);
    free(c->region);
    free(c->key_id);
    free(c->host);
    free(c->path);
    wipe_free(c->secret);
    wipe_free(c->token);
    free(c);
}

const char *vz_sqs_client_endpoint(const vz_sqs_client *c)
{
    return c->endpoint;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buffer *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > MAX_ANSWER) {
        b->overflow = true;
        return 0;
    }
    if (vz_buf_append(&b->data, &b->len, &b->cap, ptr, n, 4096) != 0)
        return 0;
    return n;
}

static int progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const int *cancel = clientp;
    return __atomic_load_n(cancel, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/* Turn a non-200 answer into err, typed by the service's error code (JSON or XML body):
 * "com.amazonaws.sqs#QueueDoesNotExist" → "QueueDoesNotExist", <Code>SignatureDoesNotMatch</Code> →
 * "SignatureDoesNotMatch".  Only the message's first line is kept: a signature error goes on to quote
 * the canonical request, session token included. */
static vz_status answer_error(const char *action, long http, const buffer *b, vz_error *err)
{
    vz_aws_error e;
    if (!vz_aws_error_parse(b->data, b->len, &e)) {
        vz_error_set(err, "SQS.HttpError", "SQS %s answered HTTP %ld with no AWS error code in its %zu-byte body",
                     action, http, b->len);
        return VZ_EIO;
    }
    vz_error_set(err, e.code, "SQS %s answered HTTP %ld: %s%s%s", action, http, e.code, e.message[0] ? ": " : "",
                 e.message);
    return strstr(e.code, "NonExistentQueue") || strstr(e.code, "QueueDoesNotExist") ? VZ_ENOTFOUND : VZ_EIO;
}

/* Append "Name: value" to *hdrs; false (list kept for freeing) when out of memory. */
static bool add_header(struct curl_slist **hdrs, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return false;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *h = curl_slist_append(*hdrs, line);
    wipe_free(line); /* the Authorization or the session token may be in it */
    if (!h)
        return false;
    *hdrs = h;
    return true;
}

/* The request's headers, every one of them signed, with the Authorization that signs them; NULL on OOM.
 * "Expect:" tells libcurl to send no Expect header (no 100-continue wait); it is not signed: not sent. */
static struct curl_slist *signed_headers(const vz_sqs_client *c, const char *action, const char *payload)
{
    char target[96], date[17];
    snprintf(target, sizeof target, "AmazonSQS.%s", action);
    vz_sigv4_amz_date(time(NULL), date);
    vz_sigv4_header h[] = {{"Host", c->host},
                           {"Content-Type", "application/x-amz-json-1.0"},
                           {"X-Amz-Date", date},
                           {"X-Amz-Target", target},
                           {"X-Amz-Security-Token", c->token}};
    size_t n = c->token ? 5 : 4;
    vz_sigv4_request r = {.method = "POST",
                          .path = c->path,
                          .headers = h,
                          .nheaders = n,
                          .payload = payload,
                          .payload_len = strlen(payload),
                          .amz_date = date};
    vz_sigv4_key key = {.access_key_id = c->key_id, .secret_key = c->secret, .region = c->region, .service = "sqs"};
    char *auth = vz_sigv4_authorization(&r, &key);
    struct curl_slist *hdrs = NULL;
    bool ok = auth != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = add_header(&hdrs, h[i].name, h[i].value);
    ok = ok && add_header(&hdrs, "Authorization", auth);
    struct curl_slist *e = ok ? curl_slist_append(hdrs, "Expect:") : NULL;
    free(auth);
    if (!e) {
        curl_slist_free_all(hdrs);
        return NULL;
    }
    return e;
}

vz_status vz_sqs_client_call(vz_sqs_client *c, const char *action, const cJSON *req, long timeout_ms, cJSON **resp,
                             vz_error *err)
{
    *resp = NULL;
    char *payload = req ? cJSON_PrintUnformatted(req) : strdup("{}");
    char url[1024];
    snprintf(url, sizeof url, "%s/", c->endpoint);
    struct curl_slist *hdrs = payload ? signed_headers(c, action, payload) : NULL;
    if (!hdrs) {
        free(payload);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build the SQS %s request", action);
        return VZ_ENOMEM;
    }
    buffer b = {0};
    CURL *k = c->curl;
    curl_easy_reset(k);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(k, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
    long cap = timeout_ms > 0 ? timeout_ms : c->timeout_ms;
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms < cap ? c->connect_ms : cap);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, cap);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    if (c->cancel) {
        curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, progress);
        curl_easy_setopt(k, CURLOPT_XFERINFODATA, (void *)c->cancel);
        curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
    }
    CURLcode rc = curl_easy_perform(k);
    long http = 0;
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &http);
    c->last_http = rc == CURLE_OK ? http : 0;
    curl_slist_free_all(hdrs);
    free(payload);
    vz_status st = VZ_OK;
    if (rc != CURLE_OK) {
        vz_error_set(err, "SQS.Transport", "SQS %s to %s failed: %s", action, c->endpoint,
                     b.overflow ? "answer too large" : curl_easy_strerror(rc));
        st = rc == CURLE_OPERATION_TIMEDOUT ? VZ_ETIMEDOUT : VZ_EIO;
    } else if (http != 200) {
        st = answer_error(action, http, &b, err);
    } else {
        *resp = b.data ? cJSON_ParseWithLength(b.data, b.len) : cJSON_CreateObject();
        if (!*resp) {
            vz_error_set(err, "SQS.BadAnswer", "SQS %s answered 200 with a body that is not JSON (%zu bytes)", action,
                         b.len);
            st = VZ_EIO;
        }
    }
    free(b.data);
    return st;
}

/* Whether a failed call may be repeated (the standard retry mode's transient and throttling errors). */
static bool retryable(const vz_sqs_client *c, vz_status st, const vz_error *e)
{
    static const char *const codes[] = {"Throttling",
                                        "ThrottlingException",
                                        "ThrottledException",
                                        "RequestThrottledException",
                                        "TooManyRequestsException",
                                        "ProvisionedThroughputExceededException",
                                        "TransactionInProgressException",
                                        "RequestLimitExceeded",
                                        "BandwidthLimitExceeded",
                                        "LimitExceededException",
                                        "RequestThrottled",
                                        "SlowDown",
                                        "PriorRequestNotComplete",
                                        "EC2ThrottledException",
                                        "RequestTimeout",
                                        "RequestTimeoutException"};
    if (st == VZ_ENOMEM || st == VZ_EINVAL || st == VZ_ENOTFOUND)
        return false;
    if (c->cancel && __atomic_load_n(c->cancel, __ATOMIC_ACQUIRE))
        return false;
    if (strcmp(e->type, "SQS.Transport") == 0)
        return true;
    long h = c->last_http;
    if (h == 500 || h == 502 || h == 503 || h == 504)
        return true;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(e->type, codes[i]) == 0)
            return true;
    return false;
}

static double jitter(vz_sqs_client *c, double cap_ms)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return cap_ms * (double)(c->rng >> 11) / (double)(1ULL << 53);
}

/* vz_sqs_client_call with the standard retry mode, all attempts within until (monotonic ms).  Each
 * attempt but the last is capped at attempt_ms, so that a keep-alive connection dropped silently
 * (no reset) costs one short attempt, and the next one runs on a new connection (curl closes one
 * that timed out); the last attempt has all the time left. */
static vz_status call_retrying(vz_sqs_client *c, const char *action, const char *queue, const cJSON *req, double until,
                               cJSON **resp, vz_error *err)
{
    for (int attempt = 1;; attempt++) {
        double left = until - vz_monotonic_ms();
        long bound = left < 1 ? 1 : (long)left;
        if (attempt < RETRY_MAX_ATTEMPTS && bound > c->attempt_ms)
            bound = c->attempt_ms;
        vz_status st = vz_sqs_client_call(c, action, req, bound, resp, err);
        if (st == VZ_OK) {
            c->retry_tokens += attempt > 1 ? RETRY_COST : 1;
            if (c->retry_tokens > RETRY_QUOTA)
                c->retry_tokens = RETRY_QUOTA;
            if (attempt > 1)
                vz_log(VZ_LOG_INFO, NULL, "SQS %s for %s succeeded on attempt %d of %d", action, queue, attempt,
                       RETRY_MAX_ATTEMPTS);
            return VZ_OK;
        }
        int cost = st == VZ_ETIMEDOUT ? RETRY_TIMEOUT_COST : RETRY_COST;
        const char *stop = !retryable(c, st, err)          ? "not a transient failure"
                           : attempt >= RETRY_MAX_ATTEMPTS ? "no attempts left"
                           : c->retry_tokens < cost        ? "the client's retry quota is spent"
                                                           : NULL;
        double cap = RETRY_BASE_MS * (double)(1 << (attempt - 1));
        double pause = stop ? 0 : jitter(c, cap < RETRY_MAX_BACKOFF_MS ? cap : RETRY_MAX_BACKOFF_MS);
        left = until - vz_monotonic_ms();
        if (!stop && left - pause < RETRY_MIN_ATTEMPT_MS)
            stop = "no time left for another attempt";
        if (stop) {
            vz_log(VZ_LOG_WARN, NULL, "SQS %s for %s: attempt %d of %d failed (%s, HTTP %ld): %s; not retrying: %s",
                   action, queue, attempt, RETRY_MAX_ATTEMPTS, err->type, c->last_http, err->message, stop);
            return st;
        }
        vz_log(VZ_LOG_WARN, NULL,
               "SQS %s for %s: attempt %d of %d failed (%s, HTTP %ld): %s; attempt %d in %.0f ms (%.0f ms left)",
               action, queue, attempt, RETRY_MAX_ATTEMPTS, err->type, c->last_http, err->message, attempt + 1, pause,
               left);
        c->retry_tokens -= cost;
        struct timespec ts = {(time_t)(pause / 1000), (long)((pause - (double)(long)(pause / 1000) * 1000) * 1e6)};
        nanosleep(&ts, NULL);
    }
}

static const char *cache_find(const vz_sqs_client *c, const char *name)
{
    for (size_t i = 0; i < c->nqueues; i++)
        if (strcmp(c->queues[i].name, name) == 0)
            return c->queues[i].url;
    return NULL;
}

static const char *cache_put(vz_sqs_client *c, const char *name, const char *url)
{
    const char *have = cache_find(c, name);
    if (have && strcmp(have, url) == 0)
        return have;
    char *n = strdup(name), *u = strdup(url);
    if (!n || !u) {
        free(n);
        free(u);
        return NULL;
    }
    size_t slot = c->nqueues;
    for (size_t i = 0; i < c->nqueues; i++)
        if (strcmp(c->queues[i].name, name) == 0)
            slot = i;
    if (slot == QUEUE_CACHE_SIZE) {
        slot = c->next_evict;
        c->next_evict = (c->next_evict + 1) % QUEUE_CACHE_SIZE;
    }
    if (slot < c->nqueues) {
        free(c->queues[slot].name);
        free(c->queues[slot].url);
    } else {
        c->nqueues++;
    }
    c->queues[slot].name = n;
    c->queues[slot].url = u;
    return u;
}

/* Take the "QueueUrl" string out of an answer and cache it under name. */
static vz_status cache_answer(vz_sqs_client *c, const char *action, const char *name, cJSON *resp, const char **url,
                              vz_error *err)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(resp, "QueueUrl");
    const char *cached = cJSON_IsString(u) ? cache_put(c, name, u->valuestring) : NULL;
    cJSON_Delete(resp);
    if (!cached) {
        vz_error_set(err, "SQS.BadAnswer", "SQS %s for queue %s gave no QueueUrl", action, name);
        return VZ_EIO;
    }
    if (url)
        *url = cached;
    return VZ_OK;
}

vz_status vz_sqs_client_queue_url(vz_sqs_client *c, const char *name, const char **url, vz_error *err)
{
    const char *have = cache_find(c, name);
    if (have) {
        *url = have;
        return VZ_OK;
    }
    cJSON *req = cJSON_CreateObject();
    if (!req || !cJSON_AddStringToObject(req, "QueueName", name)) {
        cJSON_Delete(req);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build GetQueueUrl");
        return VZ_ENOMEM;
    }
    cJSON *resp = NULL;
    vz_status st = vz_sqs_client_call(c, "GetQueueUrl", req, 0, &resp, err);
    cJSON_Delete(req);
    if (st != VZ_OK)
        return st;
    return cache_answer(c, "GetQueueUrl", name, resp, url, err);
}

vz_status vz_sqs_client_create_queue(vz_sqs_client *c, const char *name, const cJSON *attributes, const char **url,
                                     vz_error *err)
{
    cJSON *req = cJSON_CreateObject();
    bool ok = req && cJSON_AddStringToObject(req, "QueueName", name);
    if (ok && attributes) {
        cJSON *copy = cJSON_Duplicate(attributes, 1);
        ok = copy && cJSON_AddItemToObject(req, "Attributes", copy);
    }
    if (!ok) {
        cJSON_Delete(req);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build CreateQueue");
        return VZ_ENOMEM;
    }
    cJSON *resp = NULL;
    vz_status st = vz_sqs_client_call(c, "CreateQueue", req, 0, &resp, err);
    cJSON_Delete(req);
    if (st != VZ_OK)
        return st;
    return cache_answer(c, "CreateQueue", name, resp, url, err);
}

vz_status vz_sqs_client_send(vz_sqs_client *c, const char *name, const char *body, size_t len, int delay_s,
                             char message_id[128], long timeout_ms, vz_error *err)
{
    message_id[0] = '\0';
    if (len > VZ_SQS_MAX_MESSAGE_BYTES) {
        vz_error_set(err, "SQS.MessageTooLong", "the message is %zu bytes, SQS takes at most %zu", len,
                     VZ_SQS_MAX_MESSAGE_BYTES);
        return VZ_EINVAL;
    }
    double until = vz_monotonic_ms() + (double)(timeout_ms > 0 ? timeout_ms : c->timeout_ms);
    const char *url = cache_find(c, name);
    vz_status st = VZ_OK;
    if (!url) {
        cJSON *q = cJSON_CreateObject(), *qresp = NULL;
        if (!q || !cJSON_AddStringToObject(q, "QueueName", name)) {
            cJSON_Delete(q);
            vz_error_set(err, "Runtime.OutOfMemory", "cannot build GetQueueUrl");
            return VZ_ENOMEM;
        }
        st = call_retrying(c, "GetQueueUrl", name, q, until, &qresp, err);
        cJSON_Delete(q);
        if (st != VZ_OK || (st = cache_answer(c, "GetQueueUrl", name, qresp, &url, err)) != VZ_OK)
            return st;
    }
    char *text = malloc(len + 1);
    cJSON *req = cJSON_CreateObject();
    bool ok = text && req;
    if (ok) {
        memcpy(text, body, len);
        text[len] = '\0';
        ok = cJSON_AddStringToObject(req, "QueueUrl", url) && cJSON_AddStringToObject(req, "MessageBody", text) &&
             cJSON_AddNumberToObject(req, "DelaySeconds", delay_s);
    }
    free(text);
    if (!ok) {
        cJSON_Delete(req);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build SendMessage");
        return VZ_ENOMEM;
    }
    cJSON *resp = NULL;
    st = call_retrying(c, "SendMessage", name, req, until, &resp, err);
    cJSON_Delete(req);
    if (st != VZ_OK)
        return st;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(resp, "MessageId");
    if (!cJSON_IsString(id) || strlen(id->valuestring) >= 128) {
        cJSON_Delete(resp);
        vz_error_set(err, "SQS.BadAnswer", "SendMessage to %s gave no usable MessageId", name);
        return VZ_EIO;
    }
    snprintf(message_id, 128, "%s", id->valuestring);
    cJSON_Delete(resp);
    return VZ_OK;
}

vz_status vz_sqs_client_receive(vz_sqs_client *c, const char *url, int max, int wait_s, int visibility_s,
                                cJSON **messages, vz_error *err)
{
    *messages = NULL;
    cJSON *req = cJSON_CreateObject();
    const char *all[] = {"All"};
    bool ok = req && cJSON_AddStringToObject(req, "QueueUrl", url) &&
              cJSON_AddNumberToObject(req, "MaxNumberOfMessages", max) &&
              cJSON_AddNumberToObject(req, "WaitTimeSeconds", wait_s) &&
              cJSON_AddItemToObject(req, "AttributeNames", cJSON_CreateStringArray(all, 1)) &&
              cJSON_AddItemToObject(req, "MessageSystemAttributeNames", cJSON_CreateStringArray(all, 1)) &&
              cJSON_AddItemToObject(req, "MessageAttributeNames", cJSON_CreateStringArray(all, 1));
    if (ok && visibility_s >= 0)
        ok = cJSON_AddNumberToObject(req, "VisibilityTimeout", visibility_s) != NULL;
    if (!ok) {
        cJSON_Delete(req);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build ReceiveMessage");
        return VZ_ENOMEM;
    }
    cJSON *resp = NULL;
    /* Long polling: the request may legitimately last wait_s; allow that plus the usual cap. */
    vz_status st = vz_sqs_client_call(c, "ReceiveMessage", req, (long)wait_s * 1000 + c->timeout_ms, &resp, err);
    cJSON_Delete(req);
    if (st != VZ_OK)
        return st;
    cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(resp, "Messages");
    cJSON_Delete(resp);
    if (!list)
        list = cJSON_CreateArray();
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(list);
        vz_error_set(err, "SQS.BadAnswer", "ReceiveMessage answered a \"Messages\" that is not an array");
        return VZ_EIO;
    }
    *messages = list;
    return VZ_OK;
}

vz_status vz_sqs_client_delete_batch(vz_sqs_client *c, const char *url, const char *const *receipt_handles, size_t n,
                                     vz_error *err)
{
    if (n == 0)
        return VZ_OK;
    if (n > 10) {
        vz_error_set(err, "SQS.TooManyEntries", "DeleteMessageBatch takes at most 10 entries, got %zu", n);
        return VZ_EINVAL;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON *entries = req ? cJSON_AddArrayToObject(req, "Entries") : NULL;
    bool ok = entries && cJSON_AddStringToObject(req, "QueueUrl", url);
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        char id[16];
        snprintf(id, sizeof id, "m%zu", i);
        ok = e && cJSON_AddItemToArray(entries, e) && cJSON_AddStringToObject(e, "Id", id) &&
             cJSON_AddStringToObject(e, "ReceiptHandle", receipt_handles[i]);
        if (!ok && e && !e->prev)
            cJSON_Delete(e);
    }
    if (!ok) {
        cJSON_Delete(req);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build DeleteMessageBatch");
        return VZ_ENOMEM;
    }
    cJSON *resp = NULL;
    vz_status st = vz_sqs_client_call(c, "DeleteMessageBatch", req, 0, &resp, err);
    cJSON_Delete(req);
    if (st != VZ_OK)
        return st;
    const cJSON *failed = cJSON_GetObjectItemCaseSensitive(resp, "Failed");
    int nf = cJSON_IsArray(failed) ? cJSON_GetArraySize(failed) : 0;
    if (nf > 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(failed, 0), "Code");
        vz_error_set(err, "SQS.DeleteFailed", "DeleteMessageBatch: %d of %zu entries failed (%s)", nf, n,
                     cJSON_IsString(code) ? code->valuestring : "no code");
        st = VZ_EIO;
    }
    cJSON_Delete(resp);
    return st;
}

vz_status vz_sqs_client_attributes(vz_sqs_client *c, const char *url, cJSON **attributes, vz_error *err)
{
    *attributes = NULL;
    cJSON *req = cJSON_CreateObject();
    const char *all[] = {"All"};
    if (!req || !cJSON_AddStringToObject(req, "QueueUrl", url) ||
        !cJSON_AddItemToObject(req, "AttributeNames", cJSON_CreateStringArray(all, 1))) {
        cJSON_Delete(req);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build GetQueueAttributes");
        return VZ_ENOMEM;
    }
    cJSON *resp = NULL;
    vz_status st = vz_sqs_client_call(c, "GetQueueAttributes", req, 0, &resp, err);
    cJSON_Delete(req);
    if (st != VZ_OK)
        return st;
    cJSON *attrs = cJSON_DetachItemFromObjectCaseSensitive(resp, "Attributes");
    cJSON_Delete(resp);
    if (!cJSON_IsObject(attrs)) {
        cJSON_Delete(attrs);
        vz_error_set(err, "SQS.BadAnswer", "GetQueueAttributes gave no \"Attributes\" object");
        return VZ_EIO;
    }
    *attributes = attrs;
    return VZ_OK;
}

long vz_sqs_client_count(vz_sqs_client *c, const char *url, vz_error *err)
{
    static const char *const names[] = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                        "ApproximateNumberOfMessagesDelayed"};
    cJSON *attrs = NULL;
    if (vz_sqs_client_attributes(c, url, &attrs, err) != VZ_OK)
        return -1;
    long total = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, names[i]);
        if (!cJSON_IsString(v)) {
            vz_error_set(err, "SQS.BadAnswer", "GetQueueAttributes gave no %s", names[i]);
            cJSON_Delete(attrs);
            return -1;
        }
        total += strtol(v->valuestring, NULL, 10);
    }
    cJSON_Delete(attrs);
    return total;
}
