/* core.c -- the invocation queue of vz-emulator and what happens to an invocation (see emu.h).
 *
 * An invocation is queued by emu_invoke(), handed to the runtime by /next
 * (one at a time, in order: it is then `running`, with a deadline), and
 * completed by exactly one of: the runtime's /response or /error, the
 * deadline passing (Sandbox.Timedout, the runtime is killed), the runtime
 * exiting (Runtime.ExitError), an init error, or the emulator stopping.
 * One mutex guards everything; one condition variable is broadcast on every
 * change, which is plenty for a handful of threads.
 *
 * The runtime process has a generation number, bumped when it exits, so that
 * a /next request of a dead runtime that is still waiting gives up instead of
 * taking an invocation nobody would answer.
 */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "emu.h"
#include "vz/fixture.h"
#include "vz/handler.h"
#include "vz/log.h"

typedef struct inv {
    struct inv *next; /* queue link */
    emu_next n;       /* what the runtime is given */
    bool done;
    emu_result *result; /* the invoker's, filled on completion */
    double t0;
} inv;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const emu_config *cfg;
    int faults[EMU_FAULT_COUNT]; /* remaining test-fault injections */
    inv *head, *tail;            /* queued, not yet handed out */
    inv *running;                /* handed to the runtime, not answered */
    bool stopping;
    uint64_t gen;     /* runtime generation, bumped at each exit */
    int pid;          /* the runtime now running, 0 when none */
    bool initialised; /* that runtime has asked for an event */
    bool killed;      /* we killed it (timeout): its exit fails nothing else */
    char *init_body;  /* pending init error document, or NULL */
    size_t init_len;
    char init_type[80];
    /* Cold-start timestamps of the current runtime (CLOCK_MONOTONIC, ns; 0 = not yet), and counts. */
    int64_t spawn_ns, first_next_ns, first_response_ns;
    unsigned starts;
    uint64_t responses;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static const char *const fault_names[EMU_FAULT_COUNT] = {
    "next-500",  "next-403",  "next-drop", "response-400", "response-403",   "response-500", "response-drop",
    "error-400", "error-403", "error-500", "no-trace-id",  "next-truncated", "next-garbage", "response-hang",
};

int64_t emu_core_timeout_ms(void)
{
    return g.cfg ? g.cfg->timeout_ms : 0;
}

const char *emu_fault_name(emu_fault f)
{
    return (unsigned)f < EMU_FAULT_COUNT ? fault_names[f] : NULL;
}

void emu_core_init(const emu_config *cfg)
{
    g.cfg = cfg;
    memcpy(g.faults, cfg->faults, sizeof g.faults);
}

bool emu_core_fault(emu_fault f)
{
    pthread_mutex_lock(&g.mu);
    bool hit = g.faults[f] != 0;
    if (g.faults[f] > 0)
        g.faults[f]--;
    pthread_mutex_unlock(&g.mu);
    return hit;
}

uint64_t emu_core_generation(void)
{
    pthread_mutex_lock(&g.mu);
    uint64_t gen = g.gen;
    pthread_mutex_unlock(&g.mu);
    return gen;
}

/* An error document {"errorMessage","errorType"} as Lambda's front returns it; malloc'd. */
static char *error_doc(const char *type, const char *msg, size_t *len)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorMessage", msg);
    cJSON_AddStringToObject(o, "errorType", type);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort(); /* out of memory in the emulator: nothing sensible left to do */
    *len = strlen(s);
    return s;
}

/* Complete v (lock held): the result takes `body`. */
static void complete(inv *v, emu_outcome outcome, const char *type, char *body, size_t len)
{
    emu_result *r = v->result;
    r->outcome = outcome;
    snprintf(r->error_type, sizeof r->error_type, "%s", type ? type : "");
    r->body = body;
    r->len = len;
    r->duration_ms = vz_monotonic_ms() - v->t0;
    v->done = true;
    if (g.running == v)
        g.running = NULL;
    pthread_cond_broadcast(&g.cv);
}

static void complete_msg(inv *v, emu_outcome outcome, const char *type, const char *msg)
{
    size_t len;
    char *body = error_doc(type, msg, &len);
    complete(v, outcome, type, body, len);
}

static inv *pop_head(void)
{
    inv *v = g.head;
    if (v) {
        g.head = v->next;
        if (!g.head)
            g.tail = NULL;
        v->next = NULL;
    }
    return v;
}

static void random_hex(char *out, size_t n)
{
    char u[37];
    size_t k = 0;
    while (k < n) {
        vz_uuid4(u);
        for (const char *p = u; *p && k < n; p++)
            if (*p != '-')
                out[k++] = *p;
    }
    out[n] = '\0';
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

int emu_invoke(const emu_request *req, emu_result *out)
{
    memset(out, 0, sizeof *out);
    inv *v = calloc(1, sizeof *v);
    if (!v || !(v->n.event = malloc(req->len + 1))) {
        free(v);
        return -1;
    }
    memcpy(v->n.event, req->payload, req->len);
    v->n.event[req->len] = '\0';
    v->n.len = req->len;
    vz_uuid4(v->n.request_id);
    vz_uuid4(v->n.invocation_id);
    if (req->trace_id && *req->trace_id) {
        snprintf(v->n.trace_id, sizeof v->n.trace_id, "%s", req->trace_id);
    } else {
        char a[25], b[17];
        random_hex(a, 24);
        random_hex(b, 16);
        snprintf(v->n.trace_id, sizeof v->n.trace_id, "Root=1-%08llx-%s;Parent=%s;Sampled=0",
                 (unsigned long long)(vz_now_ms() / 1000), a, b);
        v->n.trace_generated = true;
    }
    v->n.client_context = dup_or_null(req->client_context);
    v->n.cognito_identity = dup_or_null(req->cognito_identity);
    v->n.tenant_id = dup_or_null(req->tenant_id);
    v->result = out;
    v->t0 = vz_monotonic_ms();
    snprintf(out->request_id, sizeof out->request_id, "%s", v->n.request_id);

    pthread_mutex_lock(&g.mu);
    if (g.stopping) {
        complete_msg(v, EMU_STOPPED, "Emulator.Stopping", "the emulator is shutting down");
    } else if (g.init_body && g.pid == 0) {
        /* The last runtime failed its init and is gone: this invocation gets that error (Lambda does
         * the same), and the next one starts a fresh runtime. */
        complete(v, EMU_FUNCTION_ERROR, g.init_type, g.init_body, g.init_len);
        g.init_body = NULL;
    } else {
        if (g.tail)
            g.tail->next = v;
        else
            g.head = v;
        g.tail = v;
        size_t waiting = 0;
        for (const inv *w = g.head; w; w = w->next)
            waiting++;
        vz_log(VZ_LOG_DEBUG, NULL, "emulator: invocation %s queued (%zu waiting)", v->n.request_id, waiting);
        pthread_cond_broadcast(&g.cv);
    }
    while (!v->done)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    vz_log(VZ_LOG_INFO, NULL, "emulator: invocation %s %s%s%s in %.1f ms (%zu-byte answer)", out->request_id,
           out->outcome == EMU_SUCCEEDED ? "succeeded" : "failed", out->error_type[0] ? " with " : "", out->error_type,
           out->duration_ms, out->len);
    emu_next_free(&v->n);
    free(v);
    return 0;
}

void emu_result_free(emu_result *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

void emu_next_free(emu_next *n)
{
    free(n->event);
    free(n->client_context);
    free(n->cognito_identity);
    free(n->tenant_id);
    n->event = n->client_context = n->cognito_identity = n->tenant_id = NULL;
}

int emu_core_next(uint64_t gen, emu_next *out)
{
    int64_t now = emu_monotonic_ns();
    pthread_mutex_lock(&g.mu);
    if (!g.first_next_ns && gen == g.gen)
        g.first_next_ns = now;
    g.initialised = true;
    if (g.running && gen == g.gen) {
        /* The runtime asks for more without having answered: that answer will never come. */
        complete_msg(g.running, EMU_FUNCTION_ERROR, "Runtime.NoResponse",
                     "the runtime asked for the next event without answering this one");
    }
    while (!g.stopping && gen == g.gen && !g.head)
        pthread_cond_wait(&g.cv, &g.mu);
    if (g.stopping || gen != g.gen) {
        pthread_mutex_unlock(&g.mu);
        return -1;
    }
    inv *v = pop_head();
    g.running = v;
    v->n.deadline_ms = vz_now_ms() + g.cfg->timeout_ms;
    *out = v->n;
    out->event = malloc(v->n.len + 1);
    out->client_context = dup_or_null(v->n.client_context);
    out->cognito_identity = dup_or_null(v->n.cognito_identity);
    out->tenant_id = dup_or_null(v->n.tenant_id);
    if (out->event) {
        memcpy(out->event, v->n.event, v->n.len + 1);
    } else {
        complete_msg(v, EMU_FUNCTION_ERROR, "Emulator.OutOfMemory", "the emulator ran out of memory");
        emu_next_free(out);
        pthread_mutex_unlock(&g.mu);
        return -1;
    }
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    return 0;
}

static emu_answer answer(unsigned status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static emu_answer answer(unsigned status, const char *fmt, ...)
{
    emu_answer a = {status, ""};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a.message, sizeof a.message, fmt, ap);
    va_end(ap);
    return a;
}

/* The running invocation `id` when the post about it is acceptable (lock held); else *bad is set. */
static inv *running_for(const char *id, const char *invocation_id, emu_answer *bad)
{
    inv *v = g.running;
    if (!v || strcmp(v->n.request_id, id) != 0) {
        *bad = answer(400, "invocation %.64s is not running (unknown, already answered or timed out)", id);
        return NULL;
    }
    if (!invocation_id || strcmp(invocation_id, v->n.invocation_id) != 0) {
        *bad = answer(400, "Lambda-Runtime-Invocation-Id is missing or is not \"%s\" as sent with the event",
                      v->n.invocation_id);
        return NULL;
    }
    return v;
}

emu_answer emu_core_response(const char *id, const char *invocation_id, char *body, size_t len, bool too_large)
{
    emu_answer a = {202, "accepted"};
    pthread_mutex_lock(&g.mu);
    inv *v = running_for(id, invocation_id, &a);
    if (v && too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "Response payload size exceeded maximum allowed payload size (%u bytes).",
                 EMU_MAX_PAYLOAD);
        complete_msg(v, EMU_FUNCTION_ERROR, "Function.ResponseSizeTooLarge", msg);
        a = answer(413, "%s", msg);
    } else if (v) {
        complete(v, EMU_SUCCEEDED, NULL, body, len);
        body = NULL;
        g.responses++;
        if (!g.first_response_ns) {
            g.first_response_ns = emu_monotonic_ns();
            vz_log(VZ_LOG_INFO, NULL,
                   "emulator: cold start of runtime pid %d: first /next %.3f ms and first response %.3f ms after "
                   "spawn",
                   g.pid, (double)(g.first_next_ns - g.spawn_ns) / 1e6,
                   (double)(g.first_response_ns - g.spawn_ns) / 1e6);
        }
    }
    pthread_mutex_unlock(&g.mu);
    free(body);
    return a;
}

emu_answer emu_core_error(const char *id, const char *invocation_id, const char *type, char *body, size_t len)
{
    emu_answer a = {202, "accepted"};
    pthread_mutex_lock(&g.mu);
    inv *v = running_for(id, invocation_id, &a);
    if (v) {
        complete(v, EMU_FUNCTION_ERROR, type && *type ? type : "Unhandled", body, len);
        body = NULL;
    }
    pthread_mutex_unlock(&g.mu);
    free(body);
    return a;
}

emu_answer emu_core_init_error(const char *type, char *body, size_t len)
{
    emu_answer a = {202, "accepted"};
    pthread_mutex_lock(&g.mu);
    if (g.initialised) {
        a = answer(403, "%s", "InvalidStateTransition: the runtime already asked for an event");
    } else {
        free(g.init_body);
        if (!body)
            body = error_doc(type && *type ? type : "Runtime.Unknown", "the runtime failed to initialise", &len);
        g.init_body = body;
        g.init_len = len;
        snprintf(g.init_type, sizeof g.init_type, "%s", type && *type ? type : "Runtime.Unknown");
        body = NULL;
    }
    pthread_mutex_unlock(&g.mu);
    free(body);
    return a;
}

void emu_core_fail_running(const char *id, unsigned status)
{
    pthread_mutex_lock(&g.mu);
    if (g.running && strcmp(g.running->n.request_id, id) == 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "test fault: the emulator answered %u to the runtime's post", status);
        complete_msg(g.running, EMU_FUNCTION_ERROR, "Emulator.TestFault", msg);
    }
    pthread_mutex_unlock(&g.mu);
}

bool emu_core_wants_runtime(void)
{
    pthread_mutex_lock(&g.mu);
    bool want = !g.stopping && g.pid == 0 && g.head != NULL;
    pthread_mutex_unlock(&g.mu);
    return want;
}

void emu_core_runtime_started(int pid, int64_t spawn_ns)
{
    pthread_mutex_lock(&g.mu);
    g.pid = pid;
    g.spawn_ns = spawn_ns;
    g.first_next_ns = g.first_response_ns = 0;
    g.starts++;
    g.initialised = false;
    g.killed = false;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
}

void emu_core_runtime_exited(int pid, const char *how)
{
    char msg[256];
    pthread_mutex_lock(&g.mu);
    if (g.pid == pid) {
        g.pid = 0;
        g.gen++;
    }
    if (g.running) {
        snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited with error: %s", g.running->n.request_id, how);
        complete_msg(g.running, EMU_FUNCTION_ERROR, "Runtime.ExitError", msg);
    } else if (g.killed || g.stopping) {
        /* we killed it: whatever waits is served by the next runtime */
    } else if (g.init_body && g.head) {
        complete(pop_head(), EMU_FUNCTION_ERROR, g.init_type, g.init_body, g.init_len);
        g.init_body = NULL;
    } else if (g.head && !g.initialised) {
        /* It died before asking for work: fail one waiting invocation so that a runtime that
         * cannot start does not restart forever. */
        snprintf(msg, sizeof msg, "Runtime exited without providing a reason: %s", how);
        complete_msg(pop_head(), EMU_FUNCTION_ERROR, "Runtime.ExitError", msg);
    }
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
}

int emu_core_supervise(int64_t max_ms)
{
    int kill_pid = 0;
    pthread_mutex_lock(&g.mu);
    int64_t now = vz_now_ms();
    int64_t until = now + max_ms;
    bool work = !g.stopping && g.pid == 0 && g.head;
    if (!work && !g.stopping && !(g.running && g.running->n.deadline_ms <= now)) {
        if (g.running && g.running->n.deadline_ms < until)
            until = g.running->n.deadline_ms;
        struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
        pthread_cond_timedwait(&g.cv, &g.mu, &ts);
        now = vz_now_ms();
    }
    if (g.running && g.running->n.deadline_ms <= now && !g.stopping) {
        char msg[128];
        snprintf(msg, sizeof msg, "Task timed out after %.2f seconds", (double)g.cfg->timeout_ms / 1000.0);
        vz_log(VZ_LOG_WARN, NULL, "emulator: invocation %s timed out; killing the runtime (pid %d)",
               g.running->n.request_id, g.pid);
        complete_msg(g.running, EMU_FUNCTION_ERROR, "Sandbox.Timedout", msg);
        if (g.pid > 0) {
            kill_pid = g.pid;
            g.killed = true;
        }
    }
    pthread_mutex_unlock(&g.mu);
    return kill_pid;
}

void emu_core_stop(void)
{
    pthread_mutex_lock(&g.mu);
    g.stopping = true;
    if (g.running)
        complete_msg(g.running, EMU_STOPPED, "Emulator.Stopping", "the emulator is shutting down");
    inv *v;
    while ((v = pop_head()))
        complete_msg(v, EMU_STOPPED, "Emulator.Stopping", "the emulator is shutting down");
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
}

void emu_core_free(void)
{
    pthread_mutex_lock(&g.mu);
    free(g.init_body);
    g.init_body = NULL;
    pthread_mutex_unlock(&g.mu);
}

int64_t emu_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *emu_core_stats_json(void)
{
    pthread_mutex_lock(&g.mu);
    int64_t now = emu_monotonic_ns();
    char *s = NULL;
    if (asprintf(&s,
                 "{\"pid\":%d,\"starts\":%u,\"responses\":%llu,\"nowNs\":%lld,\"spawnNs\":%lld,"
                 "\"firstNextNs\":%lld,\"firstResponseNs\":%lld,\"queued\":%s,\"running\":%s}",
                 g.pid, g.starts, (unsigned long long)g.responses, (long long)now, (long long)g.spawn_ns,
                 (long long)g.first_next_ns, (long long)g.first_response_ns, g.head ? "true" : "false",
                 g.running ? "true" : "false") < 0)
        s = NULL;
    pthread_mutex_unlock(&g.mu);
    return s;
}
