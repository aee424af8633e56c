/* arena.c -- a chunked bump allocator (see arena.h).
 *
 * Allocations are carved from the newest chunk; when it is full a new chunk of
 * max(chunk_size, request) bytes is pushed.  Reset frees every chunk but the
 * oldest, which is kept so that the next invocation reuses it. */
#include "vz/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VZ_ARENA_ALIGN 16u

struct vz_arena_chunk {
    vz_arena_chunk *next; /* older chunk */
    size_t size;          /* usable bytes in data[] */
    size_t used;          /* bytes handed out from data[] */
    _Alignas(16) unsigned char data[];
};

void vz_arena_init(vz_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->spare = NULL;
    a->chunk_size = chunk_size ? chunk_size : (size_t)64 * 1024;
    a->allocated = 0;
}

static vz_arena_chunk *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(vz_arena_chunk))
        return NULL;
    vz_arena_chunk *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *vz_arena_alloc(vz_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - VZ_ARENA_ALIGN)
        return NULL;
    size_t need = (n + VZ_ARENA_ALIGN - 1) & ~(size_t)(VZ_ARENA_ALIGN - 1);
    vz_arena_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > a->chunk_size ? need : a->chunk_size;
        vz_arena_chunk *fresh;
        if (a->spare && need <= a->chunk_size) { /* a chunk an earlier invocation needed too */
            fresh = a->spare;
            a->spare = fresh->next;
            fresh->used = 0;
        } else {
            fresh = chunk_new(size);
        }
        if (!fresh)
            return NULL;
        fresh->next = c;
        a->head = fresh;
        c = fresh;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->allocated += need;
    return p;
}

void *vz_arena_calloc(vz_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = vz_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *vz_arena_strndup(vz_arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = vz_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *vz_arena_strdup(vz_arena *a, const char *s)
{
    return s ? vz_arena_strndup(a, s, strlen(s)) : NULL;
}

char *vz_arena_sprintf(vz_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = vz_arena_alloc(a, (size_t)n + 1);
    if (!d)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

int vz_arena_owns(const vz_arena *a, const void *p)
{
    uintptr_t x = (uintptr_t)p;
    for (const vz_arena_chunk *c = a->head; c; c = c->next)
        if (x >= (uintptr_t)c->data && x < (uintptr_t)c->data + c->size)
            return 1;
    return 0;
}

void vz_arena_reset(vz_arena *a)
{
    vz_arena_chunk *c = a->head;
    size_t kept = 0;
    for (const vz_arena_chunk *k = a->spare; k; k = k->next)
        kept += k->size;
    while (c && c->next) {
        vz_arena_chunk *older = c->next;
        if (c->size == a->chunk_size && kept + c->size <= (size_t)1024 * 1024) {
            c->next = a->spare; /* default-size: kept for the next invocation */
            a->spare = c;
            kept += c->size;
        } else {
            free(c);
        }
        c = older;
    }
    /* Keep the oldest chunk only if it has the default size: a one-off huge
     * chunk would otherwise pin its memory for the life of the process. */
    if (c && c->size != a->chunk_size) {
        free(c);
        c = NULL;
    }
    if (c)
        c->used = 0;
    a->head = c;
    a->allocated = 0;
}

void vz_arena_destroy(vz_arena *a)
{
    for (int list = 0; list < 2; list++) {
        vz_arena_chunk *c = list ? a->spare : a->head;
        while (c) {
            vz_arena_chunk *older = c->next;
            free(c);
            c = older;
        }
    }
    a->head = NULL;
    a->spare = NULL;
    a->allocated = 0;
}
