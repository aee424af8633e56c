/* it_contract.c -- a handler's mistakes are errors, never wrong rows: rowsync, db.c, reconcile and the
 * schema check (src/contract.c) against the real PostgreSQL of DATABASE_URL (scripts/test's server).
 *
 * Its own handlers (this file's registry), each with a mistake a newcomer made, on tables of its own:
 * an answer of two rows for one key, `wrote` as count(*), a statement with a syntax error, a value
 * column that does not exist; and two handlers of 47 characters sharing their first 45, reconciled
 * one after the other.  Each mistake fails its records with a message naming the file and what to
 * change, and writes nothing.  A missing DATABASE_URL is a failure, not a skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "vz/commands.h"
#include "vz/contract.h"
#include "vz/db.h"
#include "vz/fixture.h"
#include "vz/log.h"
#include "vz/reconcile.h"
#include "vz/rowsync.h"

static PGconn *pg;
static char log_path[256];

/* ---- the handlers -------------------------------------------------------------------------- */

/* A lookup joining two overlapping areas: two rows for the key (3 and 9). */
static const char two_rows_sql[] =
    "-- two areas contain the row\n"
    "WITH now_row AS (SELECT id, v FROM contract_t WHERE id = $1),\n"
    "decision AS (SELECT r.id, r.v AS old, a.x AS new FROM now_row AS r CROSS JOIN (VALUES (3), (9)) AS a(x)),\n"
    "written AS (UPDATE contract_t AS c SET v = d.new FROM decision AS d\n"
    "             WHERE c.id = d.id AND c.v IS DISTINCT FROM d.new RETURNING c.id)\n"
    "SELECT d.old::text, d.new::text, EXISTS (SELECT 1 FROM written) AS wrote, 'area' AS branch FROM decision AS d;\n";

/* wrote as count(*): a bigint. */
static const char count_wrote_sql[] =
    "WITH now_row AS (SELECT id, v FROM contract_t WHERE id = $1),\n"
    "written AS (UPDATE contract_t AS c SET v = 7 FROM now_row AS r\n"
    "             WHERE c.id = r.id AND c.v IS DISTINCT FROM 7 RETURNING c.id)\n"
    "SELECT r.v::text, '7', (SELECT count(*) FROM written) AS wrote, 'seven' FROM now_row AS r\n";

/* A syntax error on line 2. */
static const char bad_syntax_sql[] = "-- line 1\n"
                                     "SELEC v::text, v::text, false, 'x' FROM contract_t WHERE id = $1\n";

/* Correct, but its rule names a value column the table does not have. */
static const char good_sql[] = "SELECT v::text, v::text, false AS wrote, 'same' FROM contract_t WHERE id = $1";

static const char lock_sql[] = "SELECT id FROM contract_t WHERE id = $1 FOR UPDATE";

/* A page of reconcile over contract_a / contract_b: nothing to change. */
static const char a_sql[] = "SELECT v::text, v::text, false, 'same' FROM contract_a WHERE id = $1";
static const char b_sql[] = "SELECT v::text, v::text, false, 'same' FROM contract_b WHERE id = $1";

static vz_db_stmt lock_stmt = {"tests/it_contract.c lock", lock_sql, 1, 0};
static vz_db_stmt two_rows_stmt = {"handlers/two_rows/update.sql", two_rows_sql, 1, 0};
static vz_db_stmt count_wrote_stmt = {"handlers/count_wrote/update.sql", count_wrote_sql, 1, 0};
static vz_db_stmt bad_syntax_stmt = {"handlers/bad_syntax/update.sql", bad_syntax_sql, 1, 0};
static vz_db_stmt good_stmt = {"handlers/no_column/update.sql", good_sql, 1, 0};
static vz_db_stmt a_stmt = {"handlers/a/update.sql", a_sql, 1, 0};
static vz_db_stmt b_stmt = {"handlers/b/update.sql", b_sql, 1, 0};

#define LONG45 "reconcile_names_sharing_their_first_45_charact"
static const vz_handler h_two_rows, h_count_wrote, h_bad_syntax, h_no_column, h_long_a, h_long_b;

static const vz_rowsync rs_two_rows = {&h_two_rows, "id", "contract_t", "v", &lock_stmt, &two_rows_stmt, NULL};
static const vz_rowsync rs_count_wrote = {&h_count_wrote, "id", "contract_t", "v", &lock_stmt, &count_wrote_stmt, NULL};
static const vz_rowsync rs_bad_syntax = {&h_bad_syntax, "id", "contract_t", "v", NULL, &bad_syntax_stmt, NULL};
static const vz_rowsync rs_no_column = {&h_no_column, "id", "contract_t", "value_nope", NULL, &good_stmt, NULL};
static const vz_rowsync rs_long_a = {&h_long_a, "id", "contract_a", "v", NULL, &a_stmt, NULL};
static const vz_rowsync rs_long_b = {&h_long_b, "id", "contract_b", "v", NULL, &b_stmt, NULL};

static const vz_handler h_two_rows = {.name = "two_rows", .rowsync = &rs_two_rows};
static const vz_handler h_count_wrote = {.name = "count_wrote", .rowsync = &rs_count_wrote};
static const vz_handler h_bad_syntax = {.name = "bad_syntax", .rowsync = &rs_bad_syntax};
static const vz_handler h_no_column = {.name = "no_column", .rowsync = &rs_no_column};
static const vz_handler h_long_a = {.name = LONG45 "_a", .rowsync = &rs_long_a};
static const vz_handler h_long_b = {.name = LONG45 "_b", .rowsync = &rs_long_b};

const vz_handler *const vz_registry_table[];
const vz_handler *const vz_registry_table[] = {&h_two_rows, &h_count_wrote, &h_bad_syntax, &h_no_column,
                                               &h_long_a,   &h_long_b,      NULL};

/* ---- helpers ---------------------------------------------------------------------------- */

static void sql(const char *q)
{
    PGresult *r = PQexec(pg, q);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s\n%s", q, PQerrorMessage(pg));
    PQclear(r);
}

static const char *value(const char *q)
{
    static char buf[256];
    PGresult *r = PQexec(pg, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        fail_msg("query gave no row: %s\n%s", q, PQerrorMessage(pg));
    snprintf(buf, sizeof buf, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

static char *read_log(void)
{
    vz_log_flush();
    char msg[256];
    size_t len;
    return vz_read_file(log_path, 64u << 20, &len, msg, sizeof msg);
}

/* Run records with keys[0..n) through rs, as an event batch would; items get the outcomes. */
static void run(const vz_rowsync *rs, const int *keys, size_t n, vz_item *items)
{
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context ctx = {"it-contract", 0, NULL, NULL, &arena, NULL, NULL, NULL, NULL};
    cJSON *bodies[8];
    for (size_t i = 0; i < n; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"id\":%d}}}}", keys[i]);
        bodies[i] = cJSON_Parse(text);
        items[i] = (vz_item){NULL, bodies[i], VZ_ERR, {{0}, {0}}, -1};
    }
    vz_rowsync_batch(rs, &ctx, items, n);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(bodies[i]);
    vz_arena_destroy(&arena);
}

static int setup(void **state)
{
    (void)state;
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url)
        fail_msg("DATABASE_URL is not set: run through ./scripts/test, which starts PostgreSQL (scripts/services)");
    pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK)
        fail_msg("cannot connect to DATABASE_URL: %s", PQerrorMessage(pg));
    sql("SET client_min_messages = warning");
    sql("DROP TABLE IF EXISTS contract_t, contract_a, contract_b");
    sql("CREATE TABLE contract_t (id integer PRIMARY KEY, v integer)");
    sql("INSERT INTO contract_t VALUES (1, NULL), (2, NULL)");
    sql("CREATE TABLE contract_a (id integer PRIMARY KEY, v integer)");
    sql("INSERT INTO contract_a SELECT g, g FROM generate_series(1, 3) AS g");
    sql("CREATE TABLE contract_b (id integer PRIMARY KEY, v integer)");
    sql("INSERT INTO contract_b SELECT g, g FROM generate_series(1, 5) AS g");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sql("DROP TABLE IF EXISTS contract_t, contract_a, contract_b");
    PQfinish(pg);
    vz_db_close();
    return 0;
}

/* ---- the mistakes ----------------------------------------------------------------------- */

/* Two rows for one key: the record fails, says why, and the row keeps its value. */
static void test_two_rows_fail_and_write_nothing(void **state)
{
    (void)state;
    int keys[] = {1};
    vz_item it[1];
    run(&rs_two_rows, keys, 1, it);
    assert_int_not_equal(it[0].status, VZ_OK);
    print_message("    %s\n", it[0].error.message);
    assert_non_null(strstr(it[0].error.message, "id=1: handlers/two_rows/update.sql answered 2 rows for one key"));
    assert_string_equal(value("SELECT coalesce(v::text, 'NULL') FROM contract_t WHERE id = 1"), "NULL");
}

/* wrote as count(*): the record fails naming the type, and nothing is written. */
static void test_wrote_must_be_boolean(void **state)
{
    (void)state;
    int keys[] = {2};
    vz_item it[1];
    run(&rs_count_wrote, keys, 1, it);
    assert_int_not_equal(it[0].status, VZ_OK);
    print_message("    %s\n", it[0].error.message);
    assert_non_null(strstr(it[0].error.message, "handlers/count_wrote/update.sql answered `wrote` (its third column) "
                                                "as bigint; it must be a boolean"));
    assert_string_equal(value("SELECT coalesce(v::text, 'NULL') FROM contract_t WHERE id = 2"), "NULL");
}

/* A statement that cannot be prepared: every record carries the real cause, none "does not exist",
 * and no warning blames a schema change. */
static void test_failed_prepare_is_each_records_error(void **state)
{
    (void)state;
    int keys[] = {1, 2};
    vz_item it[2];
    for (int round = 0; round < 2; round++) { /* the second batch prepares again and fails the same way */
        run(&rs_bad_syntax, keys, 2, it);
        for (int i = 0; i < 2; i++) {
            assert_int_not_equal(it[i].status, VZ_OK);
            if (round == 0 && i == 0)
                print_message("    %s\n", it[i].error.message);
            assert_non_null(strstr(it[i].error.message,
                                   "handlers/bad_syntax/update.sql cannot be prepared, nothing "
                                   "was written (SQLSTATE 42601, line 2): syntax error at or near"));
            assert_null(strstr(it[i].error.message, "26000"));
        }
    }
    char *log = read_log();
    assert_non_null(log);
    assert_null(strstr(log, "26000"));
    assert_null(strstr(log, "stale prepared statement"));
    free(log);
}

/* Two handlers whose names share their first 45 characters: each reconcile reads its own table. */
static void test_reconcile_names_never_collide(void **state)
{
    (void)state;
    vz_arena arena;
    vz_arena_init(&arena, 0);
    vz_context ctx = {"it-contract", 0, NULL, NULL, &arena, NULL, NULL, NULL, NULL};
    vz_reconcile_options opts = {false, 0, 0, -1, false, NULL};
    vz_reconcile_summary *sum = malloc(sizeof *sum);
    vz_error err = {{0}, {0}};
    assert_int_equal(vz_reconcile_run(&h_long_a, &opts, &ctx, sum, &err), VZ_OK);
    assert_int_equal(sum->total, 3);
    assert_int_equal(sum->scanned, 3);
    assert_int_equal(vz_reconcile_run(&h_long_b, &opts, &ctx, sum, &err), VZ_OK);
    assert_int_equal(sum->total, 5);
    assert_int_equal(sum->scanned, 5);
    assert_true(sum->complete);
    free(sum);
    vz_arena_destroy(&arena);
}

/* The schema check finds each mistake it can see without running anything, naming file and column. */
static void test_schema_check_names_file_and_column(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(vz_contract_check(pg, &h_count_wrote, out), 1);
    assert_int_equal(vz_contract_check(pg, &h_bad_syntax, out), 1);
    assert_int_equal(vz_contract_check(pg, &h_no_column, out), 1);
    assert_int_equal(vz_contract_check(pg, &h_two_rows, out), 0); /* data-dependent: caught at run time */
    fclose(out);
    print_message("%s", buf);
    assert_non_null(strstr(buf,
                           "handlers/count_wrote/update.sql: column 3 (wrote, the `wrote` flag) is bigint; it must be "
                           "boolean"));
    assert_non_null(strstr(buf, "handlers/bad_syntax/update.sql: cannot be prepared (SQLSTATE 42601, line 2): "
                                "syntax error at or near \"SELEC\""));
    assert_non_null(strstr(buf, "handlers/no_column: column value_nope (its `value`) does not exist in table "
                                "contract_t"));
    free(buf);
}

int main(void)
{
    snprintf(log_path, sizeof log_path, "/tmp/vz-it-contract-%d.log", (int)getpid());
    FILE *logf = fopen(log_path, "w+");
    if (!logf)
        return 1;
    vz_log_configure(1, VZ_LOG_INFO, logf);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_rows_fail_and_write_nothing),
        cmocka_unit_test(test_wrote_must_be_boolean),
        cmocka_unit_test(test_failed_prepare_is_each_records_error),
        cmocka_unit_test(test_reconcile_names_never_collide),
        cmocka_unit_test(test_schema_check_names_file_and_column),
    };
    int rc = cmocka_run_group_tests_name("handler contract (PostgreSQL)", tests, setup, teardown);
    fclose(logf);
    unlink(log_path);
    return rc;
}
