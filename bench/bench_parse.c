/* bench_parse.c -- parsing and dispatch cost per record, in process.
 *
 * Builds SQS events in memory and runs them through vz_invocation_run() with
 * the `example` handler (which parses each body as JSON and logs one line),
 * logging to /dev/null.  Prints one JSON object per case:
 *   {"case":..., "records":N, "bodyBytes":B, "eventBytes":E, "runs":R,
 *    "usPerRecord":{"median":..,"min":..,"max":..}, "nsPerByte":{...}}
 * Cases sweep both the record count and the body size so that a reader can
 * check that the cost stays linear in the payload.
 * usage: bench_parse [--quick] [--case NAME]
 *        bench_parse --print-event RECORDS BODY_BYTES   (prints one such event on one line, for
 *        scripts/bench to send through vz-emulator)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vz/fixture.h"
#include "vz/invocation.h"
#include "vz/log.h"

static char *make_event(size_t records, size_t body_bytes, size_t *len)
{
    /* A Hasura-shaped body padded to body_bytes with a string field. */
    const char *head = "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"old\":null,\"new\":{\"crash_id\":1000,\"pad\":\"";
    const char *tail = "\"}}}}";
    size_t fixed = strlen(head) + strlen(tail);
    size_t pad = body_bytes > fixed ? body_bytes - fixed : 0;
    char *body = malloc(fixed + pad + 1);
    if (!body)
        return NULL;
    strcpy(body, head);
    memset(body + strlen(head), 'x', pad);
    strcpy(body + strlen(head) + pad, tail);
    cJSON *ev = vz_fixture_sqs_event();
    cJSON *recs = cJSON_GetObjectItemCaseSensitive(ev, "Records");
    for (size_t i = 0; i < records; i++)
        cJSON_AddItemToArray(recs,
                             vz_fixture_sqs_record("atd-vz-data-events-example_staging", NULL, body, strlen(body)));
    free(body);
    char *s = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    *len = s ? strlen(s) : 0;
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char *g_only; /* --case NAME: run just that case */

static void run_case(const char *name, size_t records, size_t body_bytes, int runs)
{
    if (g_only && strcmp(g_only, name) != 0)
        return;
    size_t len;
    char *event = make_event(records, body_bytes, &len);
    if (!event) {
        fprintf(stderr, "bench_parse: out of memory building %s\n", name);
        exit(1);
    }
    double *us = calloc((size_t)runs, sizeof *us);
    vz_batch_options opts = {NULL, NULL, 300};
    vz_arena arena;
    vz_arena_init(&arena, 0);
    for (int r = -1; r < runs; r++) { /* run -1 warms the allocator and caches */
        vz_context ctx = {"bench", 0, NULL, NULL, &arena};
        vz_invocation_result res;
        vz_error err;
        double t0 = vz_monotonic_ms();
        if (vz_invocation_run(&opts, &ctx, event, len, &res, &err) != VZ_OK) {
            fprintf(stderr, "bench_parse: %s: %s\n", name, err.message);
            exit(1);
        }
        if (r >= 0)
            us[r] = (vz_monotonic_ms() - t0) * 1000.0 / (double)records;
        if (strcmp(res.response, "{\"batchItemFailures\":[]}") != 0) {
            fprintf(stderr, "bench_parse: %s: unexpected failures %s\n", name, res.response);
            exit(1);
        }
        free(res.response);
        vz_arena_reset(&arena);
    }
    vz_arena_destroy(&arena);
    qsort(us, (size_t)runs, sizeof *us, cmp_double);
    double per_byte = (double)records / (double)len * 1000.0; /* ns per byte = us/record * records*1000/len */
    printf("{\"case\":\"%s\",\"records\":%zu,\"bodyBytes\":%zu,\"eventBytes\":%zu,\"runs\":%d,"
           "\"usPerRecord\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},"
           "\"nsPerByte\":{\"median\":%.4f,\"min\":%.4f,\"max\":%.4f}}\n",
           name, records, body_bytes, len, runs, us[runs / 2], us[0], us[runs - 1], us[runs / 2] * per_byte,
           us[0] * per_byte, us[runs - 1] * per_byte);
    fflush(stdout);
    free(us);
    free(event);
}

int main(int argc, char **argv)
{
    int quick = 0;
    if (argc == 4 && strcmp(argv[1], "--print-event") == 0) {
        size_t len;
        char *event = make_event(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10), &len);
        if (!event)
            return 1;
        puts(event);
        free(event);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
            g_only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_parse [--quick] [--case NAME]\n");
            return 2;
        }
    }
    vz_invocation_tune_memory(); /* as the runtime loop does */
    FILE *devnull = fopen("/dev/null", "w");
    vz_log_configure(1, VZ_LOG_INFO, devnull);
    int runs = quick ? 5 : 21;
    run_case("10x256KiB", 10, 256 * 1024 - 64, runs);
    run_case("1000x1KiB", 1000, 1024, runs);
    /* Linearity sweeps. */
    static const size_t counts[] = {10, 100, 1000, 10000};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "count-%zux512B", counts[i]);
        run_case(name, counts[i], 512, counts[i] >= 10000 ? (quick ? 3 : 7) : runs);
    }
    static const size_t sizes[] = {1024, 16 * 1024, 64 * 1024, 256 * 1024 - 64};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "size-10x%zuB", sizes[i]);
        run_case(name, 10, sizes[i], runs);
    }
    fclose(devnull);
    return 0;
}
