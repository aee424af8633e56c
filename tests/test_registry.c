/* test_registry.c -- queue-name dispatch (src/registry.c) over a table of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vz/registry.h"

static const vz_handler h_loc = {.name = "crash_update_location"};
static const vz_handler h_loc_v2 = {.name = "crash_update_location_v2"};
static const vz_handler h_juris = {.name = "crash_update_jurisdiction"};
static const vz_handler h_example = {.name = "example"};

const vz_handler *const vz_registry_table[];
const vz_handler *const vz_registry_table[] = {&h_juris, &h_loc, &h_loc_v2, &h_example, NULL};

static const char *resolve(const char *queue, const char *prefix)
{
    const vz_handler *h = vz_registry_resolve_queue(queue, prefix);
    return h ? h->name : NULL;
}

static void stages_and_prefix_reach_the_handler(void **state)
{
    (void)state;
    assert_string_equal(resolve("atd-vz-data-events-crash_update_location_pr_845", NULL), "crash_update_location");
    assert_string_equal(resolve("atd-vz-data-events-crash_update_location_staging", NULL), "crash_update_location");
    assert_string_equal(resolve("atd-vz-data-events-crash_update_location_production", NULL), "crash_update_location");
    assert_string_equal(resolve("atd-vz-data-events-crash_update_location_staging.fifo", NULL),
                        "crash_update_location");
    assert_string_equal(resolve("crash_update_location", NULL), "crash_update_location");
    assert_string_equal(resolve("crash_update_location.fifo", NULL), "crash_update_location");
    assert_string_equal(resolve("atd-vz-data-events-crash_update_jurisdiction_pr_1", NULL),
                        "crash_update_jurisdiction");
}

static void longest_name_wins(void **state)
{
    (void)state;
    assert_string_equal(resolve("atd-vz-data-events-crash_update_location_v2_staging", NULL),
                        "crash_update_location_v2");
    assert_string_equal(resolve("crash_update_location_v2", NULL), "crash_update_location_v2");
    assert_string_equal(resolve("crash_update_location_v3", NULL), "crash_update_location");
}

static void names_must_end_at_a_separator(void **state)
{
    (void)state;
    assert_null(resolve("atd-vz-data-events-crash_update_locations_staging", NULL));
    assert_null(resolve("atd-vz-data-events-crash_update_locatio", NULL));
    assert_null(resolve("atd-vz-data-events-", NULL));
    assert_null(resolve("", NULL));
    assert_null(resolve(NULL, NULL));
    assert_null(resolve("xx-example_staging", NULL));
    assert_null(resolve(".fifo", NULL));
}

static void prefix_is_configurable(void **state)
{
    (void)state;
    assert_string_equal(resolve("city-events-example_staging", "city-events-"), "example");
    assert_null(resolve("atd-vz-data-events-example_staging", "city-events-"));
    assert_string_equal(resolve("example_staging", "city-events-"), "example");
    assert_string_equal(resolve("example", ""), "example");
}

static void find_and_iterate(void **state)
{
    (void)state;
    assert_int_equal(vz_registry_count(), 4);
    assert_ptr_equal(vz_registry_at(3), &h_example);
    assert_null(vz_registry_at(4));
    assert_ptr_equal(vz_registry_find("example"), &h_example);
    assert_null(vz_registry_find("exampl"));
    assert_null(vz_registry_find(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stages_and_prefix_reach_the_handler),
        cmocka_unit_test(longest_name_wins),
        cmocka_unit_test(names_must_end_at_a_separator),
        cmocka_unit_test(prefix_is_configurable),
        cmocka_unit_test(find_and_iterate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
