/* log.c -- structured logging (see log.h).
 *
 * Each line is assembled in full and written with a single fwrite so that
 * lines from concurrent writers (the runtime and a child) do not interleave.
 * Values come from outside (message ids, queue names, error texts): JSON
 * escapes them, and the text form escapes control characters, so that no
 * value can end a line and forge the next one.
 * JSON is written directly (no intermediate tree): the log is on the hot path
 * of every record, and building a cJSON object per line cost more than the
 * record's own parsing. */
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
    /* gmtime_r + strftime cost more than the rest of a line: redo them once a second. */
    static time_t cached_sec = (time_t)-1;
    static char cached[24];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = ts.tv_sec;
    }
    snprintf(buf, n, "%.20s.%03dZ", cached, (int)(ts.tv_nsec / 1000000L) % 1000);
}

/* A growable line buffer; on allocation failure it stops growing and the
 * line is cut, never corrupted (the JSON is closed properly by the caller). */
typedef struct line {
    char *p;
    size_t len, cap;
    char small[1024];
} line;

static void line_init(line *l)
{
    l->p = l->small;
    l->len = 0;
    l->cap = sizeof l->small;
}

static int line_reserve(line *l, size_t n)
{
    if (l->len + n + 2 <= l->cap)
        return 0;
    size_t ncap = (l->len + n + 2) * 2;
    char *np = l->p == l->small ? malloc(ncap) : realloc(l->p, ncap);
    if (!np)
        return -1;
    if (l->p == l->small)
        memcpy(np, l->small, l->len);
    l->p = np;
    l->cap = ncap;
    return 0;
}

static void line_put(line *l, const char *s, size_t n)
{
    if (line_reserve(l, n) == 0) {
        memcpy(l->p + l->len, s, n);
        l->len += n;
    }
}

static void line_puts(line *l, const char *s)
{
    line_put(l, s, strlen(s));
}

/* Append s as a JSON string literal: quotes, escapes, control characters as \u00XX.
 * Bytes >= 0x80 pass through (UTF-8 stays UTF-8). */
static void line_json_string(line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    line_put(l, "\"", 1);
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        line_put(l, run, (size_t)(p - run));
        if (c == 0)
            break;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        line_put(l, esc, n);
        run = p + 1;
    }
    line_put(l, "\"", 1);
}

/* Append s with control characters escaped (\n, \r, \t, \xHH): a value never starts a new text line. */
static void line_text_escaped(line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != 0x7f)
            continue;
        line_put(l, run, (size_t)(p - run));
        if (c == 0)
            break;
        char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        if (c == '\n' || c == '\r' || c == '\t') {
            esc[1] = (char)(c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
            line_put(l, esc, 2);
        } else {
            line_put(l, esc, 4);
        }
        run = p + 1;
    }
}

/* Append a duration in ms with microsecond precision; "null" for a value no clock gives (inf, NaN, > 1e12). */
static void line_duration(line *l, double ms)
{
    char num[40];
    if (ms < 1e12)
        snprintf(num, sizeof num, "%.3f", ms);
    else
        snprintf(num, sizeof num, "null");
    line_puts(l, num);
}

static void line_json_number(line *l, double v)
{
    char num[40];
    if (!(v > -1e308 && v < 1e308)) /* inf and NaN have no JSON form */
        snprintf(num, sizeof num, "null");
    else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
        snprintf(num, sizeof num, "%lld", (long long)v);
    else
        snprintf(num, sizeof num, "%.17g", v);
    line_puts(l, num);
}

static void line_json_value(line *l, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        line_json_string(l, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        line_json_number(l, v->valuedouble);
    } else {
        char *t = cJSON_PrintUnformatted(v);
        line_puts(l, t ? t : "null");
        cJSON_free(t);
    }
}

static void line_key(line *l, const char *key)
{
    line_put(l, ",", 1);
    line_json_string(l, key);
    line_put(l, ":", 1);
}

static void line_write(line *l)
{
    FILE *out = g_log.out ? g_log.out : stderr;
    l->p[l->len++] = '\n';
    fwrite(l->p, 1, l->len, out);
    fflush(out);
    if (l->p != l->small)
        free(l->p);
}

static int is_core_key(const char *k)
{
    static const char *const core[] = {"timestamp", "level",     "message", "requestId",
                                       "handler",   "messageId", "outcome", "durationMs"};
    for (size_t i = 0; i < sizeof core / sizeof core[0]; i++)
        if (strcmp(k, core[i]) == 0)
            return 1;
    return 0;
}

static void log_json(vz_log_level level, const vz_log_fields *f, const char *ts, const char *msg)
{
    line l;
    line_init(&l);
    line_puts(&l, "{\"timestamp\":");
    line_json_string(&l, ts);
    line_key(&l, "level");
    line_json_string(&l, vz_log_level_name(level));
    line_key(&l, "message");
    line_json_string(&l, msg);
    if (g_log.request_id[0]) {
        line_key(&l, "requestId");
        line_json_string(&l, g_log.request_id);
    }
    if (f) {
        const char *keys[] = {"handler", "messageId", "outcome"};
        const char *vals[] = {f->handler, f->message_id, f->outcome};
        for (int i = 0; i < 3; i++) {
            if (vals[i]) {
                line_key(&l, keys[i]);
                line_json_string(&l, vals[i]);
            }
        }
        if (f->duration_ms >= 0) {
            line_key(&l, "durationMs");
            line_duration(&l, f->duration_ms);
        }
        if (f->extra && cJSON_IsObject(f->extra)) {
            for (const cJSON *it = f->extra->child; it; it = it->next) {
                if (!it->string || is_core_key(it->string))
                    continue;
                line_key(&l, it->string);
                line_json_value(&l, it);
            }
        }
    }
    line_put(&l, "}", 1);
    line_write(&l);
}

static void log_text(vz_log_level level, const vz_log_fields *f, const char *ts, const char *msg)
{
    line l;
    line_init(&l);
    char tmp[192];
    snprintf(tmp, sizeof tmp, "%s %-5s ", ts, vz_log_level_name(level));
    line_puts(&l, tmp);
    if (g_log.request_id[0]) {
        line_put(&l, "[", 1);
        line_text_escaped(&l, g_log.request_id);
        line_put(&l, "] ", 2);
    }
    line_text_escaped(&l, msg);
    if (f) {
        const char *keys[] = {"handler", "messageId", "outcome"};
        const char *vals[] = {f->handler, f->message_id, f->outcome};
        for (int i = 0; i < 3; i++) {
            if (!vals[i])
                continue;
            snprintf(tmp, sizeof tmp, " %s=", keys[i]);
            line_puts(&l, tmp);
            line_text_escaped(&l, vals[i]);
        }
        if (f->duration_ms >= 0) {
            line_puts(&l, " durationMs=");
            line_duration(&l, f->duration_ms);
        }
        if (f->extra && cJSON_IsObject(f->extra)) {
            for (const cJSON *it = f->extra->child; it; it = it->next) {
                if (!it->string)
                    continue;
                line_put(&l, " ", 1);
                line_text_escaped(&l, it->string);
                line_put(&l, "=", 1);
                if (cJSON_IsString(it))
                    line_text_escaped(&l, it->valuestring);
                else
                    line_json_value(&l, it);
            }
        }
    }
    line_write(&l);
}

static void vlog(vz_log_level level, const vz_log_fields *fields, int json, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vlog(vz_log_level level, const vz_log_fields *fields, int json, const char *fmt, va_list ap)
{
    if (!vz_log_enabled(level))
        return;
    char small[1024];
    char *msg = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= (int)sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, again);
            msg = big;
        }
    }
    va_end(again);
    char ts[40];
    timestamp_rfc3339(ts, sizeof ts);
    if (json)
        log_json(level, fields, ts, msg);
    else
        log_text(level, fields, ts, msg);
    if (msg != small)
        free(msg);
}

void vz_log(vz_log_level level, const vz_log_fields *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fields, g_log.json, fmt, ap);
    va_end(ap);
}

void vz_log_json(vz_log_level level, const vz_log_fields *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fields, 1, fmt, ap);
    va_end(ap);
}

void vz_log_flush(void)
{
    fflush(g_log.out ? g_log.out : stderr);
}
