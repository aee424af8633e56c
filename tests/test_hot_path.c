/* test_hot_path.c -- the per-invocation work: held log lines (vz_log_hold) go out together on
 * release, or at the release time without one (an invocation that times out), none lost and none
 * twice; the arena parser (vz_json_parse) builds the trees cJSON builds, on the fixtures, on edge
 * cases and on thousands of mutated events, and fails where cJSON fails. */
#include <setjmp.h>
#include <stdbool.h>
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vz/arena.h"
#include "vz/handler.h"
#include "vz/json.h"
#include "vz/log.h"

/* The log goes to a real file (the timer writes to its descriptor); read it back whole. */
static FILE *g_out;

static void open_log(void)
{
    g_out = tmpfile();
    assert_non_null(g_out);
    vz_log_configure(1, VZ_LOG_INFO, g_out);
}

static size_t lines_in_log(char *buf, size_t cap)
{
    fflush(g_out);
    int fd = fileno(g_out);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    assert_true(n >= 0);
    buf[n] = '\0';
    size_t lines = 0;
    for (ssize_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    return lines;
}

static void close_log(void)
{
    vz_log_configure(1, VZ_LOG_INFO, NULL);
    fclose(g_out);
}

static void held_lines_wait_for_release(void **state)
{
    (void)state;
    char buf[8192];
    open_log();
    vz_log_hold(0);
    vz_log(VZ_LOG_INFO, NULL, "first");
    vz_log(VZ_LOG_WARN, NULL, "second");
    vz_log(VZ_LOG_INFO, NULL, "third");
    assert_int_equal(lines_in_log(buf, sizeof buf), 0);
    vz_log_release();
    assert_int_equal(lines_in_log(buf, sizeof buf), 3);
    char *a = strstr(buf, "\"first\""), *b = strstr(buf, "\"second\""), *c = strstr(buf, "\"third\"");
    assert_true(a && b && c && a < b && b < c);
    vz_log(VZ_LOG_INFO, NULL, "after the release");
    assert_int_equal(lines_in_log(buf, sizeof buf), 4); /* not held any more: out at once */
    close_log();
}

static void release_time_writes_without_a_release(void **state)
{
    (void)state;
    char buf[8192];
    open_log();
    vz_log_hold(vz_now_ms() + 50); /* as the runtime does with the deadline minus its margin */
    vz_log(VZ_LOG_INFO, NULL, "logged before a handler hangs");
    assert_int_equal(lines_in_log(buf, sizeof buf), 0);
    /* the "handler" hangs: no release; wait for the line, at most 5 s */
    size_t n = 0;
    for (int i = 0; i < 500 && (n = lines_in_log(buf, sizeof buf)) == 0; i++) {
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(n, 1);
    assert_non_null(strstr(buf, "logged before a handler hangs"));
    vz_log(VZ_LOG_INFO, NULL, "past the release time");
    assert_int_equal(lines_in_log(buf, sizeof buf), 2); /* out as it comes */
    vz_log_release();
    assert_int_equal(lines_in_log(buf, sizeof buf), 2); /* nothing written twice */
    close_log();
}

static void many_lines_are_all_kept(void **state)
{
    (void)state;
    static char buf[1 << 20];
    open_log();
    vz_log_hold(0);
    for (int i = 0; i < 2000; i++) /* several times the held buffer */
        vz_log(VZ_LOG_INFO, NULL, "line %04d", i);
    vz_log_release();
    assert_int_equal(lines_in_log(buf, sizeof buf), 2000);
    assert_non_null(strstr(buf, "\"line 0000\""));
    assert_non_null(strstr(buf, "\"line 1999\""));
    close_log();
}

static void json_parse_into_an_arena(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 0);
    static const char doc[] = "{\"Records\":[{\"messageId\":\"m-1\",\"body\":\"{\\\"k\\\":1}\"}],\"n\":2.5}";
    const char *end = NULL;
    cJSON *root = vz_json_parse(&a, doc, strlen(doc), &end);
    assert_non_null(root);
    assert_true(vz_arena_owns(&a, root));
    const cJSON *rec = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "Records"), 0);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(rec, "body");
    assert_string_equal(body->valuestring, "{\"k\":1}");
    assert_true(vz_arena_owns(&a, body->valuestring));
    assert_true(a.allocated > 0);
    /* invalid JSON: NULL, where it stopped, and the partial tree's frees leave the arena alone */
    assert_null(vz_json_parse(&a, "{\"a\":[1,2,", 10, &end));
    /* outside a parse, cJSON allocates from the heap as before */
    cJSON *heap = cJSON_CreateObject();
    assert_false(vz_arena_owns(&a, heap));
    cJSON_Delete(heap);
    cJSON *h2 = vz_json_parse(NULL, doc, strlen(doc), NULL);
    assert_non_null(h2);
    assert_false(vz_arena_owns(&a, h2));
    cJSON_Delete(h2);
    vz_arena_reset(&a); /* the arena tree goes with it */
    assert_int_equal(a.allocated, 0);
    vz_arena_destroy(&a);
}

/* vz_json_has_nul_escape as it was first written (byte by byte): the reference for the fast one. */
static bool nul_escape_reference(const char *s, size_t n)
{
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        if (!in_string) {
            in_string = s[i] == '"';
        } else if (s[i] == '"') {
            in_string = false;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n) {
                bool zero = true, hex = true; /* U+0000, or a non-hex digit (read as 0, as cJSON does) */
                for (size_t k = i + 2; k < i + 6; k++) {
                    hex = hex && isxdigit((unsigned char)s[k]);
                    zero = zero && s[k] == '0';
                }
                if (zero || !hex)
                    return true;
            }
            i++;
        }
    }
    return false;
}

/* Both parsers on the same bytes: both fail, or both succeed with the same tree. */
static void same_as_cjson(vz_arena *a, const char *text, size_t len)
{
    if (vz_json_has_nul_escape(text, len) != nul_escape_reference(text, len))
        fail_msg("vz_json_has_nul_escape differs from the reference on %.*s", (int)(len > 200 ? 200 : len), text);
    cJSON *want = cJSON_ParseWithLengthOpts(text, len, NULL, 0);
    bool nul = true;
    cJSON *got = vz_json_parse_nul(a, text, len, NULL, &nul);
    /* the escape found while parsing is the one the scan finds (on a text that parses) */
    if (nul != (got && nul_escape_reference(text, len)))
        fail_msg("vz_json_parse_nul says %s a NUL escape, the reference %s, on %.*s", nul ? "there is" : "there is no",
                 nul_escape_reference(text, len) ? "finds one" : "does not", (int)(len > 200 ? 200 : len), text);
    if (!want || !got) {
        if ((want == NULL) != (got == NULL))
            fail_msg("cJSON %s but the arena parser %s on %zu bytes: %.*s", want ? "parses" : "fails",
                     got ? "parses" : "fails", len, (int)(len > 200 ? 200 : len), text);
        cJSON_Delete(want);
        return;
    }
    char *w = cJSON_PrintUnformatted(want), *g = cJSON_PrintUnformatted(got);
    assert_non_null(w);
    assert_non_null(g);
    if (strcmp(w, g) != 0)
        fail_msg("different trees for %.*s:\n cJSON %s\n arena %s", (int)(len > 200 ? 200 : len), text, w, g);
    /* the container's last child is where cJSON's builders expect it: the first child's prev */
    if (got->child)
        assert_ptr_equal(got->child->prev, cJSON_GetArrayItem(got, cJSON_GetArraySize(got) - 1));
    cJSON_free(w);
    cJSON_free(g);
    cJSON_Delete(want);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void arena_parser_builds_cjson_trees(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 0);
    static const char *const cases[] = {
        "{}",
        "[]",
        "null",
        "true",
        "false",
        "0",
        "-0",
        "12",
        "-3.25e2",
        "1e400",
        "-1e400",
        "2147483648",
        "-2147483649",
        "1.5E-3",
        "0.1",
        "1e",
        "-",
        "+1",
        ".5",
        "01",
        "\"\"",
        "\"a\\\"b\"",
        "\"\\\\\"",
        "\"\\/\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\\u20AC\\ud83d\\ude00\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\ud83d\\u0041\"",
        "\"\\u12\"",
        "\"\\uZZZZ\"",
        "\"\\x\"",
        "\"unterminated",
        "\"\\u0000x\"",
        "\"a\\\\u0000\"",
        "[\"x\", \"\\u000\"]",
        "\"\\",
        "\"\\u00",
        "[\"\\\"\\u0000\"]",
        "\"tab\there\"",
        " \t\r\n [ 1 , 2 ] x",
        "\xEF\xBB\xBF{\"bom\":1}",
        "[1,]",
        "[,1]",
        "{\"a\":}",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{1:2}",
        "{\"a\":1 \"b\":2}",
        "[[[]]]",
        "{\"a\":{\"b\":[true,false,null,{\"c\":\"d\"}]}}",
        "{\"dup\":1,\"dup\":2}",
        "nul",
        "tru",
        "[",
        "{",
        "\"\\\"",
        "[\"\\\\\\\"\"]",
        "{\"Records\":[{\"body\":\"{\\\"k\\\":[1,2,{\\\"x\\\":\\\"\\\\u00e9\\\"}]}\"}]}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        same_as_cjson(&a, cases[i], strlen(cases[i]));
    /* nesting: cJSON's limit, one under and one over */
    static char deep[2 * 1002 + 1];
    for (int d = 999; d <= 1001; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        same_as_cjson(&a, deep, 2 * (size_t)d);
    }
    /* the fixtures, whole and cut, and mutated: bytes replaced by the characters that matter */
    static const char *const fixtures[] = {"sqs-batch.json",       "sqs-fifo.json",          "sqs-non-ascii.json",
                                           "sqs-wrong-types.json", "sqs-marked-bodies.json", "not-sqs.json"};
    static const char alphabet[] = "\"\\{}[],:0-.eEu9aZ \n";
    unsigned seed = 12345;
    for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", VZ_FIXTURES, fixtures[f]);
        size_t len;
        char *text = read_file(path, &len);
        same_as_cjson(&a, text, len);
        for (size_t cut = 1; cut < len; cut += len / 50 + 1)
            same_as_cjson(&a, text, cut);
        for (int m = 0; m < 1000; m++) {
            char *copy = malloc(len);
            assert_non_null(copy);
            memcpy(copy, text, len);
            for (int k = 0; k < 3; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % len;
                seed = seed * 1103515245u + 12345u;
                copy[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
            }
            same_as_cjson(&a, copy, len);
            free(copy);
            vz_arena_reset(&a);
        }
        free(text);
    }
    vz_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(held_lines_wait_for_release),     cmocka_unit_test(release_time_writes_without_a_release),
        cmocka_unit_test(many_lines_are_all_kept),         cmocka_unit_test(json_parse_into_an_arena),
        cmocka_unit_test(arena_parser_builds_cjson_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
