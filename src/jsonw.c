/* jsonw.c -- JSON text written straight into a buffer (see jsonw.h). */
#include "vz/jsonw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vz_jsonw_init(vz_jsonw *w)
{
    w->p = w->small;
    w->len = 0;
    w->cap = sizeof w->small;
    w->cut = false;
}

void vz_jsonw_free(vz_jsonw *w)
{
    if (w->p != w->small)
        free(w->p);
    w->p = w->small;
    w->len = 0;
    w->cap = sizeof w->small;
}

int vz_jsonw_reserve(vz_jsonw *w, size_t n)
{
    if (n <= w->cap && w->len + n + 2 <= w->cap)
        return 0;
    if (n > ((size_t)-1 - 2) / 2 - w->len) {
        w->cut = true;
        return -1;
    }
    size_t ncap = (w->len + n + 2) * 2;
    char *np = w->p == w->small ? malloc(ncap) : realloc(w->p, ncap);
    if (!np) {
        w->cut = true;
        return -1;
    }
    if (w->p == w->small)
        memcpy(np, w->small, w->len);
    w->p = np;
    w->cap = ncap;
    return 0;
}

/* Whether any byte of the word x is below 0x20, or equal to one of the bytes b (0: none) or c. */
static inline bool word_has(uint64_t x, uint64_t b, uint64_t c)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t hit = (x - ones * 0x20) & ~x & highs; /* a byte < 0x20 (the test is exact for "any") */
    uint64_t y = x ^ (ones * b), z = x ^ (ones * c);
    if (b)
        hit |= (y - ones) & ~y & highs;
    hit |= (z - ones) & ~z & highs;
    return hit != 0;
}

size_t vz_jsonw_plain_run(const char *s, size_t n, bool json)
{
    size_t i = 0;
    while (n - i >= 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (json ? word_has(x, '"', '\\') : word_has(x, 0, 0x7f))
            break;
        i += 8;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || (json ? c == '"' || c == '\\' : c == 0x7f))
            break;
    }
    return i;
}

/* Append s escaped: for a JSON string (json: \" \\ \n \r \t, other control characters \u00XX) or a
 * TEXT log line (\n \r \t, other control characters and DEL \xHH). */
static void escaped(vz_jsonw *w, const char *s, bool json)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    for (size_t i = 0;;) {
        size_t run = vz_jsonw_plain_run(s + i, n - i, json);
        vz_jsonw_raw(w, s + i, run);
        i += run;
        if (i == n)
            return;
        unsigned char c = (unsigned char)s[i++];
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t k = 2;
        if (c == '\n' || c == '\r' || c == '\t') {
            esc[1] = (char)(c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        } else if (c == '"' || c == '\\') { /* JSON only: a TEXT run does not stop at them */
        } else if (json) {
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        } else {
            esc[1] = 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 15];
            k = 4;
        }
        vz_jsonw_raw(w, esc, k);
    }
}

void vz_jsonw_string(vz_jsonw *w, const char *s)
{
    vz_jsonw_raw(w, "\"", 1);
    escaped(w, s, true);
    vz_jsonw_raw(w, "\"", 1);
}

void vz_jsonw_text(vz_jsonw *w, const char *s)
{
    escaped(w, s, false);
}

void vz_jsonw_key(vz_jsonw *w, const char *key)
{
    vz_jsonw_raw(w, ",", 1);
    vz_jsonw_string(w, key);
    vz_jsonw_raw(w, ":", 1);
}

void vz_jsonw_uint(vz_jsonw *w, unsigned long long v)
{
    char num[24];
    size_t i = sizeof num;
    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    vz_jsonw_raw(w, num + i, sizeof num - i);
}

void vz_jsonw_ms(vz_jsonw *w, double ms)
{
    if (!(ms >= 0 && ms < 1e12)) {
        vz_jsonw_raw(w, "null", 4);
        return;
    }
    /* "%.3f" by hand (to the nearest microsecond; snprintf cost more than the rest of the field) */
    unsigned long long us = (unsigned long long)(ms * 1000.0 + 0.5);
    char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10)};
    vz_jsonw_uint(w, us / 1000);
    vz_jsonw_raw(w, frac, sizeof frac);
}

void vz_jsonw_number(vz_jsonw *w, double v)
{
    char num[40];
    if (v >= 0 && v < 1e15 && v == (double)(long long)v) { /* counts, sizes, timestamps: by hand */
        vz_jsonw_uint(w, (unsigned long long)v);
        return;
    }
    if (!(v > -1e308 && v < 1e308)) /* inf and NaN have no JSON form */
        snprintf(num, sizeof num, "null");
    else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
        snprintf(num, sizeof num, "%lld", (long long)v);
    else {
        /* The shortest of 15 or 17 digits that reads back as the same double (as cJSON prints). */
        snprintf(num, sizeof num, "%.15g", v);
        if (strtod(num, NULL) != v)
            snprintf(num, sizeof num, "%.17g", v);
    }
    vz_jsonw_cstr(w, num);
}

void vz_jsonw_value(vz_jsonw *w, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        vz_jsonw_string(w, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        vz_jsonw_number(w, v->valuedouble);
    } else {
        char *t = cJSON_PrintUnformatted(v);
        vz_jsonw_cstr(w, t ? t : "null");
        cJSON_free(t);
    }
}
