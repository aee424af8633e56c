/* runtime.h -- the Lambda runtime loop: GET /next, run the event, POST the answer, repeat.
 *
 * One libcurl easy handle lives for the whole process so that the connection
 * to the Runtime API is kept alive (HTTP/1.1, proxies ignored for its host,
 * a short connect timeout and no total timeout: the process may be frozen
 * between events).  Each event goes through vz_invocation_run() with a
 * context whose deadline is Lambda-Runtime-Deadline-Ms and an arena reset
 * when the invocation ends.
 *
 * What the loop does with each answer of the Runtime API:
 *   202            go on with /next
 *   400, 403       log it, do not repeat that call, go on with /next
 *   413            (a response over 6 MB) log it, do NOT post /error as well, go on
 *   500            log it and stop: vz_runtime_run returns 1 so that Lambda restarts us
 *   no answer      (connection refused, reset, empty reply) retried with bounded
 *                  exponential backoff, then stop with a line saying what failed and where
 * SIGTERM is noted by a handler and checked by the loop: a running invocation
 * is finished and answered, then connections are closed, logs flushed, and
 * the loop returns 0.
 */
#ifndef VZ_RUNTIME_H
#define VZ_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vz/arena.h"
#include "vz/error.h"

#define VZ_RUNTIME_DEFAULT_CONNECT_TIMEOUT_MS 1000
#define VZ_RUNTIME_DEFAULT_MAX_ATTEMPTS 6
#define VZ_RUNTIME_DEFAULT_BACKOFF_MS 100
#define VZ_RUNTIME_MAX_BACKOFF_MS 5000

typedef struct vz_runtime_config {
    char api[256];           /* AWS_LAMBDA_RUNTIME_API: "host:port" */
    char host[256];          /* the host part, for CURLOPT_NOPROXY */
    long connect_timeout_ms; /* VZ_RUNTIME_CONNECT_TIMEOUT_MS */
    int max_attempts;        /* VZ_RUNTIME_MAX_ATTEMPTS: tries of one call before giving up */
    long backoff_ms;         /* VZ_RUNTIME_BACKOFF_MS: first pause between tries, doubled each time */
} vz_runtime_config;

/* What one /next answer said about the invocation (strings owned by the runtime's arena). */
typedef struct vz_runtime_invocation {
    const char *request_id;       /* Lambda-Runtime-Aws-Request-Id */
    int64_t deadline_ms;          /* Lambda-Runtime-Deadline-Ms (epoch ms), 0 when absent */
    const char *function_arn;     /* Lambda-Runtime-Invoked-Function-Arn, or NULL */
    const char *trace_id;         /* Lambda-Runtime-Trace-Id, or NULL */
    const char *client_context;   /* Lambda-Runtime-Client-Context, or NULL */
    const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity, or NULL */
    const char *tenant_id;        /* Lambda-Runtime-Aws-Tenant-Id, or NULL */
    const char *invocation_id;    /* Lambda-Runtime-Invocation-Id (echoed back), or NULL */
} vz_runtime_invocation;

/* Counters of what the loop did, for logs and tests. */
typedef struct vz_runtime_stats {
    uint64_t invocations;       /* events received from /next */
    uint64_t responses;         /* responses accepted (202) */
    uint64_t errors;            /* invocation errors accepted (202) */
    uint64_t rejected;          /* posts answered 400/403 and dropped */
    uint64_t too_large;         /* responses answered 413 */
    uint64_t transport_retries; /* calls repeated after a transport error */
} vz_runtime_stats;

/* Fill cfg from AWS_LAMBDA_RUNTIME_API and the VZ_RUNTIME_* variables; VZ_EINVAL with err set when unusable. */
vz_status vz_runtime_config_from_env(vz_runtime_config *cfg, vz_error *err);

/* Initialise the handlers and run the loop until SIGTERM (returns 0) or a fatal answer (returns 1).
 * Initialisation failures are posted to /runtime/init/error and return 1. stats may be NULL. */
int vz_runtime_run(const vz_runtime_config *cfg, vz_runtime_stats *stats);

/* `vz-events` with no subcommand: read the configuration and run the loop; the process exit status. */
int vz_runtime_main(void);

/* Record one raw response header line ("Name: value\r\n") of /next into inv, copying into arena.
 * Unknown headers and empty values are ignored. Returns true when the header was one of Lambda's. */
bool vz_runtime_parse_header(vz_runtime_invocation *inv, vz_arena *arena, const char *line, size_t len);

/* Whether `type` is a valid Lambda-Runtime-Function-Error-Type: (Runtime|Function)\.[A-Z][a-zA-Z]+ */
bool vz_runtime_error_type_valid(const char *type);

/* Longest Lambda-Runtime-Aws-Request-Id answered (Lambda's are 36-character UUIDs); longer ones are refused. */
#define VZ_RUNTIME_MAX_REQUEST_ID 1024

/* The path "/runtime/invocation/<id>/<what>" into out (size n), the id percent-encoded whole (never
 * cut).  false, with why filled (a static text), when the id is empty, longer than
 * VZ_RUNTIME_MAX_REQUEST_ID or holds a control character, or out is too small. */
bool vz_runtime_invocation_path(char *out, size_t n, const char *request_id, const char *what, const char **why);

/* The deadline to run an invocation with: deadline_ms when plausible (after the process started
 * and at most 15 minutes after now, all epoch ms); else now + timeout_s seconds when timeout_s > 0,
 * else 0 (no deadline). */
int64_t vz_runtime_plausible_deadline(int64_t deadline_ms, int64_t now_ms, int64_t started_ms, long timeout_s);

/* The pause before try number `attempt` (2, 3, ...): base * 2^(attempt-2), capped at VZ_RUNTIME_MAX_BACKOFF_MS. */
long vz_runtime_backoff_ms(int attempt, long base_ms);

#endif
