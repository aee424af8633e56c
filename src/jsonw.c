/* jsonw.c -- JSON text written straight into a buffer (see jsonw.h). */
#include "vz/jsonw.h"

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

void vz_jsonw_raw(vz_jsonw *w, const char *s, size_t n)
{
    if (vz_jsonw_reserve(w, n) == 0) {
        memcpy(w->p + w->len, s, n);
        w->len += n;
    }
}

void vz_jsonw_cstr(vz_jsonw *w, const char *s)
{
    vz_jsonw_raw(w, s, strlen(s));
}

void vz_jsonw_string(vz_jsonw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    /* 1 for the bytes that end a run: NUL, control characters, '"' and '\\' */
    static const unsigned char stop[256] = {
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    };
    vz_jsonw_raw(w, "\"", 1);
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (!stop[c])
            continue;
        vz_jsonw_raw(w, run, (size_t)(p - run));
        if (c == 0)
            break;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        vz_jsonw_raw(w, esc, n);
        run = p + 1;
    }
    vz_jsonw_raw(w, "\"", 1);
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
