/* test_batch.c -- the batch processor (src/batch.c) with scripted test handlers.
 *
 * The handlers here read their instructions from the body: {"fail":true}
 * fails the record, {"sleep_ms":N} takes that long.  `scripted` handles one
 * record at a time; `grouped` takes its records as a set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vz/batch.h"
#include "vz/fixture.h"
#include "vz/invocation.h"
#include "vz/registry.h"

static int g_calls;         /* records seen by handlers */
static int g_batch_calls;   /* calls of grouped's handle_batch */
static size_t g_last_group; /* size of the last group */

static vz_status act(const cJSON *body, vz_error *err)
{
    g_calls++;
    const cJSON *sleep = cJSON_GetObjectItemCaseSensitive(body, "sleep_ms");
    if (cJSON_IsNumber(sleep)) {
        long ms = (long)sleep->valuedouble;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "fail"))) {
        vz_error_set(err, "Function.TestFailure", "the body asked to fail");
        return VZ_ERR;
    }
    return VZ_OK;
}

static vz_status scripted_handle(const vz_context *ctx, const vz_sqs_record *r, const cJSON *body, vz_error *err)
{
    (void)ctx;
    (void)r;
    return act(body, err);
}

static void grouped_batch(const vz_context *ctx, vz_item *items, size_t n)
{
    (void)ctx;
    g_batch_calls++;
    g_last_group = n;
    for (size_t i = 0; i < n; i++)
        items[i].status = act(items[i].body, &items[i].error);
}

static void forgetful_batch(const vz_context *ctx, vz_item *items, size_t n)
{
    (void)ctx;
    (void)items;
    (void)n; /* breaks the contract: sets no outcome */
}

static vz_status text_handle(const vz_context *ctx, const vz_sqs_record *r, const cJSON *body, vz_error *err)
{
    (void)ctx;
    (void)err;
    assert_null(body);
    assert_non_null(r->body);
    g_calls++;
    return VZ_OK;
}

static const vz_handler h_scripted = {.name = "scripted", .needs_json = true, .handle = scripted_handle};
static const vz_handler h_grouped = {.name = "grouped", .needs_json = true, .handle_batch = grouped_batch};
static const vz_handler h_forgetful = {.name = "forgetful", .needs_json = true, .handle_batch = forgetful_batch};
static const vz_handler h_text = {.name = "text", .needs_json = false, .handle = text_handle};
static const vz_handler h_hollow = {.name = "hollow", .needs_json = false}; /* breaks the contract: no function */
const vz_handler *const vz_registry_table[];
const vz_handler *const vz_registry_table[] = {&h_forgetful, &h_grouped, &h_hollow, &h_scripted, &h_text, NULL};

/* Build an event: queues[i] and bodies[i] for n records; message ids are "m<i>". */
static char *make_event(size_t n, const char *const *queues, const char *const *bodies)
{
    cJSON *ev = vz_fixture_sqs_event();
    cJSON *recs = cJSON_GetObjectItemCaseSensitive(ev, "Records");
    for (size_t i = 0; i < n; i++) {
        cJSON *r = vz_fixture_sqs_record(queues[i], NULL, bodies[i], strlen(bodies[i]));
        char id[32];
        snprintf(id, sizeof id, "m%zu", i);
        cJSON_ReplaceItemInObject(r, "messageId", cJSON_CreateString(id));
        cJSON_AddItemToArray(recs, r);
    }
    char *s = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    return s;
}

/* Run an event and return the failed ids joined by ',' (static buffer). */
static const char *run(const char *event, int64_t deadline_ms, vz_batch_summary *sum)
{
    static char out[2048];
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context ctx = {"req", deadline_ms, NULL, NULL, &arena};
    vz_batch_options opts = {NULL, NULL, 300};
    vz_invocation_result res;
    vz_error err;
    vz_status st = vz_invocation_run(&opts, &ctx, event, strlen(event), &res, &err);
    vz_arena_destroy(&arena);
    if (st != VZ_OK) {
        snprintf(out, sizeof out, "ERROR %s: %s", err.type, err.message);
        return out;
    }
    if (sum)
        *sum = res.summary;
    cJSON *resp = cJSON_Parse(res.response);
    free(res.response);
    out[0] = '\0';
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(resp, "batchItemFailures"))
    {
        size_t used = strlen(out);
        snprintf(out + used, sizeof out - used, "%s%s", used ? "," : "",
                 cJSON_GetObjectItemCaseSensitive(it, "itemIdentifier")->valuestring);
    }
    cJSON_Delete(resp);
    return out;
}

static void reset(void **state)
{
    (void)state;
    g_calls = g_batch_calls = 0;
    g_last_group = 0;
}

static void all_good_gives_an_empty_list(void **state)
{
    reset(state);
    const char *q[] = {"atd-vz-data-events-scripted_staging", "scripted_pr_1"};
    const char *b[] = {"{}", "{}"};
    char *ev = make_event(2, q, b);
    vz_batch_summary sum;
    assert_string_equal(run(ev, 0, &sum), "");
    assert_int_equal(g_calls, 2);
    assert_int_equal(sum.total, 2);
    assert_int_equal(sum.succeeded, 2);
    free(ev);
}

static void records_three_and_seven_fail_alone(void **state)
{
    reset(state);
    const char *q[10], *b[10];
    for (int i = 0; i < 10; i++) {
        q[i] = "atd-vz-data-events-scripted_staging";
        b[i] = "{}";
    }
    b[2] = "{\"fail\":true}";
    b[6] = "not json";
    char *ev = make_event(10, q, b);
    vz_batch_summary sum;
    assert_string_equal(run(ev, 0, &sum), "m2,m6");
    assert_int_equal(g_calls, 9); /* the non-JSON body never reached the handler */
    assert_int_equal(sum.succeeded, 8);
    assert_int_equal(sum.failed, 2);
    free(ev);
}

static void unroutable_queue_fails_alone(void **state)
{
    reset(state);
    const char *q[] = {"scripted_staging", "nobody_home_staging", "scripted_staging"};
    const char *b[] = {"{}", "{}", "{}"};
    char *ev = make_event(3, q, b);
    assert_string_equal(run(ev, 0, NULL), "m1");
    assert_int_equal(g_calls, 2);
    free(ev);
}

static void batch_handler_gets_its_records_together(void **state)
{
    reset(state);
    const char *q[] = {"grouped_staging", "scripted_staging", "grouped_staging", "grouped_staging"};
    const char *b[] = {"{}", "{}", "{\"fail\":true}", "{}"};
    char *ev = make_event(4, q, b);
    assert_string_equal(run(ev, 0, NULL), "m2");
    assert_int_equal(g_batch_calls, 1);
    assert_int_equal(g_last_group, 3);
    assert_int_equal(g_calls, 4);
    free(ev);
}

static void handler_without_outcome_fails_the_record(void **state)
{
    reset(state);
    const char *q[] = {"forgetful_staging", "scripted_staging"};
    const char *b[] = {"{}", "{}"};
    char *ev = make_event(2, q, b);
    assert_string_equal(run(ev, 0, NULL), "m0");
    free(ev);
}

/* A handler without any function fails its records (it used to call a NULL pointer); the others run. */
static void handler_without_functions_fails_the_record(void **state)
{
    reset(state);
    const char *q[] = {"hollow_staging", "scripted_staging", "hollow_staging.fifo"};
    const char *b[] = {"{}", "{}", "{}"};
    char *ev = make_event(3, q, b);
    vz_batch_summary sum;
    assert_string_equal(run(ev, 0, &sum), "m0,m2");
    assert_int_equal(g_calls, 1);
    assert_int_equal(sum.failed, 2);
    free(ev);
}

static void fifo_stops_at_first_failure(void **state)
{
    reset(state);
    const char *q[] = {"scripted_staging.fifo", "scripted_staging.fifo", "scripted_staging.fifo",
                       "scripted_staging.fifo"};
    const char *b[] = {"{}", "{\"fail\":true}", "{}", "{}"};
    char *ev = make_event(4, q, b);
    vz_batch_summary sum;
    assert_string_equal(run(ev, 0, &sum), "m1,m2,m3");
    assert_int_equal(g_calls, 2); /* m2 and m3 were never started */
    assert_int_equal(sum.skipped, 2);
    free(ev);
}

/* cJSON ends a string at an escaped NUL, so such a body would name another key: it fails alone. */
static void body_with_nul_escape_fails_alone(void **state)
{
    reset(state);
    const char *q[] = {"scripted_staging", "scripted_staging", "text_staging"};
    const char *b[] = {"{}", "{\"crash_id\":\"12\\u00003\"}", "a\\u0000b"};
    char *ev = make_event(3, q, b);
    assert_string_equal(run(ev, 0, NULL), "m1");
    assert_int_equal(g_calls, 2); /* m0 and m2 (text takes its body as text) ran; m1 never reached its handler */
    free(ev);
    /* "\uZZZZ" decodes to U+0000 too (non-hex digits read as 0, in cJSON as here). */
    reset(state);
    const char *b2[] = {"{}", "{\"crash_id\":\"12\\uZZZZ3\"}", "{\"crash_id\":\"12\\u00e93\"}"};
    const char *q2[] = {"scripted_staging", "scripted_staging", "scripted_staging"};
    ev = make_event(3, q2, b2); /* m2's \u00e9 is an ordinary escape: it runs */
    assert_string_equal(run(ev, 0, NULL), "m1");
    free(ev);
}

static void fifo_batch_handler_runs_one_at_a_time(void **state)
{
    reset(state);
    const char *q[] = {"grouped_staging.fifo", "grouped_staging.fifo", "grouped_staging.fifo"};
    const char *b[] = {"{}", "not json", "{}"};
    char *ev = make_event(3, q, b);
    assert_string_equal(run(ev, 0, NULL), "m1,m2");
    assert_int_equal(g_batch_calls, 1);
    assert_int_equal(g_last_group, 1);
    free(ev);
}

static void near_deadline_records_are_not_started(void **state)
{
    reset(state);
    const char *q[] = {"scripted_staging", "scripted_staging", "scripted_staging", "scripted_staging"};
    const char *b[] = {"{\"sleep_ms\":50}", "{\"sleep_ms\":1600}", "{}", "{}"};
    char *ev = make_event(4, q, b);
    /* A 5 s budget leaves room for all four, even under valgrind on a loaded machine. */
    vz_batch_summary sum;
    assert_string_equal(run(ev, vz_now_ms() + 5000, &sum), "");
    /* 1 s budget, margin 100 ms: m0 and m1 start with most of it left (up to 850 ms of
     * overhead is tolerated) and m1 ends past the deadline, so m2 and m3 are reported
     * without being started. */
    reset(state);
    assert_string_equal(run(ev, vz_now_ms() + 1000, &sum), "m2,m3");
    assert_int_equal(g_calls, 2);
    assert_int_equal(sum.skipped, 2);
    /* Already past the deadline: nothing starts, everything is reported. */
    reset(state);
    assert_string_equal(run(ev, vz_now_ms() - 1, &sum), "m0,m1,m2,m3");
    assert_int_equal(g_calls, 0);
    free(ev);
}

static void margin_scales_with_budget(void **state)
{
    (void)state;
    assert_int_equal(vz_batch_effective_margin(300, 3000), 300);
    assert_int_equal(vz_batch_effective_margin(300, 30000), 300);
    assert_int_equal(vz_batch_effective_margin(300, 1000), 100);
    assert_int_equal(vz_batch_effective_margin(300, 100), 20);
    assert_int_equal(vz_batch_effective_margin(300, INT64_MAX), 300);
}

static void text_handler_gets_no_tree(void **state)
{
    reset(state);
    const char *q[] = {"text_staging"};
    const char *b[] = {"plain text, not JSON"};
    char *ev = make_event(1, q, b);
    assert_string_equal(run(ev, 0, NULL), "");
    assert_int_equal(g_calls, 1);
    free(ev);
}

static void invalid_events_are_invocation_errors(void **state)
{
    reset(state);
    assert_non_null(strstr(run("{\"detail\":{}}", 0, NULL), "ERROR Function.InvalidEvent"));
    assert_non_null(strstr(run("nope", 0, NULL), "ERROR Function.InvalidEvent"));
    assert_non_null(strstr(run("{\"Records\":[{\"body\":\"{}\"}]}", 0, NULL), "no usable messageId"));
    assert_string_equal(run("{\"Records\":[]}", 0, NULL), "");
}

static void options_from_env(void **state)
{
    (void)state;
    vz_batch_options o;
    vz_error err;
    setenv("_HANDLER", "scripted", 1);
    setenv("VZ_DEADLINE_MARGIN_MS", "120", 1);
    assert_int_equal(vz_batch_options_from_env(&o, &err), VZ_OK);
    assert_ptr_equal(o.fallback, &h_scripted);
    assert_int_equal(o.deadline_margin_ms, 120);
    setenv("_HANDLER", "bootstrap", 1);
    assert_int_equal(vz_batch_options_from_env(&o, &err), VZ_OK);
    assert_null(o.fallback);
    setenv("_HANDLER", "missing", 1);
    assert_int_equal(vz_batch_options_from_env(&o, &err), VZ_EINVAL);
    assert_string_equal(err.type, "Runtime.HandlerNotFound");
    unsetenv("_HANDLER");
    setenv("VZ_DEADLINE_MARGIN_MS", "soon", 1);
    assert_int_equal(vz_batch_options_from_env(&o, &err), VZ_EINVAL);
    unsetenv("VZ_DEADLINE_MARGIN_MS");
}

static void fallback_handler_takes_unmatched_queues(void **state)
{
    reset(state);
    const char *q[] = {"some-other-queue"};
    const char *b[] = {"{}"};
    char *ev = make_event(1, q, b);
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context ctx = {"req", 0, NULL, NULL, &arena};
    vz_batch_options opts = {NULL, &h_scripted, 300};
    vz_invocation_result res;
    vz_error err;
    assert_int_equal(vz_invocation_run(&opts, &ctx, ev, strlen(ev), &res, &err), VZ_OK);
    assert_string_equal(res.response, "{\"batchItemFailures\":[]}");
    assert_int_equal(g_calls, 1);
    free(res.response);
    vz_arena_destroy(&arena);
    free(ev);
}

int main(void)
{
    vz_log_configure(1, VZ_LOG_FATAL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_good_gives_an_empty_list),
        cmocka_unit_test(records_three_and_seven_fail_alone),
        cmocka_unit_test(unroutable_queue_fails_alone),
        cmocka_unit_test(batch_handler_gets_its_records_together),
        cmocka_unit_test(handler_without_outcome_fails_the_record),
        cmocka_unit_test(handler_without_functions_fails_the_record),
        cmocka_unit_test(fifo_stops_at_first_failure),
        cmocka_unit_test(fifo_batch_handler_runs_one_at_a_time),
        cmocka_unit_test(near_deadline_records_are_not_started),
        cmocka_unit_test(margin_scales_with_budget),
        cmocka_unit_test(body_with_nul_escape_fails_alone),
        cmocka_unit_test(text_handler_gets_no_tree),
        cmocka_unit_test(invalid_events_are_invocation_errors),
        cmocka_unit_test(options_from_env),
        cmocka_unit_test(fallback_handler_takes_unmatched_queues),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
