/* contract.c -- a handler's statements prepared and described on a real database (see contract.h).
 *
 * Every statement is prepared unnamed (PQprepare with ""), so nothing stays on the server and no
 * name can clash with the runtime's own; describing it gives the answer's columns and types
 * without running it. */
#include "vz/contract.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "vz/conninfo.h"
#include "vz/registry.h"
#include "vz/rowsync.h"

#define BOOL_OID 16
#define TEXT_OID 25

/* libpq messages end in a newline and may span lines: the first line. */
static void first_line(char *dst, size_t size, const char *msg)
{
    snprintf(dst, size, "%.*s", (int)strcspn(msg ? msg : "", "\n"), msg ? msg : "");
}

/* Line (1-based) of character `pos` (1-based) of sql, or 0. */
static int line_of(const char *sql, const char *pos)
{
    long want = pos ? strtol(pos, NULL, 10) : 0;
    int line = 1;
    long ch = 0;
    if (want <= 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue;
        if (++ch >= want)
            return line;
        if (*p == '\n')
            line++;
    }
    return line;
}

/* Prepare and describe `sql` unnamed; NULL with the reason on out (one problem counted in *n). */
static PGresult *describe(PGconn *pg, const char *what, const char *sql, int nparams, FILE *out, int *n)
{
    PGresult *r = PQprepare(pg, "", sql, nparams, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char msg[512];
        const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        first_line(msg, sizeof msg, primary ? primary : PQresultErrorMessage(r));
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int line = line_of(sql, PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION));
        char at[32] = "";
        if (line > 0)
            snprintf(at, sizeof at, ", line %d", line);
        fprintf(out, "%s: cannot be prepared (SQLSTATE %s%s): %s\n", what, state ? state : "?", at, msg);
        PQclear(r);
        (*n)++;
        return NULL;
    }
    PQclear(r);
    r = PQdescribePrepared(pg, "");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char msg[512];
        first_line(msg, sizeof msg, PQresultErrorMessage(r));
        fprintf(out, "%s: cannot be described: %s\n", what, msg);
        PQclear(r);
        (*n)++;
        return NULL;
    }
    return r;
}

/* The SQL name of a type (format_type), into buf. */
static const char *type_name(PGconn *pg, Oid type, char *buf, size_t size)
{
    char oid[16];
    snprintf(oid, sizeof oid, "%u", type);
    const char *v[1] = {oid};
    PGresult *r = PQexecParams(pg, "SELECT pg_catalog.format_type($1::oid, NULL)", 1, NULL, v, NULL, NULL, 0);
    snprintf(buf, size, "%s", PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "?");
    PQclear(r);
    return buf;
}

/* The type of table.column: false when the table or the column does not exist (why on out). */
static bool column_type(PGconn *pg, const vz_handler *h, const char *role, const char *table, const char *column,
                        Oid *type, char *name, size_t size, FILE *out)
{
    const char *v[2] = {table, column};
    PGresult *r = PQexecParams(pg,
                               "SELECT c.oid IS NOT NULL, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod) "
                               "FROM (SELECT pg_catalog.to_regclass($1) AS oid) AS c "
                               "LEFT JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attname = $2 "
                               "AND a.attnum > 0 AND NOT a.attisdropped",
                               2, NULL, v, NULL, NULL, 0);
    bool ok = false;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        char msg[512];
        first_line(msg, sizeof msg, PQresultErrorMessage(r));
        fprintf(out, "handlers/%s: cannot look up table %s: %s\n", h->name, table, msg);
    } else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        fprintf(out,
                "handlers/%s: table %s (its `table`) does not exist in this database: name an existing table, "
                "or create it in handlers/%s/schema.sql\n",
                h->name, table, h->name);
    } else if (PQgetisnull(r, 0, 1)) {
        fprintf(out,
                "handlers/%s: column %s (its `%s`) does not exist in table %s: name one of its columns, or add "
                "it in handlers/%s/schema.sql\n",
                h->name, column, role, table, h->name);
    } else {
        *type = (Oid)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
        snprintf(name, size, "%s", PQgetvalue(r, 0, 2));
        ok = true;
    }
    PQclear(r);
    return ok;
}

/* The work statement's answer against the rule: columns, wrote, old and new. */
static int check_answer(PGconn *pg, const vz_rowsync *rs, const PGresult *d, Oid value_type, const char *value_name,
                        FILE *out)
{
    static const char *const role[] = {"old value", "new value", "wrote", "branch"};
    const char *file = rs->work->name;
    int problems = 0;
    int ncols = PQnfields(d);
    if (ncols < 4) {
        fprintf(out,
                "%s: answers %d columns; it must answer at least 4: old value, new value, wrote (boolean), "
                "branch\n",
                file, ncols);
        return 1;
    }
    char tname[128];
    Oid wrote = PQftype(d, 2);
    if (wrote != BOOL_OID) {
        fprintf(out,
                "%s: column 3 (%s, the `wrote` flag) is %s; it must be boolean: EXISTS (SELECT 1 FROM written), or "
                "count(*) > 0\n",
                file, PQfname(d, 2), type_name(pg, wrote, tname, sizeof tname));
        problems++;
    }
    for (int c = 0; c < 2; c++) {
        Oid t = PQftype(d, c);
        if (t == TEXT_OID || (value_type != 0 && t == value_type))
            continue;
        fprintf(out, "%s: column %d (%s, the %s) is %s, but %s.%s is %s: answer %s or text (e.g. %s::text)\n", file,
                c + 1, PQfname(d, c), role[c], type_name(pg, t, tname, sizeof tname), rs->table, rs->value_field,
                value_name, value_name, PQfname(d, c));
        problems++;
    }
    return problems;
}

int vz_contract_check(PGconn *pg, const vz_handler *h, FILE *out)
{
    const vz_rowsync *rs = h->rowsync;
    int problems = 0;
    if (!rs)
        return 0;
    Oid key_type = 0, value_type = 0;
    char key_name[128] = "", value_name[128] = "";
    bool columns = column_type(pg, h, "key", rs->table, rs->key_field, &key_type, key_name, sizeof key_name, out);
    columns = columns &&
              column_type(pg, h, "value", rs->table, rs->value_field, &value_type, value_name, sizeof value_name, out);
    if (!columns)
        return 1; /* the statements would fail for the same reason */
    PGresult *d;
    if (rs->lock) {
        d = describe(pg, rs->lock->name, rs->lock->sql, rs->lock->nparams, out, &problems);
        PQclear(d);
    }
    d = describe(pg, rs->work->name, rs->work->sql, rs->work->nparams, out, &problems);
    if (!d)
        return problems;
    problems += check_answer(pg, rs, d, value_type, value_name, out);
    PQclear(d);
    /* The statement as it runs, in rowsync's guard, prepares too. */
    vz_error err = {{0}, {0}};
    const vz_db_stmt *guarded = vz_rowsync_work(rs, &err);
    if (!guarded) {
        fprintf(out, "%s\n", err.message);
        return problems + 1;
    }
    if (problems == 0) {
        char what[300];
        snprintf(what, sizeof what, "%s (as rowsync runs it, guarded)", rs->work->name);
        PQclear(describe(pg, what, guarded->sql, guarded->nparams, out, &problems));
    }
    return problems;
}

int vz_cmd_check(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: vz-events check [HANDLER...]\n"
               "Prepares each handler's statements on DATABASE_URL (or PG*) and compares their answer with the\n"
               "rule (include/vz/rowsync.h); runs nothing.  Without HANDLER: every handler with a row rule.\n");
        return 0;
    }
    const char *url = getenv("DATABASE_URL");
    char why[512];
    if (url && *url && !vz_conninfo_check(url, why, sizeof why)) {
        fprintf(stderr, "vz-events check: %s\n", why);
        return 2;
    }
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *vals[] = {url && *url ? url : "", "vz-events-check", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[512];
        first_line(msg, sizeof msg, PQerrorMessage(pg));
        vz_conninfo_scrub(msg, url);
        fprintf(stderr, "vz-events check: cannot connect to the database: %s\n", msg);
        PQfinish(pg);
        return 2;
    }
    int problems = 0, checked = 0, rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            const vz_handler *h = vz_registry_find(argv[i]);
            if (!h || !h->rowsync) {
                fprintf(stderr, "vz-events check: %s is %s\n", argv[i],
                        h ? "a handler without a row rule (nothing to check)" : "no handler built in");
                rc = 2;
                continue;
            }
            int p = vz_contract_check(pg, h, stdout);
            printf("%s %s\n", p ? "FAILED" : "ok", h->name);
            problems += p;
            checked++;
        }
    } else {
        for (size_t i = 0; i < vz_registry_count(); i++) {
            const vz_handler *h = vz_registry_at(i);
            if (!h->rowsync)
                continue;
            int p = vz_contract_check(pg, h, stdout);
            printf("%s %s\n", p ? "FAILED" : "ok", h->name);
            problems += p;
            checked++;
        }
    }
    PQfinish(pg);
    printf("check: %d handler(s), %d problem(s)\n", checked, problems);
    return rc ? rc : problems ? 1 : 0;
}
