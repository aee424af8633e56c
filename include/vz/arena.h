/* arena.h -- one memory pool per invocation.
 *
 * Everything an invocation allocates for its records comes from the arena the
 * runtime gives it and is released by one vz_arena_reset() when the invocation
 * ends, so a handler cannot leak across invocations.  The first chunk, and further
 * default-size ones up to 1 MiB, are kept between resets so that a steady stream of
 * invocations does not touch malloc.
 */
#ifndef VZ_ARENA_H
#define VZ_ARENA_H

#include <stddef.h>

typedef struct vz_arena_chunk vz_arena_chunk;

typedef struct vz_arena {
    vz_arena_chunk *head;  /* newest chunk first; the last one is kept on reset */
    vz_arena_chunk *spare; /* default-size chunks kept by a reset (up to 1 MiB), used before malloc */
    size_t chunk_size;     /* default size of a new chunk */
    size_t allocated;      /* bytes handed out since the last reset */
} vz_arena;

/* Prepare an empty arena whose chunks are `chunk_size` bytes (0 = 64 KiB). Allocates nothing. */
void vz_arena_init(vz_arena *a, size_t chunk_size);

/* Return `n` bytes aligned for any type, owned by the arena; NULL when out of memory. */
void *vz_arena_alloc(vz_arena *a, size_t n);

/* Return `n` zeroed bytes owned by the arena; NULL when out of memory or on overflow. */
void *vz_arena_calloc(vz_arena *a, size_t count, size_t size);

/* Copy a NUL-terminated string into the arena; NULL in gives NULL out. */
char *vz_arena_strdup(vz_arena *a, const char *s);

/* Copy `n` bytes of `s` plus a terminating NUL into the arena. */
char *vz_arena_strndup(vz_arena *a, const char *s, size_t n);

/* printf into a string owned by the arena; NULL when out of memory. */
char *vz_arena_sprintf(vz_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether p points into memory the arena currently holds (not freed by a reset). */
int vz_arena_owns(const vz_arena *a, const void *p);

/* Release every allocation at once, keeping the first chunk for reuse. */
void vz_arena_reset(vz_arena *a);

/* Release all memory of the arena; it may be used again after vz_arena_init. */
void vz_arena_destroy(vz_arena *a);

#endif
