/* batch.h -- run an SQS batch through the handlers and build the partial batch response.
 *
 * Each record runs in isolation.  A record fails alone when its queue
 * resolves to no handler, its body is not JSON for a handler that needs JSON,
 * the parser marked it invalid, or its handler fails it.  Records of a FIFO
 * queue stop at the first failure: it and every later record are reported.
 * When the deadline is near, records not yet started are reported too, so SQS
 * retries just them.  The answer lists exactly the failed messageIds:
 *   {"batchItemFailures":[{"itemIdentifier":"<messageId>"}, ...]}
 */
#ifndef VZ_BATCH_H
#define VZ_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vz/handler.h"
#include "vz/sqs.h"

#define VZ_DEFAULT_DEADLINE_MARGIN_MS 300

typedef struct vz_batch_options {
    const char *queue_prefix;   /* prefix dropped from queue names; NULL = default */
    const vz_handler *fallback; /* handler for queues that match none (_HANDLER), or NULL */
    int64_t deadline_margin_ms; /* stop starting records this close to the deadline */
} vz_batch_options;

typedef struct vz_batch_summary {
    size_t total;     /* records in the batch */
    size_t succeeded; /* handled successfully */
    size_t failed;    /* failed: invalid, unroutable, handler error */
    size_t skipped;   /* not started: deadline or an earlier FIFO failure */
} vz_batch_summary;

/* Options from the environment: VZ_QUEUE_PREFIX, _HANDLER, VZ_DEADLINE_MARGIN_MS.
 * Returns VZ_EINVAL with err set when a value is unusable (e.g. _HANDLER names no handler). */
vz_status vz_batch_options_from_env(vz_batch_options *opts, vz_error *err);

/* The margin actually applied for a batch that starts with `budget_ms` left (scaled down for short timeouts). */
int64_t vz_batch_effective_margin(int64_t margin_ms, int64_t budget_ms);

/* Process every record of `ev`; on VZ_OK *response is a new cJSON object owned by the caller
 * (free with cJSON_Delete) and *summary (if not NULL) is filled. Fails only on VZ_ENOMEM. */
vz_status vz_batch_process(const vz_batch_options *opts, const vz_context *ctx, const vz_sqs_event *ev,
                           cJSON **response, vz_batch_summary *summary, vz_error *err);

#endif
