/* dlq.h -- the dead-letter queue of a stage: list its messages, send each back to its own queue.
 *
 * Every stage's queues move a message that failed three receives to the
 * stage's dead-letter queue, atd-vz-data-events-deadletter_<stage>; SQS
 * stamps it with the queue it came from (the DeadLetterQueueSourceArn system
 * attribute; a message attribute of that name is the sender's and is never
 * read).  One dead-letter queue holds every handler's failures, so a redrive
 * must send each message back to its own source queue, never all of them to
 * one; and only to a queue of the dead-letter queue's own stage that is not a
 * dead-letter queue: any other message is left in place and counted refused.
 * Both commands go through the project's SQS client (sqs_client.h) and show,
 * for each message, its source queue, receive count, age and the record's key
 * (crash_id or case_id), never the payload.
 *
 * Messages are received in pages of ten and hidden (VisibilityTimeout) while
 * the command runs, so that each is seen once; those left in the queue
 * (listed, filtered out, failed) are made visible again at the end.  A
 * redrive deletes a message from the dead-letter queue only after SQS
 * accepted its copy on the source queue.  Run twice, the second run finds
 * only what the first left; and if a delete fails after its send, the message
 * is sent again by the next run: the handlers are idempotent, so a duplicate
 * event writes nothing.
 */
#ifndef VZ_DLQ_H
#define VZ_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "vz/error.h"
#include "vz/sqs_client.h"

#define VZ_DLQ_PREFIX "atd-vz-data-events-deadletter_"
#define VZ_DLQ_DEFAULT_VISIBILITY_S 300

typedef struct vz_dlq_options {
    const char *queue;   /* the dead-letter queue's name */
    const char *handler; /* only messages whose source queue belongs to this handler; NULL = all */
    bool dry_run;        /* redrive: say what would be sent, send and delete nothing */
    bool json;           /* one JSON object a line instead of text */
    int visibility_s;    /* how long received messages stay hidden; 0 = VZ_DLQ_DEFAULT_VISIBILITY_S */
    int wait_s;          /* long poll of each receive, seconds; 0 = 1 */
    const char *stage;   /* redrive: the stage whose queues it may feed; NULL = the one the queue's name,
                            VZ_DLQ_PREFIX<stage>, says (required for a queue not so named) */
} vz_dlq_options;

typedef struct vz_dlq_summary {
    size_t messages;  /* distinct messages received from the dead-letter queue */
    size_t selected;  /* of those, matching --handler */
    size_t sent;      /* copies accepted by their source queue (redrive) */
    size_t deleted;   /* removed from the dead-letter queue after their send */
    size_t failed;    /* sends or deletes that failed (the message stays, or comes back) */
    size_t no_source; /* messages without a usable DeadLetterQueueSourceArn: left alone */
    size_t refused;   /* redrive: messages whose source is another stage's queue or a dead-letter queue: left */
} vz_dlq_summary;

/* List the queue's messages on out (never a payload). VZ_OK, or the failure that stopped it (err set). */
vz_status vz_dlq_list(vz_sqs_client *c, const vz_dlq_options *opts, FILE *out, vz_dlq_summary *sum, vz_error *err);

/* Send each selected message back to its source queue, then delete it from the dead-letter queue.  Only the
 * queues of one stage are fed: the stage of opts->queue's name, VZ_DLQ_PREFIX<stage>, or for a queue not so
 * named opts->stage; VZ_EINVAL (nothing received) when there is none or the two differ. */
vz_status vz_dlq_redrive(vz_sqs_client *c, const vz_dlq_options *opts, FILE *out, vz_dlq_summary *sum, vz_error *err);

/* `vz-events dlq list|redrive [--stage S | --queue NAME] [--handler H] [--dry-run] [--json]`; exit status. */
int vz_cmd_dlq(int argc, char **argv);

#endif
