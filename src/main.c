/* main.c -- `vz-events`: parse the command line and call in.  Nothing else lives here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vz/commands.h"
#include "vz/contract.h"
#include "vz/dlq.h"
#include "vz/log.h"
#include "vz/reconcile.h"
#include "vz/runtime.h"
#include "vz/version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "vz-events %s -- Vision Zero event handlers, an AWS Lambda custom runtime\n"
            "\n"
            "usage:\n"
            "  vz-events                      run the Lambda loop (needs AWS_LAMBDA_RUNTIME_API)\n"
            "  vz-events invoke [--handler NAME] [--timeout-ms N] EVENT.json|-\n"
            "                                 run one event locally, print the response JSON\n"
            "  vz-events event --queue QUEUE BODY.json...\n"
            "                                 wrap Hasura payloads into an SQS event fixture\n"
            "  vz-events handlers             list the handlers built in\n"
            "  vz-events reconcile HANDLER [--fix] [--batch N] [--limit N] [--after KEY] [--json]\n"
            "                                 run a handler's rule over its table: report (or fix) drift\n"
            "  vz-events check [HANDLER...]   prepare each handler's statements on the database and check\n"
            "                                 their answer against the rule (runs nothing)\n"
            "  vz-events dlq list|redrive [--stage S | --queue NAME] [--handler H] [--dry-run]\n"
            "                                 the dead-letter queue: list it, or send each message back\n"
            "                                 to its own source queue\n"
            "  vz-events --help | --version\n"
            "\n"
            "Run locally:\n"
            "  vz-events event --queue atd-vz-data-events-example_staging body.json > event.json\n"
            "  vz-events invoke event.json\n"
            "or as Lambda runs it, behind the Runtime API emulator:\n"
            "  vz-emulator -- vz-events          # then POST events to\n"
            "  curl -d @event.json localhost:8080/2015-03-31/functions/function/invocations\n",
            VZ_VERSION);
}

int main(int argc, char **argv)
{
    vz_log_configure_from_env();
    if (argc < 2) {
        const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
        if (api && *api)
            return vz_runtime_main();
        fprintf(stderr,
                "vz-events: AWS_LAMBDA_RUNTIME_API is %s, so there is no Lambda Runtime API to serve: Lambda "
                "(or vz-emulator) sets it. To run events here, use a command below.\n\n",
                api ? "empty" : "not set");
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("vz-events %s\n", VZ_VERSION);
        return 0;
    }
    if (strcmp(cmd, "invoke") == 0)
        return vz_cmd_invoke(argc - 1, argv + 1);
    if (strcmp(cmd, "handlers") == 0)
        return vz_cmd_handlers(argc - 1, argv + 1);
    if (strcmp(cmd, "event") == 0)
        return vz_cmd_event(argc - 1, argv + 1);
    if (strcmp(cmd, "reconcile") == 0)
        return vz_cmd_reconcile(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return vz_cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "dlq") == 0)
        return vz_cmd_dlq(argc - 1, argv + 1);
    fprintf(stderr, "vz-events: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
