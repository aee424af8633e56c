/* fixture.h -- build SQS events from message bodies, as SAM's generate-event does.
 *
 * Used by `vz-events event` to go from a Hasura payload to an invocable
 * fixture, and by tests and benchmarks to make batches. */
#ifndef VZ_FIXTURE_H
#define VZ_FIXTURE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Fill buf with a random UUID v4 (37 bytes incl. NUL). */
void vz_uuid4(char buf[37]);

/* A new SQS record for `body` on `queue` in `region` (NULL = us-east-1); caller owns it (cJSON_Delete).
 * FIFO queues (".fifo") get SequenceNumber, MessageGroupId and MessageDeduplicationId. NULL on OOM. */
cJSON *vz_fixture_sqs_record(const char *queue, const char *region, const char *body, size_t body_len);

/* A new empty SQS event {"Records":[]}; caller owns it. */
cJSON *vz_fixture_sqs_event(void);

#endif
