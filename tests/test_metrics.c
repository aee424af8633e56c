/* test_metrics.c -- EMF metric lines (src/metrics.c) checked against the Embedded Metric Format
 * specification: the line is one JSON object with nothing around it; `_aws` holds a numeric
 * Timestamp (epoch ms) and CloudWatchMetrics, an array of directives each with a Namespace, a
 * Dimensions array of dimension sets (arrays of at most 30 names, each a string member at the top
 * level) and a Metrics array (at most 100 definitions, each a Name and a valid Unit, each Name's
 * value a number at the top level).  Also: the same object in the TEXT format, the stage, the
 * level filter, and the batch processor's lines (counts by handler, written/unchanged). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vz/handler.h"
#include "vz/log.h"
#include "vz/metrics.h"

static char g_buf[65536];

static FILE *capture(int json, vz_log_level level)
{
    memset(g_buf, 0, sizeof g_buf);
    FILE *f = fmemopen(g_buf, sizeof g_buf - 1, "w");
    assert_non_null(f);
    vz_log_configure(json, level, f);
    return f;
}

static const char *const units[] = {
    "Seconds",          "Microseconds",     "Milliseconds", "Bytes",           "Kilobytes",        "Megabytes",
    "Gigabytes",        "Terabytes",        "Bits",         "Kilobits",        "Megabits",         "Gigabits",
    "Terabits",         "Percent",          "Count",        "Bytes/Second",    "Kilobytes/Second", "Megabytes/Second",
    "Gigabytes/Second", "Terabytes/Second", "Bits/Second",  "Kilobits/Second", "Megabits/Second",  "Gigabits/Second",
    "Terabits/Second",  "Count/Second",     "None"};

static bool unit_valid(const char *u)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i]) == 0)
            return true;
    return false;
}

/* Check one line against the specification; returns the parsed object (caller frees). */
static cJSON *check_emf_line(const char *line, size_t len)
{
    assert_true(len > 0 && line[0] == '{' && line[len - 1] == '}'); /* no data before or after the object */
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    assert_non_null(o);
    assert_true(end == line + len);
    const cJSON *aws = cJSON_GetObjectItemCaseSensitive(o, "_aws");
    assert_true(cJSON_IsObject(aws));
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(aws, "Timestamp");
    assert_true(cJSON_IsNumber(ts));
    int64_t now = vz_now_ms();
    assert_true(ts->valuedouble == (double)(int64_t)ts->valuedouble); /* whole milliseconds */
    assert_true(ts->valuedouble > (double)(now - 60000) && ts->valuedouble <= (double)(now + 1000));
    const cJSON *cwm = cJSON_GetObjectItemCaseSensitive(aws, "CloudWatchMetrics");
    assert_true(cJSON_IsArray(cwm) && cJSON_GetArraySize(cwm) >= 1);
    const cJSON *d;
    cJSON_ArrayForEach(d, cwm)
    {
        const cJSON *ns = cJSON_GetObjectItemCaseSensitive(d, "Namespace");
        assert_true(cJSON_IsString(ns) && strlen(ns->valuestring) >= 1 && strlen(ns->valuestring) <= 255);
        const cJSON *dims = cJSON_GetObjectItemCaseSensitive(d, "Dimensions");
        assert_true(cJSON_IsArray(dims));
        const cJSON *set;
        cJSON_ArrayForEach(set, dims)
        {
            assert_true(cJSON_IsArray(set) && cJSON_GetArraySize(set) <= 30);
            const cJSON *name;
            cJSON_ArrayForEach(name, set)
            {
                assert_true(cJSON_IsString(name));
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name->valuestring);
                assert_true(cJSON_IsString(v) && v->valuestring[0] != '\0' && strlen(v->valuestring) <= 1024);
                /* Low cardinality: never a message id or a row key. */
                assert_true(strcmp(name->valuestring, "messageId") != 0 && strcmp(name->valuestring, "crash_id") != 0 &&
                            strcmp(name->valuestring, "case_id") != 0 && strcmp(name->valuestring, "requestId") != 0);
            }
        }
        const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(d, "Metrics");
        assert_true(cJSON_IsArray(metrics) && cJSON_GetArraySize(metrics) >= 1 && cJSON_GetArraySize(metrics) <= 100);
        const cJSON *m;
        cJSON_ArrayForEach(m, metrics)
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "Name");
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "Unit");
            assert_true(cJSON_IsString(n) && strlen(n->valuestring) >= 1 && strlen(n->valuestring) <= 255);
            assert_true(u == NULL || (cJSON_IsString(u) && unit_valid(u->valuestring)));
            assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, n->valuestring)));
        }
    }
    return o;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static const cJSON *directive0(const cJSON *o)
{
    const cJSON *aws = cJSON_GetObjectItemCaseSensitive(o, "_aws");
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(aws, "CloudWatchMetrics"), 0);
}

static const char *namespace_of(const cJSON *o)
{
    return str(directive0(o), "Namespace");
}

static void batch_line_follows_the_specification(void **state)
{
    (void)state;
    unsetenv("VZ_STAGE");
    FILE *f = capture(1, VZ_LOG_INFO);
    vz_log_set_request_id("req-7");
    vz_metrics_batch b = {7, 2, 1, 4, 3, 12.5};
    vz_metrics_emit_batch("crash_update_location", &b);
    fclose(f);
    size_t len = strlen(g_buf);
    assert_true(len > 1 && g_buf[len - 1] == '\n');
    assert_null(memchr(g_buf, '\n', len - 1)); /* one line */
    cJSON *o = check_emf_line(g_buf, len - 1);
    assert_string_equal(namespace_of(o), "VisionZero/Events");
    assert_string_equal(str(o, "Handler"), "crash_update_location");
    assert_string_equal(str(o, "Stage"), "local");
    assert_true(num(o, "RecordsSucceeded") == 7 && num(o, "RecordsFailed") == 2 && num(o, "RecordsSkipped") == 1);
    assert_true(num(o, "RecordsWritten") == 4 && num(o, "RecordsUnchanged") == 3 && num(o, "BatchDuration") == 12.5);
    /* It is a log line too: Lambda's fields are there. */
    assert_string_equal(str(o, "level"), "INFO");
    assert_string_equal(str(o, "requestId"), "req-7");
    const cJSON *set = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(directive0(o), "Dimensions"), 0);
    assert_int_equal(cJSON_GetArraySize(set), 2);
    assert_string_equal(cJSON_GetArrayItem(set, 0)->valuestring, "Handler");
    assert_string_equal(cJSON_GetArrayItem(set, 1)->valuestring, "Stage");
    cJSON_Delete(o);
    vz_log_set_request_id(NULL);
}

static void request_line_has_two_dimension_sets(void **state)
{
    (void)state;
    setenv("VZ_STAGE", "production", 1);
    FILE *f = capture(1, VZ_LOG_INFO);
    vz_metrics_emit_request(403, "crash_update_jurisdiction");
    vz_metrics_emit_request(413, NULL);
    fclose(f);
    char *nl = strchr(g_buf, '\n');
    assert_non_null(nl);
    cJSON *a = check_emf_line(g_buf, (size_t)(nl - g_buf));
    cJSON *b = check_emf_line(nl + 1, strlen(nl + 1) - 1);
    assert_string_equal(str(a, "Stage"), "production");
    assert_string_equal(str(a, "Status"), "403");
    assert_string_equal(str(a, "EventName"), "crash_update_jurisdiction");
    assert_true(num(a, "Requests") == 1);
    assert_string_equal(str(b, "Status"), "413");
    assert_string_equal(str(b, "EventName"), "unknown");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(directive0(a), "Dimensions");
    assert_int_equal(cJSON_GetArraySize(dims), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(dims, 0), 1)->valuestring, "Status");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(dims, 1), 1)->valuestring, "EventName");
    cJSON_Delete(a);
    cJSON_Delete(b);
    unsetenv("VZ_STAGE");
}

/* The endpoint's Rerouted metric: a pull request's event sent to staging's queue instead. */
static void reroute_line(void **state)
{
    (void)state;
    setenv("VZ_STAGE", "staging", 1);
    FILE *f = capture(1, VZ_LOG_INFO);
    vz_metrics_emit_reroute("crash_update_location");
    fclose(f);
    cJSON *a = check_emf_line(g_buf, strlen(g_buf) - 1);
    assert_string_equal(str(a, "message"), "metrics: rerouted");
    assert_string_equal(str(a, "Stage"), "staging");
    assert_string_equal(str(a, "EventName"), "crash_update_location");
    assert_true(num(a, "Rerouted") == 1);
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(directive0(a), "Dimensions");
    assert_int_equal(cJSON_GetArraySize(dims), 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetArrayItem(dims, 0)), 1); /* [Stage]: one alarm for every handler */
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(dims, 1), 1)->valuestring, "EventName");
    cJSON_Delete(a);
    unsetenv("VZ_STAGE");
}

static void drift_line_and_empty_stage(void **state)
{
    (void)state;
    setenv("VZ_STAGE", "", 1);
    FILE *f = capture(1, VZ_LOG_INFO);
    vz_metrics_emit_drift("crash_update_noncr3_location", 5, 3);
    fclose(f);
    cJSON *o = check_emf_line(g_buf, strlen(g_buf) - 1);
    assert_string_equal(str(o, "Stage"), "local");
    assert_string_equal(str(o, "Handler"), "crash_update_noncr3_location");
    assert_true(num(o, "Drift") == 5 && num(o, "DriftFixed") == 3);
    cJSON_Delete(o);
    unsetenv("VZ_STAGE");
}

/* TEXT format: the same JSON object, on a line of its own (CloudWatch extracts it just the same). */
static void text_format_writes_the_same_object(void **state)
{
    (void)state;
    FILE *f = capture(0, VZ_LOG_INFO);
    vz_metrics_emit_drift("crash_update_location", 1, 0);
    vz_log_info("an ordinary line");
    fclose(f);
    char *nl = strchr(g_buf, '\n');
    assert_non_null(nl);
    cJSON *o = check_emf_line(g_buf, (size_t)(nl - g_buf));
    assert_true(num(o, "Drift") == 1);
    cJSON_Delete(o);
    assert_true(nl[1] != '{'); /* the ordinary line stays text */
    assert_non_null(strstr(nl + 1, "an ordinary line"));
}

/* A metric line is an INFO line: above INFO it is filtered like the others (and Lambda would drop it). */
static void level_above_info_drops_metrics(void **state)
{
    (void)state;
    FILE *f = capture(1, VZ_LOG_WARN);
    vz_metrics_emit_drift("crash_update_location", 1, 0);
    fclose(f);
    assert_string_equal(g_buf, "");
}

static void document_builder_puts_values_at_the_top(void **state)
{
    (void)state;
    static const char *const s1[] = {"A", NULL};
    static const char *const s2[] = {"A", "B", NULL};
    const char *const *sets[] = {s1, s2};
    const char *dims[] = {"A", "a", "B", "b", NULL};
    const vz_metric m[] = {{"X", "Count", 3}, {"Y", "Milliseconds", 0.5}};
    vz_jsonw w;
    vz_jsonw_init(&w);
    vz_jsonw_raw(&w, "{", 1);
    vz_metrics_members(&w, 1700000000123, sets, 2, dims, m, 2);
    vz_jsonw_raw(&w, "}", 1);
    assert_false(w.cut);
    w.p[w.len] = '\0';
    assert_string_equal(w.p, "{\"_aws\":{\"CloudWatchMetrics\":[{\"Dimensions\":[[\"A\"],[\"A\",\"B\"]],\"Metrics\":"
                             "[{\"Name\":\"X\",\"Unit\":\"Count\"},{\"Name\":\"Y\",\"Unit\":\"Milliseconds\"}],"
                             "\"Namespace\":\"VisionZero/Events\"}],\"Timestamp\":1700000000123},\"A\":\"a\",\"B\":"
                             "\"b\",\"X\":3,\"Y\":0.5}");
    cJSON *back = cJSON_Parse(w.p); /* and it is JSON */
    assert_non_null(back);
    cJSON_Delete(back);
    vz_jsonw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_line_follows_the_specification),
        cmocka_unit_test(request_line_has_two_dimension_sets),
        cmocka_unit_test(reroute_line),
        cmocka_unit_test(drift_line_and_empty_stage),
        cmocka_unit_test(text_format_writes_the_same_object),
        cmocka_unit_test(level_above_info_drops_metrics),
        cmocka_unit_test(document_builder_puts_values_at_the_top),
    };
    return cmocka_run_group_tests_name("metrics (EMF)", tests, NULL, NULL);
}
