/* it_handlers.c -- the three Vision Zero handlers against a real PostgreSQL + PostGIS.
 *
 * usage: it_handlers branches   uses the server of DATABASE_URL (started by scripts/test),
 *                               reloads db/sample.sql and checks every branch with exact values
 *        it_handlers faults     starts its OWN throwaway cluster with scripts/db (it stops and
 *                               restarts it) and checks outages, reconnection and deadlines
 * Events go through the same path as in Lambda: SQS event JSON -> vz_invocation_run ->
 * batch processor -> handler -> database.  A missing DATABASE_URL is a failure, not a skip. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "vz/batch.h"
#include "vz/commands.h"
#include "vz/db.h"
#include "vz/fixture.h"
#include "vz/invocation.h"
#include "vz/log.h"

#define QUEUE(h) "atd-vz-data-events-" h "_staging"
#define MAX_BATCH 32

static PGconn *pg;         /* the test's own connection, for setup and checks */
static char own_dir[256];  /* faults: the private cluster's folder */
static char log_path[256]; /* the runtime's log lines, for checks */

/* ---- helpers ---------------------------------------------------------------------------- */

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sql(const char *fmt, ...)
{
    char q[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(pg, q);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s\n%s", q, PQerrorMessage(pg));
    PQclear(r);
}

/* First value of a query as a static string; "NULL" for SQL NULL. */
static const char *value(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *value(const char *fmt, ...)
{
    static char buf[8][256];
    static int slot;
    char q[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(pg, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        fail_msg("query gave no row: %s\n%s", q, PQerrorMessage(pg));
    char *out = buf[slot++ % 8];
    snprintf(out, 256, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

static void connect_test_db(void)
{
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url)
        fail_msg("DATABASE_URL is not set: run through ./scripts/test, which starts PostgreSQL (scripts/db)");
    if (pg)
        PQfinish(pg);
    pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK)
        fail_msg("cannot connect to DATABASE_URL: %s", PQerrorMessage(pg));
    PGresult *r = PQexec(pg, "SET client_min_messages = warning");
    PQclear(r);
}

static void load_sample(void)
{
    char msg[256] = "";
    size_t len;
    char *text = vz_read_file(VZ_SOURCE_DIR "/db/sample.sql", 1 << 20, &len, msg, sizeof msg);
    if (!text)
        fail_msg("%s", msg);
    PGresult *r = PQexec(pg, text);
    free(text);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("loading db/sample.sql failed: %s", PQerrorMessage(pg));
    PQclear(r);
}

/* A Hasura payload whose event.data.new.<field> is the raw JSON `key`. */
static char *hasura_body(const char *field, const char *key)
{
    char *b = malloc(1024);
    snprintf(b, 1024,
             "{\"event\":{\"session_variables\":{\"x-hasura-role\":\"admin\"},\"op\":\"UPDATE\","
             "\"data\":{\"old\":null,\"new\":{\"%s\":%s,\"location_id\":null}}},"
             "\"created_at\":\"2020-07-06T09:32:56.057539Z\",\"id\":\"cf5cbd97-47d5-4680-9f0b-48920cdadd52\","
             "\"trigger\":{\"name\":\"update_crash_location_on_lat_lon_change\"},"
             "\"table\":{\"schema\":\"public\",\"name\":\"atd_txdot_crashes\"}}",
             field, key);
    return b;
}

/* Run one SQS batch of `n` bodies on `queue`; failed[i] says whether record i was reported.
 * Returns the number of failures. */
static int run_bodies(const char *queue, char **bodies, int n, int64_t timeout_ms, bool *failed)
{
    cJSON *ev = vz_fixture_sqs_event();
    cJSON *records = cJSON_GetObjectItemCaseSensitive(ev, "Records");
    char ids[MAX_BATCH][40];
    for (int i = 0; i < n; i++) {
        cJSON *rec = vz_fixture_sqs_record(queue, NULL, bodies[i], strlen(bodies[i]));
        snprintf(ids[i], sizeof ids[i], "%s", cJSON_GetObjectItemCaseSensitive(rec, "messageId")->valuestring);
        cJSON_AddItemToArray(records, rec);
    }
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    vz_batch_options opts = {NULL, NULL, VZ_DEFAULT_DEADLINE_MARGIN_MS};
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context ctx = {"it-handlers", timeout_ms ? vz_now_ms() + timeout_ms : 0, NULL, NULL, &arena};
    vz_invocation_result res;
    vz_error err = {{0}, {0}};
    vz_status st = vz_invocation_run(&opts, &ctx, text, strlen(text), &res, &err);
    free(text);
    assert_int_equal(st, VZ_OK);
    cJSON *resp = cJSON_Parse(res.response);
    free(res.response);
    vz_arena_destroy(&arena);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(resp, "batchItemFailures");
    assert_true(cJSON_IsArray(list));
    int count = 0;
    for (int i = 0; i < n; i++) {
        failed[i] = false;
        const cJSON *f;
        cJSON_ArrayForEach(f, list)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "itemIdentifier");
            if (cJSON_IsString(id) && strcmp(id->valuestring, ids[i]) == 0)
                failed[i] = true;
        }
        count += failed[i];
    }
    assert_int_equal(count, cJSON_GetArraySize(list));
    cJSON_Delete(resp);
    return count;
}

/* Run one batch of integer keys through handler `h`. */
static int run_keys(const char *queue, const char *field, const int *keys, int n, int64_t timeout_ms, bool *failed)
{
    char *bodies[MAX_BATCH];
    for (int i = 0; i < n; i++) {
        char k[16];
        snprintf(k, sizeof k, "%d", keys[i]);
        bodies[i] = hasura_body(field, k);
    }
    int r = run_bodies(queue, bodies, n, timeout_ms, failed);
    for (int i = 0; i < n; i++)
        free(bodies[i]);
    return r;
}

static int run_crashes(const char *handler_queue, const int *keys, int n, int64_t timeout_ms, bool *failed)
{
    return run_keys(handler_queue, "crash_id", keys, n, timeout_ms, failed);
}

static const char *location_of(int crash_id)
{
    return value("SELECT location_id FROM atd_txdot_crashes WHERE crash_id = %d", crash_id);
}

static const char *xmin_of(int crash_id)
{
    return value("SELECT xmin::text FROM atd_txdot_crashes WHERE crash_id = %d", crash_id);
}

static bool log_has(const char *needle)
{
    vz_log_flush();
    char msg[256];
    size_t len;
    char *text = vz_read_file(log_path, 64u << 20, &len, msg, sizeof msg);
    bool found = text && strstr(text, needle);
    free(text);
    return found;
}

/* Lines of the log after byte `from` that contain `needle`; *last gets the last of them (malloc'd). */
static int log_lines_with(size_t from, const char *needle, char **last)
{
    vz_log_flush();
    char msg[256];
    size_t len;
    char *text = vz_read_file(log_path, 64u << 20, &len, msg, sizeof msg);
    int count = 0;
    *last = NULL;
    for (char *line = text ? text + (from < len ? from : len) : NULL; line && *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char saved = line[n];
        line[n] = '\0';
        if (strstr(line, needle)) {
            count++;
            free(*last);
            *last = strdup(line);
        }
        line[n] = saved;
        line = end ? end + 1 : NULL;
    }
    free(text);
    return count;
}

/* Bytes in the log so far. */
static size_t log_size(void)
{
    vz_log_flush();
    struct stat st;
    return stat(log_path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* ---- branches: the shared server ------------------------------------------------------- */

static const int all_crashes[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
                                  14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26};
#define N_CRASHES ((int)(sizeof all_crashes / sizeof all_crashes[0]))

static int setup_branches(void **state)
{
    (void)state;
    connect_test_db();
    load_sample();
    return 0;
}

/* Every sample crash through `queue`, in SQS batches of ten. */
static void run_all_crashes(const char *queue)
{
    bool failed[MAX_BATCH];
    for (int i = 0; i < N_CRASHES; i += 10)
        assert_int_equal(run_crashes(queue, all_crashes + i, N_CRASHES - i < 10 ? N_CRASHES - i : 10, 0, failed), 0);
}

static long change_log_rows(void)
{
    return strtol(value("SELECT count(*) FROM atd_txdot_change_log"), NULL, 10);
}

static void test_location_every_branch(void **state)
{
    (void)state;
    load_sample();
    run_all_crashes(QUEUE("crash_update_location"));
    static const struct {
        int id;
        const char *loc;
    } want[] = {
        {1, "INT-1"},
        {2, "NULL"},
        {3, "NULL"},
        {4, "NULL"},
        {5, "SVRD-A-E1"},
        {6, "SVRD-A-W"},
        {7, "SVRD-B-S"},
        {8, "SVRD-B-N"},
        {9, "NULL"},
        {10, "NULL"},
        {11, "NULL"},
        {12, "NULL"},
        {13, "NULL"},
        {14, "NULL"},
        {15, "SVRD-A-E1"},
        {16, "NULL"},
        {17, "NULL"},
        /* 18: no coordinates; 19: 0.8 ft off US 290, outside the lane's box; 20: 0.3 ft past IH 35's end */
        {18, "NULL"},
        {19, "NULL"},
        {20, "NULL"},
        /* service roads of group 2, 0 ("svrd"), NULL and L-shaped ("Svrd"); 25: private_dr_fl NULL */
        {21, "SVRD-G2"},
        {22, "SVRD-G0"},
        {23, "SVRD-GN"},
        {24, "SVRD-L"},
        {25, "NULL"},
        /* 26: SVRD-EDGE's centroid at exactly 295 degrees (ST_Azimuth * 180 / pi()), the cone's edge */
        {26, "SVRD-EDGE"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = location_of(want[i].id);
        if (strcmp(got, want[i].loc) != 0)
            fail_msg("crash %d: location_id %s, expected %s", want[i].id, got, want[i].loc);
    }
    /* The service-road crashes now sit exactly on their location's centroid, position included. */
    assert_string_equal(value("SELECT count(*) FROM atd_txdot_crashes c JOIN atd_txdot_locations l USING (location_id)"
                              " WHERE c.crash_id IN (5, 6, 7, 8, 15, 21, 22, 23, 24, 26)"
                              "   AND c.latitude_primary = ST_Y(ST_Centroid(l.shape))"
                              "   AND c.longitude_primary = ST_X(ST_Centroid(l.shape))"
                              "   AND ST_Equals(c.position, ST_Centroid(l.shape))"),
                        "10");
    /* The L's centroid lies outside it: the crash moved there is in no polygon of its own. */
    assert_string_equal(value("SELECT ST_Contains(l.shape, c.position) FROM atd_txdot_crashes c"
                              " JOIN atd_txdot_locations l USING (location_id) WHERE c.crash_id = 24"),
                        "f");
    assert_string_equal(value("SELECT latitude_primary || ' ' || longitude_primary FROM atd_txdot_crashes"
                              " WHERE crash_id = 5"),
                        "30.276000000000003 -97.7293");
    /* Every other crash kept its coordinates. */
    assert_string_equal(value("SELECT latitude_primary || ' ' || longitude_primary FROM atd_txdot_crashes"
                              " WHERE crash_id = 9"),
                        "30.285 -97.73");
    assert_string_equal(value("SELECT latitude_primary IS NULL FROM atd_txdot_crashes WHERE crash_id = 4"), "t");
    assert_string_equal(value("SELECT count(*) FROM atd_txdot_crashes"
                              " WHERE crash_id IN (1,2,3,9,10,11,12,13,14,16,17,19,20,25)"
                              " AND NOT ST_Equals(position, ST_SetSRID(ST_MakePoint(longitude_primary,"
                              " latitude_primary), 4326))"),
                        "0");
    /* The log line of a record says handler, key, old, new and whether it wrote. */
    assert_true(log_has("\"handler\":\"crash_update_location\""));
    assert_true(log_has("\"key\":5,\"keyField\":\"crash_id\",\"field\":\"location_id\",\"old\":null,"
                        "\"new\":\"SVRD-A-E1\",\"wrote\":true,\"branch\":\"service_road\""));
    assert_true(log_has("\"key\":14,\"keyField\":\"crash_id\",\"field\":\"location_id\",\"old\":\"INT-AB\","
                        "\"new\":null,\"wrote\":true,\"branch\":\"main_lane\""));
    /* Every write ran the audit trigger: one change-log row per crash written, with its cost. */
    assert_string_equal(value("SELECT count(DISTINCT record_id) || ' ' || count(*) FROM atd_txdot_change_log"),
                        "22 22");
    assert_string_equal(value("SELECT est_comp_cost || ' ' || (atd_mode_category_metadata->1->>'mode')"
                              " FROM atd_txdot_crashes WHERE crash_id = 5"),
                        "250000 BICYCLE");
}

/* The service-road function's main lane is the union of the lanes with round caps and no
 * bounding-box test, as in production; the handler asks find_cr3_mainlane_crash first (flat
 * caps, the unbuffered lane's box), so those crashes are not main-lane crashes. */
static void test_mainlane_production_details(void **state)
{
    (void)state;
    load_sample();
    assert_string_equal(value("SELECT location_id FROM find_service_road_location_for_centerline_crash(20)"),
                        "SVRD-END");
    assert_string_equal(value("SELECT location_id FROM find_service_road_location_for_centerline_crash(19)"),
                        "SVRD-B-S");
    assert_string_equal(value("SELECT count(*) FROM find_cr3_mainlane_crash(19)"), "0");
    assert_string_equal(value("SELECT count(*) FROM find_cr3_mainlane_crash(20)"), "0");
    assert_string_equal(value("SELECT count(*) FROM find_cr3_mainlane_crash(15)"), "1");
    /* The azimuth is production's ST_Azimuth * 180 / pi(): 295 for crash 26, in the cone; degrees()
     * differs in the last bit there. */
    assert_string_equal(value("SELECT (ST_Azimuth(c.position, ST_Centroid(l.shape)) * 180 / pi())::text || ' '"
                              " || degrees(ST_Azimuth(c.position, ST_Centroid(l.shape)))::text"
                              " FROM atd_txdot_crashes c, atd_txdot_locations l"
                              " WHERE c.crash_id = 26 AND l.location_id = 'SVRD-EDGE'"),
                        "295 294.99999999999994");
    assert_string_equal(value("SELECT location_id FROM find_service_road_location_for_centerline_crash(26)"),
                        "SVRD-EDGE");
    /* private_dr_fl NULL does not qualify; 'N' does. */
    assert_string_equal(value("SELECT count(*) FROM find_service_road_location_for_centerline_crash(25)"), "0");
    assert_string_equal(value("SELECT location_id FROM find_service_road_location_for_centerline_crash(23)"),
                        "SVRD-GN");
    /* The objects production has besides the handlers' own. */
    assert_string_equal(value("SELECT find_location_id_for_cr3_collision(1)"), "INT-1");
    assert_string_equal(value("SELECT find_location_id_for_cr3_collision(3)"), "NULL");
    assert_string_equal(value("SELECT string_agg(id::text, ',') FROM find_crash_jurisdictions(13)"), "6");
    assert_string_equal(value("SELECT string_agg(id::text, ',') FROM find_crash_jurisdictions(1)"), "5");
    assert_string_equal(value("SELECT ST_AsText(centroid) FROM atd_txdot_locations_with_centroids"
                              " WHERE location_id = 'SVRD-A-E1'"),
                        "POINT(-97.7293 30.276000000000003)");
    bool failed[MAX_BATCH];
    int keys[] = {19, 20};
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), keys, 2, 0, failed), 0);
    assert_true(log_has("\"key\":19,\"keyField\":\"crash_id\",\"field\":\"location_id\",\"old\":null,"
                        "\"new\":null,\"wrote\":false,\"branch\":\"no_location\""));
}

/* The move re-fires the coordinate trigger; that second event, and any repeat, writes nothing. */
static void test_location_fixed_point_and_redelivery(void **state)
{
    (void)state;
    load_sample();
    run_all_crashes(QUEUE("crash_update_location"));
    char before[N_CRASHES][32];
    for (int i = 0; i < N_CRASHES; i++)
        snprintf(before[i], sizeof before[i], "%s", xmin_of(all_crashes[i]));
    long logged = change_log_rows();
    for (int pass = 2; pass <= 3; pass++) {
        run_all_crashes(QUEUE("crash_update_location"));
        for (int i = 0; i < N_CRASHES; i++)
            if (strcmp(before[i], xmin_of(all_crashes[i])) != 0)
                fail_msg("crash %d was written again by delivery %d", all_crashes[i], pass);
        assert_int_equal(change_log_rows(), logged);
    }
    assert_string_equal(location_of(5), "SVRD-A-E1");
    /* Group 2, 0, NULL and L-shaped: kept because each sits on its location's centroid. */
    assert_string_equal(location_of(21), "SVRD-G2");
    assert_string_equal(location_of(22), "SVRD-G0");
    assert_string_equal(location_of(23), "SVRD-GN");
    assert_string_equal(location_of(24), "SVRD-L");
    assert_true(log_has("\"key\":5,\"keyField\":\"crash_id\",\"field\":\"location_id\",\"old\":\"SVRD-A-E1\","
                        "\"new\":\"SVRD-A-E1\",\"wrote\":false,\"branch\":\"service_road_kept\""));
    assert_true(log_has("\"key\":24,\"keyField\":\"crash_id\",\"field\":\"location_id\",\"old\":\"SVRD-L\","
                        "\"new\":\"SVRD-L\",\"wrote\":false,\"branch\":\"service_road_kept\""));
    /* Moved off its centroid (an edit), the crash is placed by the rule again. */
    sql("UPDATE atd_txdot_crashes SET latitude_primary = 30.2950, longitude_primary = -97.7650 WHERE crash_id = 21");
    int one[] = {21};
    bool failed[MAX_BATCH];
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), one, 1, 0, failed), 0);
    assert_string_equal(location_of(21), "NULL");
}

static void test_noncr3_every_branch(void **state)
{
    (void)state;
    load_sample();
    static const int cases[] = {101, 102, 103, 104, 105, 106, 107};
    static const char *want[] = {"INT-1", "NULL", "NULL", "NULL", "SVRD-A-E1", "NULL", "INT-AB"};
    enum { N_CASES = sizeof cases / sizeof cases[0] };
    bool failed[MAX_BATCH];
    char before_103[32];
    snprintf(before_103, sizeof before_103, "%s", value("SELECT xmin::text FROM atd_apd_blueform WHERE case_id = 103"));
    assert_int_equal(run_keys(QUEUE("crash_update_noncr3_location"), "case_id", cases, N_CASES, 0, failed), 0);
    for (int i = 0; i < N_CASES; i++) {
        const char *got = value("SELECT location_id FROM atd_apd_blueform WHERE case_id = %d", cases[i]);
        if (strcmp(got, want[i]) != 0)
            fail_msg("case %d: location_id %s, expected %s", cases[i], got, want[i]);
    }
    /* 103 already had the right (NULL) value: not written. */
    assert_string_equal(value("SELECT xmin::text FROM atd_apd_blueform WHERE case_id = 103"), before_103);
    char before[N_CASES][32];
    for (int i = 0; i < N_CASES; i++)
        snprintf(before[i], 32, "%s", value("SELECT xmin::text FROM atd_apd_blueform WHERE case_id = %d", cases[i]));
    assert_int_equal(run_keys(QUEUE("crash_update_noncr3_location"), "case_id", cases, N_CASES, 0, failed), 0);
    for (int i = 0; i < N_CASES; i++)
        assert_string_equal(value("SELECT xmin::text FROM atd_apd_blueform WHERE case_id = %d", cases[i]), before[i]);
    assert_true(log_has("\"key\":101,\"keyField\":\"case_id\",\"field\":\"location_id\",\"old\":null,"
                        "\"new\":\"INT-1\",\"wrote\":true"));
}

static void test_jurisdiction_every_branch(void **state)
{
    (void)state;
    load_sample();
    char before_1[32], before_4[32];
    snprintf(before_1, sizeof before_1, "%s", xmin_of(1));
    snprintf(before_4, sizeof before_4, "%s", xmin_of(4));
    run_all_crashes(QUEUE("crash_update_jurisdiction"));
    for (int i = 0; i < N_CRASHES; i++) {
        int id = all_crashes[i];
        /* 4 and 18 have no position: city_id decides (22: 'Y', as the crashes' trigger does) */
        const char *want = (id == 13 || id == 17 || id == 18) ? "N" : "Y";
        const char *got = value("SELECT austin_full_purpose FROM atd_txdot_crashes WHERE crash_id = %d", id);
        if (strcmp(got, want) != 0)
            fail_msg("crash %d: austin_full_purpose %s, expected %s", id, got, want);
    }
    assert_string_equal(xmin_of(1), before_1); /* already 'Y': not written */
    assert_string_equal(xmin_of(4), before_4); /* no position, city 22: 'Y' agrees with the trigger */
    /* city_id stays as the state sent it (the production city_id = 22 rule is not carried over). */
    assert_string_equal(value("SELECT count(*) FROM atd_txdot_crashes WHERE city_id IS DISTINCT FROM 22"), "1");
    /* The trigger's side: any write of 'N' to an unplaced crash of city 22 comes back 'Y'. */
    sql("UPDATE atd_txdot_crashes SET austin_full_purpose = 'N' WHERE crash_id = 4");
    assert_string_equal(value("SELECT austin_full_purpose FROM atd_txdot_crashes WHERE crash_id = 4"), "Y");
    /* Location and coordinates are not this handler's business. */
    assert_string_equal(location_of(5), "NULL");
    char before[N_CRASHES][32];
    for (int i = 0; i < N_CRASHES; i++)
        snprintf(before[i], sizeof before[i], "%s", xmin_of(all_crashes[i]));
    run_all_crashes(QUEUE("crash_update_jurisdiction"));
    for (int i = 0; i < N_CRASHES; i++)
        assert_string_equal(xmin_of(all_crashes[i]), before[i]);
    assert_true(log_has("\"key\":13,\"keyField\":\"crash_id\",\"field\":\"austin_full_purpose\",\"old\":\"Y\","
                        "\"new\":\"N\",\"wrote\":true,\"branch\":\"outside_full_purpose\""));
    assert_true(log_has("\"key\":18,\"keyField\":\"crash_id\",\"field\":\"austin_full_purpose\",\"old\":\"Y\","
                        "\"new\":\"N\",\"wrote\":true,\"branch\":\"no_position\""));
}

/* Keys: an integer or a string of digits; anything else fails that record alone. */
static void test_keys_and_missing_rows(void **state)
{
    (void)state;
    load_sample();
    static const char *keys[] = {"\"1\"", "5.5",     "-1",         "4294967296", "null",
                                 "true",  "\"12a\"", "2147483648", "999",        "2"};
    static const bool want_failed[] = {false, true, true, true, true, true, true, true, true, false};
    char *bodies[12];
    int n = 0;
    for (; n < 10; n++)
        bodies[n] = hasura_body("crash_id", keys[n]);
    bodies[n++] = strdup("{\"event\":{\"op\":\"DELETE\",\"data\":{\"old\":{\"crash_id\":3},\"new\":null}}}");
    bodies[n++] = strdup("{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"case_id\":3}}}}");
    bool failed[MAX_BATCH];
    assert_int_equal(run_bodies(QUEUE("crash_update_location"), bodies, n, 0, failed), 10);
    for (int i = 0; i < 10; i++)
        if (failed[i] != want_failed[i])
            fail_msg("key %s: failed=%d, expected %d", keys[i], failed[i], want_failed[i]);
    assert_true(failed[10] && failed[11]);
    for (int i = 0; i < n; i++)
        free(bodies[i]);
    assert_string_equal(location_of(1), "INT-1"); /* "1" as a string worked */
    assert_string_equal(location_of(2), "NULL");
    assert_string_equal(location_of(3), "INT-1"); /* the DELETE event touched nothing */
    assert_true(log_has("event.data.new.crash_id is not an integer"));
    assert_true(log_has("event.data.new.crash_id is negative"));
    assert_true(log_has("beyond a 32-bit integer"));
    assert_true(log_has("event.data.new.crash_id is null"));
    assert_true(log_has("event.data.new.crash_id is missing"));
    assert_true(log_has("event.data.new is null, expected the row (op DELETE)"));
    /* A crash that does not exist: failed with a message, logged as a warning. */
    assert_true(log_has("crash_id 999 does not exist in atd_txdot_crashes"));
    assert_true(log_has("\"level\":\"WARN\""));
}

/* A failed record is logged once: the runtime's outcome line, holding the handler, the
 * messageId, the outcome and why (with the key), and no other line about it. */
static void test_failure_logged_once(void **state)
{
    (void)state;
    load_sample();
    char *bodies[] = {hasura_body("crash_id", "424242"), hasura_body("crash_id", "\"4x2\""),
                      hasura_body("crash_id", "1")};
    bool failed[MAX_BATCH];
    size_t from = log_size();
    assert_int_equal(run_bodies(QUEUE("crash_update_jurisdiction"), bodies, 3, 0, failed), 2);
    assert_true(failed[0] && failed[1] && !failed[2]);
    char *line = NULL;
    assert_int_equal(log_lines_with(from, "424242", &line), 1);
    const char *l = line ? line : "";
    assert_non_null(strstr(l, "crash_id 424242 does not exist in atd_txdot_crashes"));
    assert_non_null(strstr(l, "\"handler\":\"crash_update_jurisdiction\""));
    assert_non_null(strstr(l, "\"outcome\":\"failed\""));
    assert_non_null(strstr(l, "\"messageId\":\""));
    free(line);
    assert_int_equal(log_lines_with(from, "event.data.new.crash_id is a string", &line), 1);
    assert_non_null(strstr(line ? line : "", "\"outcome\":\"failed\""));
    free(line);
    assert_int_equal(log_lines_with(from, "\"outcome\":\"failed\"", &line), 2);
    free(line);
    for (int i = 0; i < 3; i++)
        free(bodies[i]);
}

/* A lookup that errors (here: a function that is gone) fails the record and keeps the good value. */
static void test_failed_lookup_keeps_location(void **state)
{
    (void)state;
    load_sample();
    bool failed[MAX_BATCH];
    int one[] = {1};
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), one, 1, 0, failed), 0);
    assert_string_equal(location_of(1), "INT-1");
    /* The crash moves out of INT-1, so a correct recomputation would give NULL... */
    sql("UPDATE atd_txdot_crashes SET latitude_primary = 30.2950, longitude_primary = -97.7650 WHERE crash_id = 1");
    sql("ALTER FUNCTION find_location_for_cr3_collision(integer) RENAME TO find_location_for_cr3_collision_gone");
    int rc = run_crashes(QUEUE("crash_update_location"), one, 1, 0, failed);
    sql("ALTER FUNCTION find_location_for_cr3_collision_gone(integer) RENAME TO find_location_for_cr3_collision");
    assert_int_equal(rc, 1);
    assert_string_equal(location_of(1), "INT-1"); /* ...but a failed lookup never writes */
    assert_true(log_has("find_location_for_cr3_collision"));
    assert_true(log_has("crash_id=1 (atd_txdot_crashes.location_id): ")); /* the failure names its key */
    /* Once the lookup works again, the retry writes the right value on the same connection. */
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), one, 1, 0, failed), 0);
    assert_string_equal(location_of(1), "NULL");
}

/* A batch of ten is one network round trip (the connection is already open). */
static void test_batch_is_one_round_trip(void **state)
{
    (void)state;
    load_sample();
    bool failed[MAX_BATCH];
    run_crashes(QUEUE("crash_update_jurisdiction"), all_crashes, 1, 0, failed);
    vz_db_stats a = vz_db_get_stats();
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), all_crashes, 10, 0, failed), 0);
    vz_db_stats b = vz_db_get_stats();
    assert_int_equal(b.round_trips - a.round_trips, 1);
    assert_int_equal(b.connects - a.connects, 0);
    /* Per record: its settings (statement_timeout, synchronous_commit), lock, update; nothing
     * prepared again on this connection. */
    assert_int_equal(b.statements - a.statements, 10 * 3);
}

/* sslmode is honoured: require against this server (no TLS) fails instead of going plain. */
static void test_sslmode_honoured(void **state)
{
    (void)state;
    const char *url = getenv("DATABASE_URL");
    char saved[512], strict[600];
    snprintf(saved, sizeof saved, "%s", url);
    const char *p = strstr(saved, "sslmode=disable");
    assert_non_null(p);
    snprintf(strict, sizeof strict, "%.*ssslmode=require%s", (int)(p - saved), saved, p + strlen("sslmode=disable"));
    vz_db_close();
    setenv("DATABASE_URL", strict, 1);
    bool failed[MAX_BATCH];
    int one[] = {1};
    int rc = run_crashes(QUEUE("crash_update_jurisdiction"), one, 1, 0, failed);
    setenv("DATABASE_URL", saved, 1);
    vz_db_close();
    assert_int_equal(rc, 1);
    assert_true(log_has("server does not support SSL"));
    assert_false(log_has("postgres@")); /* the URL (and any password in it) never reaches a log line */
}

/* A password in the URL never reaches a log line, even when the connection fails. */
static void test_password_never_logged(void **state)
{
    (void)state;
    char saved[512], url[700], password[40];
    snprintf(saved, sizeof saved, "%s", getenv("DATABASE_URL"));
    char uuid[37];
    vz_uuid4(uuid);
    snprintf(password, sizeof password, "pw%.8s%.4s", uuid, uuid + 9); /* generated, never stored */
    const char *at = strstr(saved, "@");
    const char *slash = at ? strchr(at, '/') : NULL;
    assert_non_null(slash);
    snprintf(url, sizeof url, "postgresql://postgres:%s%.*s/no_such_database?sslmode=disable", password,
             (int)(slash - at), at);
    vz_db_close();
    setenv("DATABASE_URL", url, 1);
    bool failed[MAX_BATCH];
    int one[] = {1};
    int rc = run_crashes(QUEUE("crash_update_jurisdiction"), one, 1, 0, failed);
    setenv("DATABASE_URL", saved, 1);
    vz_db_close();
    assert_int_equal(rc, 1);
    assert_true(log_has("cannot connect to the database at 127.0.0.1:"));
    assert_true(log_has("no_such_database"));
    assert_false(log_has(password));
}

/* ---- faults: a private cluster we may stop and restart ---------------------------------- */

/* Run argv[0] with its output discarded; its exit status, or -1. (No shell involved.) */
static int run_quiet(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static int db_script_status(const char *cmd)
{
    char *argv[] = {VZ_SOURCE_DIR "/scripts/db", (char *)cmd, own_dir, NULL};
    return run_quiet(argv);
}

static void db_script(const char *cmd)
{
    if (db_script_status(cmd) != 0)
        fail_msg("scripts/db %s failed", cmd);
}

static int setup_faults(void **state)
{
    (void)state;
    snprintf(own_dir, sizeof own_dir, "/tmp/vz-it-faults.XXXXXX");
    if (!mkdtemp(own_dir))
        return -1;
    db_script("start");
    char path[300], port[16] = "";
    snprintf(path, sizeof path, "%s/port", own_dir);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(port, sizeof port, f))
        return -1;
    fclose(f);
    port[strcspn(port, "\n")] = '\0';
    char url[256];
    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%s/vz?sslmode=disable", port);
    setenv("DATABASE_URL", url, 1);
    connect_test_db();
    return 0;
}

static int teardown_faults(void **state)
{
    (void)state;
    if (pg)
        PQfinish(pg);
    pg = NULL;
    vz_db_close();
    int rc = db_script_status("stop");
    char *rm[] = {"/bin/rm", "-rf", own_dir, NULL};
    return rc == 0 && run_quiet(rm) == 0 ? 0 : -1;
}

/* The server stops while a batch waits on a locked row: the records before it are done, the
 * rest fail and wrote nothing, the process carries on, and after a restart it reconnects. */
static void test_server_stopped_mid_batch(void **state)
{
    (void)state;
    load_sample();
    sql("BEGIN");
    sql("SELECT 1 FROM atd_txdot_crashes WHERE crash_id = 6 FOR UPDATE");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Stop the server once the batch is waiting on the locked row (a fresh connection: the
         * parent's is not ours to use), so records 1, 2 and 5 are committed and 6, 7, 8 are not. */
        PGconn *watch = PQconnectdb(getenv("DATABASE_URL"));
        for (int i = 0; i < 400 && PQstatus(watch) == CONNECTION_OK; i++) {
            PGresult *r = PQexec(watch, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
            bool waiting = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") != 0;
            PQclear(r);
            if (waiting)
                break;
            usleep(50 * 1000);
        }
        PQfinish(watch);
        _exit(db_script_status("stop") == 0 ? 0 : 1);
    }
    int keys[] = {1, 2, 5, 6, 7, 8};
    bool failed[MAX_BATCH];
    int rc = run_crashes(QUEUE("crash_update_location"), keys, 6, 20000, failed);
    int status;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(rc, 3);
    assert_false(failed[0] || failed[1] || failed[2]);
    assert_true(failed[3] && failed[4] && failed[5]);
    assert_true(log_has("broke before the transaction was confirmed"));

    db_script("start");
    connect_test_db();
    assert_string_equal(location_of(1), "INT-1");
    assert_string_equal(location_of(2), "NULL");
    assert_string_equal(location_of(5), "SVRD-A-E1");
    for (int id = 6; id <= 8; id++) {
        assert_string_equal(location_of(id), "NULL");
        assert_string_equal(value("SELECT longitude_primary::text FROM atd_txdot_crashes WHERE crash_id = %d", id),
                            id == 6 ? "-97.73" : "-97.75");
    }
    /* The same process, next invocation: reconnects and finishes the job. */
    vz_db_stats a = vz_db_get_stats();
    int rest[] = {6, 7, 8};
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), rest, 3, 20000, failed), 0);
    assert_int_equal(vz_db_get_stats().connects - a.connects, 1);
    assert_string_equal(location_of(6), "SVRD-A-W");
    assert_string_equal(location_of(7), "SVRD-B-S");
    assert_string_equal(location_of(8), "SVRD-B-N");
}

/* A server restarted between two invocations: the idle connection is found dead and replaced. */
static void test_server_restarted_between_invocations(void **state)
{
    (void)state;
    load_sample();
    bool failed[MAX_BATCH];
    int one[] = {1}, two[] = {13};
    assert_int_equal(run_crashes(QUEUE("crash_update_jurisdiction"), one, 1, 20000, failed), 0);
    int pid_before = vz_db_backend_pid();
    assert_true(pid_before > 0);
    PQfinish(pg);
    pg = NULL;
    db_script("restart");
    vz_db_stats a = vz_db_get_stats();
    assert_int_equal(run_crashes(QUEUE("crash_update_jurisdiction"), two, 1, 20000, failed), 0);
    assert_int_equal(vz_db_get_stats().connects - a.connects, 1);
    assert_int_not_equal(vz_db_backend_pid(), pid_before);
    connect_test_db();
    assert_string_equal(value("SELECT austin_full_purpose FROM atd_txdot_crashes WHERE crash_id = 13"), "N");
}

/* The server down for a whole invocation: every record fails, nothing is written, the next works. */
static void test_server_down_whole_invocation(void **state)
{
    (void)state;
    load_sample();
    PQfinish(pg);
    pg = NULL;
    db_script("stop");
    bool failed[MAX_BATCH];
    int keys[] = {1, 2, 3};
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), keys, 3, 5000, failed), 3);
    assert_true(log_has("cannot connect to the database at"));
    db_script("start");
    connect_test_db();
    assert_string_equal(location_of(1), "NULL");
    assert_string_equal(location_of(2), "INT-1");
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), keys, 3, 5000, failed), 0);
    assert_string_equal(location_of(1), "INT-1");
}

/* A statement that would run past the invocation's deadline is stopped by statement_timeout:
 * the record fails, the good location stays, and the same connection serves the next one. */
static void test_statement_past_deadline(void **state)
{
    (void)state;
    load_sample();
    bool failed[MAX_BATCH];
    int warm[] = {1};
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), warm, 1, 20000, failed), 0);
    int pid = vz_db_backend_pid();
    sql("BEGIN");
    sql("SELECT 1 FROM atd_txdot_crashes WHERE crash_id = 9 FOR UPDATE");
    int keys[] = {9, 2};
    double t0 = vz_monotonic_ms();
    int rc = run_crashes(QUEUE("crash_update_location"), keys, 2, 3000, failed);
    double took = vz_monotonic_ms() - t0;
    sql("ROLLBACK");
    assert_int_equal(rc, 1);
    assert_true(failed[0]);
    assert_false(failed[1]); /* the record after the slow one still ran, alone */
    assert_true(took < 3000);
    assert_true(log_has("statement timeout"));
    assert_string_equal(location_of(9), "INT-1");
    assert_string_equal(location_of(2), "NULL");
    assert_int_equal(vz_db_backend_pid(), pid);
    assert_int_equal(run_crashes(QUEUE("crash_update_location"), keys, 1, 20000, failed), 0);
    assert_int_equal(vz_db_backend_pid(), pid);
    assert_string_equal(location_of(9), "NULL");
}

int main(int argc, char **argv)
{
    const char *suite = argc > 1 ? argv[1] : "branches";
    snprintf(log_path, sizeof log_path, "/tmp/vz-it-handlers-%d.log", (int)getpid());
    FILE *logf = fopen(log_path, "w+");
    if (!logf)
        return 1;
    vz_log_configure(1, VZ_LOG_INFO, logf);
    int rc;
    if (strcmp(suite, "branches") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_location_every_branch),
            cmocka_unit_test(test_location_fixed_point_and_redelivery),
            cmocka_unit_test(test_mainlane_production_details),
            cmocka_unit_test(test_noncr3_every_branch),
            cmocka_unit_test(test_jurisdiction_every_branch),
            cmocka_unit_test(test_keys_and_missing_rows),
            cmocka_unit_test(test_failed_lookup_keeps_location),
            cmocka_unit_test(test_batch_is_one_round_trip),
            cmocka_unit_test(test_sslmode_honoured),
            cmocka_unit_test(test_password_never_logged),
            cmocka_unit_test(test_failure_logged_once),
        };
        rc = cmocka_run_group_tests_name("handlers (shared PostGIS)", tests, setup_branches, NULL);
    } else if (strcmp(suite, "faults") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_server_stopped_mid_batch),
            cmocka_unit_test(test_server_restarted_between_invocations),
            cmocka_unit_test(test_server_down_whole_invocation),
            cmocka_unit_test(test_statement_past_deadline),
        };
        rc = cmocka_run_group_tests_name("handlers (own PostGIS, stopped and restarted)", tests, setup_faults,
                                         teardown_faults);
    } else {
        fprintf(stderr, "usage: it_handlers branches|faults\n");
        rc = 2;
    }
    if (pg)
        PQfinish(pg);
    vz_db_close();
    vz_handlers_shutdown();
    fclose(logf);
    if (rc == 0)
        unlink(log_path);
    else
        fprintf(stderr, "runtime log kept in %s\n", log_path);
    return rc;
}
