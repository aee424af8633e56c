/* bench_stub.c -- a neutral Lambda Runtime API for benchmarks: one kept-alive connection, no emulator.
 *
 * usage: bench_stub cold ROUNDS EVENTS_FILE CMD... [::: CMD...]...
 *        bench_stub steady WARM COUNT EVENTS_FILE CMD...
 *
 * It listens on 127.0.0.1 (a free port), starts each CMD with AWS_LAMBDA_RUNTIME_API pointing
 * at itself and answers the Runtime API as Lambda does, from one thread, on whatever single
 * connection the runtime holds: GET .../invocation/next gets the next line of EVENTS_FILE
 * (one JSON event per line, taken in turn) with the Lambda-Runtime-* headers, POST
 * .../response and .../error get 202.  Its own work per invocation is a few syscalls, so what
 * is measured is the runtime's.
 *
 * cold: ROUNDS rounds; in each round every CMD (separated by :::) is started in turn, the
 *   order rotating from round to round (interleaved).  Per start it prints one line
 *   "cold INDEX ROUND FIRST_NEXT_MS FIRST_RESPONSE_MS": from just before execve to the
 *   first GET /next fully received, and to its first answer posted.  Then it is stopped
 *   (SIGTERM, SIGKILL after 5 s).
 * steady: one start of CMD; WARM invocations, then COUNT timed ones; prints one JSON object:
 *   invocations, errors (answers posted to .../error), recordsFailed (records in the answers'
 *   batchItemFailures), seconds, perSecond, cpuUsPerInvocation (the runtime process's
 *   user + system CPU over the timed ones, read with clock_getcpuclockid), and peakRssKiB
 *   (VmHWM of /proc/PID/status after the last invocation: the peak of the runtime's own image;
 *   getrusage's ru_maxrss would also count this process's pages the child held before exec).
 * The runtime's stdout and stderr (its logs) go to /dev/null unless BENCH_STUB_LOG names a file.
 * steady with BENCH_STUB_SMAPS=FILE also writes the runtime's resident memory by mapping to FILE
 * (from /proc/PID/smaps, read after the last invocation, before it is stopped).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct events {
    char **line;
    size_t *len;
    size_t n;
    size_t next;
} events;

typedef struct conn {
    int fd;
    char buf[1 << 16];
    size_t have;
    char *body; /* a request body beyond buf, when large */
} conn;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int load_events(const char *path, events *ev)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        ev->line = realloc(ev->line, (ev->n + 1) * sizeof *ev->line);
        ev->len = realloc(ev->len, (ev->n + 1) * sizeof *ev->len);
        if (!ev->line || !ev->len)
            return -1;
        ev->line[ev->n] = strndup(line, (size_t)n);
        ev->len[ev->n++] = (size_t)n;
    }
    free(line);
    fclose(f);
    if (ev->n == 0) {
        fprintf(stderr, "bench_stub: %s holds no event\n", path);
        return -1;
    }
    return 0;
}

static int listen_any(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) < 0) {
        perror("bench_stub: listen");
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one request: its first line into method/path, its body consumed.  0, or -1 on close. */
static int read_request(conn *c, char *path, size_t path_cap, int *is_get, unsigned long *failed)
{
    for (;;) {
        char *end = c->have ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t head = (size_t)(end - c->buf) + 4;
            size_t body = 0;
            for (char *l = c->buf; l < end;) {
                char *nl = memchr(l, '\n', (size_t)(end - l));
                if (!nl)
                    nl = end;
                if ((size_t)(nl - l) > 15 && strncasecmp(l, "Content-Length:", 15) == 0)
                    body = strtoul(l + 15, NULL, 10);
                l = nl + 1;
            }
            *is_get = strncmp(c->buf, "GET ", 4) == 0;
            const char *p = strchr(c->buf, ' ');
            size_t k = 0;
            if (p)
                for (p++; *p && *p != ' ' && k + 1 < path_cap; p++)
                    path[k++] = *p;
            path[k] = '\0';
            /* consume head + body (reading more when the body is not all here) */
            size_t want = head + body;
            while (c->have < want && want <= sizeof c->buf) {
                ssize_t r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
                if (r <= 0)
                    return -1;
                c->have += (size_t)r;
            }
            if (want > sizeof c->buf) { /* large body: drain it */
                size_t left = want - c->have;
                c->have = 0;
                while (left > 0) {
                    ssize_t r = read(c->fd, c->buf, left < sizeof c->buf ? left : sizeof c->buf);
                    if (r <= 0)
                        return -1;
                    left -= (size_t)r;
                }
                return 0;
            }
            /* a batch's failed records, as the answer reports them (a whole body in buf) */
            for (const char *f = c->buf + head; (f = memmem(f, (size_t)(c->buf + want - f), "\"itemIdentifier\"", 16));
                 f += 16)
                ++*failed;
            memmove(c->buf, c->buf + want, c->have - want);
            c->have -= want;
            return 0;
        }
        if (c->have == sizeof c->buf)
            return -1;
        ssize_t r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->have += (size_t)r;
    }
}

typedef struct server {
    int lfd;
    conn c;
    events *ev;
    unsigned long served;
    unsigned long errors;
    unsigned long failed; /* records answered as failed (batchItemFailures) */
    double first_next_ms;
    double first_response_ms;
} server;

/* Serve requests until `answers` responses or errors have been posted (or the runtime goes away). */
static int serve(server *s, unsigned long answers)
{
    unsigned long done = 0;
    char path[512];
    while (done < answers) {
        if (s->c.fd < 0) {
            s->c.fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (s->c.fd < 0)
                return -1;
            int one = 1;
            setsockopt(s->c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            s->c.have = 0;
        }
        int is_get = 0;
        if (read_request(&s->c, path, sizeof path, &is_get, &s->failed) < 0) {
            close(s->c.fd);
            s->c.fd = -1;
            return -1;
        }
        char head[512];
        if (is_get && strstr(path, "/invocation/next")) {
            if (s->first_next_ms == 0)
                s->first_next_ms = now_ms();
            size_t i = s->ev->next++ % s->ev->n;
            long long deadline = (long long)(time(NULL) + 60) * 1000;
            int n = snprintf(head, sizeof head,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Lambda-Runtime-Aws-Request-Id: %08lx-0000-4000-8000-000000000000\r\n"
                             "Lambda-Runtime-Deadline-Ms: %lld\r\n"
                             "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:"
                             "bench\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n"
                             "Content-Length: %zu\r\n\r\n",
                             s->served, deadline, s->ev->len[i]);
            if (write_all(s->c.fd, head, (size_t)n) < 0 || write_all(s->c.fd, s->ev->line[i], s->ev->len[i]) < 0)
                return -1;
            continue;
        }
        static const char accepted[] =
            "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}";
        if (write_all(s->c.fd, accepted, sizeof accepted - 1) < 0)
            return -1;
        if (strstr(path, "/error"))
            s->errors++;
        if (strstr(path, "/response") || strstr(path, "/error")) {
            if (s->first_response_ms == 0)
                s->first_response_ms = now_ms();
            s->served++;
            done++;
        }
    }
    return 0;
}

static pid_t start(char **argv, int port, double *t0)
{
    char api[64];
    snprintf(api, sizeof api, "127.0.0.1:%d", port);
    const char *log = getenv("BENCH_STUB_LOG");
    *t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        setenv("AWS_LAMBDA_RUNTIME_API", api, 1);
        int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* SIGTERM (a runtime under a profiler writes its profile), SIGKILL after 5 s; then close its
 * connection and drop any it opened meanwhile (a runtime retries GET /next on a new one), so
 * that the next start's first connection is its own. */
static void stop(server *s, pid_t pid, struct rusage *ru)
{
    kill(pid, SIGTERM);
    int status, gone = 0;
    for (int i = 0; i < 500 && !gone; i++) {
        gone = wait4(pid, &status, WNOHANG, ru) == pid;
        if (!gone)
            usleep(10000);
    }
    if (!gone) {
        kill(pid, SIGKILL);
        wait4(pid, &status, 0, ru);
    }
    if (s->c.fd >= 0)
        close(s->c.fd);
    s->c.fd = -1;
    struct pollfd p = {s->lfd, POLLIN, 0};
    while (poll(&p, 1, 0) > 0) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            break;
        close(fd);
    }
}

/* Write to `path` the resident memory of process pid by mapping, from /proc/PID/smaps: one line
 * "KIB NAME" per file (its mappings summed) and per kind of anonymous memory ([heap], [stack],
 * [anon]), largest first.  The runtime is idle, waiting on /next, when this is read. */
static void rss_by_mapping(pid_t pid, const char *path)
{
    char file[64], line[4096], name[1024] = "[anon]";
    snprintf(file, sizeof file, "/proc/%d/smaps", (int)pid);
    FILE *in = fopen(file, "r");
    if (!in)
        return;
    struct {
        char name[256];
        long kib;
    } m[256];
    size_t n = 0;
    while (fgets(line, sizeof line, in)) {
        unsigned long lo, hi;
        long kib;
        char perms[8];
        int at = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &at) == 3 && at > 0) {
            char *nl = strchr(line + at, '\n');
            if (nl)
                *nl = '\0';
            snprintf(name, sizeof name, "%.1023s", line[at] ? line + at : "[anon]");
        } else if (sscanf(line, "Rss: %ld kB", &kib) == 1) {
            size_t i = 0;
            while (i < n && strcmp(m[i].name, name) != 0)
                i++;
            if (i == n && n < sizeof m / sizeof m[0]) {
                snprintf(m[n].name, sizeof m[n].name, "%.255s", name);
                m[n++].kib = 0;
            }
            if (i < n)
                m[i].kib += kib;
        }
    }
    fclose(in);
    FILE *out = fopen(path, "w");
    if (!out)
        return;
    for (size_t k = 0; k < n; k++) { /* largest first: a few dozen entries, selection is enough */
        size_t best = k;
        for (size_t i = k + 1; i < n; i++)
            if (m[i].kib > m[best].kib)
                best = i;
        if (best != k) {
            __typeof__(m[0]) t = m[k];
            m[k] = m[best];
            m[best] = t;
        }
        if (m[k].kib > 0)
            fprintf(out, "%ld %s\n", m[k].kib, m[k].name);
    }
    fclose(out);
}

/* VmHWM of process pid in KiB, from /proc/PID/status: the peak of its own image since its
 * execve.  Not getrusage's ru_maxrss, which Linux carries across execve: it would count this
 * process's pages (the events file, loaded) that the child held between fork and exec.  -1 when
 * /proc does not say. */
static long peak_rss_kib(pid_t pid)
{
    char file[64], line[256];
    snprintf(file, sizeof file, "/proc/%d/status", (int)pid);
    FILE *in = fopen(file, "r");
    long kib = -1;
    if (!in)
        return -1;
    while (fgets(line, sizeof line, in))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(in);
    return kib;
}

static double cpu_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return -1;
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static server s = {.c.fd = -1};
    events ev = {0};
    int port;
    if (argc >= 5 && strcmp(argv[1], "cold") == 0) {
        long rounds = strtol(argv[2], NULL, 10);
        if (load_events(argv[3], &ev) < 0 || (s.lfd = listen_any(&port)) < 0)
            return 1;
        s.ev = &ev;
        char **cmd[16];
        int ncmd = 0;
        cmd[ncmd++] = &argv[4];
        for (int i = 4; i < argc && ncmd < 16; i++)
            if (strcmp(argv[i], ":::") == 0) {
                argv[i] = NULL;
                cmd[ncmd++] = &argv[i + 1];
            }
        for (long r = 0; r < rounds; r++)
            for (int k = 0; k < ncmd; k++) {
                int which = (int)((k + r) % ncmd);
                double t0;
                s.first_next_ms = s.first_response_ms = 0;
                pid_t pid = start(cmd[which], port, &t0);
                int rc = serve(&s, 1);
                struct rusage ru;
                stop(&s, pid, &ru);
                if (rc < 0) {
                    fprintf(stderr, "bench_stub: runtime %d (%s) did not answer\n", which, cmd[which][0]);
                    return 1;
                }
                printf("cold %d %ld %.4f %.4f\n", which, r, s.first_next_ms - t0, s.first_response_ms - t0);
                fflush(stdout);
            }
        return 0;
    }
    if (argc >= 6 && strcmp(argv[1], "steady") == 0) {
        unsigned long warm = strtoul(argv[2], NULL, 10), count = strtoul(argv[3], NULL, 10);
        if (load_events(argv[4], &ev) < 0 || (s.lfd = listen_any(&port)) < 0)
            return 1;
        s.ev = &ev;
        double t0;
        pid_t pid = start(&argv[5], port, &t0);
        clockid_t cid;
        int rc = serve(&s, warm > 0 ? warm : 1);
        if (rc == 0 && clock_getcpuclockid(pid, &cid) != 0)
            rc = -1;
        double c0 = rc == 0 ? cpu_ms(cid) : 0, w0 = now_ms();
        unsigned long e0 = s.errors, f0 = s.failed;
        if (rc == 0)
            rc = serve(&s, count);
        double c1 = rc == 0 ? cpu_ms(cid) : 0, w1 = now_ms();
        const char *smaps = getenv("BENCH_STUB_SMAPS");
        if (rc == 0 && smaps && *smaps)
            rss_by_mapping(pid, smaps);
        long hwm = rc == 0 ? peak_rss_kib(pid) : -1;
        struct rusage ru = {0};
        stop(&s, pid, &ru);
        if (rc < 0) {
            fprintf(stderr, "bench_stub: the runtime (%s) stopped answering\n", argv[5]);
            return 1;
        }
        double secs = (w1 - w0) / 1e3;
        printf(
            "{\"invocations\": %lu, \"errors\": %lu, \"recordsFailed\": %lu, \"seconds\": %.4f, \"perSecond\": %.1f, "
            "\"cpuUsPerInvocation\": %.3f, \"peakRssKiB\": %ld}\n",
            count, s.errors - e0, s.failed - f0, secs, (double)count / secs, (c1 - c0) * 1e3 / (double)count,
            hwm >= 0 ? hwm : ru.ru_maxrss);
        return 0;
    }
    fprintf(stderr, "usage: bench_stub cold ROUNDS EVENTS_FILE CMD... [::: CMD...]...\n"
                    "       bench_stub steady WARM COUNT EVENTS_FILE CMD...\n");
    return 2;
}
