/* endpoint.h -- the `/events/` endpoint: Hasura's event trigger → an SQS queue.
 *
 * When an invocation is an HTTP request (a Lambda function URL or API Gateway
 * HTTP API event, payload 2.0, or the REST API 1.0 shape) the function is the
 * ingress endpoint instead of a queue consumer.  A request is queued only when:
 *   - it is a POST or PUT (else 405) to a path ending in /events or /events/ (else 404);
 *   - the header HASURA_EVENT_API or HASURA_TRIGGER_API_KEY (any letter case)
 *     equals the function's HASURA_EVENT_API secret, compared in constant time
 *     (else 403 {"message": "Forbidden Request"});
 *   - HASURA_EVENT_NAME is present (else 403 "... Missing Event Name"), made of
 *     letters, digits, '_' and '-', short enough for an 80-character queue name
 *     (else 400), and names a stage this endpoint's environment serves:
 *     VZ_STAGE=production serves production only, staging serves staging and
 *     every pr_<N>, unset or "local" serves all (else 403 "Forbidden Request:
 *     event name ... is for stage ..., which the <env> endpoint does not serve");
 *   - a pull request's name, <handler>_pr_<N>, is sent for any well-formed handler
 *     name (vz_endpoint_handler_name_ok: deploy/render --check-name's rules; else
 *     403 "Forbidden Request: event name ...: ... is not a handler name: ..."),
 *     built in or not: the pull request's own build is what reads its queue;
 *   - any other name is a handler built into this binary followed by a stage
 *     suffix, "crash_update_location_staging" (else 403 "... Unknown Event Name"),
 *     and the handler is deployed in that stage: listed in VZ_DEPLOYED_HANDLERS,
 *     comma-separated; an unset list allows every handler built in (else 403
 *     "Forbidden Request: handler ... is not deployed in stage ...");
 *   - the body (base64-decoded when isBase64Encoded) is at most 256 KiB (else 413)
 *     and is a JSON object in UTF-8 (else 400).
 * It then goes to queue <prefix><name> with DelaySeconds=10, and the answer is
 * 200 {"message": "Update queued: <MessageId>"}, or 503 {"message": "Unable to
 * queue update request: <reason>"} where the reason names no secret.  When a
 * pull request's queue does not exist (the pull request was closed while a
 * trigger still names it) and staging has the handler (built in, and listed in
 * VZ_DEPLOYED_HANDLERS when that is set), the event goes to the handler's staging
 * queue instead: 200 with the message saying so and the members "queue" and
 * "reroutedFrom", a WARN line and the metric Rerouted; without it, 503.  Every
 * answer carries its true HTTP status.  The response given to the Runtime is the
 * function URL / API Gateway response object {statusCode, headers, body}.
 */
#ifndef VZ_ENDPOINT_H
#define VZ_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "vz/handler.h"
#include "vz/registry.h"

/* Seconds SQS holds a queued event before consumers see it (as production did). */
#define VZ_ENDPOINT_DELAY_SECONDS 10

/* The longest handler name (deploy/render's MAX_HANDLER_NAME): Lambda's 64-character function name less
 * the default queue prefix and the longest stage suffix, "_pr_" and 7 digits. */
#define VZ_MAX_HANDLER_NAME (64 - (int)(sizeof VZ_DEFAULT_QUEUE_PREFIX - 1) - (int)(sizeof "_pr_" - 1) - 7)

/* Whether a parsed event is an HTTP request (function URL / API Gateway 2.0 or 1.0 shape). */
bool vz_endpoint_is_http_event(const cJSON *root);

/* Answer one HTTP event. queue_prefix NULL = the default. On VZ_OK *response is the response object
 * as JSON text (malloc'd, caller frees) and *status its HTTP status; fails only on VZ_ENOMEM. */
vz_status vz_endpoint_run(const vz_context *ctx, const char *queue_prefix, const cJSON *event, char **response,
                          int *status, vz_error *err);

/* Release the endpoint's SQS client (its connection and queue URL cache); safe to call twice. */
void vz_endpoint_shutdown(void);

/* Whether `given` equals `secret`, in time that depends only on given_len. */
bool vz_endpoint_secret_equal(const char *given, size_t given_len, const char *secret, size_t secret_len);

/* Check an event name under queue_prefix (NULL = default): 0 when it may be queued, else the HTTP status
 * (403 empty, unknown, not a handler name, another environment's stage or a handler not deployed there;
 * 400 malformed) with the reason in why.  Reads VZ_STAGE and VZ_DEPLOYED_HANDLERS (see above). */
int vz_endpoint_check_name(const char *name, const char *queue_prefix, char *why, size_t why_len);

/* Whether the n bytes of `name` may name a handler, by deploy/render --check-name's rules: lower-case
 * letters, digits and '_', starting with a letter, not ending with '_', no "__", not a reserved name
 * (deadletter, reconcile, endpoint, bootstrap), no word pr/staging/production/local, at most
 * VZ_MAX_HANDLER_NAME characters, no CloudFormation name of the stage's own.  Else false, the reason
 * (deploy/render's words) in why.  tests/fixtures/handler-names.txt holds both to the same verdicts. */
bool vz_endpoint_handler_name_ok(const char *name, size_t n, char *why, size_t why_len);

#endif
