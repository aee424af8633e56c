/* fuzz_endpoint.c -- the /events/ endpoint's HTTP event handling (src/endpoint.c)
 * on arbitrary bytes: JSON parse, the HTTP-event test, route, method, key,
 * event name, base64 and UTF-8/JSON body checks, the response object and the
 * log line.
 *
 * No message may leave during fuzzing, and none can: the target clears
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION before the first
 * input, so a request that passes every check reaches the real enqueue code,
 * whose SQS configuration step fails at once ("SQS.Configuration", 503) before
 * any client or connection exists.  Pointing the client at an unreachable
 * address instead would cost a connect attempt per input; no test-only branch
 * is added to the endpoint.  The endpoint URL is also set to a closed
 * loopback port, so that even a future change creating the client anyway
 * would stay on this machine (and be seen: 200 is a broken property).
 *
 * The key is set for inputs whose length is not a multiple of 7 and unset
 * for the others (every request must then get 503).
 * Properties: the response object is JSON with statusCode = the status and a
 * JSON body {"message": ...}; the status is one of the table's; no request
 * without the key learns anything past "Forbidden Request"; a request that
 * got past the key check carried the key; the key never appears in the
 * response, nor in the log unless the caller also put it elsewhere (a name); vz_endpoint_secret_equal agrees with
 * memcmp. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "vz/endpoint.h"

#define SECRET "fuzz-Secret-Key-4f1c9a"

/* Whether the event carries the key in either header, any letter case (the reference).  A name
 * given twice (JSON allows it; Lambda joins repeated headers with commas) counts by its first value. */
static int carries_key(const cJSON *ev)
{
    static const char *const names[] = {"HASURA_EVENT_API", "HASURA_TRIGGER_API_KEY"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *h;
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(ev, "headers"))
        {
            if (h->string && cJSON_IsString(h) && strcasecmp(h->string, names[i]) == 0) {
                if (strcmp(h->valuestring, SECRET) == 0)
                    return 1;
                break;
            }
        }
    }
    return 0;
}

/* Whether the key appears in the event anywhere but as the value of a key header (then the
 * caller put it where a name or path is logged, and finding it in the log says nothing). */
static int key_elsewhere(const cJSON *ev)
{
    cJSON *copy = cJSON_Duplicate(ev, 1);
    FUZZ_CHECK(copy != NULL);
    cJSON *hs = cJSON_GetObjectItemCaseSensitive(copy, "headers");
    cJSON *h = hs ? hs->child : NULL;
    while (h) {
        cJSON *next = h->next;
        if (h->string &&
            (strcasecmp(h->string, "HASURA_EVENT_API") == 0 || strcasecmp(h->string, "HASURA_TRIGGER_API_KEY") == 0))
            cJSON_Delete(cJSON_DetachItemViaPointer(hs, h));
        h = next;
    }
    char *text = cJSON_PrintUnformatted(copy);
    FUZZ_CHECK(text != NULL);
    int found = strstr(text, SECRET) != NULL;
    cJSON_free(text);
    cJSON_Delete(copy);
    return found;
}

static void check_secret_equal(const uint8_t *data, size_t size)
{
    static const char s[] = SECRET;
    size_t n = sizeof s - 1;
    int want = size == n && memcmp(data, s, n) == 0;
    FUZZ_CHECK(vz_endpoint_secret_equal((const char *)data, size, s, n) == want);
    FUZZ_CHECK(!vz_endpoint_secret_equal((const char *)data, size, s, 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vz_arena arena;
    static int ready;
    if (!ready) {
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        unsetenv("AWS_SESSION_TOKEN");
        unsetenv("AWS_REGION");
        unsetenv("AWS_DEFAULT_REGION");
        setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9", 1);
        vz_arena_init(&arena, 0);
        ready = 1;
    }
    check_secret_equal(data, size);
    int keyed = size % 7 != 0;
    if (keyed)
        setenv("HASURA_EVENT_API", SECRET, 1);
    else
        unsetenv("HASURA_EVENT_API");

    cJSON *ev = cJSON_ParseWithLength((const char *)data, size);
    if (!ev || !vz_endpoint_is_http_event(ev)) {
        cJSON_Delete(ev);
        return 0;
    }
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);
    FUZZ_CHECK(log != NULL);
    vz_log_configure((int)(size % 2), VZ_LOG_TRACE, log);

    vz_context ctx = {"fuzz-request", 0, NULL, NULL, &arena};
    char *response = NULL;
    int status = 0;
    vz_error err = {{0}, {0}};
    vz_status st = vz_endpoint_run(&ctx, NULL, ev, &response, &status, &err);
    fflush(log);
    vz_log_configure(0, VZ_LOG_TRACE, stderr);
    fclose(log);

    FUZZ_CHECK(st == VZ_OK && response != NULL);
    FUZZ_CHECK(status == 400 || status == 403 || status == 404 || status == 405 || status == 413 || status == 503);
    cJSON *resp = cJSON_Parse(response);
    FUZZ_CHECK(cJSON_IsObject(resp));
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(resp, "statusCode");
    FUZZ_CHECK(cJSON_IsNumber(code) && code->valueint == status);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(resp, "body");
    FUZZ_CHECK(cJSON_IsString(body));
    cJSON *msg = cJSON_Parse(body->valuestring);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "message");
    FUZZ_CHECK(cJSON_IsString(text));
    if (!keyed) {
        FUZZ_CHECK(status == 404 || status == 405 || status == 503);
    } else if (!carries_key(ev)) {
        FUZZ_CHECK(status == 404 || status == 405 ||
                   (status == 403 && strcmp(text->valuestring, "Forbidden Request") == 0));
    } else if (status != 404 && status != 405) {
        FUZZ_CHECK(strcmp(text->valuestring, "Forbidden Request") != 0);
    }
    if (status == 503 && keyed) /* only the missing SQS configuration, never a network failure */
        FUZZ_CHECK(strstr(text->valuestring, "not configured") != NULL);
    FUZZ_CHECK(strstr(response, SECRET) == NULL);
    FUZZ_CHECK(key_elsewhere(ev) || logbuf == NULL || memmem(logbuf, loglen, SECRET, sizeof SECRET - 1) == NULL);
    cJSON_Delete(msg);
    cJSON_Delete(resp);
    cJSON_Delete(ev);
    free(response);
    free(logbuf);
    vz_arena_reset(&arena);
    return 0;
}
