/* test_conninfo.c -- DATABASE_URL checks and libpq message scrubbing (src/conninfo.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vz/conninfo.h"

#define PW "Pw9xS3cretValue"

static void check_refuses(const char *url, const char *part)
{
    char why[512];
    assert_false(vz_conninfo_check(url, why, sizeof why));
    assert_non_null(strstr(why, part));
    assert_null(strstr(why, "Pw9x"));
    assert_null(strstr(why, "S3cret"));
}

static void well_formed_strings_pass(void **state)
{
    (void)state;
    char why[512];
    assert_true(
        vz_conninfo_check("postgresql://vz:" PW "@db.example:5432/atd_vz_data?sslmode=verify-full", why, sizeof why));
    assert_true(vz_conninfo_check("postgresql://vz:Pw%40x@[::1]:5432/vz", why, sizeof why));
    assert_true(vz_conninfo_check("host=db port=5432 dbname=vz user=vz password='a b'", why, sizeof why));
    assert_true(vz_conninfo_check("postgres://vz@localhost", why, sizeof why));
}

static void malformed_urls_name_the_part_never_the_value(void **state)
{
    (void)state;
    check_refuses("postgresql://vz:" PW "@[::1:5432/vz", "the host (an IPv6 address");
    check_refuses("postgresql://vz:Pw9x%zzS3cretValue@db/vz", "the password is malformed");
    check_refuses("postgresql://v%zz:" PW "@db/vz", "the user name is malformed");
    check_refuses("postgresql://vz@db/v%zz?password=" PW, "the database name is malformed");
    check_refuses("postgresql://vz@db/vz?sslmode=disable&password=Pw9x%zzS3cretValue", "a query parameter's value");
    check_refuses("postgresql://vz@db/vz?application_name=a%zz", "query parameter \"application_name\"");
    check_refuses("postgresql://vz:Pw9x@S3cretValue@db/vz", "2 unescaped '@' before its host");
    check_refuses("host=db password='Pw9xS3cretValue", "not a valid connection string");
}

static void passwords_are_scrubbed_from_messages(void **state)
{
    (void)state;
    const char *url = "postgresql://vz:Pw9x%21S3cretValue@db:5432/vz";
    char msg[256] = "could not connect: password Pw9x!S3cretValue, typed Pw9x%21S3cretValue";
    vz_conninfo_scrub(msg, url);
    assert_string_equal(msg, "could not connect: password ***, typed ***");
    char whole[256];
    snprintf(whole, sizeof whole, "in URI: \"%s\"", url);
    vz_conninfo_scrub(whole, url);
    assert_null(strstr(whole, "S3cret"));
    setenv("PGPASSWORD", "EnvS3cret", 1);
    char env[128] = "FATAL: EnvS3cret rejected";
    vz_conninfo_scrub(env, NULL);
    assert_string_equal(env, "FATAL: *** rejected");
    unsetenv("PGPASSWORD");
    char plain[64] = "server closed the connection";
    vz_conninfo_scrub(plain, "host=db password=ab");
    assert_string_equal(plain, "server closed the connection");
    char shorter[64] = "ab in a message";
    vz_conninfo_scrub(shorter, "host=db password=ab");
    assert_string_equal(shorter, "** in a message"); /* never longer than the secret */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(well_formed_strings_pass),
        cmocka_unit_test(malformed_urls_name_the_part_never_the_value),
        cmocka_unit_test(passwords_are_scrubbed_from_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
