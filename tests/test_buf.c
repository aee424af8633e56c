/* test_buf.c -- growing heap buffers (src/buf.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vz/buf.h"

static void appends_keep_a_nul_and_grow_by_doubling(void **state)
{
    (void)state;
    char *data = NULL;
    size_t len = 0, cap = 0;
    assert_int_equal(vz_buf_append(&data, &len, &cap, "crash", 5, 4), 0);
    assert_string_equal(data, "crash");
    assert_int_equal(len, 5);
    assert_int_equal(cap, 8); /* 4 doubled once to hold 6 bytes */
    assert_int_equal(vz_buf_append(&data, &len, &cap, "_id", 3, 4), 0);
    assert_string_equal(data, "crash_id");
    assert_int_equal(cap, 16);
    assert_int_equal(vz_buf_append(&data, &len, &cap, "", 0, 4), 0);
    assert_string_equal(data, "crash_id");
    free(data);
}

static void reserve_is_a_no_op_when_there_is_room(void **state)
{
    (void)state;
    char *data = NULL;
    size_t cap = 0;
    assert_int_equal(vz_buf_reserve(&data, &cap, 10, 0), 0);
    assert_int_equal(cap, 4096);
    char *before = data;
    assert_int_equal(vz_buf_reserve(&data, &cap, 4096, 0), 0);
    assert_ptr_equal(data, before);
    free(data);
}

static void overflow_is_refused_without_damage(void **state)
{
    (void)state;
    char *data = NULL;
    size_t len = 0, cap = 0;
    assert_int_equal(vz_buf_append(&data, &len, &cap, "ab", 2, 0), 0);
    size_t cap_before = cap;
    assert_int_equal(vz_buf_append(&data, &len, &cap, "x", SIZE_MAX - 1, 0), -1);
    assert_int_equal(vz_buf_reserve(&data, &cap, SIZE_MAX, 0), -1);
    assert_int_equal(len, 2);
    assert_int_equal(cap, cap_before);
    assert_string_equal(data, "ab");
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_keep_a_nul_and_grow_by_doubling),
        cmocka_unit_test(reserve_is_a_no_op_when_there_is_room),
        cmocka_unit_test(overflow_is_refused_without_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
