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

#include "vz/jsonw.h"

#include <errno.h>
#include <stdbool.h>
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
    /* its two written forms, made once per invocation rather than once per line:
     * ,"requestId":"..." for JSON lines and [...] + space for TEXT lines ("" when none) */
    char request_id_json[128 * 6 + 16];
    char request_id_text[128 * 4 + 4];
} g_log = {0, VZ_LOG_INFO, NULL, "", "", ""};

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
    g_log.request_id_json[0] = g_log.request_id_text[0] = '\0';
    if (!g_log.request_id[0])
        return;
    vz_jsonw w;
    vz_jsonw_init(&w);
    vz_jsonw_key(&w, "requestId");
    vz_jsonw_string(&w, g_log.request_id);
    if (!w.cut && w.len < sizeof g_log.request_id_json) {
        memcpy(g_log.request_id_json, w.p, w.len);
        g_log.request_id_json[w.len] = '\0';
    }
    w.len = 0;
    vz_jsonw_raw(&w, "[", 1);
    vz_jsonw_text(&w, g_log.request_id);
    vz_jsonw_raw(&w, "] ", 2);
    if (!w.cut && w.len < sizeof g_log.request_id_text) {
        memcpy(g_log.request_id_text, w.p, w.len);
        g_log.request_id_text[w.len] = '\0';
    }
    vz_jsonw_free(&w);
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

static void line_write(vz_jsonw *l)
{
    FILE *out = g_log.out ? g_log.out : stderr;
    l->p[l->len++] = '\n';
    if (!g_held.on || held_add(l->p, l->len) != 0) {
        fwrite(l->p, 1, l->len, out);
        fflush(out);
    }
    vz_jsonw_free(l);
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
    /* the timestamp and the level need no escape: written as they are */
    static const char *const after_ts[] = {
        "\",\"level\":\"TRACE\",\"message\":", "\",\"level\":\"DEBUG\",\"message\":",
        "\",\"level\":\"INFO\",\"message\":",  "\",\"level\":\"WARN\",\"message\":",
        "\",\"level\":\"ERROR\",\"message\":", "\",\"level\":\"FATAL\",\"message\":",
    };
    vz_jsonw l;
    vz_jsonw_init(&l);
    vz_jsonw_raw(&l, "{\"timestamp\":\"", 14);
    vz_jsonw_cstr(&l, ts);
    vz_jsonw_cstr(&l, (int)level < 0 || level > VZ_LOG_FATAL ? after_ts[VZ_LOG_INFO] : after_ts[level]);
    vz_jsonw_string(&l, msg);
    vz_jsonw_cstr(&l, g_log.request_id_json);
    if (f) {
        const char *keys[] = {"handler", "messageId", "outcome"};
        const char *vals[] = {f->handler, f->message_id, f->outcome};
        for (int i = 0; i < 3; i++) {
            if (vals[i]) {
                vz_jsonw_key(&l, keys[i]);
                vz_jsonw_string(&l, vals[i]);
            }
        }
        if (f->duration_ms >= 0) {
            vz_jsonw_key(&l, "durationMs");
            vz_jsonw_ms(&l, f->duration_ms);
        }
        if (f->extra && cJSON_IsObject(f->extra)) {
            for (const cJSON *it = f->extra->child; it; it = it->next) {
                if (!it->string || is_core_key(it->string))
                    continue;
                vz_jsonw_key(&l, it->string);
                vz_jsonw_value(&l, it);
            }
        }
        if (f->members && f->members[0]) {
            vz_jsonw_raw(&l, ",", 1);
            vz_jsonw_cstr(&l, f->members);
        }
    }
    vz_jsonw_raw(&l, "}", 1);
    line_write(&l);
}

static void log_text(vz_log_level level, const vz_log_fields *f, const char *ts, const char *msg)
{
    /* "%s %-5s " by hand: snprintf cost more than the rest of the line */
    static const char *const padded[] = {"TRACE ", "DEBUG ", "INFO  ", "WARN  ", "ERROR ", "FATAL "};
    vz_jsonw l;
    vz_jsonw_init(&l);
    vz_jsonw_cstr(&l, ts);
    vz_jsonw_raw(&l, " ", 1);
    vz_jsonw_raw(&l, (int)level < 0 || level > VZ_LOG_FATAL ? padded[VZ_LOG_INFO] : padded[level], 6);
    vz_jsonw_cstr(&l, g_log.request_id_text);
    vz_jsonw_text(&l, msg);
    if (f) {
        const char *keys[] = {" handler=", " messageId=", " outcome="};
        const char *vals[] = {f->handler, f->message_id, f->outcome};
        for (int i = 0; i < 3; i++) {
            if (!vals[i])
                continue;
            vz_jsonw_cstr(&l, keys[i]);
            vz_jsonw_text(&l, vals[i]);
        }
        if (f->duration_ms >= 0) {
            vz_jsonw_cstr(&l, " durationMs=");
            vz_jsonw_ms(&l, f->duration_ms);
        }
        if (f->extra && cJSON_IsObject(f->extra)) {
            for (const cJSON *it = f->extra->child; it; it = it->next) {
                if (!it->string)
                    continue;
                vz_jsonw_raw(&l, " ", 1);
                vz_jsonw_text(&l, it->string);
                vz_jsonw_raw(&l, "=", 1);
                if (cJSON_IsString(it))
                    vz_jsonw_text(&l, it->valuestring);
                else
                    vz_jsonw_value(&l, it);
            }
        }
    }
    line_write(&l);
}

/* Whether fmt uses only what fmt_write formats: %s, %.Ns, %c, %d, %i and %u with no length or
 * with l, ll or z, and %%.  Log messages are written on every record; vsnprintf cost more than
 * the rest of a line, so the common formats are done by hand and any other goes to vsnprintf. */
static bool fmt_simple(const char *fmt)
{
    for (const char *p = fmt; (p = strchr(p, '%')) != NULL;) {
        p++;
        if (*p == '%') {
            p++;
            continue;
        }
        if (*p == '.') {
            const char *d = ++p;
            while (*p >= '0' && *p <= '9')
                p++;
            if (p == d || p - d > 6 || *p != 's')
                return false;
            p++;
            continue;
        }
        if (*p == 'z') {
            p++;
        } else {
            for (int l = 0; *p == 'l' && l < 2; l++)
                p++;
        }
        if (!*p || !strchr("diusc", *p) || ((*p == 's' || *p == 'c') && p[-1] != '%'))
            return false;
        p++;
    }
    return true;
}

/* Append the formatted message to w; fmt has passed fmt_simple. */
static void fmt_write(vz_jsonw *w, const char *fmt, va_list ap)
{
    const char *run = fmt, *p = fmt;
    while (*p) {
        if (*p != '%') {
            p++;
            continue;
        }
        vz_jsonw_raw(w, run, (size_t)(p - run));
        p++;
        size_t prec = (size_t)-1;
        if (*p == '.') {
            prec = 0;
            for (p++; *p >= '0' && *p <= '9'; p++)
                prec = prec * 10 + (size_t)(*p - '0');
        }
        int longs = 0, size_t_arg = 0;
        if (*p == 'z') {
            size_t_arg = 1;
            p++;
        }
        while (*p == 'l') {
            longs++;
            p++;
        }
        switch (*p) {
        case '%':
            vz_jsonw_raw(w, "%", 1);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) /* as glibc: "(null)", or nothing when the precision cannot hold it */
                s = prec < 6 ? "" : "(null)";
            vz_jsonw_raw(w, s, prec == (size_t)-1 ? strlen(s) : strnlen(s, prec));
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            vz_jsonw_raw(w, &c, 1);
            break;
        }
        case 'u': {
            unsigned long long v = size_t_arg   ? va_arg(ap, size_t)
                                   : longs == 2 ? va_arg(ap, unsigned long long)
                                   : longs == 1 ? va_arg(ap, unsigned long)
                                                : va_arg(ap, unsigned int);
            vz_jsonw_uint(w, v);
            break;
        }
        default: { /* d, i */
            long long v = size_t_arg   ? (long long)va_arg(ap, ssize_t)
                          : longs == 2 ? va_arg(ap, long long)
                          : longs == 1 ? va_arg(ap, long)
                                       : va_arg(ap, int);
            if (v < 0)
                vz_jsonw_raw(w, "-", 1);
            vz_jsonw_uint(w, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
            break;
        }
        }
        run = ++p;
    }
    vz_jsonw_raw(w, run, (size_t)(p - run));
}

static void vlog(vz_log_level level, const vz_log_fields *fields, int json, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vlog(vz_log_level level, const vz_log_fields *fields, int json, const char *fmt, va_list ap)
{
    if (!vz_log_enabled(level))
        return;
    char ts[40];
    if (fmt[0] == '%' && fmt[1] == 's' && fmt[2] == '\0') { /* a message already formatted */
        const char *given = va_arg(ap, const char *);
        timestamp_rfc3339(ts, sizeof ts);
        if (json)
            log_json(level, fields, ts, given ? given : "(null)");
        else
            log_text(level, fields, ts, given ? given : "(null)");
        return;
    }
    vz_jsonw m;
    vz_jsonw_init(&m);
    if (fmt_simple(fmt)) {
        fmt_write(&m, fmt, ap);
    } else {
        va_list again;
        va_copy(again, ap);
        int n = vsnprintf(m.p, m.cap, fmt, ap);
        if (n >= (int)m.cap && vz_jsonw_reserve(&m, (size_t)n) == 0)
            vsnprintf(m.p, m.cap, fmt, again);
        va_end(again);
        m.len = n < 0 ? 0 : (size_t)n < m.cap ? (size_t)n : m.cap - 1;
    }
    m.p[m.len] = '\0'; /* a writer keeps room for two more bytes */
    timestamp_rfc3339(ts, sizeof ts);
    if (json)
        log_json(level, fields, ts, m.p);
    else
        log_text(level, fields, ts, m.p);
    vz_jsonw_free(&m);
}

void vz_logv(vz_log_level level, const vz_log_fields *fields, const char *fmt, va_list ap)
{
    vlog(level, fields, g_log.json, fmt, ap);
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
