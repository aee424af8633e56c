/* hasura.c -- the key of a Hasura event payload (see hasura.h).
 *
 * A crash_id arrives as whatever the trigger selected: 1000, "1000", 1000.5,
 * -3, 4294967296, true, null, or nothing.  Only the first two are keys; the
 * others fail the record with a message naming the field and the problem. */
#include "vz/hasura.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "vz/json.h"

#define VZ_KEY_MAX 2147483647.0 /* PostgreSQL integer */

static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static vz_status key_from_number(const cJSON *v, const char *field, int32_t *out, vz_error *err)
{
    double d = v->valuedouble;
    if (!isfinite(d)) {
        vz_error_set(err, "Function.InvalidPayload", "event.data.new.%s is not a finite number", field);
        return VZ_EINVAL;
    }
    if (d < 0) {
        vz_error_set(err, "Function.InvalidPayload", "event.data.new.%s is negative (%.17g)", field, d);
        return VZ_EINVAL;
    }
    if (d > VZ_KEY_MAX) {
        vz_error_set(err, "Function.InvalidPayload", "event.data.new.%s (%.17g) is beyond a 32-bit integer", field, d);
        return VZ_EINVAL;
    }
    if (d != (double)(int32_t)d) {
        vz_error_set(err, "Function.InvalidPayload", "event.data.new.%s is not an integer (%.17g)", field, d);
        return VZ_EINVAL;
    }
    *out = (int32_t)d;
    return VZ_OK;
}

static vz_status key_from_string(const char *s, const char *field, int32_t *out, vz_error *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10 || strspn(s, "0123456789") != n) {
        vz_error_set(err, "Function.InvalidPayload",
                     "event.data.new.%s is a string that is not 1 to 10 decimal digits (%zu bytes)", field, n);
        return VZ_EINVAL;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    if (v > (int64_t)VZ_KEY_MAX) {
        vz_error_set(err, "Function.InvalidPayload", "event.data.new.%s (\"%s\") is beyond a 32-bit integer", field, s);
        return VZ_EINVAL;
    }
    *out = (int32_t)v;
    return VZ_OK;
}

vz_status vz_hasura_key(const cJSON *body, const char *field, int32_t *out, vz_error *err)
{
    const cJSON *event = member(body, "event");
    if (!cJSON_IsObject(event)) {
        vz_error_set(err, "Function.InvalidPayload",
                     "the body is not a Hasura event: \"event\" is %s, expected an object", vz_json_type_name(event));
        return VZ_EINVAL;
    }
    const cJSON *data = member(event, "data");
    if (!cJSON_IsObject(data)) {
        vz_error_set(err, "Function.InvalidPayload", "event.data is %s, expected an object", vz_json_type_name(data));
        return VZ_EINVAL;
    }
    const cJSON *row = member(data, "new");
    if (!cJSON_IsObject(row)) {
        const char *op = vz_hasura_op(body);
        /* the op is told only when it is a plain word: it comes from the payload and reaches the log */
        bool plain = op && *op && strlen(op) <= 16 && strspn(op, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == strlen(op);
        vz_error_set(err, "Function.InvalidPayload", "event.data.new is %s, expected the row (op %s)",
                     vz_json_type_name(row),
                     plain ? op
                     : op  ? "(not a plain word)"
                           : "(none)");
        return VZ_EINVAL;
    }
    const cJSON *v = member(row, field);
    if (cJSON_IsNumber(v))
        return key_from_number(v, field, out, err);
    if (cJSON_IsString(v) && v->valuestring)
        return key_from_string(v->valuestring, field, out, err);
    vz_error_set(err, "Function.InvalidPayload", "event.data.new.%s is %s, expected an integer", field,
                 vz_json_type_name(v));
    return VZ_EINVAL;
}

vz_status vz_hasura_key_from_text(const char *json, size_t len, const char *field, int32_t *out, vz_error *err)
{
    cJSON *body = cJSON_ParseWithLengthOpts(json, len, NULL, 0);
    if (!body) {
        vz_error_set(err, "Function.InvalidBody", "the body is not JSON");
        return VZ_EINVAL;
    }
    vz_status st = vz_hasura_key(body, field, out, err);
    cJSON_Delete(body);
    return st;
}

const char *vz_hasura_event_id(const cJSON *body)
{
    const cJSON *id = member(body, "id");
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

const char *vz_hasura_op(const cJSON *body)
{
    const cJSON *op = member(member(body, "event"), "op");
    return cJSON_IsString(op) ? op->valuestring : NULL;
}
