/* log.c -- structured logging (see log.h).
 *
 * Each line is assembled in full and written with a single fwrite so that
 * lines from concurrent writers (the runtime and a child) do not interleave.
 * Values come from outside (message ids, queue names, error texts): JSON
 * escapes them, and the text form escapes control characters, so that no
 * value can end a line and forge the next one. */
#include "vz/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static struct {
    int json;
    vz_log_level min_level;
    FILE *out;
    char request_id[128];
} g_log = {0, VZ_LOG_INFO, NULL, ""};

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

const char *vz_log_level_name(vz_log_level level)
{
    if ((int)level < 0 || level > VZ_LOG_FATAL)
        return "INFO";
    return level_names[level];
}

int vz_log_level_parse(const char *s, vz_log_level *level)
{
    if (!s)
        return -1;
    for (int i = 0; i <= VZ_LOG_FATAL; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *level = (vz_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "WARNING") == 0) {
        *level = VZ_LOG_WARN;
        return 0;
    }
    return -1;
}

void vz_log_configure(int json, vz_log_level min_level, FILE *out)
{
    g_log.json = json;
    g_log.min_level = min_level;
    g_log.out = out;
}

void vz_log_configure_from_env(void)
{
    const char *fmt = getenv("AWS_LAMBDA_LOG_FORMAT");
    vz_log_level level = VZ_LOG_INFO;
    const char *lv = getenv("AWS_LAMBDA_LOG_LEVEL");
    int bad_level = lv && *lv && vz_log_level_parse(lv, &level) != 0;
    vz_log_configure(fmt && strcasecmp(fmt, "JSON") == 0, level, NULL);
    if (bad_level)
        vz_log(VZ_LOG_WARN, NULL,
               "AWS_LAMBDA_LOG_LEVEL=%s is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL; using INFO", lv);
}

int vz_log_enabled(vz_log_level level)
{
    return level >= g_log.min_level;
}

void vz_log_set_request_id(const char *request_id)
{
    snprintf(g_log.request_id, sizeof g_log.request_id, "%s", request_id ? request_id : "");
}

static void timestamp_rfc3339(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000L);
}

static void write_line(const char *line)
{
    FILE *out = g_log.out ? g_log.out : stderr;
    size_t n = strlen(line);
    char *buf = malloc(n + 2);
    if (!buf) {
        fputs(line, out);
        fputc('\n', out);
        return;
    }
    memcpy(buf, line, n);
    buf[n] = '\n';
    buf[n + 1] = '\0';
    fwrite(buf, 1, n + 1, out);
    free(buf);
    fflush(out);
}

/* Milliseconds rounded down to the microsecond; a value too large for that (never a real duration) as is. */
static double round_ms(double ms)
{
    if (!(ms < 1e12))
        return ms;
    return (double)(long long)(ms * 1000.0) / 1000.0;
}

static void log_json(vz_log_level level, const vz_log_fields *f, const char *ts, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddStringToObject(o, "level", vz_log_level_name(level));
    cJSON_AddStringToObject(o, "message", msg);
    if (g_log.request_id[0])
        cJSON_AddStringToObject(o, "requestId", g_log.request_id);
    if (f) {
        if (f->handler)
            cJSON_AddStringToObject(o, "handler", f->handler);
        if (f->message_id)
            cJSON_AddStringToObject(o, "messageId", f->message_id);
        if (f->outcome)
            cJSON_AddStringToObject(o, "outcome", f->outcome);
        if (f->duration_ms >= 0)
            cJSON_AddNumberToObject(o, "durationMs", round_ms(f->duration_ms));
        if (f->extra && cJSON_IsObject(f->extra)) {
            for (const cJSON *it = f->extra->child; it; it = it->next)
                if (it->string && !cJSON_HasObjectItem(o, it->string))
                    cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
        }
    }
    char *line = cJSON_PrintUnformatted(o);
    if (line) {
        write_line(line);
        cJSON_free(line);
    }
    cJSON_Delete(o);
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap + n + 1) * 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

/* Append s with control characters escaped (\n, \r, \t, \xHH): a value never starts a new log line. */
static void append_escaped(char **buf, size_t *len, size_t *cap, const char *s)
{
    char tmp[256];
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (k + 5 >= sizeof tmp) {
            tmp[k] = '\0';
            append(buf, len, cap, tmp);
            k = 0;
        }
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            tmp[k++] = '\\';
            tmp[k++] = (char)(*p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        } else if (*p < 0x20 || *p == 0x7f) {
            k += (size_t)snprintf(tmp + k, sizeof tmp - k, "\\x%02x", *p);
        } else {
            tmp[k++] = (char)*p;
        }
    }
    tmp[k] = '\0';
    append(buf, len, cap, tmp);
}

static void log_text(vz_log_level level, const vz_log_fields *f, const char *ts, const char *msg)
{
    size_t len = 0, cap = 256;
    char *buf = malloc(cap);
    if (!buf)
        return;
    buf[0] = '\0';
    char tmp[192];
    snprintf(tmp, sizeof tmp, "%s %-5s ", ts, vz_log_level_name(level));
    append(&buf, &len, &cap, tmp);
    if (g_log.request_id[0]) {
        append(&buf, &len, &cap, "[");
        append_escaped(&buf, &len, &cap, g_log.request_id);
        append(&buf, &len, &cap, "] ");
    }
    append_escaped(&buf, &len, &cap, msg);
    if (f) {
        const char *keys[] = {"handler", "messageId", "outcome"};
        const char *vals[] = {f->handler, f->message_id, f->outcome};
        for (int i = 0; i < 3; i++) {
            if (!vals[i])
                continue;
            snprintf(tmp, sizeof tmp, " %s=", keys[i]);
            append(&buf, &len, &cap, tmp);
            append_escaped(&buf, &len, &cap, vals[i]);
        }
        if (f->duration_ms >= 0) {
            snprintf(tmp, sizeof tmp, " durationMs=%.3f", f->duration_ms);
            append(&buf, &len, &cap, tmp);
        }
        if (f->extra && cJSON_IsObject(f->extra)) {
            for (const cJSON *it = f->extra->child; it; it = it->next) {
                if (!it->string)
                    continue;
                append(&buf, &len, &cap, " ");
                append_escaped(&buf, &len, &cap, it->string);
                append(&buf, &len, &cap, "=");
                if (cJSON_IsString(it)) {
                    append_escaped(&buf, &len, &cap, it->valuestring);
                } else {
                    char *v = cJSON_PrintUnformatted(it);
                    if (v) {
                        append(&buf, &len, &cap, v);
                        cJSON_free(v);
                    }
                }
            }
        }
    }
    write_line(buf);
    free(buf);
}

void vz_log(vz_log_level level, const vz_log_fields *fields, const char *fmt, ...)
{
    if (!vz_log_enabled(level))
        return;
    char small[1024];
    char *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            va_start(ap, fmt);
            vsnprintf(big, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = big;
        }
    }
    char ts[40];
    timestamp_rfc3339(ts, sizeof ts);
    if (g_log.json)
        log_json(level, fields, ts, msg);
    else
        log_text(level, fields, ts, msg);
    if (msg != small)
        free(msg);
}

void vz_log_flush(void)
{
    fflush(g_log.out ? g_log.out : stderr);
}
