/* fuzz_log.c -- the log encoder on hostile strings.
 *
 * Input: one flags byte (bit 0: JSON format, bit 1: with fields), 8 bytes of
 * a double for durationMs, then NUL-separated message, handler, messageId,
 * outcome, extra (JSON text) and request id.  Properties: whatever the
 * strings hold, one call writes exactly one line (no CR or LF inside it, so
 * a value cannot forge a log line); in JSON format the line parses back and
 * carries the message and the messageId unchanged. */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"

/* The next NUL-terminated field of [*p, end), or NULL past the end. */
static const char *next_field(const char **p, const char *end)
{
    if (*p >= end)
        return NULL;
    const char *s = *p;
    *p += strlen(s) + 1;
    return s;
}

static void check_json_line(const char *line, const char *msg, const vz_log_fields *f, int with_fields)
{
    cJSON *o = cJSON_Parse(line);
    FUZZ_CHECK(cJSON_IsObject(o));
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
    FUZZ_CHECK(cJSON_IsString(m) && strcmp(m->valuestring, msg) == 0);
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "level")));
    if (with_fields && f->message_id) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "messageId");
        FUZZ_CHECK(cJSON_IsString(id) && strcmp(id->valuestring, f->message_id) == 0);
    }
    cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9 || size > (size_t)64 * 1024)
        return 0;
    int json = data[0] & 1, with_fields = data[0] & 2;
    vz_log_fields f = VZ_LOG_FIELDS_NONE;
    memcpy(&f.duration_ms, data + 1, sizeof f.duration_ms);
    char *buf = malloc(size - 9 + 1);
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data + 9, size - 9);
    buf[size - 9] = '\0';
    const char *p = buf, *end = buf + (size - 9);
    const char *msg = next_field(&p, end);
    msg = msg ? msg : "";
    f.handler = next_field(&p, end);
    f.message_id = next_field(&p, end);
    f.outcome = next_field(&p, end);
    const char *extra_text = next_field(&p, end);
    cJSON *extra = extra_text ? cJSON_Parse(extra_text) : NULL;
    f.extra = extra;
    vz_log_set_request_id(next_field(&p, end));

    char *out = NULL;
    size_t out_len = 0;
    FILE *stream = open_memstream(&out, &out_len);
    FUZZ_CHECK(stream != NULL);
    vz_log_configure(json, VZ_LOG_TRACE, stream);
    vz_log(VZ_LOG_INFO, with_fields ? &f : NULL, "%s", msg);
    vz_log_configure(0, VZ_LOG_INFO, NULL);
    fclose(stream);

    FUZZ_CHECK(out_len > 0 && out[out_len - 1] == '\n');
    FUZZ_CHECK(memchr(out, '\n', out_len - 1) == NULL);
    FUZZ_CHECK(memchr(out, '\r', out_len) == NULL);
    out[out_len - 1] = '\0';
    if (json)
        check_json_line(out, msg, &f, with_fields);
    free(out);
    cJSON_Delete(extra);
    free(buf);
    vz_log_set_request_id(NULL);
    return 0;
}
