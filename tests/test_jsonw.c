/* test_jsonw.c -- the JSON text writer (src/jsonw.c) and the log's own message formatting (src/log.c):
 * the word-at-a-time escapers against byte-by-byte references, and messages formatted by hand
 * against vsnprintf's. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vz/json.h"
#include "vz/jsonw.h"
#include "vz/log.h"

/* The JSON string literal of s, one byte at a time: the reference for vz_jsonw_string. */
static size_t json_reference(const char *s, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    out[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            out[k++] = '\\';
            out[k++] = (char)*p;
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            out[k++] = '\\';
            out[k++] = (char)(*p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        } else if (*p < 0x20) {
            k += (size_t)sprintf(out + k, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
        } else {
            out[k++] = (char)*p;
        }
    }
    out[k++] = '"';
    out[k] = '\0';
    return k;
}

/* The TEXT form of s, one byte at a time: the reference for vz_jsonw_text. */
static size_t text_reference(const char *s, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            out[k++] = '\\';
            out[k++] = (char)(*p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        } else if (*p < 0x20 || *p == 0x7f) {
            k += (size_t)sprintf(out + k, "\\x%c%c", hex[*p >> 4], hex[*p & 15]);
        } else {
            out[k++] = (char)*p;
        }
    }
    out[k] = '\0';
    return k;
}

static size_t plain_reference(const char *s, size_t n, bool json)
{
    size_t i = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || (json ? c == '"' || c == '\\' : c == 0x7f))
            break;
    }
    return i;
}

static void escapes_every_byte_at_every_offset(void **state)
{
    (void)state;
    char s[40], want[300];
    for (int b = 1; b < 256; b++) {
        for (size_t at = 0; at < 24; at++) {
            memset(s, 'a', 30);
            s[30] = '\0';
            s[at] = (char)b;
            if (b >= 0x80) /* a UTF-8 lead byte beside a continuation byte: both pass through */
                s[at + 1] = (char)0xa9;
            for (int json = 0; json <= 1; json++)
                if (vz_jsonw_plain_run(s, 30, json) != plain_reference(s, 30, json))
                    fail_msg("plain run of byte 0x%02x at %zu (%s): %zu, reference %zu", b, at, json ? "JSON" : "text",
                             vz_jsonw_plain_run(s, 30, json), plain_reference(s, 30, json));
            vz_jsonw w;
            vz_jsonw_init(&w);
            vz_jsonw_string(&w, s);
            size_t n = json_reference(s, want);
            if (w.len != n || memcmp(w.p, want, n) != 0)
                fail_msg("byte 0x%02x at %zu: %.*s, reference %s", b, at, (int)w.len, w.p, want);
            vz_jsonw_free(&w);
            vz_jsonw_init(&w);
            vz_jsonw_text(&w, s);
            n = text_reference(s, want);
            if (w.len != n || memcmp(w.p, want, n) != 0)
                fail_msg("TEXT, byte 0x%02x at %zu: %.*s, reference %s", b, at, (int)w.len, w.p, want);
            vz_jsonw_free(&w);
        }
    }
}

static void grows_to_the_heap_and_back(void **state)
{
    (void)state;
    char *big = malloc(100001);
    assert_non_null(big);
    for (size_t i = 0; i < 100000; i++)
        big[i] = (char)('a' + i % 26);
    big[100000] = '\0';
    big[77777] = '"';
    vz_jsonw w;
    vz_jsonw_init(&w);
    vz_jsonw_raw(&w, "{", 1);
    vz_jsonw_cstr(&w, "\"k\":");
    vz_jsonw_string(&w, big);
    vz_jsonw_key(&w, "n");
    vz_jsonw_number(&w, 0.1);
    vz_jsonw_key(&w, "ms");
    vz_jsonw_ms(&w, 1.0005);
    vz_jsonw_key(&w, "nan");
    vz_jsonw_number(&w, NAN);
    vz_jsonw_raw(&w, "}", 1);
    assert_false(w.cut);
    assert_ptr_not_equal(w.p, w.small);
    w.p[w.len] = '\0';
    cJSON *o = cJSON_Parse(w.p);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "k")->valuestring, big);
    assert_true(cJSON_GetObjectItem(o, "n")->valuedouble == 0.1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "nan")));
    assert_non_null(strstr(w.p, "\"ms\":1.001")); /* to the nearest microsecond */
    cJSON_Delete(o);
    vz_jsonw_free(&w);
    assert_ptr_equal(w.p, w.small);
    assert_int_equal(w.len, 0);
    free(big);
}

static char g_buf[1 << 16];

/* The message of the one JSON line vz_log writes for fmt and its arguments, next to vsnprintf's. */
static void same_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void same_message(const char *fmt, ...)
{
    char *want = malloc(sizeof g_buf);
    assert_non_null(want);
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    vsnprintf(want, sizeof g_buf, fmt, ap);
    va_end(ap);
    memset(g_buf, 0, sizeof g_buf);
    FILE *f = fmemopen(g_buf, sizeof g_buf - 1, "w");
    assert_non_null(f);
    vz_log_configure(1, VZ_LOG_INFO, f);
    vz_logv(VZ_LOG_INFO, NULL, fmt, again);
    va_end(again);
    fclose(f);
    cJSON *o = cJSON_Parse(g_buf);
    if (!o)
        fail_msg("not one JSON line for \"%s\": %.200s", fmt, g_buf);
    const char *got = cJSON_GetObjectItem(o, "message")->valuestring;
    if (strcmp(got, want) != 0)
        fail_msg("format \"%s\": the log wrote \"%.200s\", vsnprintf \"%.200s\"", fmt, got, want);
    cJSON_Delete(o);
    free(want);
}

static void formats_as_vsnprintf_does(void **state)
{
    (void)state;
    same_message("plain text, 100%% sure");
    same_message("record %zu succeeded", (size_t)7);
    same_message("%d %d %d %i", 0, -1, INT_MIN, INT_MAX);
    same_message("%u %u %lu %llu", 0u, UINT_MAX, ULONG_MAX, ULLONG_MAX);
    same_message("%ld %lld %lld %zd", LONG_MIN, LLONG_MIN, LLONG_MAX, (ssize_t)-42);
    same_message("[%s] [%s] [%.3s] [%.0s] [%.10s]", "a", "", "abcdef", "abc", "ab");
    const char *volatile absent = NULL; /* not known at compile time: the call is the point */
    same_message("[%s] [%.3s]", absent, absent);
    same_message("%c%c%c", 'x', 'y', 'z');
    same_message("ends with a number %d", 12345);
    /* formats done by vsnprintf: width, flags, hex, floating point, pointers */
    same_message("%5d|%-5s|%05u|%x|%.2f|%g", 42, "ab", 7u, 255u, 3.14159, 1e-9);
    same_message("%lx %zx %hhu", 0xdeadUL, (size_t)0xbeef, (unsigned char)200);
    /* longer than the writer's inline buffer, both ways */
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'q', 4999);
    big[4999] = '\0';
    same_message("by hand: %s %zu", big, (size_t)5000);
    same_message("by vsnprintf: %8.4f %s", 1.5, big);
    free(big);
}

static void arena_objects_are_cjson_objects(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 256); /* small chunks: the members span several */
    char key[] = "queue", value[] = "atd-vz-data-events-example_local";
    cJSON *o = vz_json_arena_object(&a);
    assert_non_null(o);
    assert_non_null(vz_json_arena_add_string(&a, o, key, value));
    memset(key, 'X', 1); /* both were copied: the object keeps its own */
    memset(value, 'X', 1);
    assert_non_null(vz_json_arena_add_number(&a, o, "n", 1796139511299.0));
    assert_non_null(vz_json_arena_add_number(&a, o, "half", 0.5));
    assert_null(vz_json_arena_add_string(&a, o, "none", NULL));
    assert_null(vz_json_arena_add_string(&a, NULL, "k", "v"));
    assert_null(vz_json_arena_object(NULL));
    char *text = cJSON_PrintUnformatted(o);
    assert_string_equal(text, "{\"queue\":\"atd-vz-data-events-example_local\",\"n\":1796139511299,\"half\":0.5}");
    cJSON_free(text);
    assert_int_equal(cJSON_GetArraySize(o), 3);
    assert_ptr_equal(o->child->prev, cJSON_GetObjectItem(o, "half")); /* the last, as cJSON keeps it */
    assert_int_equal(cJSON_GetObjectItem(o, "n")->valueint, INT_MAX);
    assert_true(vz_arena_owns(&a, o) && vz_arena_owns(&a, o->child->string) &&
                vz_arena_owns(&a, o->child->valuestring));
    vz_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_every_byte_at_every_offset),
        cmocka_unit_test(grows_to_the_heap_and_back),
        cmocka_unit_test(formats_as_vsnprintf_does),
        cmocka_unit_test(arena_objects_are_cjson_objects),
    };
    return cmocka_run_group_tests_name("JSON writer and log formatting", tests, NULL, NULL);
}
