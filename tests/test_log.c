/* test_log.c -- structured logging (src/log.c): Lambda's JSON shape, levels, text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vz/log.h"

static char g_buf[8192];

static FILE *capture(void)
{
    memset(g_buf, 0, sizeof g_buf);
    FILE *f = fmemopen(g_buf, sizeof g_buf - 1, "w");
    assert_non_null(f);
    return f;
}

static void json_lines_have_lambda_fields(void **state)
{
    (void)state;
    FILE *f = capture();
    vz_log_configure(1, VZ_LOG_INFO, f);
    vz_log_set_request_id("req-1");
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "crashId", 1000);
    vz_log_fields fl = VZ_LOG_FIELDS_NONE;
    fl.handler = "crash_update_location";
    fl.message_id = "m1";
    fl.outcome = "succeeded";
    fl.duration_ms = 1.25;
    fl.extra = extra;
    vz_log(VZ_LOG_INFO, &fl, "record %d \"quoted\" é", 3);
    cJSON_Delete(extra);
    fclose(f);
    assert_int_equal(strchr(g_buf, '\n') - g_buf, (long)strlen(g_buf) - 1);
    cJSON *o = cJSON_Parse(g_buf);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "level")->valuestring, "INFO");
    assert_string_equal(cJSON_GetObjectItem(o, "message")->valuestring, "record 3 \"quoted\" é");
    assert_string_equal(cJSON_GetObjectItem(o, "requestId")->valuestring, "req-1");
    assert_string_equal(cJSON_GetObjectItem(o, "handler")->valuestring, "crash_update_location");
    assert_string_equal(cJSON_GetObjectItem(o, "messageId")->valuestring, "m1");
    assert_string_equal(cJSON_GetObjectItem(o, "outcome")->valuestring, "succeeded");
    assert_true(cJSON_GetObjectItem(o, "durationMs")->valuedouble == 1.25);
    assert_int_equal(cJSON_GetObjectItem(o, "crashId")->valueint, 1000);
    const char *ts = cJSON_GetObjectItem(o, "timestamp")->valuestring;
    /* RFC 3339 in UTC with milliseconds: 2026-11-28T21:42:23.123Z */
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[23], 'Z');
    cJSON_Delete(o);
    vz_log_set_request_id(NULL);
}

static void levels_filter(void **state)
{
    (void)state;
    FILE *f = capture();
    vz_log_configure(1, VZ_LOG_WARN, f);
    vz_log(VZ_LOG_INFO, NULL, "hidden");
    vz_log(VZ_LOG_DEBUG, NULL, "hidden");
    vz_log(VZ_LOG_ERROR, NULL, "shown");
    fclose(f);
    assert_null(strstr(g_buf, "hidden"));
    assert_non_null(strstr(g_buf, "\"level\":\"ERROR\""));
    assert_false(vz_log_enabled(VZ_LOG_INFO));
    assert_true(vz_log_enabled(VZ_LOG_FATAL));
}

static void text_form_is_readable(void **state)
{
    (void)state;
    FILE *f = capture();
    vz_log_configure(0, VZ_LOG_TRACE, f);
    vz_log_fields fl = VZ_LOG_FIELDS_NONE;
    fl.message_id = "m9";
    fl.outcome = "failed";
    vz_log(VZ_LOG_WARN, &fl, "crash %d missing", 42);
    fclose(f);
    assert_non_null(strstr(g_buf, "WARN  crash 42 missing messageId=m9 outcome=failed\n"));
}

/* A value from outside (message id, error text, request id) cannot forge a second line. */
static void text_form_escapes_control_characters(void **state)
{
    (void)state;
    FILE *f = capture();
    vz_log_configure(0, VZ_LOG_INFO, f);
    vz_log_set_request_id("r\n1");
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "queue\r", "a\nb\x1b");
    vz_log_fields fl = VZ_LOG_FIELDS_NONE;
    fl.message_id = "id\r\n2026-01-01T00:00:00.000Z ERROR forged";
    fl.extra = extra;
    vz_log(VZ_LOG_INFO, &fl, "failed: %s", "bad\tvalue\n");
    cJSON_Delete(extra);
    fclose(f);
    vz_log_set_request_id(NULL);
    assert_int_equal(strchr(g_buf, '\n') - g_buf, (long)strlen(g_buf) - 1);
    assert_null(strchr(g_buf, '\r'));
    assert_non_null(strstr(g_buf, "[r\\n1] failed: bad\\tvalue\\n"));
    assert_non_null(strstr(g_buf, " messageId=id\\r\\n2026-01-01T00:00:00.000Z ERROR forged"));
    assert_non_null(strstr(g_buf, " queue\\r=a\\nb\\x1b"));
}

/* A duration no clock gives (infinite, 1e300) is still written, without undefined behaviour. */
static void huge_durations_are_written(void **state)
{
    (void)state;
    const double durations[] = {1e300, 1.0 / 0.0, 9.3e15};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        FILE *f = capture();
        vz_log_configure(1, VZ_LOG_INFO, f);
        vz_log_fields fl = VZ_LOG_FIELDS_NONE;
        fl.duration_ms = durations[i];
        vz_log(VZ_LOG_INFO, &fl, "slow");
        fclose(f);
        cJSON *o = cJSON_Parse(g_buf);
        assert_non_null(o);
        assert_non_null(cJSON_GetObjectItem(o, "durationMs"));
        cJSON_Delete(o);
    }
}

static void env_configuration(void **state)
{
    (void)state;
    vz_log_level lv;
    assert_int_equal(vz_log_level_parse("debug", &lv), 0);
    assert_int_equal(lv, VZ_LOG_DEBUG);
    assert_int_equal(vz_log_level_parse("warning", &lv), 0);
    assert_int_equal(lv, VZ_LOG_WARN);
    assert_int_equal(vz_log_level_parse("loud", &lv), -1);
    setenv("AWS_LAMBDA_LOG_FORMAT", "json", 1);
    setenv("AWS_LAMBDA_LOG_LEVEL", "ERROR", 1);
    vz_log_configure_from_env();
    assert_false(vz_log_enabled(VZ_LOG_WARN));
    assert_true(vz_log_enabled(VZ_LOG_ERROR));
    unsetenv("AWS_LAMBDA_LOG_LEVEL");
    vz_log_configure_from_env();
    assert_true(vz_log_enabled(VZ_LOG_INFO));
    assert_false(vz_log_enabled(VZ_LOG_DEBUG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_lines_have_lambda_fields), cmocka_unit_test(levels_filter),
        cmocka_unit_test(text_form_is_readable),         cmocka_unit_test(text_form_escapes_control_characters),
        cmocka_unit_test(huge_durations_are_written),    cmocka_unit_test(env_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
