/* crash_update_noncr3_location -- the location polygon of a non-CR3 report (atd_apd_blueform, key case_id).
 *
 * A report on a main lane belongs to no location; any other to the first
 * group-1 polygon containing it (update.sql).  Locked, recomputed and written
 * only if it differs, in one transaction per record; one round trip a batch. */
#include "vz/handler.h"
#include "vz/rowsync.h"

#include "handlers/crash_update_noncr3_location/lock_sql.h"
#include "handlers/crash_update_noncr3_location/update_sql.h"

extern const vz_handler vz_handler_crash_update_noncr3_location;

static vz_db_stmt lock_stmt = {"handlers/crash_update_noncr3_location/lock.sql", lock_sql, 1, 0};
static vz_db_stmt update_stmt = {"handlers/crash_update_noncr3_location/update.sql", update_sql, 1, 0};

static const vz_rowsync sync_rule = {
    .handler = &vz_handler_crash_update_noncr3_location,
    .key_field = "case_id",
    .table = "atd_apd_blueform",
    .value_field = "location_id",
    .lock = &lock_stmt,
    .work = &update_stmt,
};

static void crash_update_noncr3_location_batch(const vz_context *ctx, vz_item *items, size_t n)
{
    vz_rowsync_batch(&sync_rule, ctx, items, n);
}

VZ_HANDLER(crash_update_noncr3_location) = {
    .name = "crash_update_noncr3_location",
    .needs_json = true,
    .handle_batch = crash_update_noncr3_location_batch,
    .shutdown = vz_db_close,
    .rowsync = &sync_rule,
};
