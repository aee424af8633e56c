/* db.c -- the shared PostgreSQL connection and pipelined row transactions (see db.h).
 *
 * A batch goes out as one libpq pipeline:
 *   [Prepare(stmt) ... Sync]                      only for statements new to this connection
 *   settings(txn 0) lock(txn 0) work(txn 0) Sync  settings(txn 1) lock(txn 1) ... Sync  ...
 * Between two Syncs the server runs an implicit transaction, so each record
 * commits or rolls back alone, and an error in one skips only the rest of
 * its own segment.  Each segment opens with its transaction's own settings
 * (set_config(..., is_local => true)): its statement_timeout, and
 * synchronous_commit = on, so that the COMMIT at its Sync is acknowledged only
 * once its WAL is written, whatever the server's or the role's default.  A
 * record reported succeeded has thus survived a crash of the database server;
 * and since the settings are in the segment, a failure to apply them skips
 * the record's work instead of running it under the server's defaults.
 *
 * The answers are read back in the order sent (`expect` below).  A
 * transaction is done only when its Sync came back after a successful work
 * statement; anything else fails it.  When the connection breaks, the
 * transactions without an answer are retried once on a new one (safe: each
 * is a recomputation that writes only what differs).
 *
 * A statement whose prepared plan went stale on the server (SQLSTATE 0A000,
 * "cached plan must not change result type", after a migration changed a
 * column's type; 26000, the prepared statement is gone) is deallocated,
 * prepared again and its records retried once, in the same invocation: a warm
 * runtime survives a migration instead of failing every record until Lambda
 * recycles it.
 *
 * A statement that cannot be prepared (a syntax error, a type mismatch) is
 * prepared in a segment of its own, so that it fails alone; each record that
 * needed it then fails with that error (the file, the line, PostgreSQL's
 * words), never with the "does not exist" of the statement that was not made.
 *
 * Server-side names are db.c's own: vz<N>_<the statement's name, cut>, N
 * numbering the statements of the process, so that a name is unique and
 * within PostgreSQL's 63 bytes whatever the statement calls itself. */
#include "vz/db.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <libpq-fe.h>

#include "vz/conninfo.h"
#include "vz/log.h"

#define NO_DEADLINE_STATEMENT_MS 30000 /* statement_timeout when the invocation has no deadline */
#define CONNECT_LIMIT_MS 10000         /* a connection attempt never takes longer than this */
#define MAX_STATEMENT_MS 2147483647    /* the largest statement_timeout PostgreSQL accepts (INT_MAX ms) */
#define CONNECT_RETRY_MIN_MS 500       /* another connection attempt only with at least this much time left */
#define CONNECT_MAX_ATTEMPTS 10        /* and never more than this many in one invocation */

/* Our defaults for the connection's TCP settings; DATABASE_URL may set any of them (its values win).
 * tcp_user_timeout: data the server has not acknowledged after 2 s kills the connection, so a
 * connection whose flow was dropped silently (a NAT or firewall idle timeout while the function was
 * frozen, an old primary gone silent after a failover) fails at its first batch after 2 s instead
 * of at the deadline, and the batch goes on on a new connection.  Keepalives find a dead idle
 * connection while the process runs (5 s idle, then probes; the user timeout ends it). */
#define DEFAULT_TCP_USER_TIMEOUT "2000"
#define DEFAULT_KEEPALIVES_IDLE "5"
#define DEFAULT_KEEPALIVES_INTERVAL "2"
#define DEFAULT_KEEPALIVES_COUNT "3"

/* The first statement of every record's transaction: its own statement_timeout, and a
 * synchronous commit whatever the server's default (see the top of this file). */
#define TXN_SETTINGS_SQL                                                                                               \
    "SELECT pg_catalog.set_config('statement_timeout', $1, true), "                                                    \
    "pg_catalog.set_config('synchronous_commit', 'on', true)"

/* prepared_on of a statement whose server-side plan went stale: deallocate it, then prepare it again. */
#define STMT_STALE UINT64_MAX

typedef enum expect_kind {
    EXPECT_SETCFG,
    EXPECT_DEALLOCATE,
    EXPECT_PREPARE,
    EXPECT_LOCK,
    EXPECT_WORK,
    EXPECT_SYNC,
    EXPECT_BEGIN,    /* a rollback txn's BEGIN */
    EXPECT_ROLLBACK, /* its ROLLBACK, alone in the segment after it */
    EXPECT_SYNC_OPEN /* the Sync that ends a rollback txn's work segment, its transaction still open */
} expect_kind;

typedef struct expect {
    expect_kind kind;
    vz_db_stmt *stmt; /* EXPECT_PREPARE */
    long txn;         /* index into the batch for LOCK/WORK/SYNC, -1 for the setup segments */
} expect;

/* A statement whose preparation failed in this pipeline, and why (one message for all its records). */
typedef struct prep_failure {
    const vz_db_stmt *stmt;
    char state[6];
    char message[600];
} prep_failure;

typedef struct run_state {
    const vz_context *ctx;
    vz_db_txn *txns;
    bool *done;           /* txn has a definite outcome */
    bool *failed;         /* an error was seen in its segment */
    bool *replan;         /* it failed on a stale prepared statement: retry it once, prepared again */
    double deadline;      /* monotonic ms: cancel what runs past this */
    double hard_deadline; /* monotonic ms: give up on the connection after this */
    bool cancelled;
    prep_failure *prep_failed; /* the preparations that failed in the current pipeline */
    size_t nprep_failed;
} run_state;

/* The server-side name of each statement the process has used (see the top of this file). */
typedef struct stmt_name {
    const vz_db_stmt *stmt;
    char server[64]; /* PostgreSQL keeps NAMEDATALEN - 1 = 63 bytes of a name */
} stmt_name;

static PGconn *conn;
static uint64_t conn_serial;
static vz_db_stats stats;
static stmt_name *names;
static size_t nnames, names_cap;

/* The statement's server-side name: "vz<N>_" and its own name made an identifier, cut to 63 bytes,
 * so that two statements never share one whatever their names.  NULL when out of memory. */
static const char *server_name(const vz_db_stmt *s)
{
    for (size_t i = 0; i < nnames; i++)
        if (names[i].stmt == s)
            return names[i].server;
    if (nnames == names_cap) {
        size_t cap = names_cap ? 2 * names_cap : 16;
        stmt_name *grown = realloc(names, cap * sizeof *grown);
        if (!grown)
            return NULL;
        names = grown;
        names_cap = cap;
    }
    stmt_name *n = &names[nnames];
    int len = snprintf(n->server, sizeof n->server, "vz%zu_%s", nnames + 1, s->name ? s->name : "");
    for (int c = 0; c < len && c < (int)sizeof n->server - 1; c++) {
        char ch = n->server[c];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            n->server[c] = '_';
    }
    n->stmt = s;
    nnames++;
    return n->server;
}

vz_db_stats vz_db_get_stats(void)
{
    return stats;
}

int vz_db_backend_pid(void)
{
    return conn && PQstatus(conn) == CONNECTION_OK ? PQbackendPID(conn) : 0;
}

void vz_db_close(void)
{
    if (conn)
        PQfinish(conn);
    conn = NULL;
    /* Nothing is prepared without a connection: the next one numbers the statements afresh. */
    free(names);
    names = NULL;
    nnames = names_cap = 0;
}

/* Close a connection we give up on with a reset (SO_LINGER 0): the kernel drops what it still
 * holds unsent or unacknowledged, so statements queued on a dead path are never delivered later,
 * when the path comes back.  A plain close() would keep retransmitting them for minutes. */
static void abandon_connection(void)
{
    if (!conn)
        return;
    int fd = PQsocket(conn);
    if (fd >= 0) {
        struct linger lg = {1, 0};
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
            vz_log(VZ_LOG_WARN, NULL, "database: cannot set SO_LINGER on the abandoned connection (errno %d)", errno);
    }
    vz_db_close();
}

/* libpq messages end in a newline and may span lines: keep the first line. */
static void first_line(char *dst, size_t size, const char *msg)
{
    if (!msg || !*msg)
        msg = "no message from libpq";
    size_t n = strcspn(msg, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(dst, msg, n);
    dst[n] = '\0';
}

/* Where we connect to, for logs: host, port and database only (never the URL). */
static void describe(char *buf, size_t size)
{
    if (conn)
        snprintf(buf, size, "%s:%s/%s", PQhost(conn) ? PQhost(conn) : "?", PQport(conn) ? PQport(conn) : "?",
                 PQdb(conn) ? PQdb(conn) : "?");
    else
        snprintf(buf, size, "(not connected)");
    vz_conninfo_scrub(buf, getenv("DATABASE_URL"));
}

/* Where the connection goes (describe) and the first line of libpq's last error on it, both without
 * the URL or its password, for a message about a connection that failed. */
static void conn_failure(char *where, size_t wsize, char *msg, size_t msize)
{
    describe(where, wsize);
    first_line(msg, msize, conn ? PQerrorMessage(conn) : NULL);
    vz_conninfo_scrub(msg, getenv("DATABASE_URL"));
}

/* Whether libpq's message is the kernel's ETIMEDOUT ("Connection timed out"): tcp_user_timeout or the
 * SYN retries gave up on the path, which says nothing of the server itself. */
static bool kernel_timed_out(const char *msg)
{
    return strstr(msg, "timed out") != NULL;
}

/* Wait for the socket; returns >0 ready, 0 timed out, <0 error. */
static int wait_socket(int fd, short events, double until)
{
    for (;;) {
        double left = until - vz_monotonic_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left + 1);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

/* The whole-number value of one of the connection's options (the URL's, the PG* variable's or ours),
 * or -1 when it has none: libpq leaves some of them to us in the non-blocking connect. */
static long conn_option(const char *keyword)
{
    PQconninfoOption *opts = PQconninfo(conn);
    long v = -1;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val && *o->val)
            v = strtol(o->val, NULL, 10);
    PQconninfoFree(opts);
    return v;
}

/* The connection's connect_timeout in ms (the URL's, else PGCONNECT_TIMEOUT), 0 when none: libpq
 * ignores it in the non-blocking connect, so we apply it.  As libpq does, below 2 s means 2 s. */
static double connect_timeout_ms(void)
{
    long sec = conn_option("connect_timeout");
    return sec <= 0 ? 0 : sec < 2 ? 2000 : (double)sec * 1000;
}

/* The connection's tcp_user_timeout (ours or the URL's), applied to the socket by us: libpq sets it
 * only when keepalives are on, and a URL with keepalives=0 must not lose it. */
static void apply_user_timeout(void)
{
    long ms = conn_option("tcp_user_timeout");
    unsigned int v = ms > 0 && ms <= 2147483647L ? (unsigned int)ms : 0;
    if (v > 0 && setsockopt(PQsocket(conn), IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof v) != 0)
        vz_log(VZ_LOG_WARN, NULL, "database: cannot set tcp_user_timeout on the connection (errno %d)", errno);
}

/* Start one connection attempt and wait for it until `until`; VZ_ETIMEDOUT when it did not finish. */
static vz_status connect_once(const char *const *keys, const char *const *vals, double until, double *bound_ms,
                              vz_error *err)
{
    conn = PQconnectStartParams(keys, vals, 1);
    if (!conn) {
        vz_error_set(err, "Runtime.DatabaseUnavailable", "out of memory starting a database connection");
        return VZ_ENOMEM;
    }
    *bound_ms = connect_timeout_ms();
    double now = vz_monotonic_ms();
    double stop = *bound_ms > 0 && now + *bound_ms < until ? now + *bound_ms : until;
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (PQstatus(conn) != CONNECTION_BAD && ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
        int r = wait_socket(PQsocket(conn), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, stop);
        if (r == 0)
            return VZ_ETIMEDOUT;
        ps = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char where[256], msg[512];
        conn_failure(where, sizeof where, msg, sizeof msg);
        vz_error_set(err, "Runtime.DatabaseUnavailable", "cannot connect to the database at %s: %s", where, msg);
        vz_db_close();
        return VZ_EIO;
    }
    return VZ_OK;
}

static vz_status connect_db(double until, vz_error *err)
{
    const char *url = getenv("DATABASE_URL");
    /* Our TCP defaults come before the URL, so that the URL's own values override them. */
    const char *keys[8] = {"keepalives",
                           "keepalives_idle",
                           "keepalives_interval",
                           "keepalives_count",
                           "tcp_user_timeout",
                           "fallback_application_name",
                           NULL,
                           NULL};
    const char *vals[8] = {"1",
                           DEFAULT_KEEPALIVES_IDLE,
                           DEFAULT_KEEPALIVES_INTERVAL,
                           DEFAULT_KEEPALIVES_COUNT,
                           DEFAULT_TCP_USER_TIMEOUT,
                           "vz-events",
                           NULL,
                           NULL};
    if (url && *url) {
        keys[5] = "dbname"; /* expanded: a URL or conninfo string; PG* fill what it leaves out */
        vals[5] = url;
        keys[6] = "fallback_application_name";
        vals[6] = "vz-events";
    }
    vz_db_close();
    char why[512];
    if (url && *url && !vz_conninfo_check(url, why, sizeof why)) {
        vz_error_set(err, "Runtime.InvalidConfiguration", "%s; not connecting", why);
        return VZ_EINVAL;
    }
    for (int attempt = 1;; attempt++) {
        double bound = 0;
        vz_status st = connect_once(keys, vals, until, &bound, err);
        if (st == VZ_OK)
            break;
        /* The kernel gave up on it (tcp_user_timeout, SYN retries): as worth another try as our bound. */
        if (st == VZ_EIO && kernel_timed_out(err->message) && attempt < CONNECT_MAX_ATTEMPTS &&
            until - vz_monotonic_ms() >= CONNECT_RETRY_MIN_MS) {
            vz_log(VZ_LOG_WARN, NULL, "%s; attempt %d with %.0f ms left", err->message, attempt + 1,
                   until - vz_monotonic_ms());
            continue;
        }
        if (st != VZ_ETIMEDOUT)
            return st;
        char where[256];
        describe(where, sizeof where);
        abandon_connection();
        double left = until - vz_monotonic_ms();
        if (bound <= 0 || left < CONNECT_RETRY_MIN_MS || attempt >= CONNECT_MAX_ATTEMPTS) {
            vz_error_set(err, "Runtime.DatabaseUnavailable",
                         "connecting to the database at %s took longer than the time left (attempt %d)", where,
                         attempt);
            return VZ_ETIMEDOUT;
        }
        vz_log(VZ_LOG_WARN, NULL,
               "database: connecting to %s took longer than connect_timeout (%.0f s, from PGCONNECT_TIMEOUT or the "
               "URL's connect_timeout); attempt %d with %.0f ms left",
               where, bound / 1000, attempt + 1, left);
    }
    PQsetnonblocking(conn, 1);
    apply_user_timeout();
    conn_serial = ++stats.connects;
    char where[256];
    describe(where, sizeof where);
    vz_log(VZ_LOG_INFO, NULL, "database: connected to %s (server pid %d, %s)", where, PQbackendPID(conn),
           PQsslInUse(conn) ? "TLS" : "no TLS");
    return VZ_OK;
}

/* Whether the idle connection is still open: a server that went away has sent
 * an error or closed the socket, which shows as readable input while idle. */
static bool connection_healthy(void)
{
    if (!conn || PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE ||
        PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
        return false;
    struct pollfd p = {PQsocket(conn), POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
        if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
            return false;
    }
    return true;
}

static void fail_txn(vz_db_txn *t, vz_status st, const char *type, const char *msg)
{
    t->status = st;
    vz_error_set(&t->error, type, "%s", msg);
}

/* PQcancel blocks until the server closes the cancel connection: with a frozen server (SIGSTOP,
 * a stalled host) that is forever, past the invocation's deadline.  So the cancel request is sent
 * from a detached thread that owns its PGcancel; the batch goes on to its hard deadline at once.
 * A thread that cannot be started means no cancel: the server's statement_timeout still applies. */
static void *cancel_thread(void *arg)
{
    PGcancel *c = arg;
    char errbuf[256];
    PQcancel(c, errbuf, sizeof errbuf);
    PQfreeCancel(c);
    return NULL;
}

static void cancel_in_background(PGconn *pc)
{
    PGcancel *c = PQgetCancel(pc);
    if (!c)
        return;
    pthread_attr_t attr;
    pthread_t tid;
    bool started = false;
    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, (size_t)64 * 1024);
        started = pthread_create(&tid, &attr, cancel_thread, c) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        vz_log(VZ_LOG_WARN, NULL, "database: cannot start the cancel request; relying on statement_timeout");
        PQfreeCancel(c);
    }
}

/* Next result, waiting within the deadlines; *res may be NULL (end of a query's results).
 * Returns VZ_EIO when the connection broke, VZ_ETIMEDOUT past the hard deadline. */
static vz_status next_result(run_state *rs, PGresult **res)
{
    while (PQisBusy(conn)) {
        double until = rs->cancelled ? rs->hard_deadline : rs->deadline;
        int r = wait_socket(PQsocket(conn), POLLIN, until);
        if (r == 0) {
            if (rs->cancelled)
                return VZ_ETIMEDOUT;
            /* The server's statement_timeout should have fired first; stop whatever still runs. */
            cancel_in_background(conn);
            rs->cancelled = true;
            continue;
        }
        if (r < 0 || !PQconsumeInput(conn))
            return VZ_EIO;
    }
    *res = PQgetResult(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
        PQclear(*res);
        *res = NULL;
        return VZ_EIO;
    }
    return VZ_OK;
}

static void copy_row(run_state *rs, vz_db_txn *t, const PGresult *r)
{
    t->nrows = PQntuples(r);
    t->ncols = PQnfields(r);
    t->row = NULL;
    if (t->nrows == 0)
        return;
    t->row = vz_arena_calloc(rs->ctx->arena, (size_t)t->ncols + 1, sizeof *t->row);
    if (!t->row) {
        fail_txn(t, VZ_ENOMEM, "Runtime.OutOfMemory",
                 "out of memory copying the database's answer; the transaction may have committed (a retry is safe: "
                 "only what differs is written)");
        return;
    }
    for (int c = 0; c < t->ncols; c++)
        t->row[c] = PQgetisnull(r, 0, c) ? NULL : vz_arena_strdup(rs->ctx->arena, PQgetvalue(r, 0, c));
}

/* An error result of a txn's statement: keep the first one, as a timeout or an SQL error. */
static void statement_failed(run_state *rs, long i, const PGresult *r, const char *what, vz_db_stmt *stmt)
{
    vz_db_txn *t = &rs->txns[i];
    if (rs->failed[i])
        return;
    rs->failed[i] = true;
    for (size_t f = 0; stmt && f < rs->nprep_failed; f++) {
        if (rs->prep_failed[f].stmt == stmt) {
            t->status = VZ_ERR;
            vz_error_set(&t->error, "Runtime.HandlerContract",
                         "%s cannot be prepared, nothing was written (SQLSTATE %s%s", stmt->name,
                         rs->prep_failed[f].state, rs->prep_failed[f].message);
            return;
        }
    }
    char msg[512];
    first_line(msg, sizeof msg, PQresultErrorMessage(r));
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    bool timeout = state && strcmp(state, "57014") == 0;
    if (stmt && state && (strcmp(state, "0A000") == 0 || strcmp(state, "26000") == 0)) {
        rs->replan[i] = true;
        if (stmt->prepared_on == conn_serial)
            stmt->prepared_on = STMT_STALE;
    }
    t->status = timeout ? VZ_ETIMEDOUT : VZ_ERR;
    vz_error_set(&t->error, timeout ? "Runtime.DatabaseTimeout" : "Runtime.DatabaseError",
                 "%s failed, nothing was written (SQLSTATE %s): %s", what, state ? state : "?", msg);
}

/* A txn's statement skipped by the server: keep the first error, or say why nothing ran. */
static void not_run(run_state *rs, long i, const char *why)
{
    if (rs->failed[i])
        return;
    rs->failed[i] = true;
    fail_txn(&rs->txns[i], VZ_ERR, "Runtime.DatabaseError", why);
}

/* Line (1-based) of the character at `pos` (1-based, in characters) of sql; 0 when unknown. */
static int line_of(const char *sql, const char *pos)
{
    long want = pos ? strtol(pos, NULL, 10) : 0;
    if (want <= 0 || !sql)
        return 0;
    int line = 1;
    long ch = 0;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue; /* a UTF-8 continuation byte: the same character */
        if (++ch >= want)
            return line;
        if (*p == '\n')
            line++;
    }
    return line;
}

/* A preparation failed: keep why for the records that needed it, and log it once. */
static void prepare_failed(run_state *rs, const vz_db_stmt *stmt, const PGresult *r)
{
    prep_failure *f = &rs->prep_failed[rs->nprep_failed++];
    char msg[512];
    const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    first_line(msg, sizeof msg, primary ? primary : PQresultErrorMessage(r));
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    int line = line_of(stmt->sql, PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION));
    f->stmt = stmt;
    snprintf(f->state, sizeof f->state, "%.5s", state ? state : "?");
    if (line > 0)
        snprintf(f->message, sizeof f->message, ", line %d): %s", line, msg);
    else
        snprintf(f->message, sizeof f->message, "): %s", msg);
    vz_log(VZ_LOG_ERROR, NULL, "database: %s cannot be prepared (SQLSTATE %s%s; each record that runs it fails",
           stmt->name, f->state, f->message);
}

static vz_status read_one(run_state *rs, const expect *e)
{
    PGresult *r = NULL;
    vz_status st = next_result(rs, &r);
    if (st != VZ_OK)
        return st;
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    long i = e->txn;
    switch (e->kind) {
    case EXPECT_SETCFG:
        if (s == PGRES_FATAL_ERROR)
            statement_failed(rs, i, r, "the transaction settings", NULL);
        else if (s != PGRES_TUPLES_OK)
            not_run(rs, i, "its transaction settings were not applied");
        break;
    case EXPECT_DEALLOCATE:
        break; /* a statement that is already gone (26000) is what we wanted */
    case EXPECT_PREPARE:
        if (s == PGRES_COMMAND_OK)
            e->stmt->prepared_on = conn_serial;
        else if (s == PGRES_FATAL_ERROR)
            prepare_failed(rs, e->stmt, r);
        break;
    case EXPECT_LOCK:
    case EXPECT_WORK:
        if (s == PGRES_FATAL_ERROR)
            statement_failed(rs, i, r, e->stmt->name, e->stmt);
        else if (s == PGRES_PIPELINE_ABORTED)
            not_run(rs, i, "an earlier statement of its transaction failed");
        else if (e->kind == EXPECT_WORK && !rs->failed[i])
            copy_row(rs, &rs->txns[i], r);
        break;
    case EXPECT_BEGIN:
    case EXPECT_ROLLBACK:
        if (s == PGRES_FATAL_ERROR)
            statement_failed(rs, i, r, e->kind == EXPECT_BEGIN ? "the BEGIN" : "the ROLLBACK", NULL);
        else if (s != PGRES_COMMAND_OK)
            rs->failed[i] = true;
        break;
    case EXPECT_SYNC_OPEN:
        PQclear(r);
        return s == PGRES_PIPELINE_SYNC ? VZ_OK : VZ_EIO;
    case EXPECT_SYNC:
        /* A failed commit arrives as an error just before the Sync's own result. */
        while (s == PGRES_FATAL_ERROR) {
            if (i >= 0)
                statement_failed(rs, i, r, "the commit", NULL);
            PQclear(r);
            if ((st = next_result(rs, &r)) != VZ_OK)
                return st;
            s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        }
        PQclear(r);
        if (s != PGRES_PIPELINE_SYNC)
            return VZ_EIO; /* out of step with the server: do not trust this connection */
        if (i >= 0) {
            if (!rs->failed[i] && rs->txns[i].status != VZ_ENOMEM)
                rs->txns[i].status = VZ_OK;
            rs->done[i] = true;
        }
        return VZ_OK;
    }
    PQclear(r);
    /* Each query's results end with a NULL. */
    if ((st = next_result(rs, &r)) != VZ_OK)
        return st;
    if (r) {
        PQclear(r);
        return VZ_EIO;
    }
    return VZ_OK;
}

static bool send_prepared(const vz_db_stmt *s, const vz_db_txn *t)
{
    const char *server = s ? server_name(s) : NULL;
    if (!server)
        return false;
    stats.statements++;
    return PQsendQueryPrepared(conn, server, s->nparams, t->params, NULL, NULL, 0) == 1;
}

/* Queue the whole pipeline; fills `ex` with what to expect back. Returns the count, or -1. */
static long queue_pipeline(run_state *rs, const long *todo, size_t m, int64_t timeout_ms, expect *ex)
{
    long k = 0;
    char tbuf[32];
    snprintf(tbuf, sizeof tbuf, "%" PRId64, timeout_ms);
    const char *tv[1] = {tbuf};
    if (!PQenterPipelineMode(conn))
        return -1;
    /* Stale statements first, each in its own segment: a DEALLOCATE of one already gone fails alone. */
    for (size_t j = 0; j < m; j++) {
        vz_db_stmt *both[2] = {rs->txns[todo[j]].lock, rs->txns[todo[j]].work};
        for (int b = 0; b < 2; b++) {
            vz_db_stmt *s = both[b];
            bool queued = false;
            for (long q = 0; q < k; q++)
                queued = queued || ex[q].stmt == s;
            if (!s || s->prepared_on != STMT_STALE || queued)
                continue;
            const char *server = server_name(s);
            if (!server)
                return -1;
            char sql[96];
            snprintf(sql, sizeof sql, "DEALLOCATE \"%s\"", server);
            stats.statements++;
            if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(conn))
                return -1;
            ex[k++] = (expect){EXPECT_DEALLOCATE, s, -1};
            ex[k++] = (expect){EXPECT_SYNC, NULL, -1};
        }
    }
    long before = k;
    for (size_t j = 0; j < m; j++) {
        vz_db_stmt *both[2] = {rs->txns[todo[j]].lock, rs->txns[todo[j]].work};
        for (int b = 0; b < 2; b++) {
            vz_db_stmt *s = both[b];
            if (!s || s->prepared_on == conn_serial)
                continue;
            bool queued = false;
            for (long q = before; q < k; q++)
                queued = queued || ex[q].stmt == s;
            if (queued)
                continue;
            /* Each preparation in a segment of its own: one that fails does not skip the others. */
            const char *server = server_name(s);
            stats.statements++;
            if (!server || !PQsendPrepare(conn, server, s->sql, s->nparams, NULL) || !PQpipelineSync(conn))
                return -1;
            ex[k++] = (expect){EXPECT_PREPARE, s, -1};
            ex[k++] = (expect){EXPECT_SYNC, NULL, -1};
        }
    }
    for (size_t j = 0; j < m; j++) {
        long i = todo[j];
        vz_db_txn *t = &rs->txns[i];
        if (t->rollback) {
            stats.statements++;
            if (!PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
                return -1;
            ex[k++] = (expect){EXPECT_BEGIN, NULL, i};
        }
        stats.statements++;
        if (!PQsendQueryParams(conn, TXN_SETTINGS_SQL, 1, NULL, tv, NULL, NULL, 0))
            return -1;
        ex[k++] = (expect){EXPECT_SETCFG, NULL, i};
        if (t->lock) {
            if (!send_prepared(t->lock, t))
                return -1;
            ex[k++] = (expect){EXPECT_LOCK, t->lock, i};
        }
        if (!send_prepared(t->work, t))
            return -1;
        ex[k++] = (expect){EXPECT_WORK, t->work, i};
        if (t->rollback) {
            /* The ROLLBACK gets a segment of its own: after an error the rest of a segment is
             * skipped, and the explicit transaction, aborted, must still be ended. */
            if (!PQpipelineSync(conn))
                return -1;
            ex[k++] = (expect){EXPECT_SYNC_OPEN, NULL, i};
            stats.statements++;
            if (!PQsendQueryParams(conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0))
                return -1;
            ex[k++] = (expect){EXPECT_ROLLBACK, NULL, i};
        }
        if (!PQpipelineSync(conn))
            return -1;
        ex[k++] = (expect){EXPECT_SYNC, NULL, i};
    }
    return k;
}

static vz_status flush_all(run_state *rs)
{
    for (;;) {
        int f = PQflush(conn);
        if (f == 0)
            return VZ_OK;
        if (f < 0)
            return VZ_EIO;
        int r = wait_socket(PQsocket(conn), POLLOUT | POLLIN, rs->deadline);
        if (r == 0)
            return VZ_ETIMEDOUT;
        if (r < 0 || !PQconsumeInput(conn))
            return VZ_EIO;
    }
}

/* Send the transactions `todo` and read their outcomes. VZ_EIO: the connection broke
 * (txns not done stay pending); VZ_ETIMEDOUT: gave up at the deadline. */
static vz_status run_pipeline(run_state *rs, const long *todo, size_t m, int64_t timeout_ms)
{
    /* per txn: settings, lock, work, its Syncs, a rollback's BEGIN and ROLLBACK; per statement: its
     * DEALLOCATE and preparation, each with its Sync */
    expect *ex = vz_arena_calloc(rs->ctx->arena, 15 * m + 4, sizeof *ex);
    rs->prep_failed = vz_arena_calloc(rs->ctx->arena, 2 * m + 1, sizeof *rs->prep_failed);
    rs->nprep_failed = 0;
    if (!ex || !rs->prep_failed)
        return VZ_ENOMEM;
    for (size_t j = 0; j < m; j++)
        rs->failed[todo[j]] = false;
    long k = queue_pipeline(rs, todo, m, timeout_ms, ex);
    if (k < 0)
        return VZ_EIO;
    stats.batches++;
    stats.round_trips++;
    vz_status st = flush_all(rs);
    for (long q = 0; q < k && st == VZ_OK; q++)
        st = read_one(rs, &ex[q]);
    if (st == VZ_OK && !PQexitPipelineMode(conn))
        st = VZ_EIO;
    return st;
}

/* Time left, the part of it the database may use, and the reserve kept for answering. */
static int64_t reserve_for(int64_t remaining)
{
    if (remaining == INT64_MAX)
        return 0;
    int64_t r = remaining / 10;
    return r < 20 ? 20 : r > 250 ? 250 : r;
}

static void fail_pending(vz_db_txn *txns, const bool *done, size_t n, vz_status st, const char *type, const char *msg)
{
    for (size_t i = 0; i < n; i++)
        if (!done[i])
            fail_txn(&txns[i], st, type, msg);
}

/* Run the transactions not done yet, on a new connection when the current one is broken,
 * and once more on a new one when it breaks under them. */
static vz_status run_with_reconnect(run_state *rs, size_t n, long *todo, int64_t timeout_ms, double connect_until,
                                    vz_error *err)
{
    vz_status st = VZ_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!connection_healthy()) {
            if (conn) {
                char where[256], msg[512];
                conn_failure(where, sizeof where, msg, sizeof msg);
                vz_log(VZ_LOG_WARN, NULL, "database: the idle connection to %s is broken (%s); reconnecting", where,
                       msg);
                abandon_connection();
            }
            st = connect_db(connect_until, err);
            if (st != VZ_OK) {
                vz_log(VZ_LOG_ERROR, NULL, "%s", err->message);
                break;
            }
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!rs->done[i])
                todo[m++] = (long)i;
        st = run_pipeline(rs, todo, m, timeout_ms);
        if (st == VZ_OK)
            break;
        char where[256], msg[512];
        conn_failure(where, sizeof where, msg, sizeof msg);
        abandon_connection(); /* out of step or broken: never reuse it, never let it send more */
        if (st == VZ_ETIMEDOUT) {
            vz_error_set(err, "Runtime.DatabaseTimeout",
                         "no answer from the database at %s before the invocation's deadline; %sthe connection was "
                         "reset, so nothing it had not sent will run, but whether what it had sent committed is "
                         "unknown (a retry is safe: only what differs is written)",
                         where, rs->cancelled ? "a cancel request was started and " : "");
            break;
        }
        bool dead = kernel_timed_out(msg);
        vz_error_set(err, "Runtime.DatabaseUnavailable",
                     "the connection to the database at %s broke before the transaction was confirmed: %s%s", where,
                     msg,
                     dead ? " (the server acknowledged nothing within tcp_user_timeout: the connection was dead; "
                            "it was reset, so nothing unsent will be delivered)"
                          : "");
        vz_log(VZ_LOG_WARN, NULL, "%s%s", err->message, attempt == 0 ? " (retrying once on a new connection)" : "");
    }
    return st;
}

/* Mark for one more run the txns that failed on a stale prepared statement; returns how many. */
static size_t retry_stale(run_state *rs, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rs->replan[i])
            continue;
        rs->replan[i] = false;
        if (rs->txns[i].status == VZ_OK)
            continue;
        rs->done[i] = false;
        rs->txns[i].status = VZ_ERR;
        vz_error_clear(&rs->txns[i].error);
        count++;
    }
    return count;
}

vz_status vz_db_run(const vz_context *ctx, vz_db_txn *txns, size_t n, vz_error *err)
{
    for (size_t i = 0; i < n; i++) {
        txns[i].status = VZ_ERR;
        txns[i].nrows = 0;
        txns[i].ncols = 0;
        txns[i].row = NULL;
        vz_error_clear(&txns[i].error);
    }
    if (n == 0)
        return VZ_OK;
    run_state rs = {ctx, txns, NULL, NULL, NULL, 0, 0, false, NULL, 0};
    rs.done = vz_arena_calloc(ctx->arena, n, sizeof *rs.done);
    rs.failed = vz_arena_calloc(ctx->arena, n, sizeof *rs.failed);
    rs.replan = vz_arena_calloc(ctx->arena, n, sizeof *rs.replan);
    long *todo = vz_arena_calloc(ctx->arena, n, sizeof *todo);
    if (!rs.done || !rs.failed || !rs.replan || !todo) {
        vz_error_set(err, "Runtime.OutOfMemory", "out of memory preparing %zu database transactions", n);
        for (size_t i = 0; i < n; i++)
            fail_txn(&txns[i], VZ_ENOMEM, err->type, err->message);
        return VZ_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (!txns[i].work) {
            fail_txn(&txns[i], VZ_EINVAL, "Runtime.HandlerContract", "a database transaction without a statement");
            rs.done[i] = true;
        }
    }
    int64_t remaining = vz_context_remaining_ms(ctx);
    int64_t reserve = reserve_for(remaining);
    if (remaining != INT64_MAX && remaining - reserve < 20) {
        vz_error_set(err, "Runtime.DatabaseTimeout",
                     "only %" PRId64 " ms left before the deadline: not starting database work", remaining);
        fail_pending(txns, rs.done, n, VZ_ETIMEDOUT, err->type, err->message);
        return VZ_ETIMEDOUT;
    }
    double now = vz_monotonic_ms();
    int64_t timeout_ms = remaining == INT64_MAX ? NO_DEADLINE_STATEMENT_MS : remaining - reserve;
    if (timeout_ms > MAX_STATEMENT_MS)
        timeout_ms = MAX_STATEMENT_MS;
    rs.deadline = now + (double)(remaining == INT64_MAX ? timeout_ms + 5000 : remaining - reserve / 4);
    rs.hard_deadline = now + (double)(remaining == INT64_MAX ? timeout_ms + 10000 : remaining - reserve / 8);
    double connect_until = now + (double)(timeout_ms < CONNECT_LIMIT_MS ? timeout_ms : CONNECT_LIMIT_MS);

    vz_status st = run_with_reconnect(&rs, n, todo, timeout_ms, connect_until, err);
    size_t stale = st == VZ_OK ? retry_stale(&rs, n) : 0;
    if (stale > 0) {
        vz_log(VZ_LOG_WARN, NULL,
               "database: %zu record(s) met a stale prepared statement (SQLSTATE 0A000 or 26000: the schema "
               "changed or the statement is gone); preparing it again and retrying them once",
               stale);
        st = run_with_reconnect(&rs, n, todo, timeout_ms, connect_until, err);
    }
    if (st != VZ_OK)
        fail_pending(txns, rs.done, n, st, err->type, err->message);
    return st == VZ_OK ? VZ_OK : st;
}
