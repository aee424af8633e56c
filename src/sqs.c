/* sqs.c -- parse Lambda's SQS event (see sqs.h).
 *
 * The parser trusts nothing: every member is type-checked, and a problem is
 * charged to the narrowest thing it concerns (the event, or one record). */
#include "vz/sqs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vz/json.h"

#define EV_INVALID "Function.InvalidEvent"

bool vz_sqs_queue_name_valid(const char *name, size_t len)
{
    if (!name || len == 0 || len > VZ_SQS_QUEUE_NAME_MAX)
        return false;
    if (len > 5 && memcmp(name + len - 5, ".fifo", 5) == 0)
        len -= 5;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

int vz_sqs_queue_from_arn(const char *arn, char *buf, size_t bufsize)
{
    if (!arn || bufsize == 0)
        return -1;
    const char *colon = strrchr(arn, ':');
    const char *name = colon ? colon + 1 : arn;
    size_t n = strlen(name);
    if (n >= bufsize || !vz_sqs_queue_name_valid(name, n))
        return -1;
    memcpy(buf, name, n + 1);
    return 0;
}

bool vz_sqs_is_event(const cJSON *root)
{
    return cJSON_IsObject(root) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "Records"));
}

/* The members of obj named in keys[0..n), in one pass: found[i] is the first member named keys[i]
 * (as cJSON_GetObjectItemCaseSensitive finds it), or NULL.  An event has a dozen members per record
 * and as many lookups: one walk per lookup was a tenth of an invocation's work. */
static void members(const cJSON *obj, const char *const *keys, size_t n, const cJSON **found)
{
    size_t missing = n;
    for (size_t i = 0; i < n; i++)
        found[i] = NULL;
    for (const cJSON *it = obj ? obj->child : NULL; it && missing; it = it->next) {
        if (!it->string)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (!found[i] && it->string[0] == keys[i][0] && strcmp(it->string, keys[i]) == 0) {
                found[i] = it;
                missing--;
                break;
            }
        }
    }
}

/* Optional string member v: returns 0 with *dst set (NULL if absent or null), -1 on a wrong type. */
static int opt_string_of(const cJSON *v, const char **dst)
{
    *dst = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return -1;
    *dst = v->valuestring;
    return 0;
}

/* Parse a non-negative decimal string of at most 18 digits. */
static int parse_count(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || p - s >= 18)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

static void mark(vz_sqs_record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first problem found in a record; later ones add nothing. */
static void mark(vz_sqs_record *r, const char *fmt, ...)
{
    if (r->invalid[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->invalid, sizeof r->invalid, fmt, ap);
    va_end(ap);
}

/* The record's attributes object (NULL when absent). */
static void parse_attributes(const cJSON *attrs, vz_sqs_record *r)
{
    vz_sqs_attributes *at = &r->attributes;
    at->approximate_receive_count = -1;
    at->sent_timestamp = -1;
    at->approximate_first_receive_timestamp = -1;
    if (!attrs || cJSON_IsNull(attrs))
        return;
    if (!cJSON_IsObject(attrs)) {
        mark(r, "attributes is %s, expected an object", vz_json_type_name(attrs));
        return;
    }
    /* the three decimal strings first, then the six strings */
    static const char *const keys[] = {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "ApproximateFirstReceiveTimestamp",
        "SenderId",
        "AWSTraceHeader",
        "DeadLetterQueueSourceArn",
        "SequenceNumber",
        "MessageGroupId",
        "MessageDeduplicationId",
    };
    static const size_t offs[] = {
        offsetof(vz_sqs_attributes, approximate_receive_count),
        offsetof(vz_sqs_attributes, sent_timestamp),
        offsetof(vz_sqs_attributes, approximate_first_receive_timestamp),
        offsetof(vz_sqs_attributes, sender_id),
        offsetof(vz_sqs_attributes, aws_trace_header),
        offsetof(vz_sqs_attributes, dead_letter_queue_source_arn),
        offsetof(vz_sqs_attributes, sequence_number),
        offsetof(vz_sqs_attributes, message_group_id),
        offsetof(vz_sqs_attributes, message_deduplication_id),
    };
    enum { NUMS = 3, KEYS = sizeof keys / sizeof keys[0] };
    const cJSON *v[KEYS];
    members(attrs, keys, KEYS, v);
    for (size_t i = 0; i < NUMS; i++) {
        const char *s;
        int64_t *dst = (int64_t *)(void *)((char *)at + offs[i]);
        if (opt_string_of(v[i], &s) != 0)
            mark(r, "attributes.%s is %s, expected a decimal string", keys[i], vz_json_type_name(v[i]));
        else if (s && parse_count(s, dst) != 0)
            mark(r, "attributes.%s is \"%.40s\", expected a decimal string", keys[i], s);
    }
    for (size_t i = NUMS; i < KEYS; i++) {
        const char **dst = (const char **)(void *)((char *)at + offs[i]);
        if (opt_string_of(v[i], dst) != 0)
            mark(r, "attributes.%s is %s, expected a string", keys[i], vz_json_type_name(v[i]));
    }
}

/* What a record holds besides its messageId: the members v (found with record_keys). */
enum { REC_MESSAGE_ID, REC_BODY, REC_MESSAGE_ATTRIBUTES, REC_ATTRIBUTES, REC_STRINGS, REC_KEYS = REC_STRINGS + 6 };
static const char *const record_keys[REC_KEYS] = {
    "messageId",      "body",      "messageAttributes",      "attributes",
    "receiptHandle",  "md5OfBody", "md5OfMessageAttributes", "eventSource",
    "eventSourceARN", "awsRegion",
};

static void parse_record_fields(const cJSON *const *v, vz_sqs_record *r)
{
    static const size_t offs[] = {
        offsetof(vz_sqs_record, receipt_handle),
        offsetof(vz_sqs_record, md5_of_body),
        offsetof(vz_sqs_record, md5_of_message_attributes),
        offsetof(vz_sqs_record, event_source),
        offsetof(vz_sqs_record, event_source_arn),
        offsetof(vz_sqs_record, aws_region),
    };
    for (size_t i = REC_STRINGS; i < REC_KEYS; i++) {
        const char **dst = (const char **)(void *)((char *)r + offs[i - REC_STRINGS]);
        if (opt_string_of(v[i], dst) != 0)
            mark(r, "%s is %s, expected a string", record_keys[i], vz_json_type_name(v[i]));
    }
    const cJSON *body = v[REC_BODY];
    if (cJSON_IsString(body)) {
        r->body = body->valuestring;
        r->body_len = strlen(body->valuestring);
    } else {
        mark(r, "body is %s, expected a string", vz_json_type_name(body));
    }
    if (r->event_source && strcmp(r->event_source, "aws:sqs") != 0)
        mark(r, "eventSource is \"%.60s\", expected \"aws:sqs\"", r->event_source);
    const cJSON *ma = v[REC_MESSAGE_ATTRIBUTES];
    if (ma && !cJSON_IsNull(ma) && !cJSON_IsObject(ma))
        mark(r, "messageAttributes is %s, expected an object", vz_json_type_name(ma));
    else if (cJSON_IsObject(ma))
        r->message_attributes = ma;
    if (r->event_source_arn) {
        if (vz_sqs_queue_from_arn(r->event_source_arn, r->queue_name, sizeof r->queue_name) != 0)
            mark(r,
                 "eventSourceARN \"%.120s\" names no queue (an SQS name is 1 to 80 letters, digits, '-' or '_', "
                 "with an optional \".fifo\")",
                 r->event_source_arn);
        size_t n = strlen(r->queue_name);
        r->fifo = n > 5 && strcmp(r->queue_name + n - 5, ".fifo") == 0;
    }
    parse_attributes(v[REC_ATTRIBUTES], r);
}

void vz_sqs_event_free(vz_sqs_event *ev)
{
    if (!ev)
        return;
    free(ev->records);
    if (!ev->root_in_arena)
        cJSON_Delete(ev->root);
    ev->records = NULL;
    ev->root = NULL;
    ev->count = 0;
}

static vz_status from_json(cJSON *root, int in_arena, vz_sqs_event *out, vz_error *err)
{
    memset(out, 0, sizeof *out);
    out->root = root;
    out->root_in_arena = in_arena;
    if (!cJSON_IsObject(root)) {
        vz_error_set(err, EV_INVALID, "the event is %s, not an SQS event object with a \"Records\" array",
                     vz_json_type_name(root));
        vz_sqs_event_free(out);
        return VZ_EINVAL;
    }
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(root, "Records");
    if (!cJSON_IsArray(records)) {
        vz_error_set(err, EV_INVALID, "the event has no \"Records\" array (it is %s): not an SQS event",
                     vz_json_type_name(records));
        vz_sqs_event_free(out);
        return VZ_EINVAL;
    }
    size_t n = (size_t)cJSON_GetArraySize(records);
    out->records = calloc(n ? n : 1, sizeof *out->records);
    if (!out->records) {
        vz_error_set(err, "Runtime.OutOfMemory", "cannot allocate %zu SQS records", n);
        vz_sqs_event_free(out);
        return VZ_ENOMEM;
    }
    size_t i = 0;
    for (const cJSON *rec = records->child; rec; rec = rec->next, i++) {
        vz_sqs_record *r = &out->records[i];
        r->index = i;
        const cJSON *v[REC_KEYS];
        members(cJSON_IsObject(rec) ? rec : NULL, record_keys, REC_KEYS, v);
        const cJSON *id = v[REC_MESSAGE_ID];
        /* The answer echoes the messageId: it must be a non-empty string in valid UTF-8. */
        if (!id || !cJSON_IsString(id) || id->valuestring[0] == '\0' ||
            !vz_json_utf8_valid(id->valuestring, strlen(id->valuestring))) {
            vz_error_set(err, EV_INVALID,
                         "record %zu has no usable messageId (%s): it cannot be reported alone, so the whole "
                         "batch fails and SQS retries it",
                         i,
                         !cJSON_IsObject(rec)                                     ? "the record is not an object"
                         : id && cJSON_IsString(id) && id->valuestring[0] != '\0' ? "it is not valid UTF-8"
                                                                                  : vz_json_type_name(id));
            vz_sqs_event_free(out);
            return VZ_EINVAL;
        }
        r->message_id = id->valuestring;
        parse_record_fields(v, r);
    }
    out->count = n;
    return VZ_OK;
}

vz_status vz_sqs_from_json(cJSON *root, vz_sqs_event *out, vz_error *err)
{
    return from_json(root, 0, out, err);
}

vz_status vz_sqs_from_arena_json(cJSON *root, vz_sqs_event *out, vz_error *err)
{
    return from_json(root, 1, out, err);
}

vz_status vz_sqs_parse(const char *json, size_t len, vz_sqs_event *out, vz_error *err)
{
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t off = end && end >= json ? (size_t)(end - json) : 0;
        vz_error_set(err, EV_INVALID, "the event is not valid JSON (error near byte %zu of %zu)", off, len);
        return VZ_EINVAL;
    }
    if (!vz_json_only_space_after(json, len, end) || vz_json_has_nul_escape(json, len)) {
        vz_error_set(err, EV_INVALID, "%s",
                     vz_json_has_nul_escape(json, len)
                         ? "the event holds a NUL character (\\u0000) in a string, which SQS never sends"
                         : "the event has bytes after its JSON value");
        cJSON_Delete(root);
        return VZ_EINVAL;
    }
    return vz_sqs_from_json(root, out, err);
}
