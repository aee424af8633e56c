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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(headers_of_next_are_parsed_case_insensitively),
        cmocka_unit_test(empty_or_bad_values_are_ignored),
        cmocka_unit_test(error_types_follow_lambdas_pattern),
        cmocka_unit_test(backoff_doubles_and_is_capped),
        cmocka_unit_test(configuration_comes_from_the_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
