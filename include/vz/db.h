/* db.h -- the PostgreSQL connection the handlers share, and batches of row transactions.
 *
 * One connection per process, opened on first use from DATABASE_URL (a
 * libpq URL or conninfo string) or, when it is unset, from the standard PG*
 * variables; TLS follows sslmode in the URL or PGSSLMODE.  It lives across
 * invocations, is checked before each batch (a server that closed it is
 * noticed without a round trip) and re-established once when it broke.
 *
 * A handler describes each record as a vz_db_txn: an optional statement that
 * locks the row and a statement that computes and writes, both taking the
 * same text parameters.  vz_db_run() sends every transaction of the batch in
 * one libpq pipeline (a Sync after each, so each one commits or rolls back
 * alone) and reads the answers: a batch of ten costs one network round trip.
 * Statements are prepared once per connection, inside the same pipeline.
 * statement_timeout is set from the invocation's remaining time, and the
 * wait for answers never runs past the deadline: what has not answered by
 * then is cancelled and fails.  A transaction without a definite answer is
 * reported failed, never done; as the handlers are idempotent, a retry is safe.
 * A transaction marked `rollback` runs the same statements inside BEGIN and is
 * then rolled back (reconcile's report: what the rule would write, unwritten).
 *
 * Logs name host, port and database only; never the URL or a password.
 */
#ifndef VZ_DB_H
#define VZ_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vz/error.h"
#include "vz/handler.h"

#define VZ_DB_MAX_PARAMS 4

/* A statement prepared on the server the first time a connection uses it. */
typedef struct vz_db_stmt {
    const char *name;     /* what messages call it, e.g. its file "handlers/x/update.sql"; any text: db.c
                           * gives it a server-side name of its own, unique and within 63 bytes */
    const char *sql;      /* text with $1..$n placeholders */
    int nparams;          /* number of placeholders */
    uint64_t prepared_on; /* serial of the connection it is prepared on; 0 = none (owned by db.c) */
} vz_db_stmt;

/* One record's transaction: lock (optional) then work, committed together. */
typedef struct vz_db_txn {
    vz_db_stmt *lock;                     /* locks the row; NULL for none */
    vz_db_stmt *work;                     /* computes and writes; its first row is the answer */
    const char *params[VZ_DB_MAX_PARAMS]; /* text parameters shared by both statements */
    bool rollback; /* run it in a transaction that is rolled back: what it would do, nothing written */
    /* Filled by vz_db_run (strings owned by ctx->arena): */
    int nrows;        /* rows the work statement returned */
    int ncols;        /* columns of its first row */
    char **row;       /* first row, NULL entries for SQL NULL; NULL when nrows == 0 */
    vz_status status; /* VZ_OK when committed; else err says why */
    vz_error error;
} vz_db_txn;

/* Counters since the process started, for tests and benchmarks. */
typedef struct vz_db_stats {
    uint64_t connects;    /* connections established */
    uint64_t round_trips; /* waits for the server after sending a pipeline */
    uint64_t statements;  /* statements sent, preparations included */
    uint64_t batches;     /* calls of vz_db_run that reached the server */
} vz_db_stats;

/* Run `n` transactions, each committed or rolled back on its own, in one pipeline.
 * Every txn's status/error is set.  Returns VZ_OK when the batch reached the server
 * (individual transactions may still have failed), else the status every txn got. */
vz_status vz_db_run(const vz_context *ctx, vz_db_txn *txns, size_t n, vz_error *err);

/* Counters so far (copied). */
vz_db_stats vz_db_get_stats(void);

/* Server process id of the current connection, or 0 when there is none. */
int vz_db_backend_pid(void);

/* Close the connection (shutdown hooks call this; safe to call twice). */
void vz_db_close(void);

#endif
