/* metrics.c -- EMF objects written as log lines (see metrics.h).
 *
 * An object's members are written straight as JSON text (vz_jsonw: a cJSON tree
 * built and printed for each batch cost as much as the batch's records) and
 * handed to the log as members of one line, so that it carries the line's
 * timestamp, level and request id like any other. */
#include "vz/metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "vz/handler.h"
#include "vz/log.h"

const char *vz_metrics_stage(void)
{
    const char *s = getenv("VZ_STAGE");
    return s && *s ? s : "local";
}

void vz_metrics_members(vz_jsonw *w, int64_t ts_ms, const char *const *const *sets, size_t nsets,
                        const char *const *dims, const vz_metric *metrics, size_t nmetrics)
{
    vz_jsonw_cstr(w, "\"_aws\":{\"CloudWatchMetrics\":[{\"Dimensions\":[");
    for (size_t i = 0; i < nsets; i++) {
        vz_jsonw_raw(w, i ? ",[" : "[", i ? 2 : 1);
        for (const char *const *n = sets[i]; *n; n++) {
            if (n != sets[i])
                vz_jsonw_raw(w, ",", 1);
            vz_jsonw_string(w, *n);
        }
        vz_jsonw_raw(w, "]", 1);
    }
    vz_jsonw_cstr(w, "],\"Metrics\":[");
    for (size_t i = 0; i < nmetrics; i++) {
        vz_jsonw_cstr(w, i ? ",{\"Name\":" : "{\"Name\":");
        vz_jsonw_string(w, metrics[i].name);
        vz_jsonw_cstr(w, ",\"Unit\":");
        vz_jsonw_string(w, metrics[i].unit);
        vz_jsonw_raw(w, "}", 1);
    }
    vz_jsonw_cstr(w, "],\"Namespace\":\"" VZ_METRICS_NAMESPACE "\"}],\"Timestamp\":");
    vz_jsonw_number(w, (double)ts_ms);
    vz_jsonw_raw(w, "}", 1);
    for (const char *const *p = dims; p[0] && p[1]; p += 2) {
        vz_jsonw_key(w, p[0]);
        vz_jsonw_string(w, p[1]);
    }
    for (size_t i = 0; i < nmetrics; i++) {
        vz_jsonw_key(w, metrics[i].name);
        vz_jsonw_number(w, metrics[i].value);
    }
}

static void emit(const char *const *const *sets, size_t nsets, const char *const *dims, const vz_metric *m, size_t n,
                 const char *message)
{
    if (!vz_log_enabled(VZ_LOG_INFO))
        return;
    vz_jsonw w;
    vz_jsonw_init(&w);
    vz_metrics_members(&w, vz_now_ms(), sets, nsets, dims, m, n);
    if (!w.cut) { /* a metric cut short would be no EMF object at all */
        w.p[w.len] = '\0';
        vz_log_fields f = VZ_LOG_FIELDS_NONE;
        f.members = w.p;
        vz_log_json(VZ_LOG_INFO, &f, "%s", message);
    }
    vz_jsonw_free(&w);
}

/* A duration in ms kept to the microsecond (the log's precision elsewhere). */
static double microseconds(double ms)
{
    return ms >= 0 && ms < 1e12 ? (double)(long long)(ms * 1000.0 + 0.5) / 1000.0 : 0;
}

static const char *const handler_stage[] = {"Handler", "Stage", NULL};

void vz_metrics_emit_batch(const char *handler, const vz_metrics_batch *b)
{
    const char *const *sets[] = {handler_stage};
    const char *dims[] = {"Handler", handler ? handler : "unknown", "Stage", vz_metrics_stage(), NULL};
    const vz_metric m[] = {
        {"RecordsSucceeded", "Count", (double)b->succeeded},
        {"RecordsFailed", "Count", (double)b->failed},
        {"RecordsSkipped", "Count", (double)b->skipped},
        {"RecordsWritten", "Count", (double)b->written},
        {"RecordsUnchanged", "Count", (double)b->unchanged},
        {"BatchDuration", "Milliseconds", microseconds(b->duration_ms)},
    };
    emit(sets, 1, dims, m, sizeof m / sizeof m[0], "metrics: batch");
}

void vz_metrics_emit_request(int status, const char *handler)
{
    static const char *const by_status[] = {"Stage", "Status", NULL};
    static const char *const by_name[] = {"Stage", "EventName", NULL};
    const char *const *sets[] = {by_status, by_name};
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    const char *dims[] = {"Stage", vz_metrics_stage(), "Status", code, "EventName", handler ? handler : "unknown",
                          NULL};
    const vz_metric m[] = {{"Requests", "Count", 1}};
    emit(sets, 2, dims, m, 1, "metrics: request");
}

void vz_metrics_emit_reroute(const char *handler)
{
    static const char *const by_stage[] = {"Stage", NULL};
    static const char *const by_name[] = {"Stage", "EventName", NULL};
    const char *const *sets[] = {by_stage, by_name};
    const char *dims[] = {"Stage", vz_metrics_stage(), "EventName", handler ? handler : "unknown", NULL};
    const vz_metric m[] = {{"Rerouted", "Count", 1}};
    emit(sets, 2, dims, m, 1, "metrics: rerouted");
}

void vz_metrics_emit_drift(const char *handler, double drift, double fixed)
{
    const char *const *sets[] = {handler_stage};
    const char *dims[] = {"Handler", handler, "Stage", vz_metrics_stage(), NULL};
    const vz_metric m[] = {{"Drift", "Count", drift}, {"DriftFixed", "Count", fixed}};
    emit(sets, 1, dims, m, 2, "metrics: reconcile");
}
