/* @NAME@ -- TODO: one sentence on what this handler does to which table.
 *
 * Created by scripts/new-handler from scripts/handler-template/ (modelled on
 * handlers/example).  It receives the Hasura event payload of one SQS record,
 * takes the row from event.data.new and succeeds; put the handler's logic
 * where it says so.  A record fails alone by setting `err` and returning a
 * negative vz_status: SQS then retries just that record.  Never log the body
 * (it holds personal data), only what identifies the record. */
#include "vz/handler.h"

extern const vz_handler vz_handler_@NAME@;

static vz_status @NAME@_handle(const vz_context *ctx, const vz_sqs_record *record, const cJSON *body,
                               vz_error *err)
{
    (void)ctx;
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(body, "event");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");
    const cJSON *row = cJSON_GetObjectItemCaseSensitive(data, "new");
    if (!cJSON_IsObject(row)) {
        vz_error_set(err, "Function.InvalidBody", "the payload has no event.data.new object");
        return VZ_EINVAL;
    }

    /* The handler's logic goes here: read the key from `row`, compute, write if changed. */

    vz_handler_log(&vz_handler_@NAME@, record, VZ_LOG_INFO, NULL, "@NAME@ handled a message of %zu bytes",
                   record->body_len);
    return VZ_OK;
}

VZ_HANDLER(@NAME@) = {
    .name = "@NAME@",
    .needs_json = true,
    .handle = @NAME@_handle,
};
