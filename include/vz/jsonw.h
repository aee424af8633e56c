/* jsonw.h -- writing JSON text straight into a buffer, without building a tree.
 *
 * The log's lines and the metrics' EMF members are written on the hot path of
 * every invocation: building a cJSON tree and printing it cost more than the
 * record's own work.  A writer starts in its inline buffer and moves to the
 * heap only for a long text; when memory runs out it stops growing and the
 * text is cut, never corrupted (`cut` says so), so that a caller can still
 * close what it opened. */
#ifndef VZ_JSONW_H
#define VZ_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef struct vz_jsonw {
    char *p;          /* the text so far (not NUL-terminated): small, or a heap block the writer owns */
    size_t len, cap;  /* bytes written, bytes available at p */
    bool cut;         /* an append did not fit in memory and was dropped */
    char small[1024]; /* where short texts stay */
} vz_jsonw;

/* Start an empty text in w's inline buffer. */
void vz_jsonw_init(vz_jsonw *w);

/* Release what w allocated (nothing for a short text); w may be initialised again. */
void vz_jsonw_free(vz_jsonw *w);

/* Make room for n more bytes plus two (a closing byte and a newline); 0, or -1 when out of memory. */
int vz_jsonw_reserve(vz_jsonw *w, size_t n);

/* Append n bytes as they are (inline: most appends are a few bytes, and the call cost more than the copy). */
static inline void vz_jsonw_raw(vz_jsonw *w, const char *s, size_t n)
{
    if (w->cap - w->len >= n + 2 || vz_jsonw_reserve(w, n) == 0) {
        memcpy(w->p + w->len, s, n);
        w->len += n;
    }
}

/* Append a NUL-terminated string as it is. */
static inline void vz_jsonw_cstr(vz_jsonw *w, const char *s)
{
    vz_jsonw_raw(w, s, strlen(s));
}

/* Append s as a JSON string literal: quotes, escapes, control characters as \u00XX (UTF-8 passes through). */
void vz_jsonw_string(vz_jsonw *w, const char *s);

/* Append s for a TEXT log line: control characters escaped (\n, \r, \t, others and DEL as \xHH),
 * so that a value never starts a new line. */
void vz_jsonw_text(vz_jsonw *w, const char *s);

/* How many bytes at s (of n) need no escape: in a JSON string (json true: no '"', '\\' or control
 * character) or in a TEXT log line (false: no control character or DEL).  Eight bytes at a time. */
size_t vz_jsonw_plain_run(const char *s, size_t n, bool json);

/* Append ,"key": (a member after the first). */
void vz_jsonw_key(vz_jsonw *w, const char *key);

/* Append a non-negative integer in decimal. */
void vz_jsonw_uint(vz_jsonw *w, unsigned long long v);

/* Append a number as cJSON prints it (integers as such, else the shortest of 15 or 17 digits that
 * reads back the same); null for inf and NaN, which JSON cannot hold. */
void vz_jsonw_number(vz_jsonw *w, double v);

/* Append a duration in ms to the microsecond ("12.345"); null for a value no clock gives (inf, NaN, >= 1e12). */
void vz_jsonw_ms(vz_jsonw *w, double ms);

/* Append any cJSON value (strings and numbers directly, anything else printed by cJSON). */
void vz_jsonw_value(vz_jsonw *w, const cJSON *v);

#endif
