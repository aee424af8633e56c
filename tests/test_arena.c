/* test_arena.c -- the per-invocation arena (src/arena.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vz/arena.h"

static void allocations_are_aligned_and_distinct(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 256);
    char *p = vz_arena_alloc(&a, 3);
    char *q = vz_arena_alloc(&a, 5);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_int_equal((uintptr_t)q % 16, 0);
    assert_true(q >= p + 3);
    memset(p, 'a', 3);
    memset(q, 'b', 5);
    assert_int_equal(p[2], 'a');
    vz_arena_destroy(&a);
}

static void large_requests_get_their_own_chunk(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 128);
    char *big = vz_arena_alloc(&a, 10000);
    assert_non_null(big);
    memset(big, 1, 10000);
    char *small = vz_arena_alloc(&a, 8);
    assert_non_null(small);
    vz_arena_reset(&a);
    /* The oversized chunk is not kept across a reset. */
    assert_null(a.head);
    assert_int_equal(a.allocated, 0);
    vz_arena_destroy(&a);
}

static void reset_reuses_the_first_chunk(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 0);
    void *first = vz_arena_alloc(&a, 100);
    for (int i = 0; i < 5000; i++)
        assert_non_null(vz_arena_alloc(&a, 100));
    vz_arena_reset(&a);
    assert_ptr_equal(vz_arena_alloc(&a, 100), first);
    vz_arena_destroy(&a);
}

static void string_helpers(void **state)
{
    (void)state;
    vz_arena a;
    vz_arena_init(&a, 64);
    assert_string_equal(vz_arena_strdup(&a, "crash"), "crash");
    assert_string_equal(vz_arena_strndup(&a, "crash_id", 5), "crash");
    assert_null(vz_arena_strdup(&a, NULL));
    assert_string_equal(vz_arena_sprintf(&a, "%s=%d", "crash_id", 1000), "crash_id=1000");
    int *z = vz_arena_calloc(&a, 10, sizeof(int));
    for (int i = 0; i < 10; i++)
        assert_int_equal(z[i], 0);
    assert_null(vz_arena_calloc(&a, SIZE_MAX / 2, 4));
    assert_null(vz_arena_alloc(&a, SIZE_MAX));
    vz_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_aligned_and_distinct),
        cmocka_unit_test(large_requests_get_their_own_chunk),
        cmocka_unit_test(reset_reuses_the_first_chunk),
        cmocka_unit_test(string_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
