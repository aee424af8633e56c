/* rowsync.h -- the shape the three Vision Zero handlers share: key in, recompute, write if changed.
 *
 * Each record's key comes from event.data.new (hasura.h).  The records with
 * a usable key become one database transaction each (db.h): a statement that
 * locks the row, then one that recomputes the value in the database and
 * writes it only when it differs from the row as it is now.  The work
 * statement answers one row whose first four columns are, by convention:
 *   old value, new value, wrote ('t'/'f'), branch (which rule decided)
 * and whose further columns the handler may add to its log line.  More than
 * one row, or a wrote that is not a boolean, fails the record before its
 * transaction commits (the database checks the answer).  No row
 * means the key names no row: the record fails (it will reach the dead-letter
 * queue after its retries) and a warning is logged.  Any database error fails
 * the record and writes nothing.  A record that succeeded gets one log line
 * with the handler, key, old value, new value, whether it wrote and the branch;
 * a failed one is logged once, by the runtime's outcome line, whose message
 * (the item's error) names the key and says why.
 */
#ifndef VZ_ROWSYNC_H
#define VZ_ROWSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vz/db.h"
#include "vz/handler.h"

typedef struct vz_rowsync {
    const vz_handler *handler; /* for log lines */
    const char *key_field;     /* key in event.data.new, e.g. "crash_id" */
    const char *table;         /* the table the key belongs to, for messages */
    const char *value_field;   /* the column the handler maintains, for messages */
    vz_db_stmt *lock;          /* locks the row ($1 = key) */
    vz_db_stmt *work;          /* recomputes and writes ($1 = key); see the column convention above */
    /* Add handler-specific fields of the answer to the log line's object. May be NULL. */
    void (*describe)(const vz_db_txn *txn, cJSON *extra);
} vz_rowsync;

/* Run `n` records through `rs` in one database round trip, setting each item's status and error. */
void vz_rowsync_batch(const vz_rowsync *rs, const vz_context *ctx, vz_item *items, size_t n);

/* What the rule answered for one key when run over a table (reconcile). */
typedef struct vz_rowsync_outcome {
    vz_status status;      /* VZ_OK; VZ_ENOTFOUND when the key names no row (any more); else the failure */
    vz_error error;        /* when status != VZ_OK */
    bool wrote;            /* the rule changed the row (commit) or would have (rollback) */
    const char *old_value; /* the row's value before, NULL for SQL NULL (ctx->arena) */
    const char *new_value; /* the rule's value, NULL for SQL NULL (ctx->arena) */
    const char *branch;    /* which rule decided (ctx->arena), or NULL */
} vz_rowsync_outcome;

/* Run rs's lock and work statements for each of `n` keys, one transaction each, in one round trip,
 * filling out[0..n).  commit false: the work statement alone (no row lock), each transaction rolled
 * back (what the rule would write, nothing written).  commit true: as an event does, and each
 * written row gets the event's log line. */
void vz_rowsync_run_keys(const vz_rowsync *rs, const vz_context *ctx, const int32_t *keys, size_t n, bool commit,
                         vz_rowsync_outcome *out);

/* rs's work statement as rowsync runs it: wrapped so that the database refuses, before the commit, an
 * answer of more than one row or a `wrote` that is not a boolean (rowsync.c).  Made once, kept for
 * the process (owned by rowsync.c); NULL with err set when the statement's text cannot be read. */
vz_db_stmt *vz_rowsync_work(const vz_rowsync *rs, vz_error *err);

#endif
