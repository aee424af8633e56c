/* commands.c -- local subcommands: invoke, handlers, event (see commands.h). */
#include "vz/commands.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vz/batch.h"
#include "vz/fixture.h"
#include "vz/invocation.h"
#include "vz/log.h"
#include "vz/registry.h"
#include "vz/sqs.h"

#define VZ_MAX_LOCAL_EVENT ((size_t)64 * 1024 * 1024)

char *vz_read_file(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = max < (size_t)64 * 1024 ? max : (size_t)64 * 1024, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap && got == 0)
            break;
        if (n == cap) {
            if (cap >= max && fgetc(f) == EOF && !ferror(f))
                break; /* exactly max bytes */
            if (cap >= max) {
                snprintf(errbuf, errlen, "%s is larger than %zu bytes", path, max);
                free(buf);
                buf = NULL;
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    if (!buf && errbuf[0] == '\0')
        snprintf(errbuf, errlen, "out of memory reading %s", path);
    if (buf && ferror(f)) {
        snprintf(errbuf, errlen, "cannot read %s: %s", path, strerror(errno));
        free(buf);
        buf = NULL;
    }
    if (f != stdin)
        fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* Whether `len` bytes of text are a Hasura event payload (what a trigger posts) rather than an
 * SQS event: an object with an "event" object and no "Records". */
static bool is_hasura_payload(const char *text, size_t len)
{
    cJSON *doc = cJSON_ParseWithLength(text, len);
    bool yes = cJSON_IsObject(doc) && !cJSON_HasObjectItem(doc, "Records") &&
               cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "event"));
    cJSON_Delete(doc);
    return yes;
}

static int invoke_usage(FILE *out)
{
    fprintf(out, "usage: vz-events invoke [--handler NAME] [--timeout-ms N] EVENT.json|-\n"
                 "Runs one event through the batch processor and prints the response JSON.\n");
    return 2;
}

int vz_cmd_invoke(int argc, char **argv)
{
    static const struct option opts[] = {{"handler", required_argument, NULL, 'H'},
                                         {"timeout-ms", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *handler = NULL;
    long long timeout_ms = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "H:t:h", opts, NULL)) != -1) {
        if (c == 'H') {
            handler = optarg;
        } else if (c == 't') {
            char *end;
            timeout_ms = strtoll(optarg, &end, 10);
            if (*end || timeout_ms <= 0) {
                fprintf(stderr, "vz-events invoke: --timeout-ms wants a positive number of milliseconds\n");
                return 2;
            }
        } else if (c == 'h') {
            invoke_usage(stdout);
            return 0;
        } else {
            return invoke_usage(stderr);
        }
    }
    if (optind != argc - 1)
        return invoke_usage(stderr);

    vz_error err = {{0}, {0}};
    vz_batch_options bopts;
    if (vz_batch_options_from_env(&bopts, &err) != VZ_OK) {
        fprintf(stderr, "vz-events invoke: %s\n", err.message);
        return 2;
    }
    if (handler) {
        bopts.fallback = vz_registry_find(handler);
        if (!bopts.fallback) {
            fprintf(stderr, "vz-events invoke: no handler named \"%s\" (see `vz-events handlers`)\n", handler);
            return 2;
        }
    }
    char msg[512] = "";
    size_t len = 0;
    char *event = vz_read_file(argv[optind], VZ_MAX_LOCAL_EVENT, &len, msg, sizeof msg);
    if (!event) {
        fprintf(stderr, "vz-events invoke: %s\n", msg);
        return 2;
    }
    if (vz_handlers_init(&err) != VZ_OK) {
        fprintf(stderr, "vz-events invoke: initialisation failed (%s): %s\n", err.type, err.message);
        free(event);
        return 1;
    }
    vz_arena arena;
    vz_arena_init(&arena, 0);
    char request_id[48] = "local-";
    vz_uuid4(request_id + 6);
    vz_log_set_request_id(request_id);
    vz_context ctx = {request_id, timeout_ms ? vz_now_ms() + timeout_ms : 0, NULL, NULL, &arena};
    vz_invocation_result res;
    vz_status st = vz_invocation_run(&bopts, &ctx, event, len, &res, &err);
    int rc = 0;
    if (st == VZ_OK) {
        printf("%s\n", res.response);
        free(res.response);
    } else {
        char *body = vz_error_body(&err);
        if (body)
            printf("%s\n", body);
        free(body);
        fprintf(stderr, "vz-events invoke: the event was rejected (%s): %s\n", err.type, err.message);
        if (is_hasura_payload(event, len))
            fprintf(stderr,
                    "vz-events invoke: %s is a Hasura event payload, not an SQS event; wrap it into one first:\n"
                    "  vz-events event --queue atd-vz-data-events-<handler>_local %s > event.json\n"
                    "  vz-events invoke event.json\n",
                    strcmp(argv[optind], "-") == 0 ? "the input" : argv[optind],
                    strcmp(argv[optind], "-") == 0 ? "BODY.json" : argv[optind]);
        rc = 1;
    }
    fflush(stdout);
    vz_arena_destroy(&arena);
    vz_handlers_shutdown();
    free(event);
    return rc;
}

int vz_cmd_handlers(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: vz-events handlers\n"
               "Lists the handlers built into this binary, one name a line (the folders of handlers/);\n"
               "queue atd-vz-data-events-<name>_<stage> reaches handler <name>.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: vz-events handlers\n");
        return 2;
    }
    for (size_t i = 0; i < vz_registry_count(); i++)
        printf("%s\n", vz_registry_at(i)->name);
    return 0;
}

static int event_usage(FILE *out)
{
    fprintf(out, "usage: vz-events event --queue QUEUE [--region REGION] BODY.json|- ...\n"
                 "Wraps each body (a Hasura payload) into one record of an SQS event, printed on stdout.\n");
    return 2;
}

int vz_cmd_event(int argc, char **argv)
{
    static const struct option opts[] = {{"queue", required_argument, NULL, 'q'},
                                         {"region", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *queue = NULL, *region = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "q:r:h", opts, NULL)) != -1) {
        if (c == 'q')
            queue = optarg;
        else if (c == 'r')
            region = optarg;
        else if (c == 'h') {
            event_usage(stdout);
            return 0;
        } else
            return event_usage(stderr);
    }
    if (!queue || !*queue || optind >= argc)
        return event_usage(stderr);
    if (!vz_sqs_queue_name_valid(queue, strlen(queue))) {
        fprintf(stderr,
                "vz-events event: \"%.100s\" is not an SQS queue name (1 to 80 letters, digits, '-' or '_', "
                "optional \".fifo\")\n",
                queue);
        return 2;
    }
    const vz_handler *target = vz_registry_resolve_queue(queue, getenv("VZ_QUEUE_PREFIX"));
    if (!target)
        fprintf(stderr,
                "vz-events event: warning: queue \"%s\" matches no handler built in (`vz-events handlers`): "
                "invoking this event fails its records unless `vz-events invoke --handler NAME` is given; "
                "queue names are atd-vz-data-events-<handler>_<stage>\n",
                queue);
    cJSON *ev = vz_fixture_sqs_event();
    if (!ev)
        return 1;
    cJSON *records = cJSON_GetObjectItemCaseSensitive(ev, "Records");
    for (int i = optind; i < argc; i++) {
        char msg[512] = "";
        size_t len = 0;
        char *body = vz_read_file(argv[i], (size_t)256 * 1024, &len, msg, sizeof msg);
        if (!body) {
            /* The size note only where the size is the problem (vz_read_file: "is larger than"). */
            fprintf(stderr, "vz-events event: %s%s\n", msg,
                    strstr(msg, "is larger than") ? " (SQS bodies are at most 256 KiB)" : "");
            cJSON_Delete(ev);
            return 2;
        }
        /* A trailing newline is an artefact of the file, not part of the payload. */
        while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
            body[--len] = '\0';
        const char *end = NULL;
        cJSON *parsed = cJSON_ParseWithLengthOpts(body, len, &end, 0);
        if (!parsed)
            fprintf(stderr,
                    "vz-events event: warning: %s is not JSON (error near byte %zu); it is wrapped as it is, and a "
                    "handler that needs JSON fails its record\n",
                    argv[i], end && end >= body ? (size_t)(end - body) : (size_t)0);
        else if (target && target->rowsync && !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(parsed, "event")))
            fprintf(stderr,
                    "vz-events event: warning: %s has no \"event\" object, so it is not a Hasura event payload; "
                    "handler %s takes its key from event.data.new and will fail its record\n",
                    argv[i], target->name);
        cJSON_Delete(parsed);
        cJSON *rec = vz_fixture_sqs_record(queue, region, body, len);
        free(body);
        if (!rec) {
            cJSON_Delete(ev);
            return 1;
        }
        cJSON_AddItemToArray(records, rec);
    }
    char *out = cJSON_Print(ev);
    cJSON_Delete(ev);
    if (!out)
        return 1;
    printf("%s\n", out);
    cJSON_free(out);
    return 0;
}
