/* aws_error.c -- read the error code and message out of an AWS answer (see aws_error.h).
 *
 * JSON goes through cJSON.  XML is not parsed as a whole: the Query protocol's
 * error document is flat, so the text of the first <Code> and <Message> (or,
 * in a few services, <code> and <message>) elements is taken and its five
 * predefined and numeric character references decoded.
 */
#include "vz/aws_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Copy n bytes of s into out (size cap), stopping at the first line break; entities decoded if xml. */
static void copy_line(char *out, size_t cap, const char *s, size_t n, bool xml)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = s[i];
        if (c == '\n' || c == '\r')
            break;
        if (xml && c == '&') {
            static const struct {
                const char *name;
                char c;
            } ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
            size_t k = 0;
            for (; k < sizeof ents / sizeof ents[0]; k++) {
                size_t el = strlen(ents[k].name);
                if (n - i >= el && memcmp(s + i, ents[k].name, el) == 0) {
                    c = ents[k].c;
                    i += el - 1;
                    break;
                }
            }
            if (k == sizeof ents / sizeof ents[0] && n - i > 3 && s[i + 1] == '#') {
                char *end = NULL;
                char num[12] = {0};
                size_t m = n - i - 2 < sizeof num - 1 ? n - i - 2 : sizeof num - 1;
                memcpy(num, s + i + 2, m);
                long v = num[0] == 'x' ? strtol(num + 1, &end, 16) : strtol(num, &end, 10);
                if (end && *end == ';' && v > 0 && v < 128) { /* ASCII only: anything else stays as written */
                    c = (char)v;
                    i += (size_t)(end - num) + 2;
                }
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

/* The text of the first <tag>...</tag> in body, or NULL; *n its length. */
static const char *xml_text(const char *body, size_t len, const char *tag, size_t *n)
{
    char open[32], close[32];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = memmem(body, len, open, strlen(open));
    if (!a)
        return NULL;
    a += strlen(open);
    const char *b = memmem(a, len - (size_t)(a - body), close, strlen(close));
    if (!b)
        return NULL;
    *n = (size_t)(b - a);
    return a;
}

static bool parse_xml(const char *body, size_t len, vz_aws_error *out)
{
    size_t n = 0;
    const char *code = xml_text(body, len, "Code", &n);
    if (!code)
        code = xml_text(body, len, "code", &n);
    if (code)
        copy_line(out->code, sizeof out->code, code, n, true);
    const char *msg = xml_text(body, len, "Message", &n);
    if (!msg)
        msg = xml_text(body, len, "message", &n);
    if (msg)
        copy_line(out->message, sizeof out->message, msg, n, true);
    return out->code[0] != '\0';
}

static const char *json_string(const cJSON *doc, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, a);
    if (!cJSON_IsString(v))
        v = cJSON_GetObjectItemCaseSensitive(doc, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool parse_json(const char *body, size_t len, vz_aws_error *out)
{
    cJSON *doc = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return false;
    }
    const char *code = json_string(doc, "__type", "code");
    if (!code)
        code = json_string(doc, "Code", "Code");
    if (code) {
        /* "com.amazonaws.sqs#QueueDoesNotExist", "...#UnrecognizedClientException:http://..." */
        const char *hash = strrchr(code, '#');
        if (hash)
            code = hash + 1;
        size_t n = strcspn(code, ":");
        copy_line(out->code, sizeof out->code, code, n, false);
    }
    const char *msg = json_string(doc, "message", "Message");
    if (msg)
        copy_line(out->message, sizeof out->message, msg, strlen(msg), false);
    cJSON_Delete(doc);
    return out->code[0] != '\0';
}

bool vz_aws_error_parse(const char *body, size_t len, vz_aws_error *out)
{
    out->code[0] = out->message[0] = '\0';
    if (!body)
        return false;
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i < len && body[i] == '{')
        return parse_json(body + i, len - i, out);
    if (i < len && body[i] == '<')
        return parse_xml(body + i, len - i, out);
    return false;
}
