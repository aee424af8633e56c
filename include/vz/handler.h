/* handler.h -- the whole contract between the runtime and a handler.
 *
 * A handler is a folder handlers/<name>/ whose handler.c defines one
 * `VZ_HANDLER(<name>) = {...};`.  The build discovers the folders and
 * generates the registry; nothing else is edited to add one.
 *
 * The runtime calls a handler with one record at a time (`handle`) or, when
 * the handler can do better with a set (one database round trip for ten
 * records), with every record of the batch routed to it (`handle_batch`).
 * Either way each record succeeds or fails on its own.  Memory for the
 * invocation comes from ctx->arena and is released when the invocation ends;
 * the handler never frees it by hand.  A handler never sees HTTP or curl.
 */
#ifndef VZ_HANDLER_H
#define VZ_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vz/arena.h"
#include "vz/error.h"
#include "vz/log.h"
#include "vz/sqs.h"

typedef struct vz_context {
    const char *request_id;       /* Lambda request id ("" for local invokes) */
    int64_t deadline_ms;          /* epoch ms when the invocation is cut off; 0 = no deadline */
    const char *function_arn;     /* invoked function ARN, or NULL */
    const char *trace_id;         /* X-Ray trace header, or NULL */
    vz_arena *arena;              /* per-invocation memory, reset when it ends */
    const char *tenant_id;        /* Lambda-Runtime-Aws-Tenant-Id, or NULL */
    const char *invocation_id;    /* Lambda-Runtime-Invocation-Id, or NULL */
    const char *client_context;   /* Lambda-Runtime-Client-Context (JSON text), or NULL */
    const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity (JSON text), or NULL */
} vz_context;

/* One record as a handler sees it, and the slot for its outcome. */
typedef struct vz_item {
    const vz_sqs_record *record; /* the SQS record (message id, queue, body text) */
    const cJSON *body;           /* the body parsed as JSON when the handler asked for it, else NULL */
    vz_status status;            /* set by the handler: VZ_OK or a negative code */
    vz_error error;              /* set by the handler when status != VZ_OK */
    int wrote; /* set by a handler that knows, for metrics: 1 changed a row, 0 unchanged; -1 (as given) unknown */
} vz_item;

typedef struct vz_handler {
    const char *name; /* the folder name; also what queue names resolve to */
    bool needs_json;  /* a body that is not JSON fails the record before the handler runs */
    /* Called once before the first invocation; a failure is an init error. May be NULL. */
    vz_status (*init)(vz_error *err);
    /* Process one record; fill err and return non-zero to fail it. May be NULL if handle_batch is set. */
    vz_status (*handle)(const vz_context *ctx, const vz_sqs_record *record, const cJSON *body, vz_error *err);
    /* Process `n` records at once, setting each item's status and error. May be NULL. */
    void (*handle_batch)(const vz_context *ctx, vz_item *items, size_t n);
    /* Release long-lived state (connections) at shutdown. May be NULL. */
    void (*shutdown)(void);
    /* The handler's row rule when it is a rowsync handler (rowsync.h), else NULL: lets tools
     * other than the event path (reconcile) run the same rule over a whole table. */
    const struct vz_rowsync *rowsync;
} vz_handler;

/* Define the registry entry of handler NAME (the folder name). */
#define VZ_HANDLER(NAME) const vz_handler vz_handler_##NAME

/* Milliseconds left before ctx's deadline (INT64_MAX when there is none; may be negative). */
int64_t vz_context_remaining_ms(const vz_context *ctx);

/* Current wall-clock time in epoch milliseconds. */
int64_t vz_now_ms(void);

/* Current monotonic time in milliseconds, for durations. */
double vz_monotonic_ms(void);

/* Log one line about a record: fields handler/messageId are filled from the arguments. */
void vz_handler_log(const vz_handler *h, const vz_sqs_record *record, vz_log_level level, const cJSON *extra,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
