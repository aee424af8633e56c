/* test_fixture.c -- SQS record synthesis and MD5 (src/fixture.c, src/md5.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vz/fixture.h"
#include "vz/md5.h"
#include "vz/sqs.h"

static void md5_known_vectors(void **state)
{
    (void)state;
    char hex[33];
    vz_md5_hex("", 0, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    vz_md5_hex("abc", 3, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    const char *l = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
    vz_md5_hex(l, strlen(l), hex);
    assert_string_equal(hex, "57edf4a22be3c955ac49da2e2107b67a");
    /* 56 bytes: the padding spills into a second block. */
    const char *p = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    vz_md5_hex(p, strlen(p), hex);
    assert_string_equal(hex, "8215ef0796a20bcaaae116d3876c664a");
}

static void uuid_v4_shape(void **state)
{
    (void)state;
    char a[37], b[37];
    vz_uuid4(a);
    vz_uuid4(b);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_string_not_equal(a, b);
}

static void record_round_trips_through_the_parser(void **state)
{
    (void)state;
    cJSON *ev = vz_fixture_sqs_event();
    const char *body = "{\"event\":{\"op\":\"INSERT\"}}";
    cJSON_AddItemToArray(cJSON_GetObjectItem(ev, "Records"),
                         vz_fixture_sqs_record("atd-vz-data-events-x_staging.fifo", "us-west-2", body, strlen(body)));
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    vz_sqs_event parsed;
    vz_error err;
    assert_int_equal(vz_sqs_parse(text, strlen(text), &parsed, &err), VZ_OK);
    const vz_sqs_record *r = &parsed.records[0];
    assert_string_equal(r->invalid, "");
    assert_string_equal(r->body, body);
    assert_string_equal(r->queue_name, "atd-vz-data-events-x_staging.fifo");
    assert_true(r->fifo);
    assert_non_null(r->attributes.message_group_id);
    assert_string_equal(r->aws_region, "us-west-2");
    assert_string_equal(r->event_source_arn, "arn:aws:sqs:us-west-2:123456789012:atd-vz-data-events-x_staging.fifo");
    char hex[33];
    vz_md5_hex(body, strlen(body), hex);
    assert_string_equal(r->md5_of_body, hex);
    assert_int_equal(r->attributes.approximate_receive_count, 1);
    assert_true(r->attributes.sent_timestamp > 1700000000000LL);
    vz_sqs_event_free(&parsed);
    cJSON_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(md5_known_vectors),
        cmocka_unit_test(uuid_v4_shape),
        cmocka_unit_test(record_round_trips_through_the_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
