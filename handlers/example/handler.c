/* example -- the handler that needs no database.
 *
 * It logs what identifies the record (message id, queue, sent time, body
 * size; never the body itself) and succeeds.  Tests and benchmarks of the
 * runtime use it; it is also the template for `scripts/new-handler`. */
#include "vz/handler.h"

#include <inttypes.h>

extern const vz_handler vz_handler_example; /* defined at the end, used to log under its name */

static vz_status example_handle(const vz_context *ctx, const vz_sqs_record *record, const cJSON *body, vz_error *err)
{
    (void)ctx;
    (void)err;
    cJSON *extra = cJSON_CreateObject();
    if (extra) {
        cJSON_AddStringToObject(extra, "queue", record->queue_name);
        cJSON_AddNumberToObject(extra, "sentTimestamp", (double)record->attributes.sent_timestamp);
        cJSON_AddNumberToObject(extra, "bodyBytes", (double)record->body_len);
        cJSON_AddStringToObject(extra, "bodyType", cJSON_IsObject(body) ? "object" : "other");
    }
    vz_handler_log(&vz_handler_example, record, VZ_LOG_INFO, extra, "example received a message of %zu bytes",
                   record->body_len);
    cJSON_Delete(extra);
    return VZ_OK;
}

VZ_HANDLER(example) = {
    .name = "example",
    .needs_json = true,
    .handle = example_handle,
};
