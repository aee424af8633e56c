/* dlq.c -- list and redrive a dead-letter queue (see dlq.h).
 *
 * Both commands walk the queue the same way: receive ten, handle each one not
 * seen before, repeat until a receive brings nothing new.  A message is known
 * by its MessageId; a receive of one already seen (its hiding expired during
 * a long run) only refreshes its receipt handle, since SQS honours the latest
 * one.  What is left in the queue is made visible again at the end.
 *
 * A message's source queue is SQS's own system attribute DeadLetterQueueSourceArn,
 * never a message attribute of that name (anyone who can send to a queue can set
 * those).  A redrive stays inside the dead-letter queue's stage: the source must
 * be <prefix><handler>_<stage> for the stage of atd-vz-data-events-deadletter_<stage>,
 * and never a dead-letter queue; any other message is left where it is, with a
 * line saying why. */
#include "vz/dlq.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vz/handler.h"
#include "vz/hasura.h"
#include "vz/registry.h"
#include "vz/rowsync.h"
#include "vz/sqs.h"

typedef struct held {
    char *id;      /* MessageId */
    char *receipt; /* the latest receipt handle */
    bool gone;     /* deleted from the dead-letter queue */
} held;

typedef struct walk {
    vz_sqs_client *c;
    const vz_dlq_options *opts;
    const char *url; /* the dead-letter queue's URL */
    char stage[96];  /* the dead-letter queue's stage (redrive), without a ".fifo" */
    FILE *out;
    vz_dlq_summary *sum;
    held *held;
    size_t nheld, cap;
} walk;

/* What one message says about itself; strings point into the message. */
typedef struct info {
    const char *id, *receipt, *body, *source_arn;
    char source[96]; /* the source queue's name, "" when unknown */
    char key_field[32];
    long long key; /* -1 when the body has no usable key */
    long receives;
    long long age_s; /* -1 when SentTimestamp is missing */
    const vz_handler *handler;
} info;

/* A system attribute SQS set on the message ("Attributes"); never a message attribute, which the sender
 * chose. */
static const char *attr(const cJSON *msg, const char *name)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(msg, "Attributes"), name);
    return cJSON_IsString(a) ? a->valuestring : NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void read_info(const cJSON *msg, info *in)
{
    memset(in, 0, sizeof *in);
    in->id = str(msg, "MessageId");
    in->receipt = str(msg, "ReceiptHandle");
    in->body = str(msg, "Body");
    in->source_arn = attr(msg, "DeadLetterQueueSourceArn");
    const char *rc = attr(msg, "ApproximateReceiveCount");
    in->receives = rc ? strtol(rc, NULL, 10) : -1;
    const char *sent = attr(msg, "SentTimestamp");
    in->age_s = sent ? (vz_now_ms() - strtoll(sent, NULL, 10)) / 1000 : -1;
    if (in->source_arn) {
        const char *name = strrchr(in->source_arn, ':');
        if (name && name[1] && strncmp(in->source_arn, "arn:", 4) == 0 &&
            vz_sqs_queue_name_valid(name + 1, strlen(name + 1)))
            snprintf(in->source, sizeof in->source, "%s", name + 1);
    }
    const char *prefix = getenv("VZ_QUEUE_PREFIX");
    in->handler = in->source[0] ? vz_registry_resolve_queue(in->source, prefix && *prefix ? prefix : NULL) : NULL;
    in->key = -1;
    static const char *const fields[] = {"crash_id", "case_id"};
    const char *want = in->handler && in->handler->rowsync ? in->handler->rowsync->key_field : NULL;
    for (size_t i = 0; i < 3 && in->body && in->key < 0; i++) {
        const char *f = i == 0 ? want : fields[i - 1];
        int32_t k;
        vz_error e = {{0}, {0}};
        if (f && vz_hasura_key_from_text(in->body, strlen(in->body), f, &k, &e) == VZ_OK) {
            in->key = k;
            snprintf(in->key_field, sizeof in->key_field, "%s", f);
        }
    }
}

static bool selected(const walk *w, const info *in)
{
    const char *h = w->opts->handler;
    if (!h)
        return true;
    if (in->handler)
        return strcmp(in->handler->name, h) == 0;
    /* A handler this binary does not have: the queue name's own form, <prefix><handler>[_<stage>]. */
    const char *prefix = getenv("VZ_QUEUE_PREFIX");
    if (!prefix || !*prefix)
        prefix = VZ_DEFAULT_QUEUE_PREFIX;
    size_t pl = strlen(prefix), hl = strlen(h);
    const char *q = in->source;
    return strncmp(q, prefix, pl) == 0 && strncmp(q + pl, h, hl) == 0 && (q[pl + hl] == '\0' || q[pl + hl] == '_');
}

static void format_age(long long s, char *buf, size_t n)
{
    if (s < 0)
        snprintf(buf, n, "?");
    else if (s < 3600)
        snprintf(buf, n, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, n, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else
        snprintf(buf, n, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

/* One line about a message: what it is and, for a redrive, what happened to it. */
static void report(const walk *w, const info *in, const char *action, const char *detail)
{
    if (w->opts->json) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return;
        cJSON_AddStringToObject(o, "messageId", in->id ? in->id : "");
        if (in->source[0])
            cJSON_AddStringToObject(o, "sourceQueue", in->source);
        else
            cJSON_AddNullToObject(o, "sourceQueue");
        cJSON_AddStringToObject(o, "handler", in->handler ? in->handler->name : "unknown");
        cJSON_AddNumberToObject(o, "receiveCount", (double)in->receives);
        cJSON_AddNumberToObject(o, "ageSeconds", (double)in->age_s);
        if (in->key >= 0) {
            cJSON_AddStringToObject(o, "keyField", in->key_field);
            cJSON_AddNumberToObject(o, "key", (double)in->key);
        } else {
            cJSON_AddNullToObject(o, "key");
        }
        if (action)
            cJSON_AddStringToObject(o, "action", action);
        if (detail)
            cJSON_AddStringToObject(o, "detail", detail);
        char *t = cJSON_PrintUnformatted(o);
        if (t)
            fprintf(w->out, "%s\n", t);
        cJSON_free(t);
        cJSON_Delete(o);
        return;
    }
    char age[32], key[64];
    format_age(in->age_s, age, sizeof age);
    if (in->key >= 0)
        snprintf(key, sizeof key, "%s=%lld", in->key_field, in->key);
    else
        snprintf(key, sizeof key, "key=?");
    fprintf(w->out, "%-36s  %-48s  receives=%-3ld age=%-7s %s%s%s%s%s\n", in->id ? in->id : "?",
            in->source[0] ? in->source : "(no source queue)", in->receives, age, key, action ? "  " : "",
            action ? action : "", detail ? ": " : "", detail ? detail : "");
}

static held *remember(walk *w, const char *id, const char *receipt, bool *is_new)
{
    for (size_t i = 0; i < w->nheld; i++) {
        if (strcmp(w->held[i].id, id) == 0) {
            *is_new = false;
            char *r = strdup(receipt);
            if (r) {
                free(w->held[i].receipt);
                w->held[i].receipt = r;
            }
            return &w->held[i];
        }
    }
    *is_new = true;
    if (w->nheld == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        held *nh = realloc(w->held, cap * sizeof *nh);
        if (!nh)
            return NULL;
        w->held = nh;
        w->cap = cap;
    }
    held *h = &w->held[w->nheld];
    h->id = strdup(id);
    h->receipt = strdup(receipt);
    h->gone = false;
    if (!h->id || !h->receipt) {
        free(h->id);
        free(h->receipt);
        return NULL;
    }
    w->nheld++;
    return h;
}

/* The n bytes of s without a ".fifo" ending. */
static size_t without_fifo(const char *s, size_t n)
{
    return n > 5 && strcmp(s + n - 5, ".fifo") == 0 ? n - 5 : n;
}

/* The stage a dead-letter queue's name says, VZ_DLQ_PREFIX<stage>[.fifo], into out; "" when it says none. */
static void queue_stage(const char *queue, char *out, size_t n)
{
    size_t dl = strlen(VZ_DLQ_PREFIX), ql = without_fifo(queue, strlen(queue));
    out[0] = '\0';
    if (strncmp(queue, VZ_DLQ_PREFIX, dl) == 0 && ql > dl)
        snprintf(out, n, "%.*s", (int)(ql - dl), queue + dl);
}

/* Why the source queue may not be fed by this dead-letter queue (into why), or NULL when it may: it must be
 * <prefix><handler>_<stage> of the dead-letter queue's own stage, and not a dead-letter queue. */
static const char *foreign_source(const walk *w, const info *in, char *why, size_t n)
{
    const char *prefix = getenv("VZ_QUEUE_PREFIX");
    if (!prefix || !*prefix)
        prefix = VZ_DEFAULT_QUEUE_PREFIX;
    const char *q = in->source;
    size_t ql = without_fifo(q, strlen(q)), pl = strlen(prefix), sl = strlen(w->stage);
    if (strncmp(q, VZ_DLQ_PREFIX, strlen(VZ_DLQ_PREFIX)) == 0 ||
        (strncmp(q, prefix, pl) == 0 && strncmp(q + pl, "deadletter_", 11) == 0)) {
        snprintf(why, n, "its source %s is a dead-letter queue: never redriven into one", q);
        return why;
    }
    if (strncmp(q, prefix, pl) != 0 || ql <= pl + sl + 1 || q[ql - sl - 1] != '_' ||
        strncmp(q + ql - sl, w->stage, sl) != 0) {
        snprintf(why, n, "its source %s is not a queue of stage %s (%.64s<handler>_%s): never redriven across stages",
                 q, w->stage, prefix, w->stage);
        return why;
    }
    return NULL;
}

/* SendMessage of the body (and its message attributes) to the source queue; DelaySeconds 0. */
static vz_status send_back(walk *w, const cJSON *msg, const info *in, char *new_id, size_t n, vz_error *err)
{
    const char *url = NULL;
    vz_status st = vz_sqs_client_queue_url(w->c, in->source, &url, err);
    if (st != VZ_OK)
        return st;
    cJSON *req = cJSON_CreateObject();
    bool ok = req && cJSON_AddStringToObject(req, "QueueUrl", url) &&
              cJSON_AddStringToObject(req, "MessageBody", in->body ? in->body : "") &&
              cJSON_AddNumberToObject(req, "DelaySeconds", 0);
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(msg, "MessageAttributes");
    if (ok && cJSON_IsObject(ma) && ma->child) {
        cJSON *copy = cJSON_Duplicate(ma, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "DeadLetterQueueSourceArn");
        ok = copy && cJSON_AddItemToObject(req, "MessageAttributes", copy);
    }
    size_t sl = strlen(in->source);
    if (ok && sl > 5 && strcmp(in->source + sl - 5, ".fifo") == 0) {
        const char *group = attr(msg, "MessageGroupId");
        ok = cJSON_AddStringToObject(req, "MessageGroupId", group ? group : "redrive") &&
             cJSON_AddStringToObject(req, "MessageDeduplicationId", in->id);
    }
    if (!ok) {
        cJSON_Delete(req);
        vz_error_set(err, "Runtime.OutOfMemory", "cannot build SendMessage");
        return VZ_ENOMEM;
    }
    cJSON *resp = NULL;
    st = vz_sqs_client_call(w->c, "SendMessage", req, 0, &resp, err);
    cJSON_Delete(req);
    if (st == VZ_OK) {
        const char *id = str(resp, "MessageId");
        snprintf(new_id, n, "%s", id ? id : "?");
    }
    cJSON_Delete(resp);
    return st;
}

static void redrive_one(walk *w, const cJSON *msg, const info *in, held *h)
{
    if (!in->source[0]) {
        w->sum->no_source++;
        report(w, in, "left", "no DeadLetterQueueSourceArn set by SQS: its source queue is unknown");
        return;
    }
    char why[512];
    if (foreign_source(w, in, why, sizeof why)) {
        w->sum->refused++;
        report(w, in, "refused", why);
        return;
    }
    if (w->opts->dry_run) {
        report(w, in, "would send", in->source);
        return;
    }
    vz_error err = {{0}, {0}};
    char new_id[128];
    if (send_back(w, msg, in, new_id, sizeof new_id, &err) != VZ_OK) {
        w->sum->failed++;
        report(w, in, "send failed", err.message);
        return;
    }
    w->sum->sent++;
    const char *receipts[1] = {h->receipt};
    if (vz_sqs_client_delete_batch(w->c, w->url, receipts, 1, &err) != VZ_OK) {
        w->sum->failed++;
        report(w, in, "sent, not deleted", "it will be listed and sent again (a duplicate event writes nothing)");
        return;
    }
    h->gone = true;
    w->sum->deleted++;
    report(w, in, "sent", new_id);
}

/* Make every message still held visible again (best effort: otherwise it reappears after its timeout). */
static void release(walk *w)
{
    for (size_t i = 0; i < w->nheld; i++) {
        if (!w->held[i].gone) {
            cJSON *req = cJSON_CreateObject();
            cJSON *resp = NULL;
            vz_error err = {{0}, {0}};
            if (req && cJSON_AddStringToObject(req, "QueueUrl", w->url) &&
                cJSON_AddStringToObject(req, "ReceiptHandle", w->held[i].receipt) &&
                cJSON_AddNumberToObject(req, "VisibilityTimeout", 0))
                vz_sqs_client_call(w->c, "ChangeMessageVisibility", req, 0, &resp, &err);
            cJSON_Delete(req);
            cJSON_Delete(resp);
        }
        free(w->held[i].id);
        free(w->held[i].receipt);
    }
    free(w->held);
    w->held = NULL;
    w->nheld = w->cap = 0;
}

static vz_status run(vz_sqs_client *c, const vz_dlq_options *opts, FILE *out, vz_dlq_summary *sum, bool redrive,
                     vz_error *err)
{
    memset(sum, 0, sizeof *sum);
    walk w = {c, opts, NULL, "", out, sum, NULL, 0, 0};
    queue_stage(opts->queue, w.stage, sizeof w.stage);
    if (!w.stage[0] && opts->stage)
        snprintf(w.stage, sizeof w.stage, "%s", opts->stage);
    vz_status st = vz_sqs_client_queue_url(c, opts->queue, &w.url, err);
    if (st != VZ_OK)
        return st;
    int vis = opts->visibility_s > 0 ? opts->visibility_s : VZ_DLQ_DEFAULT_VISIBILITY_S;
    int wait = opts->wait_s > 0 ? opts->wait_s : 1;
    for (;;) {
        cJSON *msgs = NULL;
        st = vz_sqs_client_receive(c, w.url, 10, wait, vis, &msgs, err);
        if (st != VZ_OK)
            break;
        size_t fresh = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs)
        {
            info in;
            read_info(m, &in);
            if (!in.id || !in.receipt)
                continue;
            bool is_new = false;
            held *h = remember(&w, in.id, in.receipt, &is_new);
            if (!h) {
                vz_error_set(err, "Runtime.OutOfMemory", "out of memory holding %zu messages", w.nheld);
                st = VZ_ENOMEM;
                break;
            }
            if (!is_new)
                continue;
            fresh++;
            sum->messages++;
            if (!selected(&w, &in))
                continue;
            sum->selected++;
            if (redrive)
                redrive_one(&w, m, &in, h);
            else
                report(&w, &in, NULL, NULL);
        }
        cJSON_Delete(msgs);
        if (st != VZ_OK || fresh == 0)
            break;
    }
    release(&w);
    return st;
}

vz_status vz_dlq_list(vz_sqs_client *c, const vz_dlq_options *opts, FILE *out, vz_dlq_summary *sum, vz_error *err)
{
    return run(c, opts, out, sum, false, err);
}

vz_status vz_dlq_redrive(vz_sqs_client *c, const vz_dlq_options *opts, FILE *out, vz_dlq_summary *sum, vz_error *err)
{
    char named[96];
    queue_stage(opts->queue, named, sizeof named);
    memset(sum, 0, sizeof *sum);
    if (!named[0] && (!opts->stage || !*opts->stage)) {
        vz_error_set(err, "DLQ.NoStage",
                     "%s is not a stage's dead-letter queue (" VZ_DLQ_PREFIX "<stage>): say with --stage S which "
                     "stage's queues its messages may go back to (the others are left); nothing was sent",
                     opts->queue);
        return VZ_EINVAL;
    }
    if (named[0] && opts->stage && *opts->stage && strcmp(named, opts->stage) != 0) {
        vz_error_set(err, "DLQ.OtherStage",
                     "%s is the dead-letter queue of stage %s, not of stage %.64s: its messages go back to stage "
                     "%s's queues only; nothing was sent",
                     opts->queue, named, opts->stage, named);
        return VZ_EINVAL;
    }
    return run(c, opts, out, sum, true, err);
}

static int usage(FILE *out)
{
    fprintf(out, "usage: vz-events dlq list|redrive [--stage S | --queue NAME [--stage S]] [--handler H] [--dry-run] "
                 "[--json]\n"
                 "The dead-letter queue of stage S (default VZ_STAGE) is " VZ_DLQ_PREFIX "S; a redrive of\n"
                 "another queue (--queue) needs --stage S, the stage whose queues it may feed.\n"
                 "list: each message's source queue, receive count, age and key (never the payload).\n"
                 "redrive: send each message back to its own source queue (SQS's DeadLetterQueueSourceArn,\n"
                 "a queue of the same stage, never a dead-letter queue), then delete it from the\n"
                 "dead-letter queue; --handler H only H's messages; --dry-run sends and deletes nothing.\n"
                 "Uses AWS_REGION, the AWS credentials and AWS_ENDPOINT_URL_SQS as the functions do.\n");
    return 2;
}

int vz_cmd_dlq(int argc, char **argv)
{
    static const struct option longopts[] = {{"stage", required_argument, NULL, 's'},
                                             {"queue", required_argument, NULL, 'q'},
                                             {"handler", required_argument, NULL, 'H'},
                                             {"dry-run", no_argument, NULL, 'n'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    if (argc < 2 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "redrive") != 0)) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            usage(stdout);
            return 0;
        }
        return usage(stderr);
    }
    bool redrive = strcmp(argv[1], "redrive") == 0;
    const char *stage = getenv("VZ_STAGE"), *queue = NULL, *stage_opt = NULL;
    vz_dlq_options opts = {NULL, NULL, false, false, 0, 0, NULL};
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "s:q:H:njh", longopts, NULL)) != -1) {
        if (c == 's')
            stage = stage_opt = optarg;
        else if (c == 'q')
            queue = optarg;
        else if (c == 'H')
            opts.handler = optarg;
        else if (c == 'n')
            opts.dry_run = true;
        else if (c == 'j')
            opts.json = true;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else
            return usage(stderr);
    }
    if (optind != argc - 1)
        return usage(stderr);
    char name[128];
    if (queue) {
        snprintf(name, sizeof name, "%s", queue);
        opts.stage = stage_opt; /* --queue NAME --stage S: the stage whose queues it may feed */
    } else if (stage && *stage) {
        snprintf(name, sizeof name, VZ_DLQ_PREFIX "%s", stage);
    } else {
        fprintf(stderr, "vz-events dlq: say which dead-letter queue: --stage S (or VZ_STAGE), or --queue NAME\n");
        return 2;
    }
    if (!vz_sqs_queue_name_valid(name, strlen(name))) {
        fprintf(stderr, "vz-events dlq: \"%.100s\" is not an SQS queue name\n", name);
        return 2;
    }
    opts.queue = name;
    vz_sqs_client_config cfg;
    vz_error err = {{0}, {0}};
    vz_sqs_client *client = NULL;
    if (vz_sqs_client_config_from_env(&cfg, &err) != VZ_OK || !(client = vz_sqs_client_new(&cfg, &err))) {
        fprintf(stderr, "vz-events dlq: %s\n", err.message);
        return 1;
    }
    vz_dlq_summary sum;
    vz_status st =
        redrive ? vz_dlq_redrive(client, &opts, stdout, &sum, &err) : vz_dlq_list(client, &opts, stdout, &sum, &err);
    vz_sqs_client_free(client);
    if (st != VZ_OK && sum.messages == 0)
        ; /* nothing happened: the error below says why */
    else if (opts.json)
        printf("{\"queue\":\"%s\",\"messages\":%zu,\"selected\":%zu,\"sent\":%zu,\"deleted\":%zu,\"failed\":%zu,"
               "\"noSource\":%zu,\"refused\":%zu,\"dryRun\":%s}\n",
               name, sum.messages, sum.selected, sum.sent, sum.deleted, sum.failed, sum.no_source, sum.refused,
               opts.dry_run ? "true" : "false");
    else if (redrive)
        printf("%s: %zu messages, %zu selected, %zu sent back to their own queues and deleted%s, %zu failed, "
               "%zu without a source queue, %zu refused (another stage's queue or a dead-letter queue)\n",
               name, sum.messages, sum.selected, sum.deleted, opts.dry_run ? " (dry run: none)" : "", sum.failed,
               sum.no_source, sum.refused);
    else
        printf("%s: %zu messages, %zu shown\n", name, sum.messages, sum.selected);
    if (st != VZ_OK) {
        fprintf(stderr, "vz-events dlq: %s\n", err.message);
        return 1;
    }
    if (sum.refused)
        fprintf(stderr,
                "vz-events dlq: %zu messages left in %s: their source queue is another stage's or a dead-letter "
                "queue (lines \"refused\" above); move them by hand to the queue they belong to, or delete them\n",
                sum.refused, name);
    return sum.failed || sum.refused ? 1 : 0;
}
