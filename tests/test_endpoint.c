/* test_endpoint.c -- the /events/ endpoint's checks (src/endpoint.c) and base64 (src/base64.c).
 *
 * No server here: every request in this file is refused before SQS is called,
 * or is queued to an endpoint that does not exist and must answer 503.  The
 * same requests against a real SQS server are in tests/integration/endpoint_sqs.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vz/base64.h"
#include "vz/endpoint.h"
#include "vz/invocation.h"
#include "vz/sqs_client.h"

#define SECRET "s3cret-Key_value"

/* Run one HTTP event through vz_invocation_run; returns the status, copies the "message" into msg. */
static int run_event(cJSON *ev, char *msg, size_t n)
{
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    assert_non_null(text);
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context ctx = {"test", 0, NULL, NULL, &arena};
    vz_batch_options opts = {0};
    vz_invocation_result res;
    vz_error err = {{0}, {0}};
    assert_int_equal(vz_invocation_run(&opts, &ctx, text, strlen(text), &res, &err), VZ_OK);
    free(text);
    cJSON *resp = cJSON_Parse(res.response);
    assert_non_null(resp);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(resp, "statusCode");
    assert_true(cJSON_IsNumber(code));
    assert_int_equal(code->valueint, res.http_status);
    const cJSON *ctype =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp, "headers"), "content-type");
    assert_string_equal(ctype->valuestring, "application/json");
    cJSON *body = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(resp, "body")->valuestring);
    assert_non_null(body);
    snprintf(msg, n, "%s", cJSON_GetObjectItemCaseSensitive(body, "message")->valuestring);
    cJSON_Delete(body);
    cJSON_Delete(resp);
    free(res.response);
    vz_arena_destroy(&arena);
    return res.http_status;
}

/* A function URL (payload 2.0) event; headers is a NULL-terminated list of name, value pairs. */
static cJSON *url_event(const char *method, const char *body, int b64, const char *const *headers)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "version", "2.0");
    cJSON_AddStringToObject(ev, "rawPath", "/events/");
    cJSON *h = cJSON_AddObjectToObject(ev, "headers");
    for (size_t i = 0; headers && headers[i]; i += 2)
        cJSON_AddStringToObject(h, headers[i], headers[i + 1]);
    cJSON *http = cJSON_AddObjectToObject(cJSON_AddObjectToObject(ev, "requestContext"), "http");
    cJSON_AddStringToObject(http, "method", method);
    if (body)
        cJSON_AddStringToObject(ev, "body", body);
    cJSON_AddBoolToObject(ev, "isBase64Encoded", b64);
    return ev;
}

static int setup(void **state)
{
    (void)state;
    setenv("HASURA_EVENT_API", SECRET, 1);
    /* Anything that gets past the checks goes to a closed port and must come back 503. */
    setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:1", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "unit-test", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "unit-test", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vz_endpoint_shutdown();
    return 0;
}

static void secret_compare(void **state)
{
    (void)state;
    assert_true(vz_endpoint_secret_equal("abc", 3, "abc", 3));
    assert_false(vz_endpoint_secret_equal("abd", 3, "abc", 3));
    assert_false(vz_endpoint_secret_equal("ABC", 3, "abc", 3));
    assert_false(vz_endpoint_secret_equal("ab", 2, "abc", 3));
    assert_false(vz_endpoint_secret_equal("abcabc", 6, "abc", 3)); /* wraps around the secret: still unequal */
    assert_false(vz_endpoint_secret_equal("", 0, "abc", 3));
    assert_false(vz_endpoint_secret_equal("", 0, "", 0)); /* no secret configured: nothing matches */
}

static void names(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(vz_endpoint_check_name("example_staging", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("example_pr_845", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("example_a-b", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("", NULL, why, sizeof why), 403);
    assert_int_equal(vz_endpoint_check_name(NULL, NULL, why, sizeof why), 403);
    assert_int_equal(vz_endpoint_check_name("example", NULL, why, sizeof why), 403);  /* no stage */
    assert_int_equal(vz_endpoint_check_name("example_", NULL, why, sizeof why), 403); /* empty stage */
    assert_int_equal(vz_endpoint_check_name("examples_staging", NULL, why, sizeof why), 403);
    assert_int_equal(vz_endpoint_check_name("no_such_handler_staging", NULL, why, sizeof why), 403);
    assert_int_equal(vz_endpoint_check_name("example_../x", NULL, why, sizeof why), 400);
    assert_int_equal(vz_endpoint_check_name("example_a/b", NULL, why, sizeof why), 400);
    assert_int_equal(vz_endpoint_check_name("example_a.b", NULL, why, sizeof why), 400);
    assert_int_equal(vz_endpoint_check_name("example_st\xc3\xa9", NULL, why, sizeof why), 400);
    assert_int_equal(vz_endpoint_check_name("example_stage name", NULL, why, sizeof why), 400);
    /* The prefix is 19 characters: 61 more fill SQS's 80, 62 do not. */
    char n61[62], n62[63];
    memset(n61, 'x', sizeof n61 - 1);
    memcpy(n61, "example_", 8);
    n61[61] = '\0';
    memset(n62, 'x', sizeof n62 - 1);
    memcpy(n62, "example_", 8);
    n62[62] = '\0';
    assert_int_equal(vz_endpoint_check_name(n61, NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name(n62, NULL, why, sizeof why), 400);
    assert_non_null(strstr(why, "62 characters"));
}

/* The environment of the endpoint (VZ_STAGE) decides which stages it serves. */
static void names_of_another_environment(void **state)
{
    (void)state;
    char why[256];
    setenv("VZ_STAGE", "production", 1);
    assert_int_equal(vz_endpoint_check_name("example_production", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("example_staging", NULL, why, sizeof why), 403);
    assert_string_equal(why, "event name example_staging is for stage staging, which the production endpoint does "
                             "not serve");
    assert_int_equal(vz_endpoint_check_name("example_pr_845", NULL, why, sizeof why), 403);
    assert_non_null(strstr(why, "stage pr_845"));
    assert_int_equal(vz_endpoint_check_name("example_productionx", NULL, why, sizeof why), 403);

    setenv("VZ_STAGE", "staging", 1);
    assert_int_equal(vz_endpoint_check_name("example_staging", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("example_pr_845", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("example_pr_1234567", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("example_production", NULL, why, sizeof why), 403);
    assert_string_equal(why, "event name example_production is for stage production, which the staging endpoint "
                             "does not serve");
    /* Only real pull-request stages: no leading zero, at most 7 digits, nothing after. */
    assert_int_equal(vz_endpoint_check_name("example_pr_045", NULL, why, sizeof why), 403);
    assert_int_equal(vz_endpoint_check_name("example_pr_12345678", NULL, why, sizeof why), 403);
    assert_int_equal(vz_endpoint_check_name("example_pr_", NULL, why, sizeof why), 403);
    assert_int_equal(vz_endpoint_check_name("example_pr_1_production", NULL, why, sizeof why), 403);
    assert_int_equal(vz_endpoint_check_name("example_a-b", NULL, why, sizeof why), 403);

    /* A stage's own endpoint would serve itself only. */
    setenv("VZ_STAGE", "pr_7", 1);
    assert_int_equal(vz_endpoint_check_name("example_pr_7", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("example_pr_70", NULL, why, sizeof why), 403);
    unsetenv("VZ_STAGE");
}

/* VZ_DEPLOYED_HANDLERS: the handlers the environment's own stage deploys; a pull request's stage takes any. */
static void names_of_undeployed_handlers(void **state)
{
    (void)state;
    char why[256];
    setenv("VZ_STAGE", "staging", 1);
    setenv("VZ_DEPLOYED_HANDLERS", "crash_update_location,crash_update_jurisdiction", 1);
    assert_int_equal(vz_endpoint_check_name("crash_update_location_staging", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("crash_update_jurisdiction_staging", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("example_staging", NULL, why, sizeof why), 403);
    assert_string_equal(why, "handler example is not deployed in stage staging");
    assert_int_equal(vz_endpoint_check_name("example_pr_45", NULL, why, sizeof why), 0);
    assert_int_equal(vz_endpoint_check_name("crash_update_noncr3_location_pr_45", NULL, why, sizeof why), 0);
    /* A list item is a whole name: "crash_update_location" does not admit "crash_update". */
    setenv("VZ_DEPLOYED_HANDLERS", "crash_update_locationx,xcrash_update_location,", 1);
    assert_int_equal(vz_endpoint_check_name("crash_update_location_staging", NULL, why, sizeof why), 403);
    setenv("VZ_DEPLOYED_HANDLERS", "", 1); /* set and empty: nothing is deployed */
    assert_int_equal(vz_endpoint_check_name("crash_update_location_staging", NULL, why, sizeof why), 403);
    unsetenv("VZ_DEPLOYED_HANDLERS"); /* unset: every handler built in */
    assert_int_equal(vz_endpoint_check_name("example_staging", NULL, why, sizeof why), 0);
    unsetenv("VZ_STAGE");
}

/* vz_endpoint_handler_name_ok gives every verdict and reason of tests/fixtures/handler-names.txt, which
 * deploy/render --check-name gives too (tests/handler_names_test.py). */
static void handler_name_rule(void **state)
{
    (void)state;
    FILE *f = fopen(VZ_FIXTURES "/handler-names.txt", "r");
    assert_non_null(f);
    char line[512], why[256];
    int ok = 0, refused = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *verdict = line, *name = strchr(line, '\t');
        assert_non_null(name);
        *name++ = '\0';
        char *reason = strchr(name, '\t');
        if (reason)
            *reason++ = '\0';
        why[0] = '\0';
        bool got = vz_endpoint_handler_name_ok(name, strlen(name), why, sizeof why);
        if (strcmp(verdict, "ok") == 0) {
            if (!got)
                fail_msg("%s: refused (%s), the file says ok", name, why);
            ok++;
        } else {
            assert_string_equal(verdict, "refused");
            assert_non_null(reason);
            if (got)
                fail_msg("%s: accepted, the file says refused: %s", name, reason);
            assert_string_equal(why, reason);
            refused++;
        }
    }
    fclose(f);
    assert_true(ok >= 5);
    assert_true(refused >= 10);
    /* Only the n bytes given are the name: the rest of an event name is not read. */
    assert_true(vz_endpoint_handler_name_ok("newcomer_pr_845", 8, why, sizeof why));
    assert_false(vz_endpoint_handler_name_ok("newcomer_pr_845", 11, why, sizeof why));
    assert_false(vz_endpoint_handler_name_ok("", 0, why, sizeof why));
}

/* A pull request's event name: any well-formed handler, built into this binary or not, where the
 * environment serves pull requests; elsewhere today's rules. */
static void names_of_pull_requests(void **state)
{
    (void)state;
    char why[384];
    char longest[64], too_long[64];
    snprintf(longest, sizeof longest, "h%0*d_pr_1234567", VZ_MAX_HANDLER_NAME - 1, 0);
    snprintf(too_long, sizeof too_long, "h%0*d_pr_1234567", VZ_MAX_HANDLER_NAME, 0);
    assert_int_equal(VZ_MAX_HANDLER_NAME, 34);
    static const char *const envs[] = {"staging", "local", NULL};
    for (size_t i = 0; i < 3; i++) {
        if (i < 2)
            setenv("VZ_STAGE", envs[i], 1);
        else
            unsetenv("VZ_STAGE");
        setenv("VZ_DEPLOYED_HANDLERS", "crash_update_location", 1); /* not read for a pull request's stage */
        assert_int_equal(vz_endpoint_check_name("newcomer_check_pr_845", NULL, why, sizeof why), 0);
        assert_int_equal(vz_endpoint_check_name("example_pr_845", NULL, why, sizeof why), 0);
        assert_int_equal(vz_endpoint_check_name("crash_update_jurisdiction_pr_1", NULL, why, sizeof why), 0);
        assert_int_equal(vz_endpoint_check_name(longest, NULL, why, sizeof why), 0);
        assert_int_equal(vz_endpoint_check_name(too_long, NULL, why, sizeof why), 403);
        assert_non_null(strstr(why, "35 characters"));
        assert_int_equal(vz_endpoint_check_name("Newcomer_pr_845", NULL, why, sizeof why), 403);
        assert_string_equal(why, "event name Newcomer_pr_845: Newcomer is not a handler name: lower-case letters, "
                                 "digits and _, starting with a letter");
        assert_int_equal(vz_endpoint_check_name("new__comer_pr_845", NULL, why, sizeof why), 403);
        assert_non_null(strstr(why, "it holds __"));
        assert_int_equal(vz_endpoint_check_name("x_pr_y_pr_845", NULL, why, sizeof why), 403);
        assert_non_null(strstr(why, "x_pr_y is not a handler name: the word 'pr'"));
        assert_int_equal(vz_endpoint_check_name("deadletter_pr_845", NULL, why, sizeof why), 403);
        assert_non_null(strstr(why, "deadletter is reserved"));
        assert_int_equal(vz_endpoint_check_name("_pr_845", NULL, why, sizeof why), 403);
        assert_int_equal(vz_endpoint_check_name("newcomer-check_pr_845", NULL, why, sizeof why), 403);
        /* Not a pull request's stage: a handler built in, deployed there, as before. */
        assert_int_equal(vz_endpoint_check_name("newcomer_check_pr_0845", NULL, why, sizeof why), 403);
        assert_int_equal(vz_endpoint_check_name("newcomer_check_staging", NULL, why, sizeof why), 403);
        assert_string_equal(why, "the event name is not <handler>_<stage> for a handler this function serves");
        unsetenv("VZ_DEPLOYED_HANDLERS");
    }
    /* Production serves no pull request: their names stay unknown or another environment's. */
    setenv("VZ_STAGE", "production", 1);
    assert_int_equal(vz_endpoint_check_name("newcomer_check_pr_845", NULL, why, sizeof why), 403);
    assert_string_equal(why, "the event name is not <handler>_<stage> for a handler this function serves");
    assert_int_equal(vz_endpoint_check_name("example_pr_845", NULL, why, sizeof why), 403);
    assert_non_null(strstr(why, "which the production endpoint does not serve"));
    unsetenv("VZ_STAGE");
}

/* The whole request: the caller with the key is told why, with the true 403. */
#define BODY "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"crash_id\":1}}}}"

static void refusals_name_the_reason(void **state)
{
    (void)state;
    char msg[512];
    setenv("VZ_STAGE", "production", 1);
    setenv("VZ_DEPLOYED_HANDLERS", "crash_update_location", 1);
    const char *staging_name[] = {"HASURA_EVENT_API", SECRET, "HASURA_EVENT_NAME", "crash_update_location_staging",
                                  NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, staging_name), msg, sizeof msg), 403);
    /* The answer never quotes the header (a caller may fill it with anything, the key included). */
    assert_string_equal(msg, "Forbidden Request: the event name is for a stage the production endpoint does not serve");
    const char *example[] = {"HASURA_EVENT_API", SECRET, "HASURA_EVENT_NAME", "example_production", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, example), msg, sizeof msg), 403);
    assert_string_equal(msg, "Forbidden Request: handler example is not deployed in stage production");
    /* A pull request's name that no handler may have, in staging: the rule that refused it. */
    setenv("VZ_STAGE", "staging", 1);
    const char *bad[] = {"HASURA_EVENT_API", SECRET, "HASURA_EVENT_NAME", "crash_location_local_pr_845", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, bad), msg, sizeof msg), 403);
    assert_string_equal(msg, "Forbidden Request: the event name's handler part is not a handler name: the word "
                             "'local' would make the event name <handler>_<stage> read two ways");
    /* A new handler's pull request gets past the checks (to a closed port: 503, and no staging queue is
     * tried, since the queue service was not reached and the handler is not staging's). */
    const char *fresh[] = {"HASURA_EVENT_API", SECRET, "HASURA_EVENT_NAME", "newcomer_check_pr_845", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, fresh), msg, sizeof msg), 503);
    assert_string_equal(msg, "Unable to queue update request: the queue service could not be reached");
    setenv("VZ_STAGE", "production", 1);
    /* Without the key nothing is told, whatever the name. */
    const char *nokey[] = {"HASURA_EVENT_API", "wrong", "HASURA_EVENT_NAME", "example_production", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, nokey), msg, sizeof msg), 403);
    assert_string_equal(msg, "Forbidden Request");
    /* A name it serves gets past the checks (to a closed port here: 503). */
    const char *good[] = {"HASURA_EVENT_API", SECRET, "HASURA_EVENT_NAME", "crash_update_location_production", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, good), msg, sizeof msg), 503);
    unsetenv("VZ_DEPLOYED_HANDLERS");
    unsetenv("VZ_STAGE");
}

/* The deployed endpoint's Handler field is "endpoint": the runtime starts with it (no queue consumer). */
static void handler_field_endpoint(void **state)
{
    (void)state;
    vz_batch_options opts;
    vz_error err = {{0}, {0}};
    setenv("_HANDLER", "endpoint", 1);
    assert_int_equal(vz_batch_options_from_env(&opts, &err), VZ_OK);
    assert_null(opts.fallback);
    setenv("_HANDLER", "no_such_handler", 1);
    assert_int_equal(vz_batch_options_from_env(&opts, &err), VZ_EINVAL);
    unsetenv("_HANDLER");
}

static void base64_round_trip(void **state)
{
    (void)state;
    const char *cases[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *encoded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *e = vz_base64_encode(cases[i], strlen(cases[i]));
        assert_string_equal(e, encoded[i]);
        size_t n = 99;
        unsigned char *d = vz_base64_decode(e, strlen(e), &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(cases[i]));
        assert_memory_equal(d, cases[i], n);
        free(d);
        free(e);
    }
    size_t n;
    assert_null(vz_base64_decode("Zm9v!", 5, &n));
    assert_null(vz_base64_decode("Z", 1, &n));
    unsigned char *d = vz_base64_decode("Zm9vYg", 6, &n); /* padding optional */
    assert_non_null(d);
    assert_int_equal(n, 4);
    free(d);
}

static void recognises_http_shapes(void **state)
{
    (void)state;
    cJSON *v2 = cJSON_Parse("{\"version\":\"2.0\",\"rawPath\":\"/events/\",\"requestContext\":{\"http\":{}}}");
    cJSON *v1 = cJSON_Parse("{\"resource\":\"/events\",\"httpMethod\":\"POST\",\"requestContext\":{}}");
    cJSON *sqs = cJSON_Parse("{\"Records\":[]}");
    cJSON *other = cJSON_Parse("{\"version\":\"2.0\",\"source\":\"aws.events\"}");
    assert_true(vz_endpoint_is_http_event(v2));
    assert_true(vz_endpoint_is_http_event(v1));
    assert_false(vz_endpoint_is_http_event(sqs));
    assert_false(vz_endpoint_is_http_event(other));
    cJSON_Delete(v2);
    cJSON_Delete(v1);
    cJSON_Delete(sqs);
    cJSON_Delete(other);
}

static const char *const good_headers[] = {"hasura_event_api", SECRET, "hasura_event_name", "example_staging", NULL};

static void refusals(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(run_event(url_event("POST", BODY, 0, NULL), msg, sizeof msg), 403);
    assert_string_equal(msg, "Forbidden Request");
    const char *wrong[] = {"hasura_event_api", "nope", "hasura_event_name", "example_staging", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, wrong), msg, sizeof msg), 403);
    const char *upper[] = {"hasura_event_api", "S3CRET-KEY_VALUE", "hasura_event_name", "example_staging", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, upper), msg, sizeof msg), 403);
    const char *prefix[] = {"hasura_event_api", "s3cret", "hasura_event_name", "example_staging", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, prefix), msg, sizeof msg), 403);
    const char *noname[] = {"HASURA_EVENT_API", SECRET, NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, noname), msg, sizeof msg), 403);
    assert_string_equal(msg, "Forbidden Request: Missing Event Name");
    const char *dots[] = {"HASURA_EVENT_API", SECRET, "HASURA_EVENT_NAME", "example_..", NULL};
    assert_int_equal(run_event(url_event("POST", BODY, 0, dots), msg, sizeof msg), 400);
    assert_int_equal(run_event(url_event("GET", NULL, 0, good_headers), msg, sizeof msg), 405);
    assert_int_equal(run_event(url_event("DELETE", NULL, 0, good_headers), msg, sizeof msg), 405);
    assert_int_equal(run_event(url_event("POST", "not json", 0, good_headers), msg, sizeof msg), 400);
    assert_int_equal(run_event(url_event("POST", "[1,2]", 0, good_headers), msg, sizeof msg), 400);
    assert_int_equal(run_event(url_event("POST", "{} {}", 0, good_headers), msg, sizeof msg), 400);
    assert_int_equal(run_event(url_event("POST", "{\"a\":\"\xff\"}", 0, good_headers), msg, sizeof msg), 400);
    /* A NUL escape would reach the handlers as a string cut short ("12\u00003" read as "12"). */
    assert_int_equal(
        run_event(url_event("POST", "{\"event\":{\"data\":{\"new\":{\"crash_id\":\"12\\u00003\"}}}}", 0, good_headers),
                  msg, sizeof msg),
        400);
    assert_string_equal(msg, "Bad Request: the body holds a \\u0000 escape");
    assert_int_equal(run_event(url_event("POST", NULL, 0, good_headers), msg, sizeof msg), 400);
    assert_int_equal(run_event(url_event("POST", "!!!", 1, good_headers), msg, sizeof msg), 400);
    cJSON *elsewhere = url_event("POST", BODY, 0, good_headers);
    cJSON_ReplaceItemInObject(elsewhere, "rawPath", cJSON_CreateString("/admin"));
    assert_int_equal(run_event(elsewhere, msg, sizeof msg), 404);
    /* only /events (or /events/), or it under the API Gateway stage the event names */
    static const char *const not_ours[] = {"/admin/events",     "/x/events/", "/eventsx", "/production/events",
                                           "/staging/x/events", "//events",   "/"};
    for (size_t i = 0; i < sizeof not_ours / sizeof not_ours[0]; i++) {
        cJSON *ev = url_event("POST", BODY, 0, good_headers);
        cJSON_ReplaceItemInObject(ev, "rawPath", cJSON_CreateString(not_ours[i]));
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(ev, "requestContext"), "stage", "staging");
        assert_int_equal(run_event(ev, msg, sizeof msg), 404);
    }
    static const char *const ours[] = {"/events", "/events/", "/staging/events", "/staging/events/"};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        cJSON *ev = url_event("POST", BODY, 0, good_headers);
        cJSON_ReplaceItemInObject(ev, "rawPath", cJSON_CreateString(ours[i]));
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(ev, "requestContext"), "stage", "staging");
        assert_int_not_equal(run_event(ev, msg, sizeof msg), 404);
    }
    cJSON *dflt = url_event("POST", BODY, 0, good_headers);
    cJSON_ReplaceItemInObject(dflt, "rawPath", cJSON_CreateString("/$default/events"));
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(dflt, "requestContext"), "stage", "$default");
    assert_int_equal(run_event(dflt, msg, sizeof msg), 404);
}

static void secret_not_configured_is_503(void **state)
{
    (void)state;
    char msg[512];
    unsetenv("HASURA_EVENT_API");
    assert_int_equal(run_event(url_event("POST", BODY, 0, good_headers), msg, sizeof msg), 503);
    assert_null(strstr(msg, SECRET));
    setenv("HASURA_EVENT_API", SECRET, 1);
}

static void unreachable_queue_is_503(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(run_event(url_event("POST", BODY, 0, good_headers), msg, sizeof msg), 503);
    assert_string_equal(msg, "Unable to queue update request: the queue service could not be reached");
    vz_endpoint_shutdown();
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(run_event(url_event("POST", BODY, 0, good_headers), msg, sizeof msg), 503);
    assert_string_equal(msg, "Unable to queue update request: the queue service is not configured for this function");
    setenv("AWS_SECRET_ACCESS_KEY", "unit-test", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secret_compare),
        cmocka_unit_test(names),
        cmocka_unit_test(names_of_another_environment),
        cmocka_unit_test(names_of_undeployed_handlers),
        cmocka_unit_test(handler_name_rule),
        cmocka_unit_test(names_of_pull_requests),
        cmocka_unit_test(refusals_name_the_reason),
        cmocka_unit_test(handler_field_endpoint),
        cmocka_unit_test(base64_round_trip),
        cmocka_unit_test(recognises_http_shapes),
        cmocka_unit_test(refusals),
        cmocka_unit_test(secret_not_configured_is_503),
        cmocka_unit_test(unreachable_queue_is_503),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
