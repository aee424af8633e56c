/* context.c -- clocks and the per-record log helper of handler.h. */
#include "vz/handler.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int64_t vz_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double vz_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int64_t vz_context_remaining_ms(const vz_context *ctx)
{
    if (!ctx || ctx->deadline_ms <= 0)
        return INT64_MAX;
    return ctx->deadline_ms - vz_now_ms();
}

void vz_handler_log(const vz_handler *h, const vz_sqs_record *record, vz_log_level level, const cJSON *extra,
                    const char *fmt, ...)
{
    if (!vz_log_enabled(level))
        return;
    vz_log_fields f = VZ_LOG_FIELDS_NONE;
    f.handler = h ? h->name : NULL;
    f.message_id = record ? record->message_id : NULL;
    f.extra = extra;
    va_list ap;
    va_start(ap, fmt);
    vz_logv(level, &f, fmt, ap);
    va_end(ap);
}
