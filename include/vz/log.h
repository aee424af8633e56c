/* log.h -- structured logging, one line per event.
 *
 * With AWS_LAMBDA_LOG_FORMAT=JSON every line is one JSON object in Lambda's
 * shape ({"timestamp":RFC 3339,"level":...,"message":...,"requestId":...})
 * plus the fields a line carries (handler, messageId, outcome, durationMs and
 * any extra).  Otherwise lines are readable text with the same content.
 * AWS_LAMBDA_LOG_LEVEL filters.  Logs go to stderr (CloudWatch takes both
 * streams; stdout stays free for `vz-events invoke`'s answer).
 * Never pass a whole payload or a secret to these functions.
 */
#ifndef VZ_LOG_H
#define VZ_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

typedef enum vz_log_level {
    VZ_LOG_TRACE = 0,
    VZ_LOG_DEBUG,
    VZ_LOG_INFO,
    VZ_LOG_WARN,
    VZ_LOG_ERROR,
    VZ_LOG_FATAL
} vz_log_level;

typedef struct vz_log_fields {
    const char *handler;    /* handler name, or NULL */
    const char *message_id; /* SQS messageId, or NULL */
    const char *outcome;    /* "succeeded", "failed", "skipped", ..., or NULL */
    double duration_ms;     /* < 0 means absent */
    const cJSON *extra;     /* object whose members are added to the line, or NULL */
    const char *members;    /* JSON members already written ("k":v,... with no leading comma), added to a
                             * line in the JSON form only (vz_log_json); NULL for none */
} vz_log_fields;

/* Field set with every member absent; start from this and fill what applies. */
#define VZ_LOG_FIELDS_NONE ((vz_log_fields){NULL, NULL, NULL, -1.0, NULL, NULL})

/* Read AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL; output goes to stderr. */
void vz_log_configure_from_env(void);

/* Set format (json != 0 for JSON lines), minimum level and stream (NULL = stderr). */
void vz_log_configure(int json, vz_log_level min_level, FILE *out);

/* Parse "TRACE".."FATAL" (any case) into *level; returns 0, or -1 if unknown. */
int vz_log_level_parse(const char *s, vz_log_level *level);

/* Name of a level as Lambda spells it ("INFO"); static string. */
const char *vz_log_level_name(vz_log_level level);

/* Whether a line at `level` would be written. */
int vz_log_enabled(vz_log_level level);

/* Set the request id stamped on every line (copied; NULL clears it). */
void vz_log_set_request_id(const char *request_id);

/* Write one line at `level` with optional fields (NULL for none). */
void vz_log(vz_log_level level, const vz_log_fields *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* vz_log with the arguments as a va_list (for functions that take a format of their own). */
void vz_logv(vz_log_level level, const vz_log_fields *fields, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Hold the lines written from now on in memory, to be written together (one write(2)) by
 * vz_log_release() or vz_log_flush(); the runtime holds an invocation's lines until just before it
 * posts the answer.  Held lines are written when 64 KiB pile up, and at release_by_ms (epoch ms;
 * 0 for no limit) a SIGALRM timer writes them and every later line goes out as it comes, so that
 * an invocation timing out loses none.  A handler that waits on something else than the database
 * layer and wants its lines seen meanwhile calls vz_log_flush() first. */
void vz_log_hold(int64_t release_by_ms);

/* Write the held lines, if any, and stop holding. */
void vz_log_release(void);

/* Write one line as vz_log does, but in the JSON form whatever the format (for lines that machines read,
 * such as metrics: the same object in both formats). */
void vz_log_json(vz_log_level level, const vz_log_fields *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write the held lines (holding goes on) and flush the log stream (before exit, on SIGTERM). */
void vz_log_flush(void);

#define vz_log_debug(...) vz_log(VZ_LOG_DEBUG, NULL, __VA_ARGS__)
#define vz_log_info(...) vz_log(VZ_LOG_INFO, NULL, __VA_ARGS__)
#define vz_log_warn(...) vz_log(VZ_LOG_WARN, NULL, __VA_ARGS__)
#define vz_log_error(...) vz_log(VZ_LOG_ERROR, NULL, __VA_ARGS__)

#endif
