/* json.c -- small helpers over cJSON (see json.h), and the arena parser.
 *
 * vz_json_parse with an arena builds ordinary cJSON trees whose nodes and
 * strings are carved from the invocation's arena: an event's whole tree costs
 * pointer bumps, no malloc, and goes with the arena's reset in one go, never
 * walked by cJSON_Delete.  (cJSON_InitHooks would route cJSON's own parser to
 * the arena too, but globally, for every other cJSON user in the process, and
 * it would keep cJSON's byte-at-a-time string loop, the larger cost.) */
#include "vz/json.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena parser ----
 * The same grammar and the same trees as cJSON_ParseWithLengthOpts (Debian's 1.7.15: a UTF-8
 * BOM skipped, bytes up to ' ' as whitespace, numbers as strtod reads the characters of
 * "0123456789+-.eE", \uXXXX with surrogate pairs to UTF-8, nesting up to CJSON_NESTING_LIMIT,
 * anything after the value ignored, the first child's prev pointing at the last), built
 * straight into the arena.  Strings are found with memchr and copied in runs: the event's
 * strings are the records' bodies, escaped, and cJSON's byte-at-a-time loop over them was
 * most of an invocation's work (tests/test_log_hold.c compares both parsers). */
typedef struct jp {
    vz_arena *arena;
    const char *p, *end;
    int depth;
    bool nul;                 /* a string held an escape that decoded to U+0000 */
    char *text, *text_end;    /* where the strings go: one block, as long as the rest of the document */
    cJSON *nodes, *nodes_end; /* nodes, carved from blocks of a few dozen */
    size_t block;             /* nodes per block: fewer for a short document */
} jp;

static void jp_space(jp *j)
{
    while (j->p < j->end && (unsigned char)*j->p <= ' ')
        j->p++;
}

/* A zeroed node of `type`.  Nodes come from blocks and strings from one block per document, so a
 * document of 300 strings costs a handful of arena calls rather than 450. */
static cJSON *jp_node(jp *j, int type)
{
    if (j->nodes == j->nodes_end) {
        cJSON *b = vz_arena_alloc(j->arena, sizeof *b * j->block);
        if (!b)
            return NULL;
        j->nodes = b;
        j->nodes_end = b + j->block;
    }
    cJSON *n = j->nodes++;
    memset(n, 0, sizeof *n);
    n->type = type;
    return n;
}

/* Four hex digits; like cJSON, anything else reads as 0 (so "\uZZZZ" is U+0000, as cJSON has it). */
static unsigned hex4(const char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return 0;
    }
    return v;
}

/* \uXXXX (and its low surrogate) at s, before end, into UTF-8 at *d; the bytes read, or 0. */
static size_t utf16_escape(const char *s, const char *end, char **d)
{
    unsigned cp;
    size_t used = 6;
    if (end - s < 6)
        return 0;
    cp = hex4(s + 2);
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - s < 12 || s[6] != '\\' || s[7] != 'u')
            return 0;
        unsigned lo = hex4(s + 8);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return 0;
        cp = 0x10000 + (((cp & 0x3FF) << 10) | (lo & 0x3FF));
        used = 12;
    }
    unsigned char *o = (unsigned char *)*d;
    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xC0 | (cp >> 6));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (unsigned char)(0xE0 | (cp >> 12));
        *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | (cp >> 18));
        *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    *d = (char *)o;
    return used;
}

/* A string literal at j->p (on its opening quote): its text, NUL-terminated, in the arena. */
static char *jp_string(jp *j)
{
    const char *s = j->p + 1, *q = s;
    for (;;) { /* the closing quote: one not preceded by an odd run of backslashes */
        q = memchr(q, '"', (size_t)(j->end - q));
        if (!q)
            return NULL;
        const char *b = q;
        while (b > s && b[-1] == '\\')
            b--;
        if (((q - b) & 1) == 0)
            break;
        q++;
    }
    /* A string's text (and its NUL) is never longer than its literal (and its quotes), and literals
     * do not overlap: the rest of the document, from the first string on, holds every string. */
    if (!j->text) {
        size_t rest = (size_t)(j->end - j->p);
        j->text = vz_arena_alloc(j->arena, rest);
        if (!j->text)
            return NULL;
        j->text_end = j->text + rest;
    }
    if ((size_t)(j->text_end - j->text) < (size_t)(q - s) + 1)
        return NULL; /* cannot happen (see above); never write past the block */
    char *out = j->text, *d = out;
    for (const char *r = s; r < q;) {
        const char *bs = memchr(r, '\\', (size_t)(q - r));
        size_t run = (size_t)((bs ? bs : q) - r);
        memcpy(d, r, run);
        d += run;
        if (!bs)
            break;
        r = bs;
        switch (r[1]) {
        case 'b':
            *d++ = '\b';
            r += 2;
            break;
        case 'f':
            *d++ = '\f';
            r += 2;
            break;
        case 'n':
            *d++ = '\n';
            r += 2;
            break;
        case 'r':
            *d++ = '\r';
            r += 2;
            break;
        case 't':
            *d++ = '\t';
            r += 2;
            break;
        case '"':
        case '\\':
        case '/':
            *d++ = r[1];
            r += 2;
            break;
        case 'u': {
            char *at = d;
            size_t used = utf16_escape(r, q, &d);
            if (!used)
                return NULL;
            if (d == at + 1 && *at == '\0')
                j->nul = true;
            r += used;
            break;
        }
        default:
            return NULL;
        }
    }
    *d = '\0';
    j->text = d + 1;
    j->p = q + 1;
    return out;
}

static int jp_number(jp *j, cJSON *n)
{
    size_t k = 0;
    while (j->p + k < j->end && strchr("0123456789+-eE.", j->p[k]) && j->p[k])
        k++;
    char small[64], *buf = k < sizeof small ? small : vz_arena_alloc(j->arena, k + 1);
    if (!buf)
        return -1;
    memcpy(buf, j->p, k);
    buf[k] = '\0';
    char *after = NULL;
    double v = strtod(buf, &after);
    if (after == buf)
        return -1;
    n->valuedouble = v;
    n->valueint = v >= INT_MAX ? INT_MAX : v <= (double)INT_MIN ? INT_MIN : (int)v;
    n->type = cJSON_Number;
    j->p += after - buf;
    return 0;
}

static cJSON *jp_value(jp *j);

/* Array or object at j->p (on '[' or '{').  Recursive descent, as cJSON's: the depth is
 * bounded by CJSON_NESTING_LIMIT, a few hundred bytes of stack a level. */
static cJSON *jp_container(jp *j, int object) // NOLINT(misc-no-recursion)
{
    if (j->depth >= CJSON_NESTING_LIMIT)
        return NULL;
    j->depth++;
    cJSON *c = jp_node(j, object ? cJSON_Object : cJSON_Array), *tail = NULL;
    if (!c)
        return NULL;
    const char close = object ? '}' : ']';
    j->p++;
    jp_space(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return c;
    }
    for (;;) {
        char *key = NULL;
        if (object) {
            jp_space(j);
            if (j->p >= j->end || *j->p != '"' || !(key = jp_string(j)))
                return NULL;
            jp_space(j);
            if (j->p >= j->end || *j->p != ':')
                return NULL;
            j->p++;
        }
        jp_space(j);
        cJSON *v = jp_value(j);
        if (!v)
            return NULL;
        v->string = key;
        if (tail) {
            tail->next = v;
            v->prev = tail;
        } else {
            c->child = v;
        }
        tail = v;
        jp_space(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close)
            break;
        return NULL;
    }
    c->child->prev = tail;
    j->p++;
    j->depth--;
    return c;
}

static cJSON *jp_value(jp *j) // NOLINT(misc-no-recursion): bounded, see jp_container
{
    size_t left = (size_t)(j->end - j->p);
    if (left == 0)
        return NULL;
    switch (*j->p) {
    case 'n':
        if (left >= 4 && memcmp(j->p, "null", 4) == 0) {
            j->p += 4;
            return jp_node(j, cJSON_NULL);
        }
        return NULL;
    case 'f':
        if (left >= 5 && memcmp(j->p, "false", 5) == 0) {
            j->p += 5;
            return jp_node(j, cJSON_False);
        }
        return NULL;
    case 't':
        if (left >= 4 && memcmp(j->p, "true", 4) == 0) {
            j->p += 4;
            cJSON *n = jp_node(j, cJSON_True);
            if (n)
                n->valueint = 1;
            return n;
        }
        return NULL;
    case '"': {
        cJSON *n = jp_node(j, cJSON_String);
        if (n && !(n->valuestring = jp_string(j)))
            return NULL;
        return n;
    }
    case '[':
        return jp_container(j, 0);
    case '{':
        return jp_container(j, 1);
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
            cJSON *n = jp_node(j, cJSON_Number);
            if (!n || jp_number(j, n) != 0)
                return NULL;
            return n;
        }
        return NULL;
    }
}

/* The arena parser over len bytes of json; *nul, whether a string held an escape decoding to U+0000. */
static cJSON *arena_parse(vz_arena *arena, const char *json, size_t len, const char **end, bool *nul)
{
    jp j = {arena, json, json ? json + len : NULL, 0, false, NULL, NULL, NULL, NULL, 0};
    j.block = len / 16 < 4 ? 4 : len / 16 > 64 ? 64 : len / 16;
    cJSON *root = NULL;
    if (json && len > 0) {
        if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
            j.p += 3;
        jp_space(&j);
        root = jp_value(&j);
    }
    if (end)
        *end = j.p;
    *nul = root && j.nul;
    return root;
}

cJSON *vz_json_parse_nul(vz_arena *arena, const char *json, size_t len, const char **end, bool *nul_escape)
{
    if (arena)
        return arena_parse(arena, json, len, end, nul_escape);
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, end, 0);
    *nul_escape = root && vz_json_has_nul_escape(json, len);
    return root;
}

cJSON *vz_json_parse(vz_arena *arena, const char *json, size_t len, const char **end)
{
    bool nul; /* the arena parser finds it at no cost; without an arena nobody asked for the scan */
    return arena ? arena_parse(arena, json, len, end, &nul) : cJSON_ParseWithLengthOpts(json, len, end, 0);
}

/* ---- trees built in the arena (log fields of a handler) ---- */

cJSON *vz_json_arena_object(vz_arena *arena)
{
    cJSON *o = arena ? vz_arena_calloc(arena, 1, sizeof *o) : NULL;
    if (o)
        o->type = cJSON_Object;
    return o;
}

/* A new member `key` of obj (the key copied into the arena), appended as cJSON appends. */
static cJSON *arena_member(vz_arena *arena, cJSON *obj, const char *key, int type)
{
    if (!arena || !obj || !key)
        return NULL;
    cJSON *m = vz_arena_calloc(arena, 1, sizeof *m);
    if (!m || !(m->string = vz_arena_strdup(arena, key)))
        return NULL;
    m->type = type;
    if (!obj->child) {
        obj->child = m;
        m->prev = m;
    } else {
        cJSON *last = obj->child->prev;
        last->next = m;
        m->prev = last;
        obj->child->prev = m;
    }
    return m;
}

cJSON *vz_json_arena_add_string(vz_arena *arena, cJSON *obj, const char *key, const char *value)
{
    char *v = arena && value ? vz_arena_strdup(arena, value) : NULL;
    cJSON *m = v ? arena_member(arena, obj, key, cJSON_String) : NULL;
    if (m)
        m->valuestring = v;
    return m;
}

cJSON *vz_json_arena_add_number(vz_arena *arena, cJSON *obj, const char *key, double value)
{
    cJSON *m = arena_member(arena, obj, key, cJSON_Number);
    if (m) {
        m->valuedouble = value;
        m->valueint = value >= INT_MAX ? INT_MAX : value <= (double)INT_MIN ? INT_MIN : (int)value;
    }
    return m;
}

const char *vz_json_type_name(const cJSON *v)
{
    if (!v)
        return "missing";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "of an unknown type";
}

bool vz_json_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k = c < 0x80                 ? 0
                   : c >= 0xc2 && c <= 0xdf ? 1
                   : c >= 0xe0 && c <= 0xef ? 2
                   : c >= 0xf0 && c <= 0xf4 ? 3
                                            : 4;
        if (k == 4 || (k > 0 && i + k >= n))
            return false;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) || (c == 0xf0 && s[i + 1] < 0x90) ||
            (c == 0xf4 && s[i + 1] >= 0x90))
            return false; /* overlong, surrogate, or past U+10FFFF */
        i += k + 1;
    }
    return true;
}

bool vz_json_has_nul_escape(const char *s, size_t n)
{
    /* String by string, escape by escape, with memchr: this scan runs over every event, and a
     * byte-at-a-time loop cost as much as parsing it (the result is the same: test_hot_path). */
    const char *p = s, *end = s + n;
    for (;;) {
        const char *open = p < end ? memchr(p, '"', (size_t)(end - p)) : NULL;
        if (!open)
            return false;
        p = open + 1;
        const char *close = NULL;
        for (;;) {
            if (!close || close < p)
                close = p < end ? memchr(p, '"', (size_t)(end - p)) : NULL;
            const char *lim = close ? close : end;
            const char *bs = p < lim ? memchr(p, '\\', (size_t)(lim - p)) : NULL;
            if (!bs) {
                if (!close)
                    return false;
                p = close + 1;
                break;
            }
            if (bs + 1 >= end)
                return false;
            /* Any \uXXXX that decodes to U+0000: both parsers read non-hex digits as 0 (hex4). */
            if (bs[1] == 'u' && end - bs > 5 && hex4(bs + 2) == 0)
                return true;
            p = bs + 2; /* the escaped character, so that \\ and \" are not read again */
        }
    }
}

bool vz_json_only_space_after(const char *s, size_t n, const char *end)
{
    if (!end || end < s)
        return false;
    for (const char *p = end; p < s + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return false;
    return true;
}
