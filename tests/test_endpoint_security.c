/* test_endpoint_security.c -- security properties of the endpoint's checks (src/endpoint.c).
 *
 * Constant-time key comparison, shown by behaviour rather than by timing (timings on a shared
 * 2-core machine are noise): the given key is laid out so that its LAST byte is the first byte of
 * a page made inaccessible (PROT_NONE).  A comparison that stopped at the first differing byte
 * would return without touching that page; vz_endpoint_secret_equal must fault there whether the
 * keys differ at the first byte, the last, or not at all, and for a given key shorter or longer
 * than the secret.  The fault is caught (SIGSEGV handler + siglongjmp) and counted.  It also must
 * not read past the given length (a key followed directly by the protected page, with no byte of it
 * on that page, is compared without a fault).  Together: it reads exactly every byte it is given.
 *
 * Event names: CR, LF, '/', '.', '%', NUL-free control bytes and spaces are refused (400) before a
 * name can become part of a queue URL or a log line. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vz/endpoint.h"

static sigjmp_buf jump;
static volatile sig_atomic_t faults;

static void on_segv(int sig)
{
    (void)sig;
    faults++;
    siglongjmp(jump, 1);
}

static char *pages; /* two pages: the second PROT_NONE */
static long page;

static int setup(void **state)
{
    (void)state;
    page = sysconf(_SC_PAGESIZE);
    pages = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return munmap(pages, (size_t)page * 2);
}

/* Compare `given` (len bytes, copied so that its last `on_guard` bytes lie on the protected page)
 * with the secret; returns whether the protected page was touched. */
static bool touches_guard(const char *given, size_t len, size_t on_guard, const char *secret)
{
    assert_true(mprotect(pages + page, (size_t)page, PROT_READ | PROT_WRITE) == 0);
    char *at = pages + page - (len - on_guard);
    memcpy(at, given, len);
    assert_true(mprotect(pages + page, (size_t)page, PROT_NONE) == 0);
    /* our handler only around the call: cmocka installs its own for each test */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigemptyset(&sa.sa_mask);
    assert_true(sigaction(SIGSEGV, &sa, &old) == 0);
    faults = 0;
    volatile bool equal = false;
    if (sigsetjmp(jump, 1) == 0)
        equal = vz_endpoint_secret_equal(at, len, secret, strlen(secret));
    (void)equal;
    sigaction(SIGSEGV, &old, NULL);
    return faults != 0;
}

static void test_compare_reads_every_byte(void **state)
{
    (void)state;
    const char *secret = "k3y-0123456789abcdef0123456789abcdef";
    size_t n = strlen(secret);
    char given[64];

    /* differs at the first byte: a short-circuit would stop there; this must reach the last */
    memcpy(given, secret, n + 1);
    given[0] ^= 0x55;
    assert_true(touches_guard(given, n, 1, secret));
    /* differs at the last byte */
    memcpy(given, secret, n + 1);
    given[n - 1] ^= 0x55;
    assert_true(touches_guard(given, n, 1, secret));
    /* equal */
    assert_true(touches_guard(secret, n, 1, secret));
    /* shorter and longer than the secret, first byte wrong */
    memcpy(given, secret, n + 1);
    given[0] = '#';
    assert_true(touches_guard(given, 5, 1, secret));
    memcpy(given + n, "tail", 5);
    assert_true(touches_guard(given, n + 4, 1, secret));
    /* and never a byte past what it was given: the key ends right before the protected page */
    assert_false(touches_guard(given, n, 0, secret));
    assert_false(touches_guard(secret, n, 0, secret));
    assert_false(touches_guard(given, 1, 0, secret));
}

static void test_compare_results(void **state)
{
    (void)state;
    const char *secret = "k3y-0123456789abcdef";
    size_t n = strlen(secret);
    char given[32];
    for (size_t i = 0; i < n; i++) {
        memcpy(given, secret, n + 1);
        given[i] ^= 1;
        assert_false(vz_endpoint_secret_equal(given, n, secret, n));
    }
    assert_true(vz_endpoint_secret_equal(secret, n, secret, n));
    assert_false(vz_endpoint_secret_equal(secret, n - 1, secret, n));
}

static void test_names_with_line_and_path_characters(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "crash_update_location_x\r\nX-Injected: 1",
        "crash_update_location_x\n",
        "crash_update_location_x\r",
        "crash_update_location_../../etc/passwd",
        "crash_update_location_a/b",
        "../crash_update_location_x",
        "crash_update_location_x%0d%0a",
        "crash_update_location_x y",
        "crash_update_location_x\t",
        "crash_update_location_x\x1b[2J",
        "crash_update_location_x?QueueUrl=http://127.0.0.1",
        "crash_update_location_x\\y",
        "crash_update_location_\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[200] = "";
        int st = vz_endpoint_check_name(bad[i], NULL, why, sizeof why);
        if (st != 400)
            fail_msg("name %zu answered %d, expected 400", i, st);
        for (const char *p = why; *p; p++)
            assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f); /* the reason echoes nothing */
    }
    char why[200];
    assert_int_equal(vz_endpoint_check_name("crash_update_location_pr_845", NULL, why, sizeof why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_reads_every_byte),
        cmocka_unit_test(test_compare_results),
        cmocka_unit_test(test_names_with_line_and_path_characters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
