/* main.c -- `vz-emulator`: parse the command line, start the servers and the runtime, wait for a signal.
 *
 * vz-emulator [--port N] [--timeout SECONDS] [--max-event-bytes N] [--port-file PATH]
 *             [--url-port N] [--url-port-file PATH]
 *             [--sqs-queue NAME]... [--sqs-batch N] [--sqs-wait S] [--sqs-visibility S] [--sqs-window S]
 *             [--test-fault NAME[:COUNT]]... -- COMMAND [ARGS...]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "vz/log.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vz-emulator [--port N] [--timeout SECONDS] [--max-event-bytes N] [--port-file PATH]\n"
                 "                   [--url-port N] [--url-port-file PATH]\n"
                 "                   [--sqs-queue NAME]... [--sqs-batch N] [--sqs-wait S] [--sqs-visibility S] "
                 "[--sqs-window S]\n"
                 "                   [--test-fault NAME[:COUNT]]... -- COMMAND [ARGS...]\n"
                 "\n"
                 "A local stand-in for AWS Lambda, compatible with the Runtime Interface Emulator: runs COMMAND\n"
                 "with AWS_LAMBDA_RUNTIME_API pointing at its own Runtime API, and takes invocations on\n"
                 "  POST http://127.0.0.1:PORT/2015-03-31/functions/function/invocations   (PORT default 8080)\n"
                 "\n"
                 "  --port N             invoke port; 0 picks a free one (see --port-file)\n"
                 "  --timeout SECONDS    function timeout (default AWS_LAMBDA_FUNCTION_TIMEOUT, else 300)\n"
                 "  --max-event-bytes N  largest event accepted (default 6291556, Lambda's limit)\n"
                 "  --port-file PATH     write \"INVOKE_PORT RUNTIME_API_PORT\" there once listening\n"
                 "  --url-port N         also serve a function URL on this port (0 = a free one): any HTTP request\n"
                 "                       becomes a payload 2.0 event, the response object the HTTP answer\n"
                 "  --url-port-file PATH write the function URL port there once listening\n"
                 "  --sqs-queue NAME     event source mapping: poll this queue (AWS_ENDPOINT_URL_SQS, AWS_REGION and\n"
                 "                       credentials from the environment), invoke with each batch, delete what\n"
                 "                       succeeded, leave batchItemFailures for redelivery (repeat: up to 32 queues)\n"
                 "  --sqs-batch N        batch size, 1..10 (default 10)\n"
                 "  --sqs-wait S         long polling seconds, 0..20 (default 20)\n"
                 "  --sqs-visibility S   visibility timeout asked at each receive (default: the queue's)\n"
                 "  --sqs-window S       batching window: keep receiving up to S seconds to fill a batch (default 0)\n"
                 "  --test-fault F[:N]   FOR TESTS ONLY: inject failure F (N times, default always):\n"
                 "                       ");
    for (int f = 0; f < EMU_FAULT_COUNT; f++)
        fprintf(out, "%s%s", emu_fault_name((emu_fault)f), f + 1 < EMU_FAULT_COUNT ? ", " : "\n");
    fprintf(out, "\nexample:\n  vz-emulator -- build/vz-events\n"
                 "  curl -d @tests/fixtures/sqs-batch.json localhost:8080/2015-03-31/functions/function/invocations\n");
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_fault(const char *arg, emu_config *cfg)
{
    char name[64];
    const char *colon = strchr(arg, ':');
    size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
    if (n >= sizeof name)
        return -1;
    memcpy(name, arg, n);
    name[n] = '\0';
    double count = -1;
    if (colon && parse_number(colon + 1, 1, 1e6, &count) != 0)
        return -1;
    for (int f = 0; f < EMU_FAULT_COUNT; f++) {
        if (strcmp(name, emu_fault_name((emu_fault)f)) == 0) {
            cfg->faults[f] = (int)count;
            return 0;
        }
    }
    return -1;
}

static int parse_args(int argc, char **argv, emu_config *cfg)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"max-event-bytes", required_argument, NULL, 'm'},
                                         {"port-file", required_argument, NULL, 'f'},
                                         {"test-fault", required_argument, NULL, 'F'},
                                         {"url-port", required_argument, NULL, 'U'},
                                         {"url-port-file", required_argument, NULL, 'u'},
                                         {"sqs-queue", required_argument, NULL, 'Q'},
                                         {"sqs-batch", required_argument, NULL, 'B'},
                                         {"sqs-wait", required_argument, NULL, 'W'},
                                         {"sqs-visibility", required_argument, NULL, 'V'},
                                         {"sqs-window", required_argument, NULL, 'X'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    double v;
    const char *env_timeout = getenv("AWS_LAMBDA_FUNCTION_TIMEOUT");
    cfg->port = 8080;
    cfg->bind = "127.0.0.1";
    cfg->timeout_ms = 300000;
    cfg->max_event_bytes = EMU_MAX_PAYLOAD;
    cfg->url_port = -1;
    cfg->sqs_batch = 10;
    cfg->sqs_wait_s = 20;
    cfg->sqs_visibility_s = -1;
    if (env_timeout && *env_timeout) {
        if (parse_number(env_timeout, 0.001, 900, &v) != 0) {
            fprintf(stderr, "vz-emulator: AWS_LAMBDA_FUNCTION_TIMEOUT=%s is not a number of seconds (up to 900)\n",
                    env_timeout);
            return 2;
        }
        cfg->timeout_ms = (int64_t)(v * 1000.0);
    }
    int c;
    while ((c = getopt_long(argc, argv, "+p:t:h", opts, NULL)) != -1) {
        if (c == 'p' && parse_number(optarg, 0, 65535, &v) == 0) {
            cfg->port = (unsigned)v;
        } else if (c == 't' && parse_number(optarg, 0.001, 900, &v) == 0) {
            cfg->timeout_ms = (int64_t)(v * 1000.0);
        } else if (c == 'm' && parse_number(optarg, 1, 1024.0 * 1024 * 1024, &v) == 0) {
            cfg->max_event_bytes = (size_t)v;
        } else if (c == 'f') {
            cfg->port_file = optarg;
        } else if (c == 'F' && parse_fault(optarg, cfg) == 0) {
        } else if (c == 'U' && parse_number(optarg, 0, 65535, &v) == 0) {
            cfg->url_port = (int)v;
        } else if (c == 'u') {
            cfg->url_port_file = optarg;
        } else if (c == 'Q' && *optarg && cfg->sqs_nqueues < EMU_MAX_SQS_QUEUES) {
            cfg->sqs_queues[cfg->sqs_nqueues++] = optarg;
        } else if (c == 'X' && parse_number(optarg, 0, 300, &v) == 0) {
            cfg->sqs_window_s = v;
        } else if (c == 'B' && parse_number(optarg, 1, 10, &v) == 0) {
            cfg->sqs_batch = (int)v;
        } else if (c == 'W' && parse_number(optarg, 0, 20, &v) == 0) {
            cfg->sqs_wait_s = (int)v;
        } else if (c == 'V' && parse_number(optarg, 0, 43200, &v) == 0) {
            cfg->sqs_visibility_s = (int)v;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            if (c != '?')
                fprintf(stderr, "vz-emulator: bad value \"%s\" for an option\n", optarg ? optarg : "");
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vz-emulator: no runtime command given (after --)\n");
        usage(stderr);
        return 2;
    }
    cfg->command = argv + optind;
    return -1; /* go on */
}

static int write_port_file(const char *path, unsigned invoke_port, unsigned runtime_port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u %u\n", invoke_port, runtime_port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path); /* readers never see a half-written file */
}

static int write_url_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    vz_log_configure_from_env();
    emu_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = parse_args(argc, argv, &cfg);
    if (rc >= 0)
        return rc;

    /* Signals are taken by sigwait below; every thread inherits this mask, the child resets it. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    emu_core_init(&cfg);
    unsigned runtime_port = 0, invoke_port = 0;
    struct MHD_Daemon *rapi = emu_runtime_api_start(&cfg, &runtime_port);
    struct MHD_Daemon *front = rapi ? emu_invoke_api_start(&cfg, &invoke_port) : NULL;
    if (!rapi || !front) {
        vz_log(VZ_LOG_FATAL, NULL, "emulator: cannot listen on %s:%u%s", cfg.bind, cfg.port,
               rapi ? " (is the port taken? --port 0 picks a free one)" : " (Runtime API)");
        if (rapi)
            MHD_stop_daemon(rapi);
        return 1;
    }
    if (emu_child_start(&cfg, runtime_port) != 0) {
        vz_log(VZ_LOG_FATAL, NULL, "emulator: cannot start the supervisor threads");
        MHD_stop_daemon(front);
        MHD_stop_daemon(rapi);
        return 1;
    }
    vz_log(VZ_LOG_INFO, NULL,
           "emulator: invocations on http://%s:%u/2015-03-31/functions/function/invocations, Runtime API on "
           "%s:%u, timeout %.3f s",
           cfg.bind, invoke_port, cfg.bind, runtime_port, (double)cfg.timeout_ms / 1000.0);
    if (cfg.port_file && write_port_file(cfg.port_file, invoke_port, runtime_port) != 0)
        vz_log(VZ_LOG_ERROR, NULL, "emulator: cannot write %s: %s", cfg.port_file, strerror(errno));
    struct MHD_Daemon *url_front = NULL;
    if (cfg.url_port >= 0) {
        unsigned url_port = 0;
        url_front = emu_url_front_start(&cfg, &url_port);
        if (!url_front)
            vz_log(VZ_LOG_FATAL, NULL, "emulator: cannot listen on %s:%d for the function URL", cfg.bind, cfg.url_port);
        else
            vz_log(VZ_LOG_INFO, NULL, "emulator: function URL on http://%s:%u/", cfg.bind, url_port);
        if (url_front && cfg.url_port_file && write_url_port_file(cfg.url_port_file, url_port) != 0)
            vz_log(VZ_LOG_ERROR, NULL, "emulator: cannot write %s: %s", cfg.url_port_file, strerror(errno));
    }
    if ((cfg.url_port >= 0 && !url_front) || emu_sqs_source_start(&cfg) != 0) {
        emu_core_stop();
        emu_child_stop(3000);
        if (url_front)
            MHD_stop_daemon(url_front);
        MHD_stop_daemon(front);
        MHD_stop_daemon(rapi);
        emu_core_free();
        return 1;
    }

    int sig = 0;
    sigwait(&set, &sig);
    vz_log(VZ_LOG_INFO, NULL, "emulator: %s received; stopping the runtime and the servers",
           sig == SIGINT ? "SIGINT" : "SIGTERM");
    emu_child_stop(3000); /* the runtime finishes what it runs, then gets SIGTERM */
    emu_core_stop();
    emu_sqs_source_stop();
    if (url_front)
        MHD_stop_daemon(url_front);
    MHD_stop_daemon(front);
    MHD_stop_daemon(rapi);
    emu_core_free();
    vz_log_flush();
    return 0;
}
