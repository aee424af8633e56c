/* test_commands.c -- the helpers of the local commands (src/commands.c): vz_read_file's size limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vz/commands.h"

/* Write `n` bytes to a new temporary file; its path goes in `path`. */
static void write_file(char path[64], size_t n)
{
    snprintf(path, 64, "/tmp/vz-test-read-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('a' + (int)(i % 26), f);
    assert_int_equal(fclose(f), 0);
}

/* A file of exactly `max` bytes is read (256 KiB is both SQS's largest body and the limit of `event`),
 * one byte more is refused, also when max is below the first read's 64 KiB. */
static void limit_is_inclusive(void **state)
{
    (void)state;
    const size_t maxes[] = {(size_t)64 * 1024, (size_t)256 * 1024, 100000, 10, 1};
    for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
        const size_t max = maxes[m];
        const size_t sizes[] = {0, 1, max - 1, max, max + 1, max + 4096};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char path[64], msg[256] = "";
            size_t len = 12345;
            write_file(path, sizes[i]);
            char *buf = vz_read_file(path, max, &len, msg, sizeof msg);
            unlink(path);
            if (sizes[i] <= max) {
                if (!buf) {
                    fail_msg("%zu bytes with max %zu refused: %s", sizes[i], max, msg);
                    return;
                }
                assert_int_equal(len, sizes[i]);
                assert_int_equal(buf[len], '\0');
                if (len)
                    assert_int_equal(buf[len - 1], 'a' + (int)((len - 1) % 26));
                free(buf);
            } else {
                assert_null(buf);
                assert_non_null(strstr(msg, "is larger than"));
            }
        }
    }
}

static void missing_file_is_explained(void **state)
{
    (void)state;
    char msg[256] = "";
    size_t len = 0;
    assert_null(vz_read_file("/nonexistent/vz-test", 10, &len, msg, sizeof msg));
    assert_non_null(strstr(msg, "cannot open /nonexistent/vz-test"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limit_is_inclusive),
        cmocka_unit_test(missing_file_is_explained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
