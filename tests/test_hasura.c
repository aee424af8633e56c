/* test_hasura.c -- the key of a Hasura event payload (src/hasura.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vz/hasura.h"

static vz_status key_of(const char *raw, int32_t *out, vz_error *err)
{
    char body[512];
    snprintf(body, sizeof body, "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"old\":null,\"new\":{\"crash_id\":%s}}}}",
             raw);
    return vz_hasura_key_from_text(body, strlen(body), "crash_id", out, err);
}

static void accepts(const char *raw, int32_t want)
{
    int32_t got = -1;
    vz_error err = {{0}, {0}};
    if (key_of(raw, &got, &err) != VZ_OK)
        fail_msg("%s rejected: %s", raw, err.message);
    assert_int_equal(got, want);
}

static void rejects(const char *raw, const char *why)
{
    int32_t got = -7;
    vz_error err = {{0}, {0}};
    assert_int_equal(key_of(raw, &got, &err), VZ_EINVAL);
    assert_int_equal(got, -7);
    assert_string_equal(err.type, "Function.InvalidPayload");
    if (!strstr(err.message, why))
        fail_msg("%s: message \"%s\" does not say \"%s\"", raw, err.message, why);
}

static void test_integer_keys(void **state)
{
    (void)state;
    accepts("1000", 1000);
    accepts("0", 0);
    accepts("2147483647", 2147483647);
    accepts("1e3", 1000);
    accepts("\"1000\"", 1000);
    accepts("\"007\"", 7);
    accepts("\"2147483647\"", 2147483647);
}

static void test_rejected_keys(void **state)
{
    (void)state;
    rejects("1000.5", "not an integer");
    rejects("-1", "negative");
    rejects("-0.5", "negative");
    rejects("2147483648", "beyond a 32-bit integer");
    rejects("4294967296", "beyond a 32-bit integer");
    rejects("1e300", "beyond a 32-bit integer");
    rejects("\"2147483648\"", "beyond a 32-bit integer");
    rejects("\"12345678901\"", "not 1 to 10 decimal digits");
    rejects("\"\"", "not 1 to 10 decimal digits");
    rejects("\" 12\"", "not 1 to 10 decimal digits");
    rejects("\"-12\"", "not 1 to 10 decimal digits");
    rejects("\"12a\"", "not 1 to 10 decimal digits");
    rejects("null", "is null");
    rejects("true", "a boolean");
    rejects("[1]", "an array");
    rejects("{\"id\":1}", "an object");
}

static void test_payload_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *body, *why;
    } cases[] = {
        {"[]", "\"event\" is missing"},
        {"{}", "\"event\" is missing"},
        {"{\"event\":1}", "\"event\" is a number"},
        {"{\"event\":{}}", "event.data is missing"},
        {"{\"event\":{\"data\":null}}", "event.data is null"},
        {"{\"event\":{\"op\":\"DELETE\",\"data\":{\"old\":{\"crash_id\":1},\"new\":null}}}",
         "event.data.new is null, expected the row (op DELETE)"},
        /* an op that is not a plain word is not repeated (found by fuzz_hasura: a control character) */
        {"{\"event\":{\"op\":\"U\\u0016P\\nX\",\"data\":{\"new\":null}}}",
         "event.data.new is null, expected the row (op (not a plain word))"},
        {"{\"event\":{\"data\":{\"new\":{}}}}", "event.data.new.crash_id is missing"},
        {"{\"event\":{\"data\":{\"new\":{\"case_id\":5}}}}", "event.data.new.crash_id is missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t got = -7;
        vz_error err = {{0}, {0}};
        assert_int_equal(vz_hasura_key_from_text(cases[i].body, strlen(cases[i].body), "crash_id", &got, &err),
                         VZ_EINVAL);
        if (!strstr(err.message, cases[i].why))
            fail_msg("%s: message \"%s\" does not say \"%s\"", cases[i].body, err.message, cases[i].why);
    }
    int32_t got;
    vz_error err = {{0}, {0}};
    assert_int_equal(vz_hasura_key_from_text("{\"event\":", 9, "crash_id", &got, &err), VZ_EINVAL);
    assert_string_equal(err.type, "Function.InvalidBody");
}

static void test_event_id_and_op(void **state)
{
    (void)state;
    cJSON *b = cJSON_Parse("{\"id\":\"cf5cbd97\",\"event\":{\"op\":\"MANUAL\"}}");
    assert_string_equal(vz_hasura_event_id(b), "cf5cbd97");
    assert_string_equal(vz_hasura_op(b), "MANUAL");
    cJSON_Delete(b);
    b = cJSON_Parse("{\"id\":5,\"event\":[]}");
    assert_null(vz_hasura_event_id(b));
    assert_null(vz_hasura_op(b));
    cJSON_Delete(b);
    assert_null(vz_hasura_op(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_keys),
        cmocka_unit_test(test_rejected_keys),
        cmocka_unit_test(test_payload_shapes),
        cmocka_unit_test(test_event_id_and_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
