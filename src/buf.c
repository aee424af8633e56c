/* buf.c -- growing heap buffers (see buf.h). */
#include "vz/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int vz_buf_reserve(char **data, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap && *data)
        return 0;
    size_t ncap = *cap ? *cap : (first ? first : 4096);
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    char *nd = realloc(*data, ncap);
    if (!nd)
        return -1;
    *data = nd;
    *cap = ncap;
    return 0;
}

int vz_buf_append(char **data, size_t *len, size_t *cap, const void *bytes, size_t n, size_t first)
{
    if (n > SIZE_MAX - *len - 1 || vz_buf_reserve(data, cap, *len + n + 1, first) != 0)
        return -1;
    memcpy(*data + *len, bytes, n);
    *len += n;
    (*data)[*len] = '\0';
    return 0;
}
