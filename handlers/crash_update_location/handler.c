/* crash_update_location -- the location polygon of a CR3 crash (atd_txdot_crashes, key crash_id).
 *
 * The rule is in update.sql (spec section 3): a main-lane crash belongs to the
 * service-road location to the right of its travel, and moves to its centroid,
 * or to no location; any other crash to the first group-1 polygon containing
 * it.  The row is locked (lock.sql), recomputed and written only if it differs,
 * in one transaction per record; a batch is one database round trip. */
#include "vz/handler.h"
#include "vz/rowsync.h"

#include "handlers/crash_update_location/lock_sql.h"
#include "handlers/crash_update_location/update_sql.h"

extern const vz_handler vz_handler_crash_update_location;

static vz_db_stmt lock_stmt = {"handlers/crash_update_location/lock.sql", lock_sql, 1, 0};
static vz_db_stmt update_stmt = {"handlers/crash_update_location/update.sql", update_sql, 1, 0};

enum { COL_OLD_LAT = 4, COL_OLD_LON, COL_NEW_LAT, COL_NEW_LON };

/* Whether s is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* PostgreSQL's float8 text is a JSON number, except NaN and [-]Infinity, which JSON has not:
 * those go into the log line as strings, so that it stays JSON. */
static void add_coord(cJSON *o, const char *name, const char *v)
{
    if (!v)
        cJSON_AddNullToObject(o, name);
    else if (json_number(v))
        cJSON_AddRawToObject(o, name, v);
    else
        cJSON_AddStringToObject(o, name, v);
}

static void describe(const vz_db_txn *t, cJSON *extra)
{
    if (t->ncols <= COL_NEW_LON)
        return;
    add_coord(extra, "oldLatitude", t->row[COL_OLD_LAT]);
    add_coord(extra, "oldLongitude", t->row[COL_OLD_LON]);
    add_coord(extra, "newLatitude", t->row[COL_NEW_LAT]);
    add_coord(extra, "newLongitude", t->row[COL_NEW_LON]);
}

static const vz_rowsync sync_rule = {
    .handler = &vz_handler_crash_update_location,
    .key_field = "crash_id",
    .table = "atd_txdot_crashes",
    .value_field = "location_id",
    .lock = &lock_stmt,
    .work = &update_stmt,
    .describe = describe,
};

static void crash_update_location_batch(const vz_context *ctx, vz_item *items, size_t n)
{
    vz_rowsync_batch(&sync_rule, ctx, items, n);
}

VZ_HANDLER(crash_update_location) = {
    .name = "crash_update_location",
    .needs_json = true,
    .handle_batch = crash_update_location_batch,
    .shutdown = vz_db_close,
    .rowsync = &sync_rule,
};
