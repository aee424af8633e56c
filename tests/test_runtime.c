/* test_runtime.c -- the pure parts of the runtime loop (src/runtime.c): /next headers, error
 * types, backoff, configuration.  The loop itself is tested over HTTP in tests/runtime/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vz/runtime.h"

static bool parse(vz_runtime_invocation *inv, vz_arena *a, const char *line)
{
    return vz_runtime_parse_header(inv, a, line, strlen(line));
}

static void headers_of_next_are_parsed_case_insensitively(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 0);
    vz_runtime_invocation inv;
    memset(&inv, 0, sizeof inv);
    assert_true(parse(&inv, &a, "Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n"));
    assert_true(parse(&inv, &a, "lambda-runtime-deadline-ms:1542409706888\r\n"));
    assert_true(
        parse(&inv, &a, "LAMBDA-RUNTIME-INVOKED-FUNCTION-ARN: arn:aws:lambda:us-east-2:123456789012:function:f \r\n"));
    assert_true(parse(&inv, &a,
                      "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419\r\n"));
    assert_true(parse(&inv, &a, "Lambda-Runtime-Client-Context: {\"client\":{}}\r\n"));
    assert_true(parse(&inv, &a, "Lambda-Runtime-Cognito-Identity: {\"id\":\"x\"}\r\n"));
    assert_true(parse(&inv, &a, "Lambda-Runtime-Aws-Tenant-Id: tenant-1\r\n"));
    assert_true(parse(&inv, &a, "Lambda-Runtime-Invocation-Id: inv-9\r\n"));
    assert_false(parse(&inv, &a, "Content-Type: application/json\r\n"));
    assert_false(parse(&inv, &a, "Lambda-Runtime-Aws-Request-Identity: no\r\n"));
    assert_string_equal(inv.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_int_equal(inv.deadline_ms, 1542409706888LL);
    assert_string_equal(inv.function_arn, "arn:aws:lambda:us-east-2:123456789012:function:f");
    assert_string_equal(inv.trace_id, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419");
    assert_string_equal(inv.client_context, "{\"client\":{}}");
    assert_string_equal(inv.cognito_identity, "{\"id\":\"x\"}");
    assert_string_equal(inv.tenant_id, "tenant-1");
    assert_string_equal(inv.invocation_id, "inv-9");
    vz_arena_destroy(&a);
}

static void empty_or_bad_values_are_ignored(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 0);
    vz_runtime_invocation inv;
    memset(&inv, 0, sizeof inv);
    assert_true(parse(&inv, &a, "Lambda-Runtime-Trace-Id: \r\n"));
    assert_null(inv.trace_id);
    assert_true(parse(&inv, &a, "Lambda-Runtime-Deadline-Ms: soon\r\n"));
    assert_int_equal(inv.deadline_ms, 0);
    assert_true(parse(&inv, &a, "Lambda-Runtime-Deadline-Ms: -5\r\n"));
    assert_int_equal(inv.deadline_ms, 0);
    assert_true(parse(&inv, &a, "Lambda-Runtime-Deadline-Ms: 99999999999999999999999\r\n"));
    assert_int_equal(inv.deadline_ms, 0);
    vz_arena_destroy(&a);
}

static void error_types_follow_lambdas_pattern(void **state)
{
    (void)state;
    assert_true(vz_runtime_error_type_valid("Function.InvalidEvent"));
    assert_true(vz_runtime_error_type_valid("Runtime.HandlerNotFound"));
    assert_true(vz_runtime_error_type_valid("Runtime.Unknown"));
    assert_false(vz_runtime_error_type_valid("Function.X"));       /* [A-Z][a-zA-Z]+: two letters at least */
    assert_false(vz_runtime_error_type_valid("Function.invalid")); /* capital first */
    assert_false(vz_runtime_error_type_valid("Handler.Invalid"));
    assert_false(vz_runtime_error_type_valid("Function.Invalid_Event"));
    assert_false(vz_runtime_error_type_valid("Function.Invalid\r\nX-Evil: 1"));
    assert_false(vz_runtime_error_type_valid(""));
    assert_false(vz_runtime_error_type_valid(NULL));
}

static void backoff_doubles_and_is_capped(void **state)
{
    (void)state;
    assert_int_equal(vz_runtime_backoff_ms(2, 100), 100);
    assert_int_equal(vz_runtime_backoff_ms(3, 100), 200);
    assert_int_equal(vz_runtime_backoff_ms(4, 100), 400);
    assert_int_equal(vz_runtime_backoff_ms(30, 100), VZ_RUNTIME_MAX_BACKOFF_MS);
}

static void configuration_comes_from_the_environment(void **state)
{
    (void)state;
    vz_runtime_config cfg;
    vz_error err = {{0}, {0}};
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    assert_int_equal(vz_runtime_config_from_env(&cfg, &err), VZ_EINVAL);
    assert_non_null(strstr(err.message, "AWS_LAMBDA_RUNTIME_API"));

    setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", 1);
    unsetenv("VZ_RUNTIME_MAX_ATTEMPTS");
    assert_int_equal(vz_runtime_config_from_env(&cfg, &err), VZ_OK);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.max_attempts, VZ_RUNTIME_DEFAULT_MAX_ATTEMPTS);
    assert_int_equal(cfg.connect_timeout_ms, VZ_RUNTIME_DEFAULT_CONNECT_TIMEOUT_MS);

    setenv("AWS_LAMBDA_RUNTIME_API", "[::1]:9001", 1);
    assert_int_equal(vz_runtime_config_from_env(&cfg, &err), VZ_OK);
    assert_string_equal(cfg.host, "::1");

    setenv("VZ_RUNTIME_MAX_ATTEMPTS", "0", 1);
    assert_int_equal(vz_runtime_config_from_env(&cfg, &err), VZ_EINVAL);
    assert_string_equal(err.type, "Runtime.InvalidConfiguration");
    assert_string_equal(cfg.api, "[::1]:9001"); /* still known, so the init error can be posted */
    unsetenv("VZ_RUNTIME_MAX_ATTEMPTS");
    unsetenv("AWS_LAMBDA_RUNTIME_API");
}

static void request_ids_are_percent_encoded_whole_or_refused(void **state)
{
    (void)state;
    char path[3500], small[40];
    const char *why;
    assert_true(
        vz_runtime_invocation_path(path, sizeof path, "8476a536-e9f4-11e8-9739-2dfe598c3fcd", "response", &why));
    assert_string_equal(path, "/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response");
    assert_true(vz_runtime_invocation_path(path, sizeof path, "a b/../c?d#e%", "error", &why));
    assert_string_equal(path, "/runtime/invocation/a%20b%2F%2E%2E%2Fc%3Fd%23e%25/error");
    assert_true(vz_runtime_invocation_path(path, sizeof path, "\xc3\xa9", "response", &why));
    assert_string_equal(path, "/runtime/invocation/%C3%A9/response");
    char id[VZ_RUNTIME_MAX_REQUEST_ID + 2];
    memset(id, 'x', sizeof id - 1);
    id[VZ_RUNTIME_MAX_REQUEST_ID] = '\0';
    assert_true(vz_runtime_invocation_path(path, sizeof path, id, "response", &why)); /* never cut */
    assert_int_equal(strlen(path), strlen("/runtime/invocation//response") + VZ_RUNTIME_MAX_REQUEST_ID);
    id[VZ_RUNTIME_MAX_REQUEST_ID] = 'x';
    id[VZ_RUNTIME_MAX_REQUEST_ID + 1] = '\0';
    assert_false(vz_runtime_invocation_path(path, sizeof path, id, "response", &why));
    assert_string_equal(why, "it is longer than 1024 characters");
    assert_false(vz_runtime_invocation_path(path, sizeof path, "a\tb", "response", &why));
    assert_string_equal(why, "it holds a control character");
    assert_false(vz_runtime_invocation_path(path, sizeof path, "a\x7f", "response", &why));
    assert_false(vz_runtime_invocation_path(path, sizeof path, "", "response", &why));
    assert_false(vz_runtime_invocation_path(small, sizeof small, "0123456789abcdef0123", "response", &why));
    assert_string_equal(why, "the path does not fit");
}

static void a_nul_in_the_request_id_is_kept_as_a_control_character(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 0);
    vz_runtime_invocation inv;
    memset(&inv, 0, sizeof inv);
    static const char line[] = "Lambda-Runtime-Aws-Request-Id: abc\0def\r\n";
    assert_true(vz_runtime_parse_header(&inv, &a, line, sizeof line - 1));
    assert_int_equal(strlen(inv.request_id), 7);
    const char *why;
    char path[64];
    assert_false(vz_runtime_invocation_path(path, sizeof path, inv.request_id, "response", &why));
    vz_arena_destroy(&a);
}

static void implausible_deadlines_give_way(void **state)
{
    (void)state;
    const int64_t started = 1764590000000, now = started + 60000;
    assert_int_equal(vz_runtime_plausible_deadline(now + 3000, now, started, 0), now + 3000);
    assert_int_equal(vz_runtime_plausible_deadline(now + (int64_t)900000, now, started, 0), now + (int64_t)900000);
    assert_int_equal(vz_runtime_plausible_deadline(now - 10, now, started, 0), now - 10); /* late, but real */
    assert_int_equal(vz_runtime_plausible_deadline(5000, now, started, 0), 0);            /* not an epoch time */
    assert_int_equal(vz_runtime_plausible_deadline(now + (int64_t)900000 + 1, now, started, 0), 0);
    assert_int_equal(vz_runtime_plausible_deadline(5000, now, started, 30), now + 30000);
    assert_int_equal(vz_runtime_plausible_deadline(started - 1, now, started, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(headers_of_next_are_parsed_case_insensitively),
        cmocka_unit_test(empty_or_bad_values_are_ignored),
        cmocka_unit_test(error_types_follow_lambdas_pattern),
        cmocka_unit_test(backoff_doubles_and_is_capped),
        cmocka_unit_test(configuration_comes_from_the_environment),
        cmocka_unit_test(request_ids_are_percent_encoded_whole_or_refused),
        cmocka_unit_test(a_nul_in_the_request_id_is_kept_as_a_control_character),
        cmocka_unit_test(implausible_deadlines_give_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
