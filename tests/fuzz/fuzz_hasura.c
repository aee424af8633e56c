/* fuzz_hasura.c -- the Hasura payload key parser (src/hasura.c) on arbitrary bytes.
 *
 * Inputs of even length look for "crash_id", odd ones for "case_id".
 * Properties: vz_hasura_key_from_text and vz_hasura_key on the parsed tree
 * agree; the answer matches an independent reference (a finite integral
 * number or a string of 1 to 10 digits, in 0 .. 2147483647, nothing else);
 * a rejection carries Function.InvalidPayload (or Function.InvalidBody for
 * text that is not JSON) and a message with no control character (it
 * reaches the log); the event id and op are strings of the payload. */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "vz/hasura.h"

#define KEY_MAX 2147483647

/* The reference: 1 = key accepted with value *out, 0 = rejected. */
static int reference_key(const cJSON *body, const char *field, int64_t *out)
{
    const cJSON *ev = cJSON_IsObject(body) ? cJSON_GetObjectItemCaseSensitive(body, "event") : NULL;
    const cJSON *data = cJSON_IsObject(ev) ? cJSON_GetObjectItemCaseSensitive(ev, "data") : NULL;
    const cJSON *row = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "new") : NULL;
    const cJSON *v = cJSON_IsObject(row) ? cJSON_GetObjectItemCaseSensitive(row, field) : NULL;
    if (v && cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d) || d < 0 || d > KEY_MAX || floor(d) != d)
            return 0;
        *out = (int64_t)d;
        return 1;
    }
    if (v && cJSON_IsString(v) && v->valuestring) {
        const char *s = v->valuestring;
        size_t n = strlen(s);
        if (n < 1 || n > 10)
            return 0;
        int64_t x = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return 0;
            x = x * 10 + (s[i] - '0');
        }
        if (x > KEY_MAX)
            return 0;
        *out = x;
        return 1;
    }
    return 0;
}

static void check_message(const vz_error *err)
{
    FUZZ_CHECK(err->message[0] != '\0');
    for (const unsigned char *p = (const unsigned char *)err->message; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *field = size % 2 ? "case_id" : "crash_id";
    int32_t key = -1;
    vz_error err = {{0}, {0}};
    vz_status st = vz_hasura_key_from_text((const char *)data, size, field, &key, &err);
    cJSON *body = cJSON_ParseWithLengthOpts((const char *)data, size, NULL, 0);
    if (!body) {
        FUZZ_CHECK(st == VZ_EINVAL);
        FUZZ_CHECK(strcmp(err.type, "Function.InvalidBody") == 0);
        check_message(&err);
        return 0;
    }
    int64_t want = -1;
    int ok = reference_key(body, field, &want);
    if (ok) {
        FUZZ_CHECK(st == VZ_OK);
        FUZZ_CHECK(key == want);
    } else {
        FUZZ_CHECK(st == VZ_EINVAL);
        FUZZ_CHECK(strcmp(err.type, "Function.InvalidPayload") == 0);
        check_message(&err);
    }
    int32_t key2 = -1;
    vz_error err2 = {{0}, {0}};
    vz_status st2 = vz_hasura_key(body, field, &key2, &err2);
    FUZZ_CHECK(st2 == st);
    FUZZ_CHECK(st != VZ_OK || key2 == key);
    FUZZ_CHECK(st == VZ_OK || strcmp(err.message, err2.message) == 0);

    const char *id = vz_hasura_event_id(body);
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(body, "id");
    FUZZ_CHECK((id != NULL) == (cJSON_IsObject(body) && cJSON_IsString(idv)));
    const char *op = vz_hasura_op(body);
    FUZZ_CHECK(
        op == NULL ||
        op == cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "event"), "op")->valuestring);
    cJSON_Delete(body);
    return 0;
}
