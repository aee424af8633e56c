/* example -- the handler that needs no database.
 *
 * It logs what identifies the record (message id, queue, sent time, body
 * size; never the body itself) and succeeds.  Tests and benchmarks of the
 * runtime use it; it is also the template for `scripts/new-handler`.
 * Its log fields are built in the invocation's arena (vz_json_arena_*): no
 * malloc per record and nothing to free. */
#include "vz/handler.h"
#include "vz/json.h"

extern const vz_handler vz_handler_example; /* defined at the end, used to log under its name */

static vz_status example_handle(const vz_context *ctx, const vz_sqs_record *record, const cJSON *body, vz_error *err)
{
    (void)err;
    cJSON *extra = vz_json_arena_object(ctx->arena);
    vz_json_arena_add_string(ctx->arena, extra, "queue", record->queue_name);
    vz_json_arena_add_number(ctx->arena, extra, "sentTimestamp", (double)record->attributes.sent_timestamp);
    vz_json_arena_add_number(ctx->arena, extra, "bodyBytes", (double)record->body_len);
    vz_json_arena_add_string(ctx->arena, extra, "bodyType", cJSON_IsObject(body) ? "object" : "other");
    vz_handler_log(&vz_handler_example, record, VZ_LOG_INFO, extra, "example received a message of %zu bytes",
                   record->body_len);
    return VZ_OK;
}

VZ_HANDLER(example) = {
    .name = "example",
    .needs_json = true,
    .handle = example_handle,
};
