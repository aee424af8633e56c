/* endpoint.c -- the /events/ endpoint: check a Hasura request, queue its body (see endpoint.h).
 *
 * The checks run cheapest and least revealing first: route and method, then the
 * key (so that nothing about names or bodies is told to a caller without it),
 * then the name, then the body.  Only a request that passed every check reaches
 * SQS.  The SQS client is created on the first request that needs it and kept
 * for the life of the process (one connection, queue URLs cached).
 *
 * A pull request's name, <handler>_pr_<N>, is routed by its form, not by this
 * binary's registry: the handler may be one the pull request adds.  Its queue
 * missing (the pull request closed) is the one failure with a second chance:
 * the handler's staging queue, when staging has the handler.  A cached URL
 * hides nothing there: SQS answers a SendMessage to a deleted queue's URL with
 * the same QueueDoesNotExist as GetQueueUrl.
 */
#include "vz/endpoint.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vz/base64.h"
#include "vz/json.h"
#include "vz/log.h"
#include "vz/metrics.h"
#include "vz/registry.h"
#include "vz/sqs_client.h"

static vz_sqs_client *client; /* long-lived, created on first use */

typedef struct request {
    const char *method;   /* "POST", ... or NULL */
    const char *path;     /* raw path or NULL */
    const char *stage;    /* requestContext.stage (API Gateway) or NULL */
    const cJSON *headers; /* object of header → string, any letter case */
    const char *body;     /* as sent in the event (maybe base64), or NULL */
    size_t body_len;
    bool base64; /* isBase64Encoded */
} request;

typedef struct answer {
    int status;
    char message[512];    /* the "message" of the JSON body */
    char event_name[96];  /* the name, once known to be well formed; else "" */
    char handler[96];     /* the handler it names, once the name passed; else "" */
    bool pr;              /* the name is a pull request's, <handler>_pr_<N> */
    size_t body_bytes;    /* decoded body size, once known */
    char message_id[128]; /* SQS MessageId when queued */
    char queue[256];      /* where a rerouted event went; else "" */
    char rerouted[256];   /* the missing queue it was meant for; else "" */
} answer;

static const char *str_item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool vz_endpoint_is_http_event(const cJSON *root)
{
    if (!cJSON_IsObject(root) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "requestContext")))
        return false;
    const char *version = str_item(root, "version");
    if (version && strcmp(version, "2.0") == 0)
        return true;
    return str_item(root, "httpMethod") != NULL;
}

static void read_request(const cJSON *ev, request *rq)
{
    memset(rq, 0, sizeof *rq);
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(ev, "requestContext");
    rq->method = str_item(ev, "httpMethod");
    if (!rq->method)
        rq->method = str_item(cJSON_GetObjectItemCaseSensitive(rc, "http"), "method");
    rq->path = str_item(ev, "rawPath");
    if (!rq->path)
        rq->path = str_item(ev, "path");
    if (!rq->path)
        rq->path = str_item(cJSON_GetObjectItemCaseSensitive(rc, "http"), "path");
    rq->stage = str_item(rc, "stage");
    rq->headers = cJSON_GetObjectItemCaseSensitive(ev, "headers");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(ev, "body");
    if (cJSON_IsString(body)) {
        rq->body = body->valuestring;
        rq->body_len = strlen(body->valuestring);
    }
    rq->base64 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "isBase64Encoded"));
}

/* The value of header `name` in any letter case, or NULL. */
static const char *header(const request *rq, const char *name)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, rq->headers)
    {
        if (h->string && cJSON_IsString(h) && strcasecmp(h->string, name) == 0)
            return h->valuestring;
    }
    return NULL;
}

bool vz_endpoint_secret_equal(const char *given, size_t given_len, const char *secret, size_t secret_len)
{
    if (secret_len == 0)
        return false;
    /* Loop over the caller's bytes only, so the time tells nothing about the secret's length or content. */
    volatile unsigned char diff = given_len != secret_len;
    for (size_t i = 0; i < given_len; i++)
        diff |= (unsigned char)given[i] ^ (unsigned char)secret[i % secret_len];
    return diff == 0;
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* Why an event name was refused; the public check maps these to HTTP statuses. */
typedef enum name_verdict {
    NAME_OK,
    NAME_MISSING,      /* 403: no name */
    NAME_MALFORMED,    /* 400: characters or length */
    NAME_UNKNOWN,      /* 403: not <handler>_<stage> for a handler built in */
    NAME_NOT_HANDLER,  /* 403: a pull request's name whose handler part no handler may have */
    NAME_OTHER_ENV,    /* 403: the stage belongs to another environment than VZ_STAGE's */
    NAME_NOT_DEPLOYED, /* 403: the handler is not deployed in that stage */
} name_verdict;

/* pr_<N>: N from 1 to 9999999 without a leading zero, as deploy/render accepts. */
static bool is_pr_stage(const char *stage)
{
    if (strncmp(stage, "pr_", 3) != 0 || stage[3] < '1' || stage[3] > '9')
        return false;
    size_t n = strlen(stage + 3);
    if (n > 7)
        return false;
    for (size_t i = 3; stage[i]; i++)
        if (stage[i] < '0' || stage[i] > '9')
            return false;
    return true;
}

/* Whether this endpoint's environment (VZ_STAGE) serves `stage`: production serves production, staging
 * serves staging and every pull-request stage, unset or "local" serves all, another value itself only. */
static bool environment_serves(const char *env, const char *stage)
{
    if (!env || !*env || strcmp(env, "local") == 0)
        return true;
    if (strcmp(env, "staging") == 0)
        return strcmp(stage, "staging") == 0 || is_pr_stage(stage);
    return strcmp(env, stage) == 0;
}

/* Whether comma-separated `list` holds the `n` bytes of `name` as an item. */
static bool list_has(const char *list, const char *name, size_t n)
{
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

/* Names deploy/render refuses for a handler, and why (its RESERVED_NAMES). */
static const char *const reserved_names[][2] = {
    {"deadletter", "the stage's dead-letter queue"},
    {"reconcile", "the stage's scheduled reconcile function"},
    {"endpoint", "the environment's /events/ endpoint function"},
    {"bootstrap", "the runtime's entry point"},
};
/* Words that would make "<handler>_<stage>" read two ways (its STAGE_WORDS). */
static const char *const stage_words[] = {"pr", "staging", "production", "local"};
/* The CloudFormation names a handler's resources would share with the stage's own: of render's SHARED_IDS,
 * those that are a handler's name in CloudFormation form followed by one of its HANDLER_SUFFIXES. */
static const char *const own_logical_ids[][2] = {
    {"DeadLetter", "Queue"},
    {"Endpoint", "LogGroup"},
    {"Reconcile", "LogGroup"},
};

static bool is_lower_or_digit(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

bool vz_endpoint_handler_name_ok(const char *name, size_t n, char *why, size_t why_len)
{
    bool chars = n > 0 && name[0] >= 'a' && name[0] <= 'z';
    bool double_underscore = false;
    for (size_t i = 1; chars && i < n; i++) {
        chars = is_lower_or_digit(name[i]) || name[i] == '_';
        double_underscore |= name[i] == '_' && name[i - 1] == '_';
    }
    if (!chars) {
        snprintf(why, why_len, "lower-case letters, digits and _, starting with a letter");
        return false;
    }
    if (name[n - 1] == '_') {
        snprintf(why, why_len, "it ends with _");
        return false;
    }
    if (double_underscore) {
        snprintf(why, why_len, "it holds __ (CloudFormation names drop the _: a__b and a_b would be one)");
        return false;
    }
    for (size_t i = 0; i < sizeof reserved_names / sizeof reserved_names[0]; i++) {
        if (strlen(reserved_names[i][0]) == n && strncmp(name, reserved_names[i][0], n) == 0) {
            snprintf(why, why_len, "%s is reserved (%s)", reserved_names[i][0], reserved_names[i][1]);
            return false;
        }
    }
    for (size_t start = 0; start < n;) { /* each _-separated word */
        size_t end = start;
        while (end < n && name[end] != '_')
            end++;
        for (size_t w = 0; w < sizeof stage_words / sizeof stage_words[0]; w++) {
            if (strlen(stage_words[w]) == end - start && strncmp(name + start, stage_words[w], end - start) == 0) {
                snprintf(why, why_len, "the word '%s' would make the event name <handler>_<stage> read two ways",
                         stage_words[w]);
                return false;
            }
        }
        start = end + 1;
    }
    if (n > VZ_MAX_HANDLER_NAME) {
        int prefix = (int)(sizeof VZ_DEFAULT_QUEUE_PREFIX - 1), suffix = (int)(sizeof "_pr_NNNNNNN" - 1);
        snprintf(why, why_len,
                 "%zu characters: with %s and the longest stage suffix _pr_NNNNNNN the function name takes %zu of "
                 "Lambda's 64 (at most %d here)",
                 n, VZ_DEFAULT_QUEUE_PREFIX, (size_t)prefix + n + (size_t)suffix, VZ_MAX_HANDLER_NAME);
        return false;
    }
    static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char logical[VZ_MAX_HANDLER_NAME + 1]; /* "dead_letter" -> "DeadLetter", as render's logical() */
    size_t ll = 0;
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '_')
            continue;
        if ((i == 0 || name[i - 1] == '_') && name[i] >= 'a' && name[i] <= 'z')
            logical[ll++] = upper[name[i] - 'a'];
        else
            logical[ll++] = name[i];
    }
    logical[ll] = '\0';
    for (size_t i = 0; i < sizeof own_logical_ids / sizeof own_logical_ids[0]; i++) {
        if (strcmp(logical, own_logical_ids[i][0]) == 0) {
            snprintf(why, why_len, "its CloudFormation name %s%s is one of the stage's own", logical,
                     own_logical_ids[i][1]);
            return false;
        }
    }
    return true;
}

/* The length of the handler part of a pull request's event name, <handler>_pr_<N>; 0 when it is not one. */
static size_t pr_handler_length(const char *name, size_t n)
{
    for (size_t i = n; i-- > 0;)
        if (i + 4 <= n && strncmp(name + i, "_pr_", 4) == 0)
            return is_pr_stage(name + i + 1) ? i : 0;
    return 0;
}

/* The verdict on an event name, cheapest check first; the reason, for a person, in why (for the log:
 * it may quote the name) and in pub (for the answer: it never quotes the header, which a caller could
 * fill with anything, the key included).  On NAME_OK *handler_len is the length of the handler part
 * and *pr whether the stage is a pull request's. */
static name_verdict judge_name(const char *name, const char *queue_prefix, char *why, size_t why_len, char *pub,
                               size_t pub_len, size_t *handler_len, bool *pr)
{
    pub[0] = '\0';
    *handler_len = 0;
    *pr = false;
    if (!queue_prefix)
        queue_prefix = VZ_DEFAULT_QUEUE_PREFIX;
    if (!name || !*name) {
        snprintf(why, why_len, "the HASURA_EVENT_NAME header is missing or empty");
        return NAME_MISSING;
    }
    size_t n = strlen(name), plen = strlen(queue_prefix);
    if (plen + n > VZ_SQS_MAX_QUEUE_NAME) {
        snprintf(why, why_len, "the event name is %zu characters; with the prefix a queue name takes at most %d", n,
                 VZ_SQS_MAX_QUEUE_NAME);
        return NAME_MALFORMED;
    }
    for (size_t i = 0; i < n; i++) {
        if (!name_char(name[i])) {
            snprintf(why, why_len, "the event name may hold only letters, digits, '_' and '-' (byte %zu is not)",
                     i + 1);
            return NAME_MALFORMED;
        }
    }
    const char *env = getenv("VZ_STAGE");
    /* A pull request's event: any handler name, since the pull request's own build reads its queue. */
    size_t pl = pr_handler_length(name, n);
    if (pl > 0 && environment_serves(env, name + pl + 1)) {
        char rule[224];
        if (!vz_endpoint_handler_name_ok(name, pl, rule, sizeof rule)) {
            snprintf(why, why_len, "event name %s: %.*s is not a handler name: %s", name, (int)pl, name, rule);
            snprintf(pub, pub_len, "the event name's handler part is not a handler name: %s", rule);
            return NAME_NOT_HANDLER;
        }
        *handler_len = pl;
        *pr = true;
        return NAME_OK;
    }
    /* The longest handler name that is followed by '_' and a stage. */
    size_t hl = 0;
    for (size_t i = 0; i < vz_registry_count(); i++) {
        const char *h = vz_registry_at(i)->name;
        size_t l = strlen(h);
        if (n > l + 1 && l > hl && strncmp(name, h, l) == 0 && name[l] == '_')
            hl = l;
    }
    if (hl == 0) {
        snprintf(why, why_len, "the event name is not <handler>_<stage> for a handler this function serves");
        return NAME_UNKNOWN;
    }
    const char *stage = name + hl + 1;
    if (!environment_serves(env, stage)) {
        snprintf(why, why_len, "event name %s is for stage %s, which the %.32s endpoint does not serve", name, stage,
                 env);
        snprintf(pub, pub_len, "the event name is for a stage the %.32s endpoint does not serve", env);
        return NAME_OTHER_ENV;
    }
    const char *deployed = getenv("VZ_DEPLOYED_HANDLERS");
    if (deployed && !list_has(deployed, name, hl)) {
        snprintf(why, why_len, "handler %.*s is not deployed in stage %s", (int)hl, name, stage);
        snprintf(pub, pub_len, "handler %.*s is not deployed in stage %.32s", (int)hl, name, stage);
        return NAME_NOT_DEPLOYED;
    }
    *handler_len = hl;
    return NAME_OK;
}

int vz_endpoint_check_name(const char *name, const char *queue_prefix, char *why, size_t why_len)
{
    size_t hl;
    bool pr;
    char pub[320];
    name_verdict v = judge_name(name, queue_prefix, why, why_len, pub, sizeof pub, &hl, &pr);
    return v == NAME_OK ? 0 : v == NAME_MALFORMED ? 400 : 403;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF), as SQS requires of a message body. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return false;
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff) ||
            cp == 0xfffe || cp == 0xffff)
            return false;
        i += k + 1;
    }
    return true;
}

/* Whether the body is one JSON object and nothing after it; *nul, whether a string in it holds an
 * escape that decodes to U+0000 (found by the same parse). */
static bool is_json_object(const vz_context *ctx, const char *body, size_t len, bool *nul)
{
    const char *end = NULL;
    cJSON *doc = vz_json_parse_nul(ctx->arena, body, len, &end, nul);
    bool ok = cJSON_IsObject(doc) && vz_json_only_space_after(body, len, end);
    if (!ctx->arena) /* else the arena's */
        cJSON_Delete(doc);
    return ok;
}

/* The endpoint is /events or /events/, or the same under the API Gateway stage that
 * requestContext.stage names (a named stage's rawPath starts with it); /admin/events is not. */
static bool path_is_events(const char *path, const char *stage)
{
    if (!path)
        return true; /* shapes without a path (tests, direct invokes) are the endpoint itself */
    size_t n = strlen(path);
    if (n > 0 && path[n - 1] == '/')
        n--;
    if (n == 7 && strncmp(path, "/events", 7) == 0)
        return true;
    size_t sl = stage && strcmp(stage, "$default") != 0 && !strchr(stage, '/') ? strlen(stage) : 0;
    return sl > 0 && n == sl + 8 && path[0] == '/' && strncmp(path + 1, stage, sl) == 0 &&
           strncmp(path + 1 + sl, "/events", 7) == 0;
}

/* The reason given to the caller for a failed SendMessage: what kind of failure, never a credential. */
static void unavailable_reason(vz_status st, const vz_error *e, const char *queue, char *out, size_t n)
{
    if (st == VZ_ENOTFOUND)
        snprintf(out, n, "queue %.100s does not exist", queue);
    else if (st == VZ_ETIMEDOUT)
        snprintf(out, n, "the queue service did not answer in time");
    else if (strcmp(e->type, "SQS.Transport") == 0)
        snprintf(out, n, "the queue service could not be reached");
    else if (strcmp(e->type, "SQS.Configuration") == 0)
        snprintf(out, n, "the queue service is not configured for this function");
    else
        snprintf(out, n, "the queue service refused the message (%.64s)", e->type);
}

static long send_timeout_ms(const vz_context *ctx)
{
    int64_t left = vz_context_remaining_ms(ctx);
    if (left > 10000)
        return 0;
    return left - 250 > 500 ? (long)(left - 250) : 500;
}

/* SendMessage of the body to `queue` on the process's client (made on first use). */
static vz_status send_to(const vz_context *ctx, const char *queue, const char *body, size_t len, answer *a, vz_error *e)
{
    if (!client) {
        vz_sqs_client_config cfg;
        vz_status st = vz_sqs_client_config_from_env(&cfg, e);
        if (st != VZ_OK)
            return st;
        client = vz_sqs_client_new(&cfg, e);
        if (!client)
            return VZ_ERR;
    }
    return vz_sqs_client_send(client, queue, body, len, VZ_ENDPOINT_DELAY_SECONDS, a->message_id, send_timeout_ms(ctx),
                              e);
}

/* Whether staging has handler `h`: built in, and deployed there (VZ_DEPLOYED_HANDLERS, when set). */
static bool staging_has(const char *h)
{
    const char *deployed = getenv("VZ_DEPLOYED_HANDLERS");
    return vz_registry_find(h) && (!deployed || list_has(deployed, h, strlen(h)));
}

/* A pull request's queue is gone (closed while a trigger still names it): the event goes to the
 * handler's staging queue, so that nothing is lost.  True when it went; else e says why not. */
static bool reroute(const vz_context *ctx, const char *prefix, const char *missing, const char *body, size_t len,
                    answer *a, vz_error *e)
{
    char staging[256];
    snprintf(staging, sizeof staging, "%s%s_staging", prefix, a->handler);
    if (send_to(ctx, staging, body, len, a, e) != VZ_OK)
        return false;
    vz_log(VZ_LOG_WARN, NULL,
           "endpoint: queue %s does not exist (its pull request was closed?): event %s sent to %s instead; "
           "set the trigger's HASURA_EVENT_NAME back to %s_staging",
           missing, a->message_id, staging, a->handler);
    vz_metrics_emit_reroute(a->handler);
    snprintf(a->queue, sizeof a->queue, "%s", staging);
    snprintf(a->rerouted, sizeof a->rerouted, "%s", missing);
    a->status = 200;
    snprintf(a->message, sizeof a->message, "Update queued: %s on %.100s, because queue %.100s does not exist",
             a->message_id, staging, missing);
    return true;
}

static void enqueue(const vz_context *ctx, const char *queue_prefix, const char *body, size_t len, answer *a)
{
    const char *prefix = queue_prefix ? queue_prefix : VZ_DEFAULT_QUEUE_PREFIX;
    char queue[256]; /* the name was checked to fit VZ_SQS_MAX_QUEUE_NAME */
    snprintf(queue, sizeof queue, "%s%s", prefix, a->event_name);
    vz_error e = {{0}, {0}};
    vz_status st = send_to(ctx, queue, body, len, a, &e);
    if (st == VZ_OK) {
        a->status = 200;
        snprintf(a->message, sizeof a->message, "Update queued: %s", a->message_id);
        return;
    }
    char reason[256];
    unavailable_reason(st, &e, queue, reason, sizeof reason);
    if (st == VZ_ENOTFOUND && a->pr && staging_has(a->handler)) {
        vz_error e2 = {{0}, {0}};
        if (reroute(ctx, prefix, queue, body, len, a, &e2))
            return;
        vz_log(VZ_LOG_ERROR, NULL,
               "endpoint: queue %s does not exist, and the event cannot go to %s%s_staging (%s): %s", queue, prefix,
               a->handler, e2.type, e2.message);
        size_t used = strlen(reason);
        snprintf(reason + used, sizeof reason - used, ", nor could it go to %.48s_staging", a->handler);
    } else {
        vz_log(VZ_LOG_ERROR, NULL, "endpoint: cannot queue the event for %s (%s): %s", queue, e.type, e.message);
    }
    a->status = 503;
    snprintf(a->message, sizeof a->message, "Unable to queue update request: %s", reason);
}

static void check_body(const vz_context *ctx, const char *queue_prefix, const request *rq, answer *a)
{
    const char *body = rq->body ? rq->body : "";
    size_t len = rq->body_len;
    unsigned char *decoded = NULL;
    bool nul = false;
    if (rq->base64) {
        if (len > (VZ_SQS_MAX_MESSAGE_BYTES + 2) / 3 * 4 + 4) {
            a->status = 413;
            snprintf(a->message, sizeof a->message, "Payload Too Large: SQS takes at most %zu bytes",
                     VZ_SQS_MAX_MESSAGE_BYTES);
            return;
        }
        decoded = vz_base64_decode(body, len, &len);
        if (!decoded) {
            a->status = 400;
            snprintf(a->message, sizeof a->message, "Bad Request: the body is marked base64 but is not");
            return;
        }
        body = (const char *)decoded;
    }
    a->body_bytes = len;
    if (len > VZ_SQS_MAX_MESSAGE_BYTES) {
        a->status = 413;
        snprintf(a->message, sizeof a->message, "Payload Too Large: the body is %zu bytes, SQS takes at most %zu", len,
                 VZ_SQS_MAX_MESSAGE_BYTES);
    } else if (!valid_utf8((const unsigned char *)body, len) || !is_json_object(ctx, body, len, &nul)) {
        a->status = 400;
        snprintf(a->message, sizeof a->message, "Bad Request: the body is not a JSON object in UTF-8");
    } else if (nul) {
        a->status = 400; /* the handlers would read its strings cut at the NUL */
        snprintf(a->message, sizeof a->message, "Bad Request: the body holds a \\u0000 escape");
    } else {
        enqueue(ctx, queue_prefix, body, len, a);
    }
    free(decoded);
}

static void decide(const vz_context *ctx, const char *queue_prefix, const request *rq, answer *a)
{
    if (!path_is_events(rq->path, rq->stage)) {
        a->status = 404;
        snprintf(a->message, sizeof a->message, "Not Found: events are posted to /events/");
        return;
    }
    if (!rq->method || (strcmp(rq->method, "POST") != 0 && strcmp(rq->method, "PUT") != 0)) {
        a->status = 405;
        snprintf(a->message, sizeof a->message, "Method Not Allowed: use POST or PUT");
        return;
    }
    const char *secret = getenv("HASURA_EVENT_API");
    if (!secret || !*secret) {
        vz_log(VZ_LOG_ERROR, NULL, "endpoint: HASURA_EVENT_API is not set; every request is refused");
        a->status = 503;
        snprintf(a->message, sizeof a->message, "Unable to queue update request: the endpoint has no key configured");
        return;
    }
    static const char *const key_headers[] = {"HASURA_EVENT_API", "HASURA_TRIGGER_API_KEY"};
    bool allowed = false;
    for (size_t i = 0; i < 2; i++) {
        const char *given = header(rq, key_headers[i]);
        if (given && vz_endpoint_secret_equal(given, strlen(given), secret, strlen(secret)))
            allowed = true;
    }
    if (!allowed) {
        a->status = 403;
        snprintf(a->message, sizeof a->message, "Forbidden Request");
        return;
    }
    const char *name = header(rq, "HASURA_EVENT_NAME");
    char why[384], pub[320];
    size_t hl;
    name_verdict v = judge_name(name, queue_prefix, why, sizeof why, pub, sizeof pub, &hl, &a->pr);
    if (v != NAME_OK) {
        a->status = v == NAME_MALFORMED ? 400 : 403;
        if (v == NAME_OTHER_ENV || v == NAME_NOT_DEPLOYED || v == NAME_NOT_HANDLER)
            snprintf(a->message, sizeof a->message, "Forbidden Request: %s", pub);
        else
            snprintf(a->message, sizeof a->message, "%s",
                     v == NAME_MISSING   ? "Forbidden Request: Missing Event Name"
                     : v == NAME_UNKNOWN ? "Forbidden Request: Unknown Event Name"
                                         : "Bad Request: invalid event name");
        vz_log(VZ_LOG_WARN, NULL, "endpoint: event name refused: %s", why);
        return;
    }
    snprintf(a->event_name, sizeof a->event_name, "%s", name);
    snprintf(a->handler, sizeof a->handler, "%.*s", (int)hl, name);
    check_body(ctx, queue_prefix, rq, a);
}

static char *render(const answer *a)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON *resp = cJSON_CreateObject();
    cJSON *hdrs = resp ? cJSON_AddObjectToObject(resp, "headers") : NULL;
    bool ok = msg && cJSON_AddStringToObject(msg, "message", a->message);
    if (ok && a->rerouted[0])
        ok = cJSON_AddStringToObject(msg, "queue", a->queue) &&
             cJSON_AddStringToObject(msg, "reroutedFrom", a->rerouted);
    char *body = ok ? cJSON_PrintUnformatted(msg) : NULL;
    char *out = NULL;
    if (body && hdrs && cJSON_AddNumberToObject(resp, "statusCode", a->status) &&
        cJSON_AddStringToObject(hdrs, "content-type", "application/json") &&
        (a->status != 405 || cJSON_AddStringToObject(hdrs, "allow", "POST, PUT")) &&
        cJSON_AddStringToObject(resp, "body", body) && cJSON_AddFalseToObject(resp, "isBase64Encoded"))
        out = cJSON_PrintUnformatted(resp);
    cJSON_free(body);
    cJSON_Delete(msg);
    cJSON_Delete(resp);
    return out;
}

static void log_answer(const request *rq, const answer *a, double ms)
{
    vz_log_level level = a->status == 200 ? VZ_LOG_INFO : a->status >= 500 ? VZ_LOG_ERROR : VZ_LOG_WARN;
    if (!vz_log_enabled(level))
        return;
    cJSON *extra = cJSON_CreateObject();
    if (extra) {
        cJSON_AddNumberToObject(extra, "statusCode", a->status);
        cJSON_AddStringToObject(extra, "method", rq->method ? rq->method : "");
        if (a->event_name[0])
            cJSON_AddStringToObject(extra, "eventName", a->event_name);
        if (a->rerouted[0]) {
            cJSON_AddStringToObject(extra, "queue", a->queue);
            cJSON_AddStringToObject(extra, "reroutedFrom", a->rerouted);
        }
        cJSON_AddNumberToObject(extra, "bodyBytes", (double)(a->body_bytes ? a->body_bytes : rq->body_len));
    }
    vz_log_fields f = VZ_LOG_FIELDS_NONE;
    f.message_id = a->message_id[0] ? a->message_id : NULL;
    f.outcome = a->status == 200 ? "queued" : "refused";
    f.duration_ms = ms;
    f.extra = extra;
    vz_log(level, &f, "endpoint: %d %s", a->status, a->message);
    cJSON_Delete(extra);
}

/* The handler an event name ("<handler>_<stage>") names, the longest that fits; NULL when none (metrics). */
static const char *named_handler(const char *name)
{
    const char *best = NULL;
    size_t best_len = 0, n = name ? strlen(name) : 0;
    for (size_t i = 0; i < vz_registry_count(); i++) {
        const char *h = vz_registry_at(i)->name;
        size_t hl = strlen(h);
        if (n > hl + 1 && hl > best_len && strncmp(name, h, hl) == 0 && name[hl] == '_') {
            best = h;
            best_len = hl;
        }
    }
    return best;
}

vz_status vz_endpoint_run(const vz_context *ctx, const char *queue_prefix, const cJSON *event, char **response,
                          int *status, vz_error *err)
{
    double t0 = vz_monotonic_ms();
    request rq;
    read_request(event, &rq);
    answer a;
    memset(&a, 0, sizeof a);
    decide(ctx, queue_prefix, &rq, &a);
    log_answer(&rq, &a, vz_monotonic_ms() - t0);
    /* A name that passed names its handler (a pull request's may be one this binary lacks). */
    vz_metrics_emit_request(a.status, a.handler[0] ? a.handler : named_handler(header(&rq, "HASURA_EVENT_NAME")));
    *status = a.status;
    *response = render(&a);
    if (!*response) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build the HTTP response");
        return VZ_ENOMEM;
    }
    return VZ_OK;
}

void vz_endpoint_shutdown(void)
{
    vz_sqs_client_free(client);
    client = NULL;
}
