/* sqs.h -- the Lambda SQS event model.
 *
 * vz_sqs_parse() turns the JSON Lambda sends for an SQS event source mapping
 * into an array of records.  Problems are sorted by how far they reach:
 *   - the event is not an SQS event at all (not an object, no "Records" array),
 *     or a record cannot be named (not an object, messageId missing, empty or
 *     not a string): the whole invocation must fail, VZ_EINVAL with the reason;
 *   - anything else wrong with one record (body missing, a field of the wrong
 *     type, a bad attribute) marks that record `invalid` with a precise reason,
 *     so that it fails alone and SQS retries only it.
 * Strings point into the parsed tree owned by the event; vz_sqs_event_free()
 * releases everything.
 */
#ifndef VZ_SQS_H
#define VZ_SQS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vz/error.h"

typedef struct vz_sqs_attributes {
    int64_t approximate_receive_count;           /* -1 when absent */
    int64_t sent_timestamp;                      /* epoch ms, -1 when absent */
    int64_t approximate_first_receive_timestamp; /* epoch ms, -1 when absent */
    const char *sender_id;                       /* NULL when absent */
    const char *aws_trace_header;                /* NULL when absent */
    const char *dead_letter_queue_source_arn;    /* NULL when absent */
    const char *sequence_number;                 /* FIFO only */
    const char *message_group_id;                /* FIFO only */
    const char *message_deduplication_id;        /* FIFO only */
} vz_sqs_attributes;

typedef struct vz_sqs_record {
    size_t index;               /* position in the batch, from 0 */
    const char *message_id;     /* never NULL or empty in a parsed event */
    const char *receipt_handle; /* NULL when absent */
    const char *body;           /* NULL when absent (then `invalid` is set) */
    size_t body_len;            /* bytes in body */
    vz_sqs_attributes attributes;
    const cJSON *message_attributes;       /* the object as sent, or NULL */
    const char *md5_of_body;               /* NULL when absent */
    const char *md5_of_message_attributes; /* NULL when absent or null */
    const char *event_source;              /* "aws:sqs" */
    const char *event_source_arn;          /* NULL when absent */
    const char *aws_region;                /* NULL when absent */
    char queue_name[96];                   /* last ':' field of the ARN, "" when unknown */
    bool fifo;                             /* queue name ends in ".fifo" */
    char invalid[256];                     /* "" when usable, else why this record cannot run */
} vz_sqs_record;

typedef struct vz_sqs_event {
    vz_sqs_record *records; /* `count` records, malloc'd */
    size_t count;
    cJSON *root;       /* the parsed event; owns every string above */
    int root_in_arena; /* root lives in an arena (vz_json_parse): vz_sqs_event_free leaves it */
} vz_sqs_event;

/* Parse `len` bytes of JSON into *out; on VZ_EINVAL/VZ_ENOMEM *out is empty and err says why.
 * The caller owns *out and releases it with vz_sqs_event_free(). */
vz_status vz_sqs_parse(const char *json, size_t len, vz_sqs_event *out, vz_error *err);

/* Take ownership of an already parsed tree `root` (freed by vz_sqs_event_free even on error). */
vz_status vz_sqs_from_json(cJSON *root, vz_sqs_event *out, vz_error *err);

/* The same over a tree that lives in an arena (vz_json_parse): *out borrows it, never frees it. */
vz_status vz_sqs_from_arena_json(cJSON *root, vz_sqs_event *out, vz_error *err);

/* Release what vz_sqs_parse allocated; safe on a zeroed or already freed event. */
void vz_sqs_event_free(vz_sqs_event *ev);

/* Longest SQS queue name, ".fifo" included. */
#define VZ_SQS_QUEUE_NAME_MAX 80

/* Whether `len` bytes of `name` are an SQS queue name: 1 to 80 of [A-Za-z0-9_-], ".fifo" allowed at the end.
 * Nothing else (no CR/LF, '/', '.', ':' or spaces) reaches dispatch, logs or file names. */
bool vz_sqs_queue_name_valid(const char *name, size_t len);

/* Copy the queue name of `arn` (its last ':' field) into buf; returns 0, or -1 if absent, too long
 * or not a valid SQS queue name (see vz_sqs_queue_name_valid). */
int vz_sqs_queue_from_arn(const char *arn, char *buf, size_t bufsize);

/* Whether a parsed JSON value looks like an SQS event (an object with a "Records" array). */
bool vz_sqs_is_event(const cJSON *root);

#endif
