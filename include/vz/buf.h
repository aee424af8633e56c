/* buf.h -- growing a heap buffer that receives bytes in pieces (HTTP bodies).
 *
 * The callers keep their own (data, len, cap) fields and limits; this is the
 * one place that decides how such a buffer grows. */
#ifndef VZ_BUF_H
#define VZ_BUF_H

#include <stddef.h>

/* Make *data (realloc'd, owned by the caller) hold at least `need` bytes, doubling *cap from
 * `first` when it is 0; returns 0, or -1 when out of memory or on overflow (*data and *cap unchanged). */
int vz_buf_reserve(char **data, size_t *cap, size_t need, size_t first);

/* Append n bytes at *len and keep a NUL after them; returns 0, or -1 as vz_buf_reserve. */
int vz_buf_append(char **data, size_t *len, size_t *cap, const void *bytes, size_t n, size_t first);

#endif
