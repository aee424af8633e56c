/* metrics.h -- CloudWatch metrics as Embedded Metric Format (EMF) objects in the log.
 *
 * No API call is made: CloudWatch Logs extracts a metric from every log line
 * that is a JSON object with an `_aws` member (Timestamp, CloudWatchMetrics:
 * namespace, dimension sets, metric names and units) and, at the top level,
 * each dimension's value (a string) and each metric's value (a number).
 * Namespace VZ_METRICS_NAMESPACE; the Stage dimension is VZ_STAGE ("local"
 * when unset).  Dimensions stay low in cardinality: handler names, a stage,
 * an HTTP status, a known event name; never a message id or a row key.
 *
 * A metric line is an INFO line.  It is the same JSON object in both log
 * formats: in the JSON format it is the log line itself (timestamp, level,
 * message, requestId and the EMF members), in the TEXT format the same object
 * is written on a line of its own, so that metrics do not depend on the
 * format.  Like every INFO line it is dropped when the log level is above INFO.
 */
#ifndef VZ_METRICS_H
#define VZ_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "vz/jsonw.h"

#define VZ_METRICS_NAMESPACE "VisionZero/Events"

/* One metric of an EMF object: name, CloudWatch unit ("Count", "Milliseconds") and value. */
typedef struct vz_metric {
    const char *name;
    const char *unit;
    double value;
} vz_metric;

/* What a batch did for one handler (batch.c fills it). */
typedef struct vz_metrics_batch {
    size_t succeeded; /* records handled */
    size_t failed;    /* records failed */
    size_t skipped;   /* records not started for the deadline (or FIFO order) */
    size_t written;   /* succeeded records that changed a row */
    size_t unchanged; /* succeeded records whose row already held the value */
    double duration_ms;
} vz_metrics_batch;

/* The Stage dimension: VZ_STAGE, or "local" when unset or empty (points into the environment or static). */
const char *vz_metrics_stage(void);

/* Append to w the members of an EMF object, without its braces: `_aws` (namespace VZ_METRICS_NAMESPACE,
 * Timestamp ts_ms, the dimension sets `sets`: nsets arrays of dimension names, each NULL-terminated, and
 * the metrics' names and units), then the dimension values `dims` (a NULL-terminated list of name,
 * value, name, value, ...) and the metrics' values at the top level. */
void vz_metrics_members(vz_jsonw *w, int64_t ts_ms, const char *const *const *sets, size_t nsets,
                        const char *const *dims, const vz_metric *metrics, size_t nmetrics);

/* The processing metrics of one handler for one batch, dimensions [Handler, Stage]. */
void vz_metrics_emit_batch(const char *handler, const vz_metrics_batch *b);

/* The endpoint's Requests metric (1), dimension sets [Stage, Status] and [Stage, EventName];
 * handler is the handler the event name names, or NULL for "unknown". */
void vz_metrics_emit_request(int status, const char *handler);

/* The endpoint's Rerouted metric (1): a pull request's event sent to the handler's staging queue because the
 * pull request's queue is gone; dimension sets [Stage] and [Stage, EventName] (the handler). */
void vz_metrics_emit_reroute(const char *handler);

/* Reconcile's Drift and DriftFixed counts of one handler, dimensions [Handler, Stage]. */
void vz_metrics_emit_drift(const char *handler, double drift, double fixed);

#endif
