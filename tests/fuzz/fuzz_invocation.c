/* fuzz_invocation.c -- the whole invocation path on arbitrary bytes:
 * vz_invocation_run (JSON parse, SQS model, routing, body parse, the
 * `example` handler, logging, the partial batch response).
 *
 * Properties: an accepted event is answered with a batch response whose
 * counts add up to the records of the event (nothing lost), whose failures
 * are message ids of the event, one per failed or skipped record; a rejected
 * event carries a Lambda error type and message.  Inputs of odd length run
 * with _HANDLER=example as the fallback, so that unmatched queues are
 * exercised both ways. */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "vz/batch.h"
#include "vz/invocation.h"
#include "vz/registry.h"

static vz_arena g_arena; /* kept across inputs, reset after each, as the runtime does */

/* Whether `id` is the messageId of a record of the event `root`. */
static int is_message_id(const cJSON *root, const char *id)
{
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(root, "Records"))
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(rec, "messageId");
        if (cJSON_IsString(m) && strcmp(m->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

static void check_response(const uint8_t *data, size_t size, const vz_invocation_result *res)
{
    const vz_batch_summary *s = &res->summary;
    FUZZ_CHECK(res->response != NULL);
    FUZZ_CHECK(s->total == s->succeeded + s->failed + s->skipped);
    cJSON *event = cJSON_ParseWithLength((const char *)data, size);
    cJSON *resp = cJSON_Parse(res->response);
    FUZZ_CHECK(event != NULL && resp != NULL);
    FUZZ_CHECK((size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(event, "Records")) == s->total);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(resp, "batchItemFailures");
    FUZZ_CHECK(cJSON_IsArray(list) && cJSON_GetArraySize(resp) == 1);
    FUZZ_CHECK((size_t)cJSON_GetArraySize(list) == s->failed + s->skipped);
    const cJSON *f;
    cJSON_ArrayForEach(f, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "itemIdentifier");
        FUZZ_CHECK(cJSON_IsString(id) && id->valuestring[0] != '\0');
        FUZZ_CHECK(is_message_id(event, id->valuestring));
    }
    cJSON_Delete(resp);
    cJSON_Delete(event);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    if (!initialised) {
        fuzz_quiet_logs();
        vz_arena_init(&g_arena, 0);
        initialised = 1;
    }
    vz_batch_options opts = {NULL, NULL, VZ_DEFAULT_DEADLINE_MARGIN_MS};
    if (size % 2)
        opts.fallback = vz_registry_find("example");
    vz_context ctx = {"fuzz-request", 0, NULL, NULL, &g_arena};
    vz_invocation_result res;
    vz_error err = {{0}, {0}};
    vz_status st = vz_invocation_run(&opts, &ctx, (const char *)data, size, &res, &err);
    if (st == VZ_OK) {
        check_response(data, size, &res);
        free(res.response);
    } else {
        FUZZ_CHECK(res.response == NULL);
        FUZZ_CHECK(err.type[0] != '\0' && err.message[0] != '\0');
        char *body = vz_error_body(&err);
        FUZZ_CHECK(body != NULL);
        free(body);
    }
    vz_arena_reset(&g_arena);
    return 0;
}
