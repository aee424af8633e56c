/* child.c -- run the runtime command as a child of vz-emulator, reap it, restart it.
 *
 * Two threads: the supervisor starts the runtime when invocations wait and
 * none runs (at start-up too, so that its init happens before the first
 * invoke, as in Lambda) and kills it when its invocation times out; the
 * reaper waits for it to exit and tells core.c, which fails what it held.
 * The child gets AWS_LAMBDA_RUNTIME_API and Lambda's usual variables, default
 * signal dispositions, and dies with the supervisor (PR_SET_PDEATHSIG) so
 * that no runtime outlives a killed emulator.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu.h"
#include "vz/handler.h"
#include "vz/log.h"

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const emu_config *cfg;
    pthread_t supervisor, reaper;
    bool stopping;
    pid_t pid;        /* started and not reaped yet, 0 when none */
    unsigned starts;  /* runtimes started so far */
    int64_t grace_ms; /* at stop: how long the runtime gets between SIGTERM and SIGKILL */
} c = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void set_default(const char *name, const char *value)
{
    const char *cur = getenv(name);
    if (!cur || !*cur)
        setenv(name, value, 1);
}

/* Lambda's environment for the runtime; set in our own environment once, before any thread. */
static void prepare_env(const emu_config *cfg, unsigned runtime_port)
{
    char buf[64];
    snprintf(buf, sizeof buf, "127.0.0.1:%u", runtime_port);
    setenv("AWS_LAMBDA_RUNTIME_API", buf, 1);
    snprintf(buf, sizeof buf, "%lld", (long long)((cfg->timeout_ms + 999) / 1000));
    setenv("AWS_LAMBDA_FUNCTION_TIMEOUT", buf, 1);
    set_default("AWS_LAMBDA_FUNCTION_NAME", "function");
    set_default("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    set_default("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008");
    set_default("AWS_REGION", "us-east-1");
    set_default("AWS_DEFAULT_REGION", "us-east-1");
}

static pid_t spawn(const emu_config *cfg)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* In the child: only async-signal-safe calls until exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execvp(cfg->command[0], cfg->command);
        static const char msg[] = "vz-emulator: cannot execute the runtime command\n";
        (void)!write(2, msg, sizeof msg - 1);
        _exit(127);
    }
    if (pid < 0) {
        vz_log(VZ_LOG_ERROR, NULL, "emulator: cannot start the runtime %s: %s", cfg->command[0], strerror(errno));
        return 0;
    }
    return pid;
}

static void start_runtime(void)
{
    int64_t spawn_ns = emu_monotonic_ns();
    pid_t pid = spawn(c.cfg);
    if (pid <= 0)
        return;
    pthread_mutex_lock(&c.mu);
    c.pid = pid;
    c.starts++;
    emu_core_runtime_started((int)pid, spawn_ns); /* before the reaper can see it exit */
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
    vz_log(VZ_LOG_INFO, NULL, "emulator: started runtime pid %d (start %u): %s", (int)pid, c.starts, c.cfg->command[0]);
}

/* SIGTERM the runtime, SIGKILL it after grace_ms, and wait for the reaper to see it gone. */
static void terminate_runtime(int64_t grace_ms)
{
    pthread_mutex_lock(&c.mu);
    pid_t pid = c.pid;
    pthread_mutex_unlock(&c.mu);
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    double until = vz_monotonic_ms() + (double)grace_ms;
    for (;;) {
        pthread_mutex_lock(&c.mu);
        bool gone = c.pid != pid;
        pthread_mutex_unlock(&c.mu);
        if (gone)
            return;
        if (vz_monotonic_ms() > until) {
            vz_log(VZ_LOG_WARN, NULL, "emulator: runtime pid %d ignored SIGTERM for %lld ms; killing it", (int)pid,
                   (long long)grace_ms);
            kill(pid, SIGKILL);
            until = vz_monotonic_ms() + 600000.0;
        }
        usleep(10000);
    }
}

/* The supervisor also stops the runtime: PR_SET_PDEATHSIG fires when the thread that forked it exits. */
static void *supervisor_main(void *arg)
{
    (void)arg;
    start_runtime();
    for (;;) {
        pthread_mutex_lock(&c.mu);
        bool stop = c.stopping;
        int64_t grace = c.grace_ms;
        pthread_mutex_unlock(&c.mu);
        if (stop) {
            terminate_runtime(grace);
            break;
        }
        if (emu_core_wants_runtime())
            start_runtime();
        int victim = emu_core_supervise(200);
        if (victim > 0)
            kill((pid_t)victim, SIGKILL);
    }
    return NULL;
}

static void *reaper_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&c.mu);
        while (c.pid == 0 && !c.stopping)
            pthread_cond_wait(&c.cv, &c.mu);
        pid_t pid = c.pid;
        pthread_mutex_unlock(&c.mu);
        if (pid == 0)
            break;
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        char how[64];
        if (WIFEXITED(st))
            snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
            snprintf(how, sizeof how, "signal %d", WTERMSIG(st));
        else
            snprintf(how, sizeof how, "status %d", st);
        vz_log(VZ_LOG_INFO, NULL, "emulator: runtime pid %d exited (%s)", (int)pid, how);
        pthread_mutex_lock(&c.mu);
        c.pid = 0;
        pthread_cond_broadcast(&c.cv);
        pthread_mutex_unlock(&c.mu);
        emu_core_runtime_exited((int)pid, how);
    }
    return NULL;
}

int emu_child_start(const emu_config *cfg, unsigned runtime_port)
{
    c.cfg = cfg;
    prepare_env(cfg, runtime_port);
    if (pthread_create(&c.reaper, NULL, reaper_main, NULL) != 0)
        return -1;
    if (pthread_create(&c.supervisor, NULL, supervisor_main, NULL) != 0) {
        pthread_mutex_lock(&c.mu);
        c.stopping = true;
        pthread_cond_broadcast(&c.cv);
        pthread_mutex_unlock(&c.mu);
        pthread_join(c.reaper, NULL);
        return -1;
    }
    return 0;
}

void emu_child_stop(int64_t grace_ms)
{
    pthread_mutex_lock(&c.mu);
    c.stopping = true;
    c.grace_ms = grace_ms;
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
    pthread_join(c.supervisor, NULL);
    pthread_join(c.reaper, NULL);
}
