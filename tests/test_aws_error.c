/* test_aws_error.c -- error answers of AWS services (src/aws_error.c), in the JSON and Query (XML) protocols,
 * as SQS, moto and AWS's signature checks write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vz/aws_error.h"

static vz_aws_error parsed(const char *body)
{
    vz_aws_error e;
    assert_true(vz_aws_error_parse(body, strlen(body), &e));
    return e;
}

static void json_type_with_namespace(void **state)
{
    (void)state;
    vz_aws_error e = parsed("{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                            "\"message\":\"The specified queue does not exist.\"}");
    assert_string_equal(e.code, "QueueDoesNotExist");
    assert_string_equal(e.message, "The specified queue does not exist.");
}

/* Older JSON services: "Message" capitalised, a type with a ":uri" suffix. */
static void json_capital_message_and_suffix(void **state)
{
    (void)state;
    vz_aws_error e = parsed(" \n{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException:http://internal\","
                            "\"Message\":\"The security token included in the request is invalid.\"}");
    assert_string_equal(e.code, "UnrecognizedClientException");
    assert_string_equal(e.message, "The security token included in the request is invalid.");
}

/* A signature error quotes the canonical request after its first line (the token would be in it). */
static void json_signature_error_keeps_the_first_line(void **state)
{
    (void)state;
    vz_aws_error e = parsed("{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\",\"message\":\"The "
                            "request signature we calculated does not match the signature you provided.\\n\\nThe "
                            "Canonical String for this request should have been\\n'POST\\n/\\n\\n"
                            "x-amz-security-token:SECRET-TOKEN'\"}");
    assert_string_equal(e.code, "InvalidSignatureException");
    assert_string_equal(e.message, "The request signature we calculated does not match the signature you provided.");
    assert_null(strstr(e.message, "SECRET"));
}

static void json_code_field(void **state)
{
    (void)state;
    vz_aws_error e = parsed("{\"code\":\"InvalidClientTokenId\",\"message\":\"no\"}");
    assert_string_equal(e.code, "InvalidClientTokenId");
}

static void query_xml_error_response(void **state)
{
    (void)state;
    vz_aws_error e =
        parsed("<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error>"
               "<Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does "
               "not match the signature you provided. Check your AWS Secret Access Key &amp; signing method.</Message>"
               "<Detail/></Error><RequestId>7a62c49f-347e-4fc4-9331-6e8e7a96aa73</RequestId></ErrorResponse>");
    assert_string_equal(e.code, "SignatureDoesNotMatch");
    assert_string_equal(e.message, "The request signature we calculated does not match the signature you provided. "
                                   "Check your AWS Secret Access Key & signing method.");
}

static void xml_entities_and_missing_message(void **state)
{
    (void)state;
    vz_aws_error e = parsed("<Response><Errors><Error><Code>IncompleteSignature</Code></Error></Errors></Response>");
    assert_string_equal(e.code, "IncompleteSignature");
    assert_string_equal(e.message, "");
    e = parsed("<Error><Code>InvalidClientTokenId</Code><Message>&apos;x&apos; &lt;&#65;&#x42;&gt; &quot;&amp;"
               "&bogus; &#12345;</Message></Error>");
    assert_string_equal(e.message, "'x' <AB> \"&&bogus; &#12345;");
}

/* No code: false, both fields empty (the caller says HTTP status and size instead). */
static void no_code_is_false(void **state)
{
    (void)state;
    static const char *const bodies[] = {"",  "Service Unavailable",           "{\"message\":\"m\"}",      "[1]",
                                         "{", "<html><body>502</body></html>", "<Error><Code>unterminated"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        vz_aws_error e;
        assert_false(vz_aws_error_parse(bodies[i], strlen(bodies[i]), &e));
        assert_string_equal(e.code, "");
    }
    vz_aws_error e;
    assert_false(vz_aws_error_parse(NULL, 0, &e));
}

/* A code or message longer than the fields is cut, never overflowed. */
static void long_fields_are_cut(void **state)
{
    (void)state;
    char body[2000];
    char code[200], msg[1000];
    memset(code, 'C', sizeof code - 1);
    code[sizeof code - 1] = '\0';
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    snprintf(body, sizeof body, "<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg);
    vz_aws_error e = parsed(body);
    assert_int_equal(strlen(e.code), sizeof e.code - 1);
    assert_int_equal(strlen(e.message), sizeof e.message - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_type_with_namespace),
        cmocka_unit_test(json_capital_message_and_suffix),
        cmocka_unit_test(json_signature_error_keeps_the_first_line),
        cmocka_unit_test(json_code_field),
        cmocka_unit_test(query_xml_error_response),
        cmocka_unit_test(xml_entities_and_missing_message),
        cmocka_unit_test(no_code_is_false),
        cmocka_unit_test(long_fields_are_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
