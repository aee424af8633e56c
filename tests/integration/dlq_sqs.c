/* dlq_sqs.c -- `vz-events dlq list|redrive` (src/dlq.c) against a real SQS server with a real redrive policy.
 *
 * Server: local-aws-sqs (npm), started by `scripts/services start STATE sqs`, found through
 * AWS_ENDPOINT_URL_SQS.  Without it this test FAILS.  Each run uses its own stage (pid + time).
 *
 * Two handlers' queues of the stage redrive to the stage's dead-letter queue after 3 receives, as the
 * deployment sets them.  Their messages are received and never deleted (the handler failing) until
 * SQS moves them; then the dead letters of both handlers are mixed in one queue.  `list` shows each
 * one's source queue, receive count, age and key, never the payload; `redrive --dry-run` moves
 * nothing; `redrive --handler` sends back only that handler's, each to its own queue, byte for byte;
 * `redrive` the rest; a second `redrive` finds nothing and changes nothing.
 *
 * A redrive stays in its stage: a message moved there from another stage's queue or from a
 * dead-letter queue (misconfigured redrive policies), and one sent straight to the dead-letter
 * queue with a message attribute named DeadLetterQueueSourceArn (not SQS's own), are left in
 * place with a line saying why, and nothing reaches the queues they name; a queue that is not
 * atd-vz-data-events-deadletter_<stage> is not redriven at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vz/dlq.h"
#include "vz/handler.h"
#include "vz/sqs_client.h"

#define MARKER "payload-marker-7f3a" /* in every body: must never reach the output */
#define N_LOC 3
#define N_NCR 2

static vz_sqs_client *sqs;
static char stage[48], dlq[128], q_loc[128], q_ncr[128];
static const char *url_dlq, *url_loc, *url_ncr;
static char bodies_loc[N_LOC][256], bodies_ncr[N_NCR][256];

static const char *create(const char *name, const char *dlq_arn)
{
    cJSON *attrs = cJSON_CreateObject();
    cJSON_AddStringToObject(attrs, "VisibilityTimeout", "1");
    if (dlq_arn) {
        char policy[512];
        snprintf(policy, sizeof policy, "{\"deadLetterTargetArn\":\"%s\",\"maxReceiveCount\":3}", dlq_arn);
        cJSON_AddStringToObject(attrs, "RedrivePolicy", policy);
    }
    const char *url = NULL;
    vz_error err = {{0}, {0}};
    vz_status st = vz_sqs_client_create_queue(sqs, name, attrs, &url, &err);
    cJSON_Delete(attrs);
    if (st != VZ_OK) {
        fprintf(stderr, "dlq_sqs: cannot create %s: %s\n", name, err.message);
        return NULL;
    }
    return url;
}

static int setup(void **state)
{
    (void)state;
    if (!getenv("AWS_ENDPOINT_URL_SQS")) {
        fprintf(stderr, "dlq_sqs: AWS_ENDPOINT_URL_SQS is not set; run through scripts/test "
                        "(scripts/services start STATE sqs)\n");
        return -1;
    }
    vz_sqs_client_config cfg;
    vz_error err = {{0}, {0}};
    if (vz_sqs_client_config_from_env(&cfg, &err) != VZ_OK || !(sqs = vz_sqs_client_new(&cfg, &err))) {
        fprintf(stderr, "dlq_sqs: %s\n", err.message);
        return -1;
    }
    snprintf(stage, sizeof stage, "dlq%ld_%ld", (long)getpid(), (long)time(NULL) % 100000);
    snprintf(dlq, sizeof dlq, VZ_DLQ_PREFIX "%s", stage);
    snprintf(q_loc, sizeof q_loc, "atd-vz-data-events-crash_update_location_%s", stage);
    snprintf(q_ncr, sizeof q_ncr, "atd-vz-data-events-crash_update_noncr3_location_%s", stage);
    if (!(url_dlq = create(dlq, NULL)))
        return -1;
    cJSON *attrs = NULL;
    if (vz_sqs_client_attributes(sqs, url_dlq, &attrs, &err) != VZ_OK) {
        fprintf(stderr, "dlq_sqs: %s\n", err.message);
        return -1;
    }
    const cJSON *arn = cJSON_GetObjectItemCaseSensitive(attrs, "QueueArn");
    char dlq_arn[256];
    snprintf(dlq_arn, sizeof dlq_arn, "%s", cJSON_IsString(arn) ? arn->valuestring : "");
    cJSON_Delete(attrs);
    if (!(url_loc = create(q_loc, dlq_arn)) || !(url_ncr = create(q_ncr, dlq_arn)))
        return -1;
    /* the client caches one URL per name: the created ones are kept, copy them */
    url_dlq = strdup(url_dlq);
    url_loc = strdup(url_loc);
    url_ncr = strdup(url_ncr);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free((char *)url_dlq);
    free((char *)url_loc);
    free((char *)url_ncr);
    vz_sqs_client_free(sqs);
    return 0;
}

static long count(const char *url)
{
    vz_error err = {{0}, {0}};
    long n = vz_sqs_client_count(sqs, url, &err);
    if (n < 0)
        fail_msg("GetQueueAttributes: %s", err.message);
    return n;
}

/* The count of url once it is n (waiting up to 10 s: local-aws-sqs counts a message in flight twice,
 * and one made visible again with VisibilityTimeout 0 leaves flight on a timer). */
static long settles(const char *url, long n)
{
    long c = count(url);
    for (int i = 0; i < 100 && c != n; i++) {
        usleep(100000);
        c = count(url);
    }
    return c;
}

static void send(const char *queue, const char *body)
{
    char id[128];
    vz_error err = {{0}, {0}};
    if (vz_sqs_client_send(sqs, queue, body, strlen(body), 0, id, 0, &err) != VZ_OK)
        fail_msg("SendMessage to %s: %s", queue, err.message);
}

/* Receive from url without ever deleting (a handler that fails) until SQS has moved every message
 * away; returns the highest receive count seen. */
static long fail_until_moved(const char *url, int n)
{
    long max_rc = 0;
    for (int round = 0; round < 200 && count(url) > 0; round++) {
        cJSON *msgs = NULL;
        vz_error err = {{0}, {0}};
        if (vz_sqs_client_receive(sqs, url, 10, 1, -1, &msgs, &err) != VZ_OK)
            fail_msg("ReceiveMessage: %s", err.message);
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs)
        {
            const cJSON *rc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "Attributes"),
                                                               "ApproximateReceiveCount");
            long v = cJSON_IsString(rc) ? strtol(rc->valuestring, NULL, 10) : 0;
            if (v > max_rc)
                max_rc = v;
        }
        cJSON_Delete(msgs);
    }
    assert_int_equal(count(url), 0);
    (void)n;
    return max_rc;
}

/* Run list or redrive with JSON output; the output text (caller frees) and the summary. */
static char *run(bool redrive, const char *handler, bool dry_run, vz_dlq_summary *sum)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    vz_dlq_options opts = {dlq, handler, dry_run, true, 0, 1};
    vz_error err = {{0}, {0}};
    vz_status st = redrive ? vz_dlq_redrive(sqs, &opts, out, sum, &err) : vz_dlq_list(sqs, &opts, out, sum, &err);
    fclose(out);
    if (st != VZ_OK)
        fail_msg("dlq: %s", err.message);
    assert_null(strstr(text, MARKER)); /* never the payload */
    return text;
}

/* Every body received from url (deleting them), sorted into got[] (at most max); returns how many. */
static int drain(const char *url, char got[][256], int max)
{
    int n = 0;
    for (int round = 0; round < 20; round++) {
        cJSON *msgs = NULL;
        vz_error err = {{0}, {0}};
        if (vz_sqs_client_receive(sqs, url, 10, 1, 30, &msgs, &err) != VZ_OK)
            fail_msg("ReceiveMessage: %s", err.message);
        int got_now = cJSON_GetArraySize(msgs);
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs)
        {
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "Body");
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "ReceiptHandle");
            assert_true(n < max);
            snprintf(got[n++], 256, "%s", b->valuestring);
            const char *handles[1] = {r->valuestring};
            assert_int_equal(vz_sqs_client_delete_batch(sqs, url, handles, 1, &err), VZ_OK);
        }
        cJSON_Delete(msgs);
        if (got_now == 0)
            break;
    }
    qsort(got, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
    return n;
}

static int lines_with(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void dead_letters_go_back_to_their_own_queues(void **state)
{
    (void)state;
    for (int i = 0; i < N_LOC; i++) {
        snprintf(bodies_loc[i], sizeof bodies_loc[i],
                 "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"crash_id\":%d,\"note\":\"" MARKER "\"}}}}",
                 11 + i);
        send(q_loc, bodies_loc[i]);
    }
    for (int i = 0; i < N_NCR; i++) {
        snprintf(bodies_ncr[i], sizeof bodies_ncr[i],
                 "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"case_id\":%d,\"note\":\"" MARKER "\"}}}}",
                 101 + i);
        send(q_ncr, bodies_ncr[i]);
    }
    /* The handlers fail them: after 3 receives each lands in the stage's dead-letter queue. */
    assert_int_equal(fail_until_moved(url_loc, N_LOC), 3);
    assert_int_equal(fail_until_moved(url_ncr, N_NCR), 3);
    assert_int_equal(settles(url_dlq, N_LOC + N_NCR), N_LOC + N_NCR);

    /* list: source queue, receive count, age and key of each; the messages stay. */
    vz_dlq_summary sum;
    char *text = run(false, NULL, false, &sum);
    fprintf(stderr, "dlq list:\n%s", text);
    assert_int_equal(sum.messages, N_LOC + N_NCR);
    assert_int_equal(lines_with(text, "\"messageId\""), N_LOC + N_NCR);
    char want[256];
    snprintf(want, sizeof want, "\"sourceQueue\":\"%s\",\"handler\":\"crash_update_location\"", q_loc);
    assert_int_equal(lines_with(text, want), N_LOC);
    snprintf(want, sizeof want, "\"sourceQueue\":\"%s\",\"handler\":\"crash_update_noncr3_location\"", q_ncr);
    assert_int_equal(lines_with(text, want), N_NCR);
    assert_int_equal(lines_with(text, "\"keyField\":\"crash_id\",\"key\":1"), N_LOC);
    assert_int_equal(lines_with(text, "\"keyField\":\"case_id\",\"key\":10"), N_NCR);
    assert_int_equal(lines_with(text, "\"receiveCount\":"), N_LOC + N_NCR);
    assert_int_equal(lines_with(text, "\"ageSeconds\":-1"), 0);
    free(text);
    text = run(false, "crash_update_noncr3_location", false, &sum); /* listed again: they were released */
    assert_int_equal(sum.messages, N_LOC + N_NCR);
    assert_int_equal(sum.selected, N_NCR);
    free(text);

    /* --dry-run: says where each would go, moves nothing. */
    text = run(true, NULL, true, &sum);
    assert_int_equal(sum.selected, N_LOC + N_NCR);
    assert_int_equal(sum.sent, 0);
    assert_int_equal(lines_with(text, "\"action\":\"would send\""), N_LOC + N_NCR);
    free(text);
    assert_int_equal(settles(url_dlq, N_LOC + N_NCR), N_LOC + N_NCR);
    assert_int_equal(count(url_loc), 0);
    assert_int_equal(count(url_ncr), 0);

    /* --handler: only that handler's, to its own queue; the other handler's stay dead letters. */
    text = run(true, "crash_update_location", false, &sum);
    fprintf(stderr, "dlq redrive --handler crash_update_location:\n%s", text);
    assert_int_equal(sum.sent, N_LOC);
    assert_int_equal(sum.deleted, N_LOC);
    assert_int_equal(sum.failed, 0);
    free(text);
    assert_int_equal(count(url_ncr), 0);
    assert_int_equal(settles(url_dlq, N_NCR), N_NCR);
    char got[8][256];
    assert_int_equal(drain(url_loc, got, 8), N_LOC);
    for (int i = 0; i < N_LOC; i++)
        assert_string_equal(got[i], bodies_loc[i]); /* byte for byte, sorted as they were made */

    /* the rest, to their own queue */
    text = run(true, NULL, false, &sum);
    assert_int_equal(sum.messages, N_NCR);
    assert_int_equal(sum.sent, N_NCR);
    free(text);
    assert_int_equal(drain(url_ncr, got, 8), N_NCR);
    for (int i = 0; i < N_NCR; i++)
        assert_string_equal(got[i], bodies_ncr[i]);
    assert_int_equal(count(url_loc), 0);
    assert_int_equal(settles(url_dlq, 0), 0);

    /* twice: nothing left, nothing sent, no harm */
    text = run(true, NULL, false, &sum);
    assert_int_equal(sum.messages, 0);
    assert_int_equal(sum.sent, 0);
    free(text);
    assert_int_equal(count(url_loc), 0);
    assert_int_equal(count(url_ncr), 0);
}

/* SendMessage with a message attribute DeadLetterQueueSourceArn naming `arn` (what a sender can set). */
static void send_forged(const char *url, const char *body, const char *arn)
{
    cJSON *req = cJSON_CreateObject(), *resp = NULL;
    cJSON_AddStringToObject(req, "QueueUrl", url);
    cJSON_AddStringToObject(req, "MessageBody", body);
    cJSON *a = cJSON_AddObjectToObject(cJSON_AddObjectToObject(req, "MessageAttributes"), "DeadLetterQueueSourceArn");
    cJSON_AddStringToObject(a, "DataType", "String");
    cJSON_AddStringToObject(a, "StringValue", arn);
    vz_error err = {{0}, {0}};
    vz_status st = vz_sqs_client_call(sqs, "SendMessage", req, 0, &resp, &err);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    if (st != VZ_OK)
        fail_msg("SendMessage to %s: %s", url, err.message);
}

static const char *arn_of(const char *url, char *arn, size_t n)
{
    cJSON *attrs = NULL;
    vz_error err = {{0}, {0}};
    if (vz_sqs_client_attributes(sqs, url, &attrs, &err) != VZ_OK)
        fail_msg("GetQueueAttributes: %s", err.message);
    snprintf(arn, n, "%s", cJSON_GetObjectItemCaseSensitive(attrs, "QueueArn")->valuestring);
    cJSON_Delete(attrs);
    return arn;
}

/* SetQueueAttributes: the queue at url now moves a message to dlq_arn after 3 receives. */
static void redrive_to(const char *url, const char *dlq_arn)
{
    char policy[512];
    snprintf(policy, sizeof policy, "{\"deadLetterTargetArn\":\"%s\",\"maxReceiveCount\":3}", dlq_arn);
    cJSON *req = cJSON_CreateObject(), *resp = NULL;
    cJSON_AddStringToObject(req, "QueueUrl", url);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(req, "Attributes"), "RedrivePolicy", policy);
    vz_error err = {{0}, {0}};
    vz_status st = vz_sqs_client_call(sqs, "SetQueueAttributes", req, 0, &resp, &err);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    if (st != VZ_OK)
        fail_msg("SetQueueAttributes %s: %s", url, err.message);
}

static char *copy(const char *s)
{
    assert_non_null(s);
    char *c = strdup(s);
    assert_non_null(c);
    return c;
}

static void redrive_stays_in_its_stage(void **state)
{
    (void)state;
    char s_own[40], s_other[48], d_own[128], d_other[128], q_own[128], q_other[128], arn[256];
    snprintf(s_own, sizeof s_own, "st%ld_%ld", (long)getpid(), (long)time(NULL) % 100000);
    snprintf(s_other, sizeof s_other, "x%s", s_own); /* another stage whose name ends with this one's */
    snprintf(d_own, sizeof d_own, VZ_DLQ_PREFIX "%s", s_own);
    snprintf(d_other, sizeof d_other, VZ_DLQ_PREFIX "%s", s_other);
    snprintf(q_own, sizeof q_own, "atd-vz-data-events-crash_update_location_%s", s_own);
    snprintf(q_other, sizeof q_other, "atd-vz-data-events-crash_update_location_%s", s_other);
    char *u_dlq = copy(create(d_own, NULL));
    arn_of(u_dlq, arn, sizeof arn);
    /* Misconfigured redrive policies: another stage's queue and another dead-letter queue feed this one. */
    char *u_own = copy(create(q_own, arn)), *u_other = copy(create(q_other, arn)),
         *u_dother = copy(create(d_other, arn));
    send(q_own, "{\"event\":{\"data\":{\"new\":{\"crash_id\":1}}},\"note\":\"" MARKER "\"}");
    send(q_other, "{\"event\":{\"data\":{\"new\":{\"crash_id\":2}}},\"note\":\"" MARKER "\"}");
    send(d_other, "{\"event\":{\"data\":{\"new\":{\"crash_id\":3}}},\"note\":\"" MARKER "\"}");
    assert_int_equal(fail_until_moved(u_own, 1), 3);
    assert_int_equal(fail_until_moved(u_other, 1), 3);
    assert_int_equal(fail_until_moved(u_dother, 1), 3);
    /* A sender's own "DeadLetterQueueSourceArn" message attribute, naming a queue of this stage. */
    char forged[512];
    const char *colon = strrchr(arn, ':');
    assert_non_null(colon);
    snprintf(forged, sizeof forged, "%.*s:%s", (int)(colon - arn), arn, q_own);
    send_forged(u_dlq, "{\"event\":{\"data\":{\"new\":{\"crash_id\":4}}},\"note\":\"" MARKER "\"}", forged);
    assert_int_equal(settles(u_dlq, 4), 4);

    /* The dry run already says which are refused, and why. */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    vz_dlq_options opts = {d_own, NULL, true, true, 0, 1};
    vz_dlq_summary sum;
    vz_error err = {{0}, {0}};
    assert_int_equal(vz_dlq_redrive(sqs, &opts, out, &sum, &err), VZ_OK);
    fclose(out);
    fprintf(stderr, "dlq redrive --dry-run of %s:\n%s", d_own, text);
    assert_int_equal(sum.messages, 4);
    assert_int_equal(sum.refused, 2);
    assert_int_equal(sum.no_source, 1);
    assert_int_equal(lines_with(text, "\"action\":\"would send\""), 1);
    free(text);

    out = open_memstream(&text, &len);
    opts.dry_run = false;
    assert_int_equal(vz_dlq_redrive(sqs, &opts, out, &sum, &err), VZ_OK);
    fclose(out);
    fprintf(stderr, "dlq redrive of %s:\n%s", d_own, text);
    assert_null(strstr(text, MARKER));
    assert_int_equal(sum.messages, 4);
    assert_int_equal(sum.sent, 1);
    assert_int_equal(sum.deleted, 1);
    assert_int_equal(sum.refused, 2);
    assert_int_equal(sum.no_source, 1);
    assert_int_equal(sum.failed, 0);
    char want[512];
    snprintf(want, sizeof want,
             "\"action\":\"refused\",\"detail\":\"its source %s is not a queue of stage %s "
             "(atd-vz-data-events-<handler>_%s): never redriven across stages\"",
             q_other, s_own, s_own);
    assert_int_equal(lines_with(text, want), 1);
    snprintf(want, sizeof want,
             "\"action\":\"refused\",\"detail\":\"its source %s is a dead-letter queue: never redriven into one\"",
             d_other);
    assert_int_equal(lines_with(text, want), 1);
    assert_int_equal(lines_with(text, "\"sourceQueue\":null,\"handler\":\"unknown\""), 1); /* the forged one */
    assert_int_equal(lines_with(text, "\"action\":\"left\",\"detail\":\"no DeadLetterQueueSourceArn set by SQS"), 1);
    free(text);
    /* Only the message of this stage's own queue went back; the three others stay dead letters. */
    char got[4][256];
    assert_int_equal(drain(u_own, got, 4), 1);
    assert_non_null(strstr(got[0], "\"crash_id\":1}"));
    assert_int_equal(count(u_other), 0);
    assert_int_equal(count(u_dother), 0);
    assert_int_equal(settles(u_dlq, 3), 3);

    /* A stage's dead-letter queue redriven as another stage's: refused, nothing received or sent. */
    vz_dlq_options wrong = {d_own, NULL, false, true, 0, 1, s_other};
    out = open_memstream(&text, &len);
    assert_int_equal(vz_dlq_redrive(sqs, &wrong, out, &sum, &err), VZ_EINVAL);
    fclose(out);
    assert_string_equal(text, "");
    free(text);
    assert_non_null(strstr(err.message, "not of stage"));
    assert_int_equal(sum.messages, 0);

    /* A dead-letter queue not named for a stage (the original system's shared one): only with --stage,
     * and then only that stage's messages go back. */
    char shared[128];
    snprintf(shared, sizeof shared, "atd_vz_deadletter_queue_%s", s_own);
    char *u_shared = copy(create(shared, NULL));
    arn_of(u_shared, arn, sizeof arn);
    redrive_to(u_own, arn); /* the same queues, now redriving to the shared one */
    redrive_to(u_other, arn);
    send(q_own, "{\"event\":{\"data\":{\"new\":{\"crash_id\":5}}},\"note\":\"" MARKER "\"}");
    send(q_other, "{\"event\":{\"data\":{\"new\":{\"crash_id\":6}}},\"note\":\"" MARKER "\"}");
    assert_int_equal(fail_until_moved(u_own, 1), 3);
    assert_int_equal(fail_until_moved(u_other, 1), 3);
    assert_int_equal(settles(u_shared, 2), 2);
    vz_dlq_options bare = {shared, NULL, false, true, 0, 1, NULL};
    out = open_memstream(&text, &len);
    assert_int_equal(vz_dlq_redrive(sqs, &bare, out, &sum, &err), VZ_EINVAL);
    fclose(out);
    assert_string_equal(text, "");
    free(text);
    assert_non_null(strstr(err.message, "is not a stage's dead-letter queue"));
    assert_non_null(strstr(err.message, "--stage S"));
    vz_dlq_options staged = {shared, NULL, false, true, 0, 1, s_own};
    out = open_memstream(&text, &len);
    assert_int_equal(vz_dlq_redrive(sqs, &staged, out, &sum, &err), VZ_OK);
    fclose(out);
    fprintf(stderr, "dlq redrive --queue %s --stage %s:\n%s", shared, s_own, text);
    free(text);
    assert_int_equal(sum.messages, 2);
    assert_int_equal(sum.sent, 1);
    assert_int_equal(sum.refused, 1);
    assert_int_equal(drain(u_own, got, 4), 1);
    assert_non_null(strstr(got[0], "\"crash_id\":5}"));
    assert_int_equal(count(u_other), 0);
    assert_int_equal(settles(u_shared, 1), 1);
    assert_int_equal(settles(u_dlq, 3), 3);
    free(u_shared);
    free(u_dlq);
    free(u_own);
    free(u_other);
    free(u_dother);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(dead_letters_go_back_to_their_own_queues),
                                       cmocka_unit_test(redrive_stays_in_its_stage)};
    return cmocka_run_group_tests_name("dlq (local-aws-sqs)", tests, setup, teardown);
}
