/* sqs_source.c -- an SQS event source mapping: poll a queue, invoke with the batch, delete what succeeded.
 *
 * One thread per queue does what Lambda's poller does for a standard queue
 * with ReportBatchItemFailures on:
 *   1. ReceiveMessage (up to --sqs-batch messages, long polling --sqs-wait s,
 *      optionally its own visibility timeout) with every attribute; with a
 *      batching window (--sqs-window, Lambda's MaximumBatchingWindowInSeconds)
 *      it keeps receiving until the batch is full or the window has passed;
 *   2. build the SQS event exactly as Lambda does: one record per message with
 *      messageId, receiptHandle, body, attributes (ApproximateReceiveCount,
 *      SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp and the
 *      optional ones when present), messageAttributes in Lambda's lower-case
 *      shape, md5OfBody, md5OfMessageAttributes when the message has attributes,
 *      eventSource "aws:sqs", eventSourceARN (the queue's QueueArn), awsRegion;
 *   3. invoke and read the answer: {"batchItemFailures":[{"itemIdentifier":id}]}
 *      leaves exactly those messages for redelivery and deletes the others
 *      (DeleteMessageBatch); an empty or absent list deletes all; an
 *      itemIdentifier that is empty or names no message of the batch, a
 *      function error or a timeout leaves the whole batch.
 * Messages left become visible again after the visibility timeout; the queue's
 * redrive policy moves them to the dead-letter queue after maxReceiveCount
 * receives, as in AWS.  This is a stand-in for Lambda's control plane; the
 * queue itself is a real SQS peer (AWS_ENDPOINT_URL_SQS).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "emu.h"
#include "vz/handler.h"
#include "vz/log.h"
#include "vz/sqs_client.h"

#define MAX_BATCH 10 /* Lambda's largest batch for a standard queue without a window, and SQS's receive */

static pthread_t pollers[EMU_MAX_SQS_QUEUES];
static int npollers;
static int stopping; /* read and written atomically; also the SQS client's cancel flag */

typedef struct source {
    const emu_config *cfg;
    const char *queue; /* the queue's name */
    vz_sqs_client *sqs;
    const char *url;  /* the queue's URL (owned by the client's cache) */
    char arn[256];    /* the queue's ARN */
    int visibility_s; /* visibility timeout of a receive: the option, else the queue's */
    char region[64];
} source;

static int start_one(const emu_config *cfg, const char *queue);

static bool is_stopping(void)
{
    return __atomic_load_n(&stopping, __ATOMIC_ACQUIRE) != 0;
}

static void pause_ms(long ms)
{
    for (long waited = 0; waited < ms && !is_stopping(); waited += 100) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Lambda's record attributes: the system attributes it passes on, when present. */
static cJSON *record_attributes(const cJSON *attrs)
{
    static const char *const names[] = {
        "ApproximateReceiveCount", "AWSTraceHeader", "SentTimestamp",          "SequenceNumber",
        "MessageGroupId",          "SenderId",       "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp",
        "DeadLetterQueueSourceArn"};
    cJSON *out = cJSON_CreateObject();
    for (size_t i = 0; out && i < sizeof names / sizeof names[0]; i++) {
        const char *v = str(attrs, names[i]);
        if (v)
            cJSON_AddStringToObject(out, names[i], v);
    }
    return out;
}

/* {"Name":{"DataType":..,"StringValue":..}} → {"Name":{"stringValue":..,"stringListValues":[],...}} */
static cJSON *record_message_attributes(const cJSON *mas)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *a;
    cJSON_ArrayForEach(a, mas)
    {
        cJSON *o = cJSON_CreateObject();
        if (!o || !a->string)
            continue;
        const char *sv = str(a, "StringValue"), *bv = str(a, "BinaryValue");
        if (sv)
            cJSON_AddStringToObject(o, "stringValue", sv);
        if (bv)
            cJSON_AddStringToObject(o, "binaryValue", bv);
        cJSON_AddArrayToObject(o, "stringListValues");
        cJSON_AddArrayToObject(o, "binaryListValues");
        cJSON_AddStringToObject(o, "dataType", str(a, "DataType") ? str(a, "DataType") : "String");
        cJSON_AddItemToObject(out, a->string, o);
    }
    return out;
}

static cJSON *build_event(const source *s, const cJSON *messages)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON *records = cJSON_AddArrayToObject(ev, "Records");
    const cJSON *m;
    cJSON_ArrayForEach(m, messages)
    {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToArray(records, r);
        cJSON_AddStringToObject(r, "messageId", str(m, "MessageId") ? str(m, "MessageId") : "");
        cJSON_AddStringToObject(r, "receiptHandle", str(m, "ReceiptHandle") ? str(m, "ReceiptHandle") : "");
        cJSON_AddStringToObject(r, "body", str(m, "Body") ? str(m, "Body") : "");
        cJSON_AddItemToObject(r, "attributes", record_attributes(cJSON_GetObjectItemCaseSensitive(m, "Attributes")));
        cJSON_AddItemToObject(r, "messageAttributes",
                              record_message_attributes(cJSON_GetObjectItemCaseSensitive(m, "MessageAttributes")));
        cJSON_AddStringToObject(r, "md5OfBody", str(m, "MD5OfBody") ? str(m, "MD5OfBody") : "");
        if (str(m, "MD5OfMessageAttributes"))
            cJSON_AddStringToObject(r, "md5OfMessageAttributes", str(m, "MD5OfMessageAttributes"));
        cJSON_AddStringToObject(r, "eventSource", "aws:sqs");
        cJSON_AddStringToObject(r, "eventSourceARN", s->arn);
        cJSON_AddStringToObject(r, "awsRegion", s->region);
    }
    return ev;
}

/* Which messages to keep (not delete) after a successful invocation. Returns false when the answer
 * invalidates the whole batch (an unknown or empty itemIdentifier). */
static bool failures_of(const emu_result *res, const cJSON *messages, bool *keep, size_t n)
{
    cJSON *doc = cJSON_ParseWithLength(res->body ? res->body : "", res->len);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "batchItemFailures");
    if (!cJSON_IsArray(list))
        list = NULL;
    bool ok = true;
    const cJSON *f;
    cJSON_ArrayForEach(f, list)
    {
        const char *id = str(f, "itemIdentifier");
        bool found = false;
        for (size_t i = 0; id && *id && i < n; i++) {
            const char *mid = str(cJSON_GetArrayItem(messages, (int)i), "MessageId");
            if (mid && strcmp(mid, id) == 0) {
                keep[i] = true;
                found = true;
            }
        }
        if (!found)
            ok = false;
    }
    cJSON_Delete(doc);
    return ok;
}

static void run_batch(source *s, const cJSON *messages)
{
    size_t n = (size_t)cJSON_GetArraySize(messages);
    if (n > MAX_BATCH) /* poll_loop splits larger answers; never index past keep[] and handles[] */
        return;
    cJSON *ev = build_event(s, messages);
    char *payload = ev ? cJSON_PrintUnformatted(ev) : NULL;
    cJSON_Delete(ev);
    if (!payload) {
        vz_log(VZ_LOG_ERROR, NULL, "emulator: out of memory building an SQS event; the batch will be redelivered");
        return;
    }
    emu_request req = {.payload = payload, .len = strlen(payload)};
    emu_result res;
    int rc = emu_invoke(&req, &res);
    free(payload);
    if (rc != 0)
        return;
    bool keep[MAX_BATCH] = {false};
    const char *why = NULL;
    if (res.outcome != EMU_SUCCEEDED)
        why = res.outcome == EMU_STOPPED ? "the emulator is stopping" : res.error_type;
    else if (!failures_of(&res, messages, keep, n))
        why = "the answer names an itemIdentifier that is not in the batch";
    if (why) {
        vz_log(VZ_LOG_WARN, NULL, "emulator: SQS batch of %zu (%s) failed as a whole: %s; all will be redelivered", n,
               res.request_id, why);
        emu_result_free(&res);
        return;
    }
    const char *handles[MAX_BATCH];
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        if (!keep[i])
            handles[nd++] = str(cJSON_GetArrayItem(messages, (int)i), "ReceiptHandle");
    vz_error err = {{0}, {0}};
    if (vz_sqs_client_delete_batch(s->sqs, s->url, handles, nd, &err) != VZ_OK)
        vz_log(VZ_LOG_ERROR, NULL, "emulator: deleting %zu processed messages failed: %s", nd, err.message);
    char counts[64] = "";
    for (size_t i = 0, used = 0; i < n && used + 4 < sizeof counts; i++) {
        const char *count = str(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(messages, (int)i), "Attributes"),
                                "ApproximateReceiveCount");
        used += (size_t)snprintf(counts + used, sizeof counts - used, "%s%s", i ? "," : "", count ? count : "?");
    }
    vz_log(VZ_LOG_INFO, NULL,
           "emulator: SQS batch of %zu (%s): %zu deleted, %zu left for redelivery (receive counts %s)", n,
           res.request_id, nd, n - nd, counts);
    emu_result_free(&res);
}

/* Resolve the queue's URL and ARN, retrying until it exists or the emulator stops. */
static bool connect_queue(source *s)
{
    vz_error err = {{0}, {0}};
    bool told = false;
    while (!is_stopping()) {
        cJSON *attrs = NULL;
        if (vz_sqs_client_queue_url(s->sqs, s->queue, &s->url, &err) == VZ_OK &&
            vz_sqs_client_attributes(s->sqs, s->url, &attrs, &err) == VZ_OK) {
            const char *arn = str(attrs, "QueueArn"), *vis = str(attrs, "VisibilityTimeout");
            snprintf(s->arn, sizeof s->arn, "%s", arn ? arn : "");
            s->visibility_s = s->cfg->sqs_visibility_s >= 0 ? s->cfg->sqs_visibility_s
                              : vis                         ? (int)strtol(vis, NULL, 10)
                                                            : 30;
            cJSON_Delete(attrs);
            if (!arn) {
                vz_log(VZ_LOG_ERROR, NULL, "emulator: queue %s has no QueueArn attribute", s->queue);
                return false;
            }
            vz_log(VZ_LOG_INFO, NULL, "emulator: polling %s (batch %d, wait %d s)", s->arn, s->cfg->sqs_batch,
                   s->cfg->sqs_wait_s);
            return true;
        }
        if (!told)
            vz_log(VZ_LOG_WARN, NULL, "emulator: queue %s not usable yet (%s); retrying every second", s->queue,
                   err.message);
        told = true;
        pause_ms(1000);
    }
    return false;
}

/* Add message m to batch, unless the batch has it already (its visibility ran out within the window):
 * then only its newer receipt handle, the one SQS now honours, is kept. */
static void add_unique(cJSON *batch, cJSON *m)
{
    const char *id = str(m, "MessageId");
    cJSON *have;
    cJSON_ArrayForEach(have, batch)
    {
        const char *hid = str(have, "MessageId");
        if (id && hid && strcmp(id, hid) == 0) {
            cJSON *rh = cJSON_DetachItemFromObjectCaseSensitive(m, "ReceiptHandle");
            if (rh)
                cJSON_ReplaceItemInObjectCaseSensitive(have, "ReceiptHandle", rh);
            cJSON_Delete(m);
            return;
        }
    }
    cJSON_AddItemToArray(batch, m);
}

/* Receive one batch: a long poll, then (with a batching window) more short polls until the batch is
 * full or the window has passed since the first message. NULL when the receive failed (logged). */
static cJSON *receive_batch(source *s)
{
    const emu_config *cfg = s->cfg;
    cJSON *batch = NULL;
    double window_end = 0, started = vz_monotonic_ms();
    vz_error err = {{0}, {0}};
    for (;;) {
        int have = batch ? cJSON_GetArraySize(batch) : 0;
        /* Within the window, short polls: a long poll that ends empty can, in local-aws-sqs, still take a
         * message later (its receive count goes up, nobody gets it). */
        int wait = batch ? 0 : cfg->sqs_wait_s;
        if (batch)
            pause_ms(100);
        cJSON *got = NULL;
        if (vz_sqs_client_receive(s->sqs, s->url, cfg->sqs_batch - have, wait, cfg->sqs_visibility_s, &got, &err) !=
            VZ_OK) {
            if (!is_stopping())
                vz_log(VZ_LOG_ERROR, NULL, "emulator: ReceiveMessage on %s failed: %s; retrying", s->queue,
                       err.message);
            return batch; /* what was received is still invoked */
        }
        /* One answer may hold a message twice when its visibility ran out while the poll was held. */
        bool first = !batch;
        if (first && !(batch = cJSON_CreateArray())) {
            cJSON_Delete(got);
            return NULL;
        }
        cJSON *m;
        while ((m = cJSON_DetachItemFromArray(got, 0)) != NULL)
            add_unique(batch, m);
        cJSON_Delete(got);
        if (first) {
            if (cJSON_GetArraySize(batch) == 0 || cfg->sqs_window_s <= 0)
                return batch;
            /* Never hold what was received past its visibility timeout (less a margin to invoke): a server may
             * answer a long poll late (local-aws-sqs holds it to the end), and the messages would be received
             * again while still in this batch. */
            window_end = vz_monotonic_ms() + cfg->sqs_window_s * 1000.0;
            double limit = started + s->visibility_s * 1000.0 - 500.0;
            if (window_end > limit)
                window_end = limit;
        }
        if (cJSON_GetArraySize(batch) >= cfg->sqs_batch || vz_monotonic_ms() >= window_end || is_stopping())
            return batch;
    }
}

/* Invoke with what was received, --sqs-batch messages at most per invocation: a server that answers
 * more than it was asked for (a broken peer) gets them invoked in several batches, not overrun. */
static void invoke_in_batches(source *s, cJSON *messages)
{
    int total = cJSON_GetArraySize(messages);
    int batch = s->cfg->sqs_batch >= 1 && s->cfg->sqs_batch <= MAX_BATCH ? s->cfg->sqs_batch : MAX_BATCH;
    if (total > batch)
        vz_log(VZ_LOG_WARN, NULL,
               "emulator: ReceiveMessage on %s answered %d messages for a batch of at most %d; invoking them in "
               "batches of %d",
               s->queue, total, batch, batch);
    while (cJSON_GetArraySize(messages) > 0) {
        cJSON *chunk = cJSON_CreateArray();
        if (!chunk) {
            vz_log(VZ_LOG_ERROR, NULL, "emulator: out of memory splitting an SQS batch; it will be redelivered");
            return;
        }
        for (int i = 0; i < batch && cJSON_GetArraySize(messages) > 0; i++)
            cJSON_AddItemToArray(chunk, cJSON_DetachItemFromArray(messages, 0));
        run_batch(s, chunk);
        cJSON_Delete(chunk);
    }
}

static void *poll_loop(void *arg)
{
    source *s = arg;
    if (connect_queue(s)) {
        while (!is_stopping()) {
            cJSON *messages = receive_batch(s);
            if (!messages) {
                pause_ms(1000);
                continue;
            }
            invoke_in_batches(s, messages);
            cJSON_Delete(messages);
        }
    }
    vz_sqs_client_free(s->sqs);
    free(s);
    return NULL;
}

int emu_sqs_source_start(const emu_config *cfg)
{
    for (int i = 0; i < cfg->sqs_nqueues; i++)
        if (start_one(cfg, cfg->sqs_queues[i]) != 0)
            return -1;
    return 0;
}

static int start_one(const emu_config *cfg, const char *queue)
{
    vz_sqs_client_config sc;
    vz_error err = {{0}, {0}};
    if (vz_sqs_client_config_from_env(&sc, &err) != VZ_OK) {
        vz_log(VZ_LOG_FATAL, NULL, "emulator: the SQS event source cannot start: %s", err.message);
        return -1;
    }
    sc.cancel = &stopping;
    source *s = calloc(1, sizeof *s);
    if (!s || !(s->sqs = vz_sqs_client_new(&sc, &err))) {
        vz_log(VZ_LOG_FATAL, NULL, "emulator: the SQS event source cannot start: %s", err.message);
        free(s);
        return -1;
    }
    s->cfg = cfg;
    s->queue = queue;
    snprintf(s->region, sizeof s->region, "%s", sc.region);
    if (pthread_create(&pollers[npollers], NULL, poll_loop, s) != 0) {
        vz_sqs_client_free(s->sqs);
        free(s);
        return -1;
    }
    npollers++;
    return 0;
}

void emu_sqs_source_stop(void)
{
    __atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < npollers; i++)
        pthread_join(pollers[i], NULL);
    npollers = 0;
}
