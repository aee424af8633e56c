/* hasura.h -- read what the handlers need from a Hasura event payload.
 *
 * The SQS message body is Hasura's event document (spec section 2):
 *   {"event": {"op": "UPDATE", "data": {"old": {...}, "new": {"crash_id": 1000, ...}}}, "id": ..., ...}
 * Handlers take their key from event.data.new.  The row fields are whatever
 * the trigger selected, so the key may be missing, null, or of the wrong
 * type; only a non-negative integer that fits PostgreSQL's `integer` is
 * accepted, written as a JSON number or as a string of decimal digits.
 * Every rejection says which field and why, without echoing the payload.
 */
#ifndef VZ_HASURA_H
#define VZ_HASURA_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vz/error.h"

/* Store the integer key `field` of body.event.data.new in *out (0 .. 2147483647).
 * Accepts a JSON number with an integral value, or a string of 1 to 10 ASCII digits.
 * On failure returns VZ_EINVAL with err (type "Function.InvalidPayload") saying what was wrong. */
vz_status vz_hasura_key(const cJSON *body, const char *field, int32_t *out, vz_error *err);

/* The same from `len` bytes of JSON text (parsed and freed here); for callers without a tree. */
vz_status vz_hasura_key_from_text(const char *json, size_t len, const char *field, int32_t *out, vz_error *err);

/* The Hasura event id (body.id) when it is a string, else NULL; points into body. */
const char *vz_hasura_event_id(const cJSON *body);

/* The operation (body.event.op: "INSERT", "UPDATE", "DELETE", "MANUAL") when a string, else NULL. */
const char *vz_hasura_op(const cJSON *body);

#endif
