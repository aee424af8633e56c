/* fuzz_sqs.c -- vz_sqs_parse on arbitrary bytes.
 *
 * Beyond "no sanitizer finding": a parsed event names every record, its
 * strings are consistent with their lengths, its queue name fits, and a
 * rejected event leaves nothing allocated behind. */
#include <string.h>

#include "fuzz.h"
#include "vz/sqs.h"

static void check_record(const vz_sqs_record *r, size_t i)
{
    FUZZ_CHECK(r->index == i);
    FUZZ_CHECK(r->message_id && r->message_id[0]);
    FUZZ_CHECK(memchr(r->invalid, '\0', sizeof r->invalid) != NULL);
    FUZZ_CHECK(memchr(r->queue_name, '\0', sizeof r->queue_name) != NULL);
    if (r->body)
        FUZZ_CHECK(strlen(r->body) == r->body_len);
    else
        FUZZ_CHECK(r->invalid[0] != '\0');
    size_t q = strlen(r->queue_name);
    FUZZ_CHECK(r->fifo == (q > 5 && strcmp(r->queue_name + q - 5, ".fifo") == 0));
    FUZZ_CHECK(strchr(r->queue_name, ':') == NULL);
    if (r->invalid[0] == '\0')
        FUZZ_CHECK(r->event_source == NULL || strcmp(r->event_source, "aws:sqs") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_logs();
    vz_sqs_event ev;
    vz_error err = {{0}, {0}};
    vz_status st = vz_sqs_parse((const char *)data, size, &ev, &err);
    if (st != VZ_OK) {
        FUZZ_CHECK(st == VZ_EINVAL || st == VZ_ENOMEM);
        FUZZ_CHECK(err.message[0] != '\0' && err.type[0] != '\0');
        FUZZ_CHECK(ev.records == NULL && ev.root == NULL && ev.count == 0);
        return 0;
    }
    FUZZ_CHECK(ev.root != NULL && ev.records != NULL);
    for (size_t i = 0; i < ev.count; i++)
        check_record(&ev.records[i], i);
    vz_sqs_event_free(&ev);
    vz_sqs_event_free(&ev); /* documented as safe on an already freed event */
    return 0;
}
