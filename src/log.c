/* log.c -- structured logging (see log.h).
 *
 * Each line is assembled in full and written with a single fwrite so that
 * lines from concurrent writers (the runtime and a child) do not interleave;
 * while held (vz_log_hold), whole lines pile up and go out in one fwrite.
 * Values come from outside (message ids, queue names, error texts): JSON
 * escapes them, and the text form escapes control characters, so that no
 * value can end a line and forge the next one.
 * JSON is written directly (no intermediate tree): the log is on the hot path
 * of every record, and building a cJSON object per line cost more than the
 * record's own parsing. */
#include "vz/log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
    int json;
    vz_log_level min_level;
    FILE *out;
    char request_id[128];
} g_log = {0, VZ_LOG_INFO, NULL, ""};

/* Held lines.  A fixed buffer, never moved, so that the SIGALRM handler armed for the
 * release time can write what is there with write(2) (async-signal-safe) while the
 * main thread may be appending: `len` grows only after a line is copied in whole, `sent`
 * says what the handler wrote, `busy` keeps it away while the main thread writes. */
#define VZ_LOG_HOLD_MAX (64 * 1024)
static struct {
    volatile sig_atomic_t on;
    volatile sig_atomic_t busy;
    int64_t release_by_ms; /* 0: no limit */
    int armed;             /* the SIGALRM timer is set */
    int fd;                /* the log stream's descriptor, for the signal handler (-1: none) */
    size_t len;            /* bytes held (whole lines) */
    size_t sent;           /* of which the signal handler already wrote */
    char p[VZ_LOG_HOLD_MAX];
} g_held;

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
    /* "YYYY-MM-DDTHH:MM:SS" + ".mmmZ", by hand: snprintf was a tenth of a line's cost */
    int ms = (int)(ts.tv_nsec / 1000000L) % 1000;
    if (n < 25) { /* callers pass 40 bytes */
        if (n)
            buf[0] = '\0';
        return;
    }
    memcpy(buf, cached, 19);
    buf[19] = '.';
    buf[20] = (char)('0' + ms / 100);
    buf[21] = (char)('0' + ms / 10 % 10);
    buf[22] = (char)('0' + ms % 10);
    buf[23] = 'Z';
    buf[24] = '\0';
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
    /* 1 for the bytes that end a run: NUL, control characters, '"' and '\\' */
    static const unsigned char stop[256] = {
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    };
    line_put(l, "\"", 1);
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (!stop[c])
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
/* Append a non-negative integer in decimal. */
static void line_uint(line *l, unsigned long long v)
{
    char num[24];
    size_t i = sizeof num;
    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    line_put(l, num + i, sizeof num - i);
}

static void line_duration(line *l, double ms)
{
    if (!(ms < 1e12)) {
        line_puts(l, "null");
        return;
    }
    /* "%.3f" by hand (to the nearest microsecond; snprintf cost more than the rest of the field) */
    unsigned long long us = (unsigned long long)(ms * 1000.0 + 0.5);
    char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10)};
    line_uint(l, us / 1000);
    line_put(l, frac, sizeof frac);
}

static void line_json_number(line *l, double v)
{
    char num[40];
    if (v >= 0 && v < 1e15 && v == (double)(long long)v) { /* counts, sizes, timestamps: by hand */
        line_uint(l, (unsigned long long)v);
        return;
    }
    if (!(v > -1e308 && v < 1e308)) /* inf and NaN have no JSON form */
        snprintf(num, sizeof num, "null");
    else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
        snprintf(num, sizeof num, "%lld", (long long)v);
    else {
        /* The shortest of 15 or 17 digits that reads back as the same double (as cJSON prints). */
        snprintf(num, sizeof num, "%.15g", v);
        if (strtod(num, NULL) != v)
            snprintf(num, sizeof num, "%.17g", v);
    }
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

static void held_write(void)
{
    g_held.busy = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (g_held.len > g_held.sent) {
        FILE *out = g_log.out ? g_log.out : stderr;
        fwrite(g_held.p + g_held.sent, 1, g_held.len - g_held.sent, out);
        fflush(out);
    }
    g_held.len = g_held.sent = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    g_held.busy = 0;
}

/* SIGALRM at the release time: write what is held and let every later line go out as it comes. */
static void on_release_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    g_held.on = 0;
    if (!g_held.busy) {
        size_t len = __atomic_load_n(&g_held.len, __ATOMIC_ACQUIRE);
        while (g_held.fd >= 0 && g_held.sent < len) {
            ssize_t w = write(g_held.fd, g_held.p + g_held.sent, len - g_held.sent);
            if (w <= 0)
                break;
            g_held.sent += (size_t)w;
        }
    }
    errno = saved;
}

static void arm(int64_t at_ms)
{
    static int handler_set;
    if (!handler_set) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_release_alarm;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGALRM, &sa, NULL) != 0)
            return;
        handler_set = 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t left = at_ms - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    if (left < 1)
        left = 1;
    struct itimerval it = {{0, 0}, {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000}};
    g_held.armed = setitimer(ITIMER_REAL, &it, NULL) == 0;
}

static void disarm(void)
{
    if (g_held.armed) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        g_held.armed = 0;
    }
}

/* Keep a whole line for later; 0, or -1 when it must be written now (it does not fit). */
static int held_add(const char *p, size_t n)
{
    if (g_held.len + n > sizeof g_held.p) {
        held_write();
        if (n > sizeof g_held.p)
            return -1;
    }
    memcpy(g_held.p + g_held.len, p, n);
    __atomic_store_n(&g_held.len, g_held.len + n, __ATOMIC_RELEASE);
    return 0;
}

void vz_log_hold(int64_t release_by_ms)
{
    held_write(); /* anything left from an earlier hold */
    g_held.fd = fileno(g_log.out ? g_log.out : stderr);
    g_held.release_by_ms = release_by_ms;
    if (release_by_ms)
        arm(release_by_ms);
    g_held.on = 1;
}

void vz_log_release(void)
{
    g_held.on = 0;
    disarm();
    held_write();
}

static void line_write(line *l)
{
    FILE *out = g_log.out ? g_log.out : stderr;
    l->p[l->len++] = '\n';
    if (!g_held.on || held_add(l->p, l->len) != 0) {
        fwrite(l->p, 1, l->len, out);
        fflush(out);
    }
    if (l->p != l->small)
        free(l->p);
}

static int is_core_key(const char *k)
{
    if (!strchr("tlmrhod", k[0])) /* no core key starts otherwise: most extra keys stop here */
        return 0;
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
    if (fmt[0] == '%' && fmt[1] == 's' && fmt[2] == '\0') { /* a message already formatted */
        const char *given = va_arg(ap, const char *);
        char ts[40];
        timestamp_rfc3339(ts, sizeof ts);
        if (json)
            log_json(level, fields, ts, given ? given : "(null)");
        else
            log_text(level, fields, ts, given ? given : "(null)");
        return;
    }
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
    held_write();
    fflush(g_log.out ? g_log.out : stderr);
}
