/* fixture.c -- synthesise SQS records (see fixture.h). */
#include "vz/fixture.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vz/handler.h"
#include "vz/md5.h"

static void random_bytes(unsigned char *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    for (; got < n; got++)              /* getrandom cannot fail on Linux >= 3.17; keep output defined anyway */
        b[got] = (unsigned char)rand(); /* NOLINT(cert-msc30-c,cert-msc50-cpp): ids, not secrets; unreachable */
}

void vz_uuid4(char buf[37])
{
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

cJSON *vz_fixture_sqs_event(void)
{
    cJSON *ev = cJSON_CreateObject();
    if (ev && !cJSON_AddArrayToObject(ev, "Records")) {
        cJSON_Delete(ev);
        return NULL;
    }
    return ev;
}

cJSON *vz_fixture_sqs_record(const char *queue, const char *region, const char *body, size_t body_len)
{
    if (!region)
        region = "us-east-1";
    char id[37], handle[37], md5[33], now[24], arn[256];
    vz_uuid4(id);
    vz_uuid4(handle);
    vz_md5_hex(body, body_len, md5);
    snprintf(now, sizeof now, "%" PRId64, vz_now_ms());
    snprintf(arn, sizeof arn, "arn:aws:sqs:%s:123456789012:%s", region, queue);
    char *text = malloc(body_len + 1);
    cJSON *r = cJSON_CreateObject();
    cJSON *at = cJSON_CreateObject();
    if (!text || !r || !at) {
        free(text);
        cJSON_Delete(r);
        cJSON_Delete(at);
        return NULL;
    }
    memcpy(text, body, body_len);
    text[body_len] = '\0';
    cJSON_AddStringToObject(r, "messageId", id);
    cJSON_AddStringToObject(r, "receiptHandle", handle);
    cJSON_AddStringToObject(r, "body", text);
    free(text);
    cJSON_AddStringToObject(at, "ApproximateReceiveCount", "1");
    cJSON_AddStringToObject(at, "SentTimestamp", now);
    cJSON_AddStringToObject(at, "SenderId", "AIDAIENQZJOLO23YVJ4VO");
    cJSON_AddStringToObject(at, "ApproximateFirstReceiveTimestamp", now);
    size_t qlen = strlen(queue);
    if (qlen > 5 && strcmp(queue + qlen - 5, ".fifo") == 0) {
        static uint64_t sequence = 10000000000000000000ull / 2; /* SQS sequence numbers are 20 digits */
        char seq[32];
        snprintf(seq, sizeof seq, "%" PRIu64, ++sequence);
        cJSON_AddStringToObject(at, "SequenceNumber", seq);
        cJSON_AddStringToObject(at, "MessageGroupId", "vz-events");
        cJSON_AddStringToObject(at, "MessageDeduplicationId", md5);
    }
    cJSON_AddItemToObject(r, "attributes", at);
    cJSON_AddItemToObject(r, "messageAttributes", cJSON_CreateObject());
    cJSON_AddStringToObject(r, "md5OfBody", md5);
    cJSON_AddStringToObject(r, "eventSource", "aws:sqs");
    cJSON_AddStringToObject(r, "eventSourceARN", arn);
    cJSON_AddStringToObject(r, "awsRegion", region);
    return r;
}
