/* test_sqs.c -- the SQS event parser (src/sqs.c): every field missing or mistyped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vz/sqs.h"

static vz_sqs_event parse_ok(const char *json)
{
    vz_sqs_event ev;
    vz_error err = {{0}, {0}};
    assert_int_equal(vz_sqs_parse(json, strlen(json), &ev, &err), VZ_OK);
    return ev;
}

static void parse_fails(const char *json, const char *needle)
{
    vz_sqs_event ev;
    vz_error err = {{0}, {0}};
    assert_int_equal(vz_sqs_parse(json, strlen(json), &ev, &err), VZ_EINVAL);
    assert_string_equal(err.type, "Function.InvalidEvent");
    assert_non_null(strstr(err.message, needle));
    assert_null(ev.records);
    assert_null(ev.root);
}

static void full_record_is_parsed(void **state)
{
    (void)state;
    vz_sqs_event ev = parse_ok(
        "{\"Records\":[{\"messageId\":\"059f36b4\",\"receiptHandle\":\"AQEB\",\"body\":\"{\\\"a\\\":1}\","
        "\"attributes\":{\"ApproximateReceiveCount\":\"3\",\"SentTimestamp\":\"1545082649183\","
        "\"SenderId\":\"AIDA\",\"ApproximateFirstReceiveTimestamp\":\"1545082649185\",\"AWSTraceHeader\":\"Root=1\"},"
        "\"messageAttributes\":{\"trace\":{\"stringValue\":\"abc\",\"dataType\":\"String\"}},"
        "\"md5OfBody\":\"e4e6\",\"md5OfMessageAttributes\":null,\"eventSource\":\"aws:sqs\","
        "\"eventSourceARN\":\"arn:aws:sqs:us-east-1:123456789012:atd-vz-data-events-crash_update_location_staging\","
        "\"awsRegion\":\"us-east-1\"}]}");
    assert_int_equal(ev.count, 1);
    const vz_sqs_record *r = &ev.records[0];
    assert_string_equal(r->invalid, "");
    assert_string_equal(r->message_id, "059f36b4");
    assert_string_equal(r->receipt_handle, "AQEB");
    assert_string_equal(r->body, "{\"a\":1}");
    assert_int_equal(r->body_len, 7);
    assert_int_equal(r->attributes.approximate_receive_count, 3);
    assert_int_equal(r->attributes.sent_timestamp, 1545082649183LL);
    assert_int_equal(r->attributes.approximate_first_receive_timestamp, 1545082649185LL);
    assert_string_equal(r->attributes.sender_id, "AIDA");
    assert_string_equal(r->attributes.aws_trace_header, "Root=1");
    assert_null(r->attributes.message_group_id);
    assert_null(r->md5_of_message_attributes);
    assert_non_null(r->message_attributes);
    assert_string_equal(r->md5_of_body, "e4e6");
    assert_string_equal(r->event_source, "aws:sqs");
    assert_string_equal(r->aws_region, "us-east-1");
    assert_string_equal(r->queue_name, "atd-vz-data-events-crash_update_location_staging");
    assert_false(r->fifo);
    vz_sqs_event_free(&ev);
    vz_sqs_event_free(&ev); /* idempotent */
}

static void fifo_attributes_are_parsed(void **state)
{
    (void)state;
    vz_sqs_event ev = parse_ok("{\"Records\":[{\"messageId\":\"m1\",\"body\":\"{}\",\"attributes\":{"
                               "\"SequenceNumber\":\"1800\",\"MessageGroupId\":\"g\",\"MessageDeduplicationId\":\"d\"},"
                               "\"eventSourceARN\":\"arn:aws:sqs:us-east-1:1:q.fifo\"}]}");
    assert_true(ev.records[0].fifo);
    assert_string_equal(ev.records[0].attributes.sequence_number, "1800");
    assert_string_equal(ev.records[0].attributes.message_group_id, "g");
    assert_string_equal(ev.records[0].attributes.message_deduplication_id, "d");
    assert_int_equal(ev.records[0].attributes.approximate_receive_count, -1);
    vz_sqs_event_free(&ev);
}

static void empty_records_is_a_valid_batch(void **state)
{
    (void)state;
    vz_sqs_event ev = parse_ok("{\"Records\":[]}");
    assert_int_equal(ev.count, 0);
    vz_sqs_event_free(&ev);
}

static void non_sqs_events_are_rejected(void **state)
{
    (void)state;
    parse_fails("", "not valid JSON");
    parse_fails("{\"Records\":[", "not valid JSON");
    parse_fails("[]", "an array");
    parse_fails("42", "a number");
    parse_fails("{}", "no \"Records\" array");
    parse_fails("{\"Records\":{}}", "an object");
    parse_fails("{\"Records\":null}", "null");
}

static void record_without_message_id_fails_the_invocation(void **state)
{
    (void)state;
    parse_fails("{\"Records\":[{\"messageId\":\"a\",\"body\":\"\"},{\"body\":\"x\"}]}",
                "record 1 has no usable messageId");
    parse_fails("{\"Records\":[{\"messageId\":\"\",\"body\":\"\"}]}", "record 0");
    parse_fails("{\"Records\":[{\"messageId\":7,\"body\":\"\"}]}", "a number");
    parse_fails("{\"Records\":[\"text\"]}", "not an object");
}

/* The answer must name exactly the failed records in valid JSON and UTF-8: a messageId that
 * cannot be echoed exactly fails the invocation, as one that is missing does. */
static void odd_message_ids_and_trailing_bytes_fail_the_invocation(void **state)
{
    (void)state;
    parse_fails("{\"Records\":[{\"messageId\":\"abc\\u0000def\",\"body\":\"\"}]}", "NUL character");
    parse_fails("{\"Records\":[{\"messageId\":\"a\",\"body\":\"x\\u0000\"}]}", "NUL character");
    parse_fails("{\"Records\":[{\"messageId\":\"ab\xff\",\"body\":\"\"}]}", "not valid UTF-8");
    parse_fails("{\"Records\":[{\"messageId\":\"\xed\xa0\x80\",\"body\":\"\"}]}", "not valid UTF-8");
    parse_fails("{\"Records\":[]} {\"Records\":[]}", "bytes after its JSON value");
    parse_fails("{\"Records\":[]}x", "bytes after its JSON value");
    /* what is not a NUL: an escaped backslash before u0000, and whitespace after the value */
    vz_sqs_event ev;
    vz_error err = {{0}, {0}};
    const char *ok = "{\"Records\":[{\"messageId\":\"a\\\\u0000\",\"body\":\"\\u00e9\"}]} \n\t";
    assert_int_equal(vz_sqs_parse(ok, strlen(ok), &ev, &err), VZ_OK);
    assert_string_equal(ev.records[0].message_id, "a\\u0000");
    vz_sqs_event_free(&ev);
    const char *utf8 = "{\"Records\":[{\"messageId\":\"caf\xc3\xa9-\xf0\x9f\x9a\x97\",\"body\":\"\"}]}";
    assert_int_equal(vz_sqs_parse(utf8, strlen(utf8), &ev, &err), VZ_OK);
    vz_sqs_event_free(&ev);
}

static void wrong_types_mark_only_that_record(void **state)
{
    (void)state;
    static const struct {
        const char *rec;
        const char *needle;
    } cases[] = {
        {"{\"messageId\":\"b\"}", "body is missing"},
        {"{\"messageId\":\"b\",\"body\":12}", "body is a number"},
        {"{\"messageId\":\"b\",\"body\":\"\",\"receiptHandle\":[]}", "receiptHandle is an array"},
        {"{\"messageId\":\"b\",\"body\":\"\",\"eventSource\":\"aws:kinesis\"}", "expected \"aws:sqs\""},
        {"{\"messageId\":\"b\",\"body\":\"\",\"eventSourceARN\":\"arn:aws:sqs:r:1:\"}", "names no queue"},
        {"{\"messageId\":\"b\",\"body\":\"\",\"attributes\":\"x\"}", "attributes is a string"},
        {"{\"messageId\":\"b\",\"body\":\"\",\"attributes\":{\"ApproximateReceiveCount\":3}}",
         "ApproximateReceiveCount is a number"},
        {"{\"messageId\":\"b\",\"body\":\"\",\"attributes\":{\"SentTimestamp\":\"-5\"}}", "\"-5\""},
        {"{\"messageId\":\"b\",\"body\":\"\",\"attributes\":{\"SentTimestamp\":\"99999999999999999999\"}}",
         "SentTimestamp"},
        {"{\"messageId\":\"b\",\"body\":\"\",\"attributes\":{\"MessageGroupId\":false}}",
         "MessageGroupId is a boolean"},
        {"{\"messageId\":\"b\",\"body\":\"\",\"messageAttributes\":[1]}", "messageAttributes is an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[512];
        snprintf(json, sizeof json, "{\"Records\":[{\"messageId\":\"a\",\"body\":\"ok\"},%s]}", cases[i].rec);
        vz_sqs_event ev = parse_ok(json);
        assert_int_equal(ev.count, 2);
        assert_string_equal(ev.records[0].invalid, "");
        if (!strstr(ev.records[1].invalid, cases[i].needle))
            fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, ev.records[1].invalid, cases[i].needle);
        vz_sqs_event_free(&ev);
    }
}

static void queue_name_is_last_arn_field(void **state)
{
    (void)state;
    char buf[96];
    assert_int_equal(vz_sqs_queue_from_arn("arn:aws:sqs:us-east-1:1:q_pr_845", buf, sizeof buf), 0);
    assert_string_equal(buf, "q_pr_845");
    assert_int_equal(vz_sqs_queue_from_arn("bare", buf, sizeof buf), 0);
    assert_string_equal(buf, "bare");
    assert_int_equal(vz_sqs_queue_from_arn("a:", buf, sizeof buf), -1);
    assert_int_equal(vz_sqs_queue_from_arn(NULL, buf, sizeof buf), -1);
    assert_int_equal(vz_sqs_queue_from_arn("a:toolong", buf, 4), -1);
    assert_int_equal(vz_sqs_queue_from_arn("arn:aws:sqs:r:1:q_pr-8.fifo", buf, sizeof buf), 0);
    assert_string_equal(buf, "q_pr-8.fifo");
}

/* Names from outside reach dispatch and logs: CR/LF, path characters and over-long names are refused. */
static void hostile_queue_names_are_rejected(void **state)
{
    (void)state;
    static const char *bad[] = {
        "q\r\nFAKE", "q\n",   "../../etc/passwd",  "a/b", "q.json", "q.fifo.fifo", ".fifo", "q name", "q\\x",
        "q%s",       "q\x01", "\xc3\xa9t\xc3\xa9", ""};
    char buf[96];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char arn[128];
        snprintf(arn, sizeof arn, "arn:aws:sqs:us-east-1:1:%s", bad[i]);
        if (vz_sqs_queue_from_arn(arn, buf, sizeof buf) != -1)
            fail_msg("queue name %zu was accepted", i);
        assert_false(vz_sqs_queue_name_valid(bad[i], strlen(bad[i])));
    }
    char longest[96];
    memset(longest, 'q', 80);
    longest[80] = '\0';
    assert_true(vz_sqs_queue_name_valid(longest, 80));
    assert_int_equal(vz_sqs_queue_from_arn(longest, buf, sizeof buf), 0);
    memcpy(longest + 75, ".fifo", 6);
    assert_int_equal(vz_sqs_queue_from_arn(longest, buf, sizeof buf), 0);
    longest[80] = 'q';
    longest[81] = '\0';
    assert_int_equal(vz_sqs_queue_from_arn(longest, buf, sizeof buf), -1);

    /* In an event: the record fails alone, its neighbour runs. */
    vz_sqs_event ev = parse_ok("{\"Records\":[{\"messageId\":\"a\",\"body\":\"{}\",\"eventSourceARN\":"
                               "\"arn:aws:sqs:r:1:atd-vz-data-events-example\\r\\nINFO forged\"},"
                               "{\"messageId\":\"b\",\"body\":\"{}\",\"eventSourceARN\":\"arn:aws:sqs:r:1:q\"}]}");
    assert_int_equal(ev.count, 2);
    assert_non_null(strstr(ev.records[0].invalid, "names no queue"));
    assert_string_equal(ev.records[0].queue_name, "");
    assert_string_equal(ev.records[1].invalid, "");
    assert_string_equal(ev.records[1].queue_name, "q");
    vz_sqs_event_free(&ev);
}

static void fixtures_parse(void **state)
{
    (void)state;
    static const char *files[] = {"sqs-batch.json",       "sqs-fifo.json",      "sqs-empty.json",
                                  "sqs-wrong-types.json", "sqs-non-ascii.json", "sqs-large-body.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", VZ_FIXTURES, files[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            fail_msg("missing fixture %s", path);
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        vz_sqs_event ev;
        vz_error err;
        if (vz_sqs_parse(buf, n, &ev, &err) != VZ_OK)
            fail_msg("%s: %s", files[i], err.message);
        vz_sqs_event_free(&ev);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_record_is_parsed),
        cmocka_unit_test(fifo_attributes_are_parsed),
        cmocka_unit_test(empty_records_is_a_valid_batch),
        cmocka_unit_test(non_sqs_events_are_rejected),
        cmocka_unit_test(record_without_message_id_fails_the_invocation),
        cmocka_unit_test(odd_message_ids_and_trailing_bytes_fail_the_invocation),
        cmocka_unit_test(wrong_types_mark_only_that_record),
        cmocka_unit_test(queue_name_is_last_arn_field),
        cmocka_unit_test(hostile_queue_names_are_rejected),
        cmocka_unit_test(fixtures_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
