/* json.h -- small helpers over cJSON shared by the parsers of outside input. */
#ifndef VZ_JSON_H
#define VZ_JSON_H

#include <cjson/cJSON.h>

/* How a value reads in an error message: "missing" (NULL), "null", "a boolean", "a number",
 * "a string", "an array", "an object"; static string, never NULL. */
const char *vz_json_type_name(const cJSON *v);

#endif
