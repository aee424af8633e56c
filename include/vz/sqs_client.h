/* sqs_client.h -- a small Amazon SQS client: the calls vz-events and its emulator make.
 *
 * Protocol: AWS JSON 1.0 (POST / with `Content-Type: application/x-amz-json-1.0`
 * and `X-Amz-Target: AmazonSQS.<Action>`), the protocol current AWS SDKs use and
 * that both real SQS and the local test server (local-aws-sqs) speak.  Requests
 * are signed with our own AWS Signature V4 (vz/sigv4.h), which signs exactly the
 * headers sent (libcurl's own signer, before curl 8.3, also signed a header it had
 * been told to drop), using the credentials Lambda provides in the environment; a
 * session token goes in `X-Amz-Security-Token`.  The endpoint is `AWS_ENDPOINT_URL_SQS`, else
 * `AWS_ENDPOINT_URL`, else https://sqs.<region>.amazonaws.com.
 *
 * One client holds one curl easy handle (one keep-alive connection) and a cache
 * of queue URLs, resolved once per queue name with GetQueueUrl.  A client is not
 * thread-safe: one per thread.  Errors fill a vz_error whose type is the SQS
 * error code ("QueueDoesNotExist", "AccessDenied", ...) or "SQS.Transport", and
 * whose message never holds a credential.
 */
#ifndef VZ_SQS_CLIENT_H
#define VZ_SQS_CLIENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "vz/error.h"

/* Bodies larger than this are refused by SQS (256 KiB). */
#define VZ_SQS_MAX_MESSAGE_BYTES ((size_t)256 * 1024)
/* Longest queue name SQS accepts (".fifo" included). */
#define VZ_SQS_MAX_QUEUE_NAME 80

typedef struct vz_sqs_client vz_sqs_client;

typedef struct vz_sqs_client_config {
    const char *region;        /* e.g. "us-east-1"; required */
    const char *endpoint;      /* base URL without trailing path, or NULL for the regional AWS endpoint */
    const char *access_key_id; /* required */
    const char *secret_key;    /* required */
    const char *session_token; /* NULL or "" when the credentials are long-lived */
    long timeout_ms;           /* default per-request cap; 0 = 10 s */
    long attempt_timeout_ms;   /* cap of each retried attempt but the last (whose cap is the time left) and,
                                  halved, of its connection set-up; 0 = 2 s */
    const int *cancel;         /* optional: once *cancel is non-zero (set atomically) a request in progress,
                                  a long poll included, is abandoned within a second with VZ_EIO */
} vz_sqs_client_config;

/* Config from AWS_REGION (else AWS_DEFAULT_REGION), AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, VZ_SQS_ATTEMPT_TIMEOUT_MS. Strings point into the
 * environment. Returns VZ_EINVAL with err naming the missing variable (never its value). */
vz_status vz_sqs_client_config_from_env(vz_sqs_client_config *cfg, vz_error *err);

/* A new client for cfg (strings are copied); caller frees it with vz_sqs_client_free. NULL on OOM/curl failure. */
vz_sqs_client *vz_sqs_client_new(const vz_sqs_client_config *cfg, vz_error *err);

/* Release the client, its connection and its cache. Accepts NULL. */
void vz_sqs_client_free(vz_sqs_client *c);

/* The endpoint the client talks to (static to the client). */
const char *vz_sqs_client_endpoint(const vz_sqs_client *c);

/* Call `action` with the JSON request `req` (may be NULL for {}); on VZ_OK *resp is the parsed
 * answer, owned by the caller (cJSON_Delete). timeout_ms 0 = the client's default. */
vz_status vz_sqs_client_call(vz_sqs_client *c, const char *action, const cJSON *req, long timeout_ms, cJSON **resp,
                             vz_error *err);

/* The URL of queue `name`, resolved with GetQueueUrl on first use and cached; owned by the client. */
vz_status vz_sqs_client_queue_url(vz_sqs_client *c, const char *name, const char **url, vz_error *err);

/* SendMessage of `len` bytes to queue `name` with DelaySeconds `delay_s`; the MessageId goes into message_id.
 * Retried as the AWS SDKs' standard mode does (at most 3 attempts, backoff with full jitter, each failed
 * attempt logged); timeout_ms (0 = the client's default) bounds all attempts together. */
vz_status vz_sqs_client_send(vz_sqs_client *c, const char *name, const char *body, size_t len, int delay_s,
                             char message_id[128], long timeout_ms, vz_error *err);

/* CreateQueue `name` with `attributes` (an object of string values, or NULL); the URL goes into the cache.
 * *url (if not NULL) points into the client's cache. */
vz_status vz_sqs_client_create_queue(vz_sqs_client *c, const char *name, const cJSON *attributes, const char **url,
                                     vz_error *err);

/* ReceiveMessage on the queue at `url`: up to `max` messages, long polling `wait_s` seconds, hidden for
 * `visibility_s` seconds (< 0 = the queue's setting), with all system and message attributes.
 * *messages is the "Messages" array (possibly empty), owned by the caller. */
vz_status vz_sqs_client_receive(vz_sqs_client *c, const char *url, int max, int wait_s, int visibility_s,
                                cJSON **messages, vz_error *err);

/* DeleteMessageBatch of `n` receipt handles (at most 10) on the queue at `url`; VZ_EIO if any entry failed. */
vz_status vz_sqs_client_delete_batch(vz_sqs_client *c, const char *url, const char *const *receipt_handles, size_t n,
                                     vz_error *err);

/* GetQueueAttributes All on the queue at `url`; *attributes is the "Attributes" object, caller owns it. */
vz_status vz_sqs_client_attributes(vz_sqs_client *c, const char *url, cJSON **attributes, vz_error *err);

/* Messages in the queue at `url` in every state: the sum of ApproximateNumberOfMessages, ...NotVisible and
 * ...Delayed. -1 on error (err set). Zero means empty on both SQS and local-aws-sqs (which, unlike SQS,
 * also counts in-flight messages in ApproximateNumberOfMessages, so there one in flight counts twice). */
long vz_sqs_client_count(vz_sqs_client *c, const char *url, vz_error *err);

#endif
