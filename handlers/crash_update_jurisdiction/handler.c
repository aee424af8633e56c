/* crash_update_jurisdiction -- the full-purpose flag of a CR3 crash (atd_txdot_crashes.austin_full_purpose).
 *
 * 'Y' when jurisdiction 5 contains the crash, else 'N' (update.sql).  The
 * production rule that also set city_id = 22 is not carried over: city_id stays
 * as the state's records give it.  Locked, recomputed and written only if it
 * differs, in one transaction per record; one round trip a batch. */
#include "vz/handler.h"
#include "vz/rowsync.h"

#include "handlers/crash_update_jurisdiction/lock_sql.h"
#include "handlers/crash_update_jurisdiction/update_sql.h"

extern const vz_handler vz_handler_crash_update_jurisdiction;

static vz_db_stmt lock_stmt = {"crash_update_jurisdiction_lock", lock_sql, 1, 0};
static vz_db_stmt update_stmt = {"crash_update_jurisdiction_update", update_sql, 1, 0};

static const vz_rowsync sync_rule = {
    .handler = &vz_handler_crash_update_jurisdiction,
    .key_field = "crash_id",
    .table = "atd_txdot_crashes",
    .value_field = "austin_full_purpose",
    .lock = &lock_stmt,
    .work = &update_stmt,
};

static void crash_update_jurisdiction_batch(const vz_context *ctx, vz_item *items, size_t n)
{
    vz_rowsync_batch(&sync_rule, ctx, items, n);
}

VZ_HANDLER(crash_update_jurisdiction) = {
    .name = "crash_update_jurisdiction",
    .needs_json = true,
    .handle_batch = crash_update_jurisdiction_batch,
    .shutdown = vz_db_close,
    .rowsync = &sync_rule,
};
