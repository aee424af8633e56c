/* emu.h -- the internal API of vz-emulator, a local stand-in for Lambda's control plane.
 *
 * vz-emulator plays the part AWS's Runtime Interface Emulator plays: it runs
 * the runtime command as a child with AWS_LAMBDA_RUNTIME_API pointing at its
 * own Runtime API server, queues invocations and hands them to the runtime
 * one at a time, in order, and returns each one's response or error.
 *
 * Pieces (one file each):
 *   core.c         the invocation queue and its state machine; emu_invoke();
 *                  what the Runtime API calls do to an invocation; timeouts
 *   runtime_api.c  the HTTP server the runtime talks to (/2018-06-01/...)
 *   invoke_api.c   the HTTP front for users: POST /2015-03-31/functions/NAME/invocations
 *   child.c        starting, reaping, killing and restarting the runtime process
 *   http.c         helpers shared by the two HTTP servers (libmicrohttpd)
 *   main.c         command line, signals, start and stop
 *
 * Adding another event source (a function-URL front, an SQS poller): build
 * the event payload, call emu_invoke() from any thread, read the emu_result,
 * free it with emu_result_free().  emu_invoke() blocks until the invocation
 * has an outcome (response, function error, timeout, runtime exit) or the
 * emulator stops; invocations from all threads are served in arrival order.
 */
#ifndef VZ_EMU_H
#define VZ_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#define EMU_MAX_SQS_QUEUES 32    /* event source mappings one emulator runs (one per handler in scripts/flow) */
#define EMU_MAX_PAYLOAD 6291556u /* Lambda's 6 MB synchronous payload limit, as the RIE counts it */

/* ---- configuration (filled by main.c before emu_start) ---- */

/* Failures the emulator can inject, for the integration tests only (--test-fault NAME[:COUNT]). */
typedef enum emu_fault {
    EMU_FAULT_NEXT_500,       /* GET /next answers 500 */
    EMU_FAULT_NEXT_403,       /* GET /next answers 403 */
    EMU_FAULT_NEXT_DROP,      /* GET /next: connection closed without an answer */
    EMU_FAULT_RESPONSE_400,   /* POST .../response answers 400 (the invocation fails with Emulator.TestFault) */
    EMU_FAULT_RESPONSE_403,   /* POST .../response answers 403 (likewise) */
    EMU_FAULT_RESPONSE_500,   /* POST .../response answers 500 (likewise) */
    EMU_FAULT_RESPONSE_DROP,  /* POST .../response: connection closed, nothing recorded */
    EMU_FAULT_ERROR_400,      /* POST .../error answers 400 (the invocation fails with Emulator.TestFault) */
    EMU_FAULT_ERROR_403,      /* likewise 403 */
    EMU_FAULT_ERROR_500,      /* likewise 500 */
    EMU_FAULT_NO_TRACE_ID,    /* invocations without X-Amzn-Trace-Id get no Lambda-Runtime-Trace-Id
                                 (instead of a generated one) */
    EMU_FAULT_NEXT_TRUNCATED, /* GET /next: the event's headers and half its body, then the connection closes */
    EMU_FAULT_NEXT_GARBAGE,   /* GET /next: 200 with bytes that are no event, no request id, a deadline
                                 that is no number (the invocation it consumed is never answered) */
    EMU_FAULT_RESPONSE_HANG,  /* POST .../response: no answer at all until past the function timeout */
    EMU_FAULT_COUNT
} emu_fault;

typedef struct emu_config {
    unsigned port;               /* invoke front port (0 = any free one) */
    const char *bind;            /* address of both servers, "127.0.0.1" */
    int64_t timeout_ms;          /* function timeout (AWS_LAMBDA_FUNCTION_TIMEOUT / --timeout) */
    size_t max_event_bytes;      /* largest invoke body accepted (default EMU_MAX_PAYLOAD) */
    char *const *command;        /* the runtime command and its arguments, NULL-terminated */
    int faults[EMU_FAULT_COUNT]; /* remaining injections per fault; -1 = always */
    const char *port_file;       /* when set, "INVOKE_PORT RUNTIME_PORT\n" is written there once listening */
    int url_port;                /* function URL front (url_front.c): -1 = off, 0 = any free port */
    const char *url_port_file;   /* when set, the function URL port ("PORT\n") is written there once listening */
    const char *sqs_queues[EMU_MAX_SQS_QUEUES]; /* SQS event source mappings (sqs_source.c): queues polled */
    int sqs_nqueues;                            /* how many of sqs_queues are set */
    int sqs_batch;                              /* records per invocation, 1..10 */
    double sqs_window_s;  /* batching window: keep receiving up to this long to fill a batch (0 = none) */
    int sqs_wait_s;       /* ReceiveMessage long polling, 0..20 s */
    int sqs_visibility_s; /* visibility timeout asked at receive; -1 = the queue's own */
} emu_config;

/* The fault's --test-fault name ("next-500"), or NULL past the end. */
const char *emu_fault_name(emu_fault f);

/* ---- the invocation API (core.c) ---- */

typedef struct emu_request {
    const char *payload; /* the event, `len` bytes (copied) */
    size_t len;
    const char *trace_id;         /* X-Amzn-Trace-Id to pass on, or NULL to generate one */
    const char *client_context;   /* Lambda-Runtime-Client-Context to pass on, or NULL */
    const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity to pass on, or NULL */
    const char *tenant_id;        /* Lambda-Runtime-Aws-Tenant-Id to pass on, or NULL */
} emu_request;

typedef enum emu_outcome {
    EMU_SUCCEEDED,      /* body is the function's response */
    EMU_FUNCTION_ERROR, /* body is an error document, error_type its type */
    EMU_STOPPED         /* the emulator is shutting down; body is an error document */
} emu_outcome;

typedef struct emu_result {
    emu_outcome outcome;
    char request_id[40]; /* the Lambda request id given to the invocation */
    char error_type[80]; /* for errors: "Function.InvalidEvent", "Runtime.ExitError", "Sandbox.Timedout", ... */
    char *body;          /* malloc'd, `len` bytes + NUL; free with emu_result_free */
    size_t len;
    double duration_ms; /* from queueing to outcome */
} emu_result;

/* Queue one invocation and block until it has an outcome; thread-safe. Returns 0, or -1 when out of memory. */
int emu_invoke(const emu_request *req, emu_result *out);

/* Release what emu_invoke put in *r. */
void emu_result_free(emu_result *r);

/* ---- used by the servers and the supervisor (core.c) ---- */

typedef struct emu_next {
    char request_id[40];
    char invocation_id[40];
    char trace_id[128];
    bool trace_generated; /* trace_id was made up by the emulator, not given by the invoker */
    char *client_context, *cognito_identity, *tenant_id; /* malloc'd or NULL */
    int64_t deadline_ms;
    char *event; /* malloc'd copy of the payload */
    size_t len;
} emu_next;

/* Prepare the shared state for cfg (kept by pointer). */
void emu_core_init(const emu_config *cfg);

/* Wake every waiter and fail every pending invocation with EMU_STOPPED. */
void emu_core_stop(void);

/* Release what emu_core_init set up (after the servers have stopped). */
void emu_core_free(void);

/* Block until an invocation can be handed to the runtime of generation `gen`; fill *out (free with
 * emu_next_free). Returns 0, or -1 when the emulator stops or that runtime died meanwhile. */
int emu_core_next(uint64_t gen, emu_next *out);
void emu_next_free(emu_next *n);

/* Result of a Runtime API post, as an HTTP status and a message for the runtime. */
typedef struct emu_answer {
    unsigned status;
    char message[256];
} emu_answer;

/* POST .../{id}/response: `body` of `len` bytes (too_large when the upload exceeded the limit). */
emu_answer emu_core_response(const char *id, const char *invocation_id, char *body, size_t len, bool too_large);

/* POST .../{id}/error with the Lambda-Runtime-Function-Error-Type header value (may be NULL). */
emu_answer emu_core_error(const char *id, const char *invocation_id, const char *type, char *body, size_t len);

/* POST /runtime/init/error. */
emu_answer emu_core_init_error(const char *type, char *body, size_t len);

/* Take one injection of fault f if any is left. */
bool emu_core_fault(emu_fault f);

/* Complete the running invocation with a test-fault error (the runtime was answered `status`). */
void emu_core_fail_running(const char *id, unsigned status);

/* The function timeout in ms (the configuration's). */
int64_t emu_core_timeout_ms(void);

/* The generation of the runtime process now running (changes at each start). */
uint64_t emu_core_generation(void);

/* ---- supervision hooks (core.c, called by child.c) ---- */

/* Whether the supervisor should start a runtime now (invocations wait and none runs). */
bool emu_core_wants_runtime(void);

/* A runtime process started (new generation); spawn_ns: emu_monotonic_ns() taken just before its fork. */
void emu_core_runtime_started(int pid, int64_t spawn_ns);

/* CLOCK_MONOTONIC in nanoseconds (the clock of every cold-start timestamp). */
int64_t emu_monotonic_ns(void);

/* GET /vz-emulator/stats: the current runtime's pid, runtimes started, responses accepted, and its
 * cold-start timestamps (spawn, first /next, first response; ns of emu_monotonic_ns, 0 = not yet) as
 * one JSON object; malloc'd (caller frees), NULL when out of memory. */
char *emu_core_stats_json(void);

/* The runtime exited with `how` ("exit status 1", "signal 9"): fail what it held, per Lambda's rules. */
void emu_core_runtime_exited(int pid, const char *how);

/* Wait (at most max_ms) for a reason to look again: a deadline, new work, a runtime exit, a stop.
 * Returns the pid to kill because its invocation timed out, or 0. */
int emu_core_supervise(int64_t max_ms);

/* ---- child.c ---- */

/* Start the supervisor threads that run, reap and restart the runtime. Returns 0 or -1. */
int emu_child_start(const emu_config *cfg, unsigned runtime_port);

/* SIGTERM the runtime, SIGKILL it after grace_ms, join the supervisor threads. */
void emu_child_stop(int64_t grace_ms);

/* ---- the HTTP servers ---- */

/* Start the Runtime API server on bind:0; *port gets the port chosen. NULL on failure. */
struct MHD_Daemon *emu_runtime_api_start(const emu_config *cfg, unsigned *port);

/* Start the invoke front on bind:cfg->port; *port gets the port. NULL on failure. */
struct MHD_Daemon *emu_invoke_api_start(const emu_config *cfg, unsigned *port);

/* Start the function URL front on bind:cfg->url_port; *port gets the port. NULL on failure. */
struct MHD_Daemon *emu_url_front_start(const emu_config *cfg, unsigned *port);

/* ---- sqs_source.c: the SQS event source mapping ---- */

/* Start one poller per queue of cfg->sqs_queues with the credentials and endpoint of the environment.
 * Returns 0, or -1 (logged) when the SQS client cannot be set up. */
int emu_sqs_source_start(const emu_config *cfg);

/* Stop polling (a long poll in progress is abandoned) and join the poller; call after emu_core_stop. */
void emu_sqs_source_stop(void);

/* ---- http.c: helpers shared by the servers ---- */

/* A request being received: its body accumulated up to `limit` bytes. */
typedef struct emu_upload {
    char *data;
    size_t len, cap, limit;
    bool too_large; /* more than `limit` bytes came; the rest was discarded */
    uint64_t gen;   /* runtime generation when the request began (see emu_core_next) */
} emu_upload;

/* The access-handler preamble: allocate the upload on the first call, accumulate on the next ones.
 * Returns true when the whole body is in and the request can be answered. */
bool emu_http_collect(void **con_cls, size_t limit, const char *upload_data, size_t *upload_data_size,
                      enum MHD_Result *ret);

/* Completion callback freeing the emu_upload of a connection. */
void emu_http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe);

/* Queue an answer taking ownership of `body` (malloc'd, may be NULL for none). */
enum MHD_Result emu_http_answer(struct MHD_Connection *c, unsigned status, const char *content_type, char *body,
                                size_t len);

/* Queue a JSON error answer {"errorMessage":msg,"errorType":type}. */
enum MHD_Result emu_http_error(struct MHD_Connection *c, unsigned status, const char *type, const char *msg);

/* Start a daemon on bind:port with the handler; *bound gets the actual port. */
struct MHD_Daemon *emu_http_start(const char *bind, unsigned port, MHD_AccessHandlerCallback handler, void *cls,
                                  unsigned *bound);

#endif
