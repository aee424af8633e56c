/* invocation.h -- one invocation, from the event's bytes to the answer's bytes.
 *
 * This is the single entry point shared by the Lambda loop and the local
 * `vz-events invoke`: it parses the event once, recognises its kind (an SQS
 * batch, or an HTTP request to the /events/ endpoint, see endpoint.h) and
 * runs it.  The answer is either a response body (VZ_OK) or an invocation
 * error with a Lambda error type (for example Function.InvalidEvent when the
 * event is not something this function serves).  The scheduled reconcile
 * function (_HANDLER=reconcile, reconcile.h) reconciles for every event.
 */
#ifndef VZ_INVOCATION_H
#define VZ_INVOCATION_H

#include <stddef.h>

#include "vz/batch.h"
#include "vz/handler.h"

typedef struct vz_invocation_result {
    char *response;           /* malloc'd JSON answer when status is VZ_OK; caller frees */
    vz_batch_summary summary; /* counts for an SQS batch */
    int http_status;          /* for an HTTP request (the /events/ endpoint): the status answered; else 0 */
} vz_invocation_result;

/* Run one event of `len` bytes. On VZ_OK result->response is set (caller frees with free());
 * otherwise err has the Lambda error type and message to report. */
vz_status vz_invocation_run(const vz_batch_options *opts, const vz_context *ctx, const char *event, size_t len,
                            vz_invocation_result *result, vz_error *err);

/* Lambda's error document {"errorMessage","errorType","stackTrace":[]} for err; malloc'd, caller frees. */
char *vz_error_body(const vz_error *err);

/* Keep the memory of large events for the next one (glibc malloc: no mmap/munmap per
 * allocation under 32 MiB, trim only past 64 MiB free); a long-lived runtime calls it once. */
void vz_invocation_tune_memory(void);

/* Call every handler's init hook once; the first failure is returned with err set. */
vz_status vz_handlers_init(vz_error *err);

/* Call every handler's shutdown hook (release connections); safe to call more than once. */
void vz_handlers_shutdown(void);

#endif
