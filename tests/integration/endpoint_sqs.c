/* endpoint_sqs.c -- the /events/ endpoint and the SQS client against a real SQS server.
 *
 * Server: local-aws-sqs (npm), started by `scripts/services start STATE sqs`, found
 * through AWS_ENDPOINT_URL_SQS.  Without it this test FAILS.  Each run uses its own
 * queue names (pid + time) so that parallel runs do not see each other's messages.
 *
 * Every bad request of the issue is sent; each must get its status and queue
 * nothing: the queue's count (visible + in flight + delayed) is checked after
 * each one.  The good ones are then received (after their 10 s delay) and their
 * bodies compared byte for byte.
 *
 * A pull request's queues (staging's endpoint, VZ_STAGE=staging, under a queue
 * prefix of this run's own): a new handler staging's binary lacks reaches its
 * queue; when a pull request's queue is deleted (its URL cached by the endpoint's
 * client) the event goes to the handler's staging queue if staging has that
 * handler, with a WARN line, the Rerouted metric and an answer saying where, and
 * is answered 503 otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vz/base64.h"
#include "vz/endpoint.h"
#include "vz/invocation.h"
#include "vz/log.h"
#include "vz/md5.h"
#include "vz/sqs_client.h"

#define SECRET "it-Secret_0123456789abcdef"
#define BODY "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"crash_id\":1000}}},\"id\":\"e1\"}"

static vz_sqs_client *sqs;
static char stage[48]; /* unique per run: the event names are example_<stage> */
static char event_name[64];
static char queue[128];
static const char *queue_url;
static long queued;            /* messages the good requests queued so far */
static const char *run_prefix; /* the queue prefix requests are run with; NULL = the default */
static cJSON *last_body;       /* the JSON body of the last answer */

static int setup(void **state)
{
    (void)state;
    if (!getenv("AWS_ENDPOINT_URL_SQS")) {
        fprintf(stderr, "endpoint_sqs: AWS_ENDPOINT_URL_SQS is not set; run through scripts/test "
                        "(scripts/services start STATE sqs)\n");
        return -1;
    }
    vz_sqs_client_config cfg;
    vz_error err = {{0}, {0}};
    if (vz_sqs_client_config_from_env(&cfg, &err) != VZ_OK || !(sqs = vz_sqs_client_new(&cfg, &err))) {
        fprintf(stderr, "endpoint_sqs: %s\n", err.message);
        return -1;
    }
    snprintf(stage, sizeof stage, "it%ld_%ld", (long)getpid(), (long)time(NULL) % 100000);
    snprintf(event_name, sizeof event_name, "example_%s", stage);
    snprintf(queue, sizeof queue, "atd-vz-data-events-%s", event_name);
    if (vz_sqs_client_create_queue(sqs, queue, NULL, &queue_url, &err) != VZ_OK) {
        fprintf(stderr, "endpoint_sqs: cannot create %s: %s\n", queue, err.message);
        return -1;
    }
    setenv("HASURA_EVENT_API", SECRET, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vz_endpoint_shutdown();
    vz_sqs_client_free(sqs);
    cJSON_Delete(last_body);
    return 0;
}

static long count(void)
{
    vz_error err = {{0}, {0}};
    long n = vz_sqs_client_count(sqs, queue_url, &err);
    if (n < 0)
        fail_msg("GetQueueAttributes: %s", err.message);
    return n;
}

/* Run one event; returns the HTTP status and copies the answer's "message". */
static int run_event(cJSON *ev, char *msg, size_t n)
{
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context ctx = {"it", vz_now_ms() + 30000, NULL, NULL, &arena};
    vz_batch_options opts = {0};
    opts.queue_prefix = run_prefix;
    vz_invocation_result res;
    vz_error err = {{0}, {0}};
    assert_int_equal(vz_invocation_run(&opts, &ctx, text, strlen(text), &res, &err), VZ_OK);
    free(text);
    cJSON *resp = cJSON_Parse(res.response);
    cJSON *body = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(resp, "body")->valuestring);
    snprintf(msg, n, "%s", cJSON_GetObjectItemCaseSensitive(body, "message")->valuestring);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(resp, "statusCode")->valueint, res.http_status);
    cJSON_Delete(last_body);
    last_body = body;
    cJSON_Delete(resp);
    free(res.response);
    vz_arena_destroy(&arena);
    return res.http_status;
}

/* Function URL event (payload 2.0); `headers` is a NULL-terminated name, value list. */
static cJSON *url_event(const char *method, const char *body, size_t len, int b64, const char *const *headers)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "version", "2.0");
    cJSON_AddStringToObject(ev, "routeKey", "$default");
    cJSON_AddStringToObject(ev, "rawPath", "/events/");
    cJSON *h = cJSON_AddObjectToObject(ev, "headers");
    for (size_t i = 0; headers && headers[i]; i += 2)
        cJSON_AddStringToObject(h, headers[i], headers[i + 1]);
    cJSON *http = cJSON_AddObjectToObject(cJSON_AddObjectToObject(ev, "requestContext"), "http");
    cJSON_AddStringToObject(http, "method", method);
    cJSON_AddStringToObject(http, "path", "/events/");
    if (body) {
        if (b64) {
            char *e = vz_base64_encode(body, len);
            cJSON_AddStringToObject(ev, "body", e);
            free(e);
        } else {
            cJSON_AddStringToObject(ev, "body", body);
        }
    }
    cJSON_AddBoolToObject(ev, "isBase64Encoded", b64);
    return ev;
}

/* Expect `status` and no new message on the queue. */
static void refused(cJSON *ev, int status, const char *message)
{
    char msg[512];
    assert_int_equal(run_event(ev, msg, sizeof msg), status);
    if (message)
        assert_string_equal(msg, message);
    assert_int_equal(count(), queued);
}

static void bad_requests_queue_nothing(void **state)
{
    (void)state;
    const char *good[] = {"hasura_event_api", SECRET, "hasura_event_name", event_name, NULL};
    /* no headers at all */
    refused(url_event("POST", BODY, strlen(BODY), 0, NULL), 403, "Forbidden Request");
    /* wrong key, key in another letter case, key on the wrong header */
    const char *wrong[] = {"hasura_event_api", "it-Secret_0123456789abcdeF", "hasura_event_name", event_name, NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, wrong), 403, "Forbidden Request");
    const char *upper[] = {"hasura_event_api", "IT-SECRET_0123456789ABCDEF", "hasura_event_name", event_name, NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, upper), 403, "Forbidden Request");
    const char *other[] = {"x-api-key", SECRET, "hasura_event_name", event_name, NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, other), 403, "Forbidden Request");
    /* empty name, missing name */
    const char *empty[] = {"hasura_event_api", SECRET, "hasura_event_name", "", NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, empty), 403, "Forbidden Request: Missing Event Name");
    const char *none[] = {"hasura_event_api", SECRET, NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, none), 403, "Forbidden Request: Missing Event Name");
    /* names with '/', '..', 81 characters, a handler not built in, no stage */
    char slash[96], dots[96], long81[82];
    snprintf(slash, sizeof slash, "example_%s/x", stage);
    snprintf(dots, sizeof dots, "example_%s..", stage);
    memset(long81, 'a', 81);
    memcpy(long81, "example_", 8);
    long81[81] = '\0';
    const char *n1[] = {"hasura_event_api", SECRET, "hasura_event_name", slash, NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, n1), 400, "Bad Request: invalid event name");
    const char *n2[] = {"hasura_event_api", SECRET, "hasura_event_name", dots, NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, n2), 400, "Bad Request: invalid event name");
    const char *n3[] = {"hasura_event_api", SECRET, "hasura_event_name", long81, NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, n3), 400, "Bad Request: invalid event name");
    const char *n4[] = {"hasura_event_api", SECRET, "hasura_event_name", "crash_nothing_staging", NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, n4), 403, "Forbidden Request: Unknown Event Name");
    const char *n5[] = {"hasura_event_api", SECRET, "hasura_event_name", "example", NULL};
    refused(url_event("POST", BODY, strlen(BODY), 0, n5), 403, "Forbidden Request: Unknown Event Name");
    /* bodies: not JSON, 256 KiB + 1 of valid JSON, binary with the base64 flag, bad base64 */
    refused(url_event("POST", "crash_id=1000", 13, 0, good), 400, NULL);
    size_t big = VZ_SQS_MAX_MESSAGE_BYTES + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, "{\"pad\":\"", 8);
    memset(huge + 8, 'x', big - 10);
    memcpy(huge + big - 2, "\"}", 2);
    huge[big] = '\0';
    refused(url_event("POST", huge, big, 0, good), 413, NULL);
    refused(url_event("POST", huge, big, 1, good), 413, NULL);
    free(huge);
    unsigned char binary[512];
    for (size_t i = 0; i < sizeof binary; i++)
        binary[i] = (unsigned char)(i * 7 + 3);
    refused(url_event("POST", (const char *)binary, sizeof binary, 1, good), 400, NULL);
    cJSON *bad64 = url_event("POST", NULL, 0, 1, good);
    cJSON_AddStringToObject(bad64, "body", "not*base64");
    refused(bad64, 400, "Bad Request: the body is marked base64 but is not");
    /* GET instead of POST */
    refused(url_event("GET", NULL, 0, 0, good), 405, "Method Not Allowed: use POST or PUT");
}

/* The three good shapes: 2.0 plain, 2.0 base64 with upper-case header names, 1.0 with the newer header. */
static void good_requests_are_queued_once(void **state)
{
    (void)state;
    char msg[512];
    const char *good[] = {"hasura_event_api", SECRET, "hasura_event_name", event_name, NULL};
    assert_int_equal(run_event(url_event("POST", BODY, strlen(BODY), 0, good), msg, sizeof msg), 200);
    assert_non_null(strstr(msg, "Update queued: "));
    assert_int_equal(count(), ++queued);

    const char *upper[] = {"HASURA_EVENT_API", SECRET, "Hasura_Event_Name", event_name, NULL};
    assert_int_equal(run_event(url_event("PUT", BODY, strlen(BODY), 1, upper), msg, sizeof msg), 200);
    assert_int_equal(count(), ++queued);

    cJSON *v1 = cJSON_CreateObject();
    cJSON_AddStringToObject(v1, "resource", "/events");
    cJSON_AddStringToObject(v1, "path", "/events/");
    cJSON_AddStringToObject(v1, "httpMethod", "POST");
    cJSON *h = cJSON_AddObjectToObject(v1, "headers");
    cJSON_AddStringToObject(h, "Hasura_Trigger_Api_Key", SECRET);
    cJSON_AddStringToObject(h, "HASURA_EVENT_NAME", event_name);
    cJSON_AddObjectToObject(v1, "requestContext");
    cJSON_AddStringToObject(v1, "body", BODY);
    cJSON_AddFalseToObject(v1, "isBase64Encoded");
    assert_int_equal(run_event(v1, msg, sizeof msg), 200);
    assert_int_equal(count(), ++queued);

    /* Exactly 256 KiB is accepted. */
    size_t big = VZ_SQS_MAX_MESSAGE_BYTES;
    char *max = malloc(big + 1);
    memcpy(max, "{\"pad\":\"", 8);
    memset(max + 8, 'x', big - 10);
    memcpy(max + big - 2, "\"}", 2);
    max[big] = '\0';
    assert_int_equal(run_event(url_event("POST", max, big, 0, good), msg, sizeof msg), 200);
    assert_int_equal(count(), ++queued);
    free(max);

    /* They were sent with DelaySeconds=10: nothing visible yet. */
    cJSON *early = NULL;
    vz_error err = {{0}, {0}};
    assert_int_equal(vz_sqs_client_receive(sqs, queue_url, 10, 0, 30, &early, &err), VZ_OK);
    assert_int_equal(cJSON_GetArraySize(early), 0);
    cJSON_Delete(early);

    /* After the delay: the bodies exactly as posted (the base64 one decoded), each once. */
    int got = 0, small = 0, large = 0;
    time_t until = time(NULL) + 30;
    while (got < queued && time(NULL) < until) {
        cJSON *msgs = NULL;
        assert_int_equal(vz_sqs_client_receive(sqs, queue_url, 10, 5, 60, &msgs, &err), VZ_OK);
        const cJSON *m;
        const char *handles[10];
        size_t nh = 0;
        cJSON_ArrayForEach(m, msgs)
        {
            const char *body = cJSON_GetObjectItemCaseSensitive(m, "Body")->valuestring;
            char md5[33];
            vz_md5_hex(body, strlen(body), md5);
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "MD5OfBody")->valuestring, md5);
            if (strcmp(body, BODY) == 0)
                small++;
            else if (strlen(body) == VZ_SQS_MAX_MESSAGE_BYTES)
                large++;
            else
                fail_msg("unexpected body of %zu bytes", strlen(body));
            handles[nh++] = cJSON_GetObjectItemCaseSensitive(m, "ReceiptHandle")->valuestring;
            got++;
        }
        assert_int_equal(vz_sqs_client_delete_batch(sqs, queue_url, handles, nh, &err), VZ_OK);
        cJSON_Delete(msgs);
    }
    assert_int_equal(small, 3);
    assert_int_equal(large, 1);
    queued = 0;
    assert_int_equal(count(), 0);
}

static void missing_queue_is_503(void **state)
{
    (void)state;
    /* A well-formed deployed name whose queue was never created: the reason names the queue, not the key. */
    char name[96], msg[512];
    snprintf(name, sizeof name, "example_%s_gone", stage);
    const char *h[] = {"hasura_event_api", SECRET, "hasura_event_name", name, NULL};
    assert_int_equal(run_event(url_event("POST", BODY, strlen(BODY), 0, h), msg, sizeof msg), 503);
    assert_non_null(strstr(msg, "Unable to queue update request: queue atd-vz-data-events-example_"));
    assert_non_null(strstr(msg, "does not exist"));
    assert_null(strstr(msg, SECRET));
    assert_int_equal(count(), 0);
}

static void client_round_trip(void **state)
{
    (void)state;
    vz_error err = {{0}, {0}};
    const char *url = NULL;
    char name[128];
    snprintf(name, sizeof name, "vz-client-%s", stage);
    assert_int_equal(vz_sqs_client_queue_url(sqs, name, &url, &err), VZ_ENOTFOUND);
    assert_string_equal(err.type, "QueueDoesNotExist");
    cJSON *attrs = cJSON_CreateObject();
    cJSON_AddStringToObject(attrs, "VisibilityTimeout", "7");
    assert_int_equal(vz_sqs_client_create_queue(sqs, name, attrs, &url, &err), VZ_OK);
    cJSON_Delete(attrs);
    const char *again = NULL;
    assert_int_equal(vz_sqs_client_queue_url(sqs, name, &again, &err), VZ_OK);
    assert_ptr_equal(url, again); /* cached: no second GetQueueUrl */
    char id[128];
    assert_int_equal(vz_sqs_client_send(sqs, name, "{\"n\":1}", 7, 0, id, 0, &err), VZ_OK);
    assert_true(strlen(id) > 0);
    assert_int_equal(vz_sqs_client_count(sqs, url, &err), 1);
    cJSON *msgs = NULL;
    assert_int_equal(vz_sqs_client_receive(sqs, url, 10, 2, 30, &msgs, &err), VZ_OK);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    const cJSON *m = cJSON_GetArrayItem(msgs, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "MessageId")->valuestring, id);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "Attributes");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(a, "ApproximateReceiveCount")->valuestring, "1");
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "SentTimestamp")));
    cJSON *qa = NULL;
    assert_int_equal(vz_sqs_client_attributes(sqs, url, &qa, &err), VZ_OK);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(qa, "VisibilityTimeout")->valuestring, "7");
    cJSON_Delete(qa);
    const char *rh = cJSON_GetObjectItemCaseSensitive(m, "ReceiptHandle")->valuestring;
    assert_int_equal(vz_sqs_client_delete_batch(sqs, url, &rh, 1, &err), VZ_OK);
    cJSON_Delete(msgs);
    assert_int_equal(vz_sqs_client_count(sqs, url, &err), 0);
    static char big[VZ_SQS_MAX_MESSAGE_BYTES + 2];
    memset(big, 'a', sizeof big);
    assert_int_equal(vz_sqs_client_send(sqs, name, big, sizeof big, 0, id, 0, &err), VZ_EINVAL);
}

/* A queue made for the pull-request test; its URL copied into url (the client's cache may drop it). */
static void make_queue(const char *name, char *url, size_t n)
{
    const char *u = NULL;
    vz_error err = {{0}, {0}};
    if (vz_sqs_client_create_queue(sqs, name, NULL, &u, &err) != VZ_OK)
        fail_msg("CreateQueue %s: %s", name, err.message);
    snprintf(url, n, "%s", u);
}

static void delete_queue(const char *url)
{
    cJSON *req = cJSON_CreateObject(), *resp = NULL;
    cJSON_AddStringToObject(req, "QueueUrl", url);
    vz_error err = {{0}, {0}};
    vz_status st = vz_sqs_client_call(sqs, "DeleteQueue", req, 0, &resp, &err);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    if (st != VZ_OK)
        fail_msg("DeleteQueue %s: %s", url, err.message);
}

static long count_at(const char *url)
{
    vz_error err = {{0}, {0}};
    long n = vz_sqs_client_count(sqs, url, &err);
    if (n < 0)
        fail_msg("GetQueueAttributes %s: %s", url, err.message);
    return n;
}

/* Post an event named `name` through the endpoint; its status, the answer's message in msg. */
static int post(const char *name, char *msg, size_t n)
{
    const char *h[] = {"hasura_event_api", SECRET, "hasura_event_name", name, NULL};
    return run_event(url_event("POST", BODY, strlen(BODY), 0, h), msg, n);
}

static const char *body_member(const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(last_body, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The lines of the captured log that hold every one of the NULL-terminated needles. */
static int log_lines_with(const char *log, ...)
{
    int found = 0;
    for (const char *line = log; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        bool all = true;
        va_list ap;
        va_start(ap, log);
        for (const char *needle; all && (needle = va_arg(ap, const char *));) {
            const char *hit = strstr(line, needle);
            all = hit && hit + strlen(needle) <= line + len;
        }
        va_end(ap);
        found += all;
        line = end ? end + 1 : NULL;
    }
    return found;
}

/* Receive the `want` messages at url (after their 10 s delay), check each body and delete it. */
static void receive_bodies(const char *url, int want)
{
    vz_error err = {{0}, {0}};
    int got = 0;
    time_t until = time(NULL) + 30;
    while (got < want && time(NULL) < until) {
        cJSON *msgs = NULL;
        assert_int_equal(vz_sqs_client_receive(sqs, url, 10, 5, 60, &msgs, &err), VZ_OK);
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs)
        {
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "Body")->valuestring, BODY);
            const char *rh = cJSON_GetObjectItemCaseSensitive(m, "ReceiptHandle")->valuestring;
            assert_int_equal(vz_sqs_client_delete_batch(sqs, url, &rh, 1, &err), VZ_OK);
            got++;
        }
        cJSON_Delete(msgs);
    }
    if (got != want)
        fail_msg("%d of %d messages arrived at %s within 30 s", got, want, url);
    assert_int_equal(count_at(url), 0);
}

static void pull_request_queues(void **state)
{
    (void)state;
    char prefix[48], msg[512];
    snprintf(prefix, sizeof prefix, "it%ld-%ld-", (long)getpid(), (long)time(NULL) % 100000);
    run_prefix = prefix;
    setenv("VZ_STAGE", "staging", 1);
    setenv("VZ_DEPLOYED_HANDLERS", "crash_update_location,crash_update_jurisdiction,crash_update_noncr3_location", 1);
    char *log = NULL;
    size_t log_len = 0;
    FILE *log_file = open_memstream(&log, &log_len);
    assert_non_null(log_file);
    vz_log_configure(1, VZ_LOG_INFO, log_file);

    char new_pr[128], new_staging[128], loc_pr[128], loc_staging[128], ex_staging[128];
    char new_pr_url[256], new_staging_url[256], loc_pr_url[256], loc_staging_url[256], ex_staging_url[256];
    snprintf(new_pr, sizeof new_pr, "%snewcomer_check_pr_845", prefix);
    snprintf(new_staging, sizeof new_staging, "%snewcomer_check_staging", prefix);
    snprintf(loc_pr, sizeof loc_pr, "%scrash_update_location_pr_845", prefix);
    snprintf(loc_staging, sizeof loc_staging, "%scrash_update_location_staging", prefix);
    snprintf(ex_staging, sizeof ex_staging, "%sexample_staging", prefix);
    make_queue(new_pr, new_pr_url, sizeof new_pr_url);
    make_queue(new_staging, new_staging_url, sizeof new_staging_url);
    make_queue(loc_pr, loc_pr_url, sizeof loc_pr_url);
    make_queue(loc_staging, loc_staging_url, sizeof loc_staging_url);
    make_queue(ex_staging, ex_staging_url, sizeof ex_staging_url);

    /* A handler staging's binary does not have: its pull request's queue gets the event. */
    assert_int_equal(post("newcomer_check_pr_845", msg, sizeof msg), 200);
    assert_non_null(strstr(msg, "Update queued: "));
    assert_null(body_member("reroutedFrom"));
    assert_int_equal(count_at(new_pr_url), 1);

    /* A handler staging has, its pull request's queue there: the event goes to that queue (and the
     * endpoint's client now holds its URL). */
    assert_int_equal(post("crash_update_location_pr_845", msg, sizeof msg), 200);
    assert_null(body_member("reroutedFrom"));
    assert_int_equal(count_at(loc_pr_url), 1);
    assert_int_equal(count_at(loc_staging_url), 0);

    /* The pull request closes (its queue deleted) while the trigger still names it: the cached URL
     * fails, and the event goes to the handler's staging queue, with a WARN line, the metric and the
     * answer saying where. */
    delete_queue(loc_pr_url);
    assert_int_equal(post("crash_update_location_pr_845", msg, sizeof msg), 200);
    char want[512];
    snprintf(want, sizeof want, " on %s, because queue %s does not exist", loc_staging, loc_pr);
    assert_non_null(strstr(msg, want));
    assert_string_equal(body_member("queue"), loc_staging);
    assert_string_equal(body_member("reroutedFrom"), loc_pr);
    assert_int_equal(count_at(loc_staging_url), 1);
    /* A second event while the trigger still names the pull request: rerouted again. */
    assert_int_equal(post("crash_update_location_pr_845", msg, sizeof msg), 200);
    assert_string_equal(body_member("queue"), loc_staging);
    assert_int_equal(count_at(loc_staging_url), 2);

    /* The pull request reopens (its queue made again): its events go to it again. */
    make_queue(loc_pr, loc_pr_url, sizeof loc_pr_url);
    assert_int_equal(post("crash_update_location_pr_845", msg, sizeof msg), 200);
    assert_null(body_member("reroutedFrom"));
    assert_int_equal(count_at(loc_pr_url), 1);
    assert_int_equal(count_at(loc_staging_url), 2);

    /* A deleted pull-request queue of a handler staging lacks: 503, and nothing goes to a staging
     * queue, even one of that name (staging's functions would not run that handler). */
    delete_queue(new_pr_url);
    assert_int_equal(post("newcomer_check_pr_845", msg, sizeof msg), 503);
    snprintf(want, sizeof want, "Unable to queue update request: queue %s does not exist", new_pr);
    assert_string_equal(msg, want);
    assert_int_equal(count_at(new_staging_url), 0);
    /* The same for a handler built in but not deployed in staging (example: pull requests only). */
    assert_int_equal(post("example_pr_845", msg, sizeof msg), 503);
    assert_non_null(strstr(msg, "does not exist"));
    assert_int_equal(count_at(ex_staging_url), 0);
    /* A handler staging has, but neither its pull request's queue nor its staging queue exists: 503. */
    assert_int_equal(post("crash_update_jurisdiction_pr_845", msg, sizeof msg), 503);
    snprintf(want, sizeof want,
             "Unable to queue update request: queue %scrash_update_jurisdiction_pr_845 does not exist, nor could it "
             "go to crash_update_jurisdiction_staging",
             prefix);
    assert_string_equal(msg, want);

    vz_log_configure_from_env();
    fclose(log_file);
    fprintf(stderr, "the endpoint's log:\n%s", log);
    char pr_queue_log[192], staging_log[192];
    snprintf(pr_queue_log, sizeof pr_queue_log, "queue %s does not exist", loc_pr);
    snprintf(staging_log, sizeof staging_log, "sent to %s instead", loc_staging);
    assert_int_equal(log_lines_with(log, "\"level\":\"WARN\"", pr_queue_log, staging_log, (char *)NULL), 2);
    snprintf(want, sizeof want, "SendMessage for %s", loc_pr); /* the cached URL was tried, and failed */
    assert_true(log_lines_with(log, want, (char *)NULL) >= 1);
    assert_int_equal(log_lines_with(log, "\"Name\":\"Rerouted\"", "\"Stage\":\"staging\"",
                                    "\"EventName\":\"crash_update_location\"", "\"Rerouted\":1", (char *)NULL),
                     2);
    assert_int_equal(log_lines_with(log, "\"Rerouted\":1", (char *)NULL), 2);
    assert_int_equal(log_lines_with(log, "\"Name\":\"Requests\"", "\"Status\":\"200\"",
                                    "\"EventName\":\"newcomer_check\"", (char *)NULL),
                     1);
    assert_int_equal(log_lines_with(log, "\"Name\":\"Requests\"", "\"Status\":\"503\"", (char *)NULL), 3);
    assert_null(strstr(log, SECRET));
    free(log);

    /* Nothing lost: each queue holds the body as posted. */
    receive_bodies(loc_pr_url, 1);
    receive_bodies(loc_staging_url, 2);
    unsetenv("VZ_DEPLOYED_HANDLERS");
    unsetenv("VZ_STAGE");
    run_prefix = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_round_trip),
        cmocka_unit_test(bad_requests_queue_nothing),
        cmocka_unit_test(good_requests_are_queued_once),
        cmocka_unit_test(missing_queue_is_503),
        cmocka_unit_test(pull_request_queues),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
