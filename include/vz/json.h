/* json.h -- small helpers over cJSON shared by the parsers of outside input. */
#ifndef VZ_JSON_H
#define VZ_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "vz/arena.h"

/* How a value reads in an error message: "missing" (NULL), "null", "a boolean", "a number",
 * "a string", "an array", "an object"; static string, never NULL. */
const char *vz_json_type_name(const cJSON *v);

/* Parse len bytes of JSON with every node and string allocated from `arena` (NULL: the heap,
 * free with cJSON_Delete); *end, when given, is where parsing stopped.  An arena's tree goes away
 * with the arena's next reset: never cJSON_Delete it.  NULL when not valid JSON. */
cJSON *vz_json_parse(vz_arena *arena, const char *json, size_t len, const char **end);

/* vz_json_parse, with *nul_escape set to vz_json_has_nul_escape's answer for the text when it parses
 * (false when it does not): the arena parser finds the escape as it decodes the strings, with no
 * second pass over the text. */
cJSON *vz_json_parse_nul(vz_arena *arena, const char *json, size_t len, const char **end, bool *nul_escape);

/* An empty object whose members and strings all live in `arena` (for a log line's fields: no malloc,
 * no cJSON_Delete, gone with the arena's reset); NULL when out of memory or arena is NULL. */
cJSON *vz_json_arena_object(vz_arena *arena);

/* Append member key: value (both copied into the arena) to an object of vz_json_arena_object; the
 * member, or NULL (nothing added) when out of memory or an argument is NULL. */
cJSON *vz_json_arena_add_string(vz_arena *arena, cJSON *obj, const char *key, const char *value);

/* Append member key: value (a number; the key copied into the arena) to an arena object; the member, or NULL. */
cJSON *vz_json_arena_add_number(vz_arena *arena, cJSON *obj, const char *key, double value);

/* Whether the n bytes at s are well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
bool vz_json_utf8_valid(const char *s, size_t n);

/* Whether the JSON text (n bytes) holds an escape inside a string that decodes to U+0000 (\u0000, or
 * \uXXXX with a non-hex digit, which cJSON and vz_json_parse read as 0): cJSON cuts strings at a
 * NUL, so such a string would be read shorter than it is. */
bool vz_json_has_nul_escape(const char *s, size_t n);

/* Whether only JSON whitespace lies between end and s + n (what follows a parsed value). */
bool vz_json_only_space_after(const char *s, size_t n, const char *end);

#endif
