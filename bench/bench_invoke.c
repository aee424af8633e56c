/* bench_invoke.c -- drive vz-emulator's invoke front: invocations per second and latency.
 *
 * usage: bench_invoke URL EVENTS_FILE COUNT [CONCURRENCY] [LATENCIES_FILE]
 * EVENTS_FILE holds one event per line (JSON without newlines); the lines are sent in turn,
 * starting over at the end.  CONCURRENCY threads (default 2) each keep one connection alive
 * and POST one invocation after the other, so that an invocation is always queued when the
 * runtime asks for the next one: the rate measured is the runtime's, not the client's.
 * An answer that is not 200, carries X-Amz-Function-Error, or lists failed records
 * (anything but {"batchItemFailures":[]}) is counted as an error.
 * Prints one JSON object: invocations, errors, seconds, perSecond, p50Ms, p99Ms, maxMs.
 * LATENCIES_FILE, when given, receives every invocation's latency in ms, one per line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

typedef struct shared {
    const char *url;
    char **events;
    size_t *lens;
    long nevents;
    long count;
    long taken; /* next invocation to send (under mu) */
    pthread_mutex_t mu;
    double *lat_ms; /* per invocation */
    long errors;
} shared;

typedef struct reply {
    char body[64];
    size_t len;
    int function_error;
} reply;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t on_body(char *d, size_t s, size_t n, void *arg)
{
    reply *r = arg;
    size_t k = s * n;
    for (size_t i = 0; i < k && r->len < sizeof r->body - 1; i++)
        r->body[r->len++] = d[i];
    r->body[r->len] = '\0';
    return k;
}

static size_t on_header(char *line, size_t s, size_t n, void *arg)
{
    if (s * n > 20 && strncasecmp(line, "X-Amz-Function-Error:", 21) == 0)
        ((reply *)arg)->function_error = 1;
    return s * n;
}

static void *worker(void *arg)
{
    shared *sh = arg;
    CURL *c = curl_easy_init();
    reply r;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, sh->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        long i = sh->taken < sh->count ? sh->taken++ : -1;
        pthread_mutex_unlock(&sh->mu);
        if (i < 0)
            break;
        long e = i % sh->nevents;
        memset(&r, 0, sizeof r);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, sh->events[e]);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sh->lens[e]);
        double t0 = now_ms();
        CURLcode rc = curl_easy_perform(c);
        sh->lat_ms[i] = now_ms() - t0;
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK || code != 200 || r.function_error || strcmp(r.body, "{\"batchItemFailures\":[]}") != 0) {
            pthread_mutex_lock(&sh->mu);
            if (sh->errors++ < 3)
                fprintf(stderr, "bench_invoke: invocation %ld: %s, HTTP %ld, answer %.60s\n", i,
                        rc == CURLE_OK ? "sent" : curl_easy_strerror(rc), code, r.body);
            pthread_mutex_unlock(&sh->mu);
        }
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_invoke URL EVENTS_FILE COUNT [CONCURRENCY] [LATENCIES_FILE]\n");
        return 2;
    }
    shared sh = {.url = argv[1], .count = atol(argv[3]), .mu = PTHREAD_MUTEX_INITIALIZER};
    int conc = argc > 4 ? atoi(argv[4]) : 2;
    if (sh.count < 1 || conc < 1 || conc > 64) {
        fprintf(stderr, "bench_invoke: COUNT >= 1, CONCURRENCY 1..64\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long alloc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (sh.nevents == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            sh.events = realloc(sh.events, (size_t)alloc * sizeof *sh.events);
            sh.lens = realloc(sh.lens, (size_t)alloc * sizeof *sh.lens);
        }
        sh.events[sh.nevents] = strdup(line);
        sh.lens[sh.nevents++] = (size_t)n;
    }
    free(line);
    fclose(f);
    if (sh.nevents == 0) {
        fprintf(stderr, "bench_invoke: no events in %s\n", argv[2]);
        return 2;
    }
    sh.lat_ms = calloc((size_t)sh.count, sizeof *sh.lat_ms);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t *t = calloc((size_t)conc, sizeof *t);
    double t0 = now_ms();
    for (int i = 0; i < conc; i++)
        pthread_create(&t[i], NULL, worker, &sh);
    for (int i = 0; i < conc; i++)
        pthread_join(t[i], NULL);
    double secs = (now_ms() - t0) / 1e3;
    if (argc > 5) {
        FILE *lf = fopen(argv[5], "w");
        if (lf) {
            for (long i = 0; i < sh.count; i++)
                fprintf(lf, "%.4f\n", sh.lat_ms[i]);
            fclose(lf);
        }
    }
    qsort(sh.lat_ms, (size_t)sh.count, sizeof *sh.lat_ms, cmp_double);
    printf("{\"invocations\":%ld,\"errors\":%ld,\"seconds\":%.4f,\"perSecond\":%.1f,\"p50Ms\":%.4f,\"p99Ms\":%.4f,"
           "\"maxMs\":%.4f}\n",
           sh.count, sh.errors, secs, (double)sh.count / secs, sh.lat_ms[sh.count / 2],
           sh.lat_ms[(long)((double)(sh.count - 1) * 0.99)], sh.lat_ms[sh.count - 1]);
    for (long i = 0; i < sh.nevents; i++)
        free(sh.events[i]);
    free(sh.events);
    free(sh.lens);
    free(sh.lat_ms);
    free(t);
    curl_global_cleanup();
    return sh.errors ? 1 : 0;
}
