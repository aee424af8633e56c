/* bench_handlers.c -- records per second and round trips per batch of a handler, warm, in one process.
 *
 * usage: bench_handlers HANDLER KEY_FIELD TABLE BATCHES [BATCH_SIZE]
 * Picks BATCHES x BATCH_SIZE random generated keys (>= 1,000,000, see scripts/gen-data) from
 * TABLE, wraps them as Hasura payloads in SQS batches and runs each batch through
 * vz_invocation_run with a 3 s deadline (Lambda's default timeout), as the Lambda loop would.
 * The first batch (connection, statement preparation) is not timed.
 * Round trips are counted by the database layer (waits after a pipeline flush).  For an
 * outside count, bench/run runs this under strace and counts the sendto() calls between the
 * two marker writes to /dev/null ("vz-bench-warm", "vz-bench-end"): a client that sends once
 * per batch cannot have had more than one request/answer exchange with the server.
 * The log is kept in memory.  Prints one line of key=value figures, p50/p99 of the warm batches too.
 * Environment (used by scripts/bench): VZ_BENCH_LATENCIES=FILE writes each warm batch's milliseconds,
 * one per line; VZ_BENCH_EVENTS=FILE writes every batch's SQS event, one per line (to send the same
 * batches through vz-emulator to the vz-events binary). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "vz/batch.h"
#include "vz/db.h"
#include "vz/fixture.h"
#include "vz/invocation.h"
#include "vz/log.h"

static void mark(const char *what)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
        ssize_t w = write(fd, what, strlen(what));
        (void)w;
        close(fd);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *make_event(const char *queue, const char *field, char **keys, int n)
{
    cJSON *ev = vz_fixture_sqs_event();
    cJSON *records = cJSON_GetObjectItemCaseSensitive(ev, "Records");
    for (int i = 0; i < n; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"old\":null,\"new\":{\"%s\":%s}}},"
                 "\"id\":\"bench\",\"table\":{\"schema\":\"public\",\"name\":\"x\"}}",
                 field, keys[i]);
        cJSON_AddItemToArray(records, vz_fixture_sqs_record(queue, NULL, body, strlen(body)));
    }
    char *s = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_handlers HANDLER KEY_FIELD TABLE BATCHES [BATCH_SIZE]\n");
        return 2;
    }
    const char *handler = argv[1], *field = argv[2], *table = argv[3];
    int batches = atoi(argv[4]), size = argc > 5 ? atoi(argv[5]) : 10;
    if (batches < 2 || size < 1 || size > 10 || strspn(table, "abcdefghijklmnopqrstuvwxyz_") != strlen(table) ||
        strspn(field, "abcdefghijklmnopqrstuvwxyz_") != strlen(field)) {
        fprintf(stderr, "bench_handlers: BATCHES >= 2, BATCH_SIZE 1..10, plain table and field names\n");
        return 2;
    }
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *logf = open_memstream(&logbuf, &loglen);
    vz_log_configure(1, VZ_LOG_INFO, logf);

    PGconn *pg = PQconnectdb(getenv("DATABASE_URL") ? getenv("DATABASE_URL") : "");
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "bench_handlers: %s", PQerrorMessage(pg));
        return 1;
    }
    char q[256];
    snprintf(q, sizeof q, "SELECT %s FROM %s WHERE %s >= 1000000 ORDER BY random() LIMIT %d", field, table, field,
             batches * size);
    PGresult *keys = PQexec(pg, q);
    if (PQresultStatus(keys) != PGRES_TUPLES_OK || PQntuples(keys) < batches * size) {
        fprintf(stderr, "bench_handlers: not enough generated rows in %s (run scripts/gen-data)\n", table);
        return 1;
    }
    char queue[128];
    snprintf(queue, sizeof queue, "atd-vz-data-events-%s_bench", handler);
    char **events = calloc((size_t)batches, sizeof *events);
    for (int b = 0; b < batches; b++) {
        char *k[10];
        for (int i = 0; i < size; i++)
            k[i] = PQgetvalue(keys, b * size + i, 0);
        events[b] = make_event(queue, field, k, size);
    }
    PQclear(keys);
    PQfinish(pg);

    const char *events_file = getenv("VZ_BENCH_EVENTS");
    if (events_file && *events_file) {
        FILE *ef = fopen(events_file, "w");
        if (!ef) {
            perror(events_file);
            return 1;
        }
        for (int b = 0; b < batches; b++)
            fprintf(ef, "%s\n", events[b]);
        fclose(ef);
    }
    double *lat = calloc((size_t)batches, sizeof *lat);
    vz_batch_options opts = {NULL, NULL, VZ_DEFAULT_DEADLINE_MARGIN_MS};
    vz_arena arena;
    vz_arena_init(&arena, 0);
    size_t failed = 0, succeeded = 0;
    vz_db_stats s0 = {0};
    double t0 = 0, worst = 0;
    for (int b = 0; b < batches; b++) {
        if (b == 1) { /* warm from here on */
            fflush(logf);
            s0 = vz_db_get_stats();
            mark("vz-bench-warm");
            t0 = vz_monotonic_ms();
        }
        double tb = vz_monotonic_ms();
        vz_context ctx = {"bench", vz_now_ms() + 3000, NULL, NULL, &arena};
        vz_invocation_result res;
        vz_error err = {{0}, {0}};
        if (vz_invocation_run(&opts, &ctx, events[b], strlen(events[b]), &res, &err) != VZ_OK) {
            fprintf(stderr, "bench_handlers: %s\n", err.message);
            return 1;
        }
        if (b >= 1) {
            succeeded += res.summary.succeeded;
            failed += res.summary.failed + res.summary.skipped;
            double d = vz_monotonic_ms() - tb;
            lat[b - 1] = d;
            worst = d > worst ? d : worst;
        }
        free(res.response);
        vz_arena_reset(&arena);
        if (loglen > (64u << 20)) { /* keep memory bounded on long runs; no syscall involved */
            fflush(logf);
            rewind(logf);
        }
    }
    double ms = vz_monotonic_ms() - t0;
    mark("vz-bench-end");
    vz_db_stats s1 = vz_db_get_stats();
    int timed = batches - 1;
    const char *lat_file = getenv("VZ_BENCH_LATENCIES");
    if (lat_file && *lat_file) {
        FILE *lf = fopen(lat_file, "w");
        if (lf) {
            for (int b = 0; b < timed; b++)
                fprintf(lf, "%.4f\n", lat[b]);
            fclose(lf);
        }
    }
    qsort(lat, (size_t)timed, sizeof *lat, cmp_double);
    printf("handler=%s batches=%d batch_size=%d records=%zu failed=%zu seconds=%.3f records_per_second=%.0f "
           "ms_per_batch=%.2f p50_batch_ms=%.2f p99_batch_ms=%.2f worst_batch_ms=%.2f round_trips_per_batch=%.3f "
           "statements_per_batch=%.2f "
           "reconnects=%" PRIu64 "\n",
           handler, timed, size, succeeded + failed, failed, ms / 1000.0, (double)(succeeded + failed) * 1000.0 / ms,
           ms / timed, lat[timed / 2], lat[(int)((timed - 1) * 0.99)], worst,
           (double)(s1.round_trips - s0.round_trips) / timed, (double)(s1.statements - s0.statements) / timed,
           s1.connects - s0.connects);
    free(lat);
    vz_handlers_shutdown();
    vz_arena_destroy(&arena);
    for (int b = 0; b < batches; b++)
        free(events[b]);
    free(events);
    fclose(logf);
    free(logbuf);
    return failed ? 1 : 0;
}
