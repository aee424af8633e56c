/* metrics.c -- EMF objects written as log lines (see metrics.h).
 *
 * An object is built as a cJSON tree (a handful per invocation, never per
 * record) and handed to the log as the extra members of one line, so that it
 * carries the line's timestamp, level and request id like any other. */
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

static cJSON *directive(const char *const *const *sets, size_t nsets, const vz_metric *metrics, size_t nmetrics)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *dims = d ? cJSON_AddArrayToObject(d, "Dimensions") : NULL;
    cJSON *list = d ? cJSON_AddArrayToObject(d, "Metrics") : NULL;
    bool ok = dims && list && cJSON_AddStringToObject(d, "Namespace", VZ_METRICS_NAMESPACE);
    for (size_t i = 0; ok && i < nsets; i++) {
        cJSON *set = cJSON_CreateArray();
        ok = set && cJSON_AddItemToArray(dims, set);
        for (const char *const *n = sets[i]; ok && *n; n++)
            ok = cJSON_AddItemToArray(set, cJSON_CreateString(*n));
    }
    for (size_t i = 0; ok && i < nmetrics; i++) {
        cJSON *m = cJSON_CreateObject();
        ok = m && cJSON_AddItemToArray(list, m) && cJSON_AddStringToObject(m, "Name", metrics[i].name) &&
             cJSON_AddStringToObject(m, "Unit", metrics[i].unit);
    }
    if (!ok) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

cJSON *vz_metrics_document(int64_t ts_ms, const char *const *const *sets, size_t nsets, const char *const *dims,
                           const vz_metric *metrics, size_t nmetrics)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *aws = doc ? cJSON_AddObjectToObject(doc, "_aws") : NULL;
    cJSON *cwm = aws ? cJSON_AddArrayToObject(aws, "CloudWatchMetrics") : NULL;
    cJSON *d = cwm ? directive(sets, nsets, metrics, nmetrics) : NULL;
    if (d && !cJSON_AddItemToArray(cwm, d)) {
        cJSON_Delete(d);
        d = NULL;
    }
    bool ok = d && cJSON_AddNumberToObject(aws, "Timestamp", (double)ts_ms);
    for (const char *const *p = dims; ok && p[0] && p[1]; p += 2)
        ok = cJSON_AddStringToObject(doc, p[0], p[1]) != NULL;
    for (size_t i = 0; ok && i < nmetrics; i++)
        ok = cJSON_AddNumberToObject(doc, metrics[i].name, metrics[i].value) != NULL;
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

void vz_metrics_emit(const cJSON *doc, const char *message)
{
    if (!doc)
        return;
    vz_log_fields f = VZ_LOG_FIELDS_NONE;
    f.extra = doc;
    vz_log_json(VZ_LOG_INFO, &f, "%s", message);
}

static void emit(const char *const *const *sets, size_t nsets, const char *const *dims, const vz_metric *m, size_t n,
                 const char *message)
{
    if (!vz_log_enabled(VZ_LOG_INFO))
        return;
    cJSON *doc = vz_metrics_document(vz_now_ms(), sets, nsets, dims, m, n);
    vz_metrics_emit(doc, message);
    cJSON_Delete(doc);
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

void vz_metrics_emit_drift(const char *handler, double drift, double fixed)
{
    const char *const *sets[] = {handler_stage};
    const char *dims[] = {"Handler", handler, "Stage", vz_metrics_stage(), NULL};
    const vz_metric m[] = {{"Drift", "Count", drift}, {"DriftFixed", "Count", fixed}};
    emit(sets, 1, dims, m, 2, "metrics: reconcile");
}
