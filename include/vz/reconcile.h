/* reconcile.h -- run a rowsync handler's own rule over its whole table: find drift, and fix it.
 *
 * A handler's row rule (its vz_rowsync: the lock and work statements an
 * event runs) is applied to every key of its table, in keyset-paginated
 * pages (key > the last key seen, ORDER BY key, LIMIT batch).  Each page's
 * keys go to the database as one pipeline of one transaction per row, the
 * same SQL an event runs: lock the row, recompute, compare with the live
 * row, write only when it differs.  A report (the default) runs each row's
 * transaction inside BEGIN and rolls it back: the rule's answer says what it
 * would write, nothing is written.  --fix commits them, exactly as events do,
 * with the event's log line for every row written.  Drift is a row the rule
 * writes (or would write): counted by the branch that decided, with a sample
 * of keys and their old -> new values.  Each row stands alone, so a run
 * stopped at any point (interrupt, lost database, deadline) leaves no row
 * half-written, and running again finishes the job.
 *
 * The scheduled form: with _HANDLER=reconcile every invocation reconciles
 * the handlers of VZ_RECONCILE_HANDLERS (fixing when VZ_RECONCILE_FIX=1)
 * within the invocation's deadline, answers a JSON summary and emits the
 * Drift and DriftFixed metrics (metrics.h).
 */
#ifndef VZ_RECONCILE_H
#define VZ_RECONCILE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vz/error.h"
#include "vz/handler.h"

#define VZ_RECONCILE_DEFAULT_BATCH 200
#define VZ_RECONCILE_MAX_BATCH 5000
#define VZ_RECONCILE_SAMPLE 10
#define VZ_RECONCILE_MAX_BRANCHES 16
/* `after` for a run from the first key: below every 32-bit key, negative ones included. */
#define VZ_RECONCILE_FROM_FIRST ((int64_t)INT32_MIN - 1)

typedef struct vz_reconcile_options {
    bool fix;                          /* commit the corrections (else roll every row back) */
    size_t batch;                      /* keys per page (one pipeline); 0 = VZ_RECONCILE_DEFAULT_BATCH */
    int64_t limit;                     /* stop after this many rows; 0 = the whole table */
    int64_t after;                     /* start after this key (VZ_RECONCILE_FROM_FIRST: the first) */
    bool progress;                     /* print rows/s and ETA on stderr (a terminal) */
    const volatile sig_atomic_t *stop; /* when non-zero, stop after the current page; may be NULL */
} vz_reconcile_options;

typedef struct vz_reconcile_branch {
    char name[48];
    size_t count;
} vz_reconcile_branch;

typedef struct vz_reconcile_sample {
    int32_t key;
    char old_value[64]; /* "" with old_null for SQL NULL */
    char new_value[64];
    char branch[48];
    bool old_null, new_null;
} vz_reconcile_sample;

typedef struct vz_reconcile_summary {
    const char *handler; /* static: the handler's name */
    bool fix;            /* a --fix run */
    bool complete;       /* every key after `after` was scanned */
    char stopped[256];   /* why the run ended early ("" when complete) */
    size_t total;        /* rows in the table after `after` when the run started */
    size_t scanned;      /* rows whose rule ran (or failed) */
    size_t drift;        /* rows the rule wrote (fix) or would write (report) */
    size_t fixed;        /* rows written (fix only) */
    size_t failed;       /* rows whose transaction failed: nothing written for them */
    size_t vanished;     /* rows deleted between the page read and their transaction */
    vz_reconcile_branch branches[VZ_RECONCILE_MAX_BRANCHES];
    size_t nbranches;
    vz_reconcile_sample sample[VZ_RECONCILE_SAMPLE];
    size_t nsample;
    int64_t last_key;  /* every row up to this key was handled (resume with --after); FROM_FIRST: none */
    bool resume_fixed; /* a row failed: last_key stays before it */
    double seconds;
    char first_error[512]; /* the first row failure's message, or "" */
} vz_reconcile_summary;

/* Reconcile handler h (which must have a rowsync rule) under ctx's deadline; fills *sum whatever happens.
 * Returns VZ_OK when the run ended normally (complete, limit, stop flag or deadline), or the status of
 * a failure that stopped it (database unreachable, a page that failed) with err set. */
vz_status vz_reconcile_run(const vz_handler *h, const vz_reconcile_options *opts, const vz_context *ctx,
                           vz_reconcile_summary *sum, vz_error *err);

/* The summary as a JSON object, owned by the caller (cJSON_Delete); NULL on allocation failure. */
cJSON *vz_reconcile_summary_json(const vz_reconcile_summary *sum);

/* Whether this process is the scheduled reconcile function (_HANDLER=reconcile). */
bool vz_reconcile_scheduled(void);

/* One invocation of the scheduled function: on VZ_OK *response is the JSON summary (malloc'd, caller
 * frees); otherwise err says what failed (configuration, database). */
vz_status vz_reconcile_invoke(const vz_context *ctx, char **response, vz_error *err);

/* `vz-events reconcile HANDLER [--fix] [--batch N] [--limit N] [--after KEY] [--json]`; the exit status. */
int vz_cmd_reconcile(int argc, char **argv);

#endif
