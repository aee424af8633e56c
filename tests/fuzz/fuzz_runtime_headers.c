/* fuzz_runtime_headers.c -- the Runtime API header parser of the runtime loop
 * (vz_runtime_parse_header, src/runtime.c) on arbitrary header lines, and the
 * error-type check it applies to what it posts.
 *
 * The input is split at '\n' into raw header lines, each fed as libcurl
 * would (with its line end).  Properties: a line is claimed exactly when it
 * names one of Lambda's headers (any letter case) followed by ':'; a value
 * kept is the line's value without surrounding blanks and line end, copied
 * (never pointing into the input); a deadline is only ever a positive
 * number the line spelled in decimal; vz_runtime_error_type_valid agrees
 * with a reference of (Runtime|Function)\.[A-Z][A-Za-z]+. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "vz/runtime.h"

static const char *const names[] = {
    "Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id",
    "Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity",     "Lambda-Runtime-Aws-Tenant-Id",
    "Lambda-Runtime-Invocation-Id",  "Lambda-Runtime-Deadline-Ms",
};

static const char **field_of(vz_runtime_invocation *inv, size_t i)
{
    const char **f[] = {&inv->request_id,       &inv->function_arn, &inv->trace_id,      &inv->client_context,
                        &inv->cognito_identity, &inv->tenant_id,    &inv->invocation_id, NULL};
    return f[i];
}

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Index of the Lambda header the line names, or -1. */
static int which(const char *line, size_t len)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (len > n && line[n] == ':' && strncasecmp(line, names[i], n) == 0)
            return (int)i;
    }
    return -1;
}

/* The deadline a value spells: [blanks][+|-]digits, nothing after, positive, no overflow; else 0. */
static int64_t ref_deadline(const char *v, size_t n)
{
    size_t i = 0;
    if (n == 0 || n >= 32)
        return 0;
    while (i < n && isspace((unsigned char)v[i]))
        i++;
    int neg = 0;
    if (i < n && (v[i] == '+' || v[i] == '-'))
        neg = v[i++] == '-';
    if (i == n)
        return 0;
    int64_t x = 0;
    for (; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        if (x > (INT64_MAX - (v[i] - '0')) / 10)
            return 0;
        x = x * 10 + (v[i] - '0');
    }
    return neg ? 0 : x;
}

static int ref_error_type(const char *t)
{
    const char *rest = NULL;
    if (strncmp(t, "Runtime.", 8) == 0)
        rest = t + 8;
    else if (strncmp(t, "Function.", 9) == 0)
        rest = t + 9;
    if (!rest || !(rest[0] >= 'A' && rest[0] <= 'Z') || !rest[1])
        return 0;
    for (const char *p = rest; *p; p++)
        if (!isalpha((unsigned char)*p) || (unsigned char)*p > 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vz_arena arena;
    static int ready;
    if (!ready) {
        vz_arena_init(&arena, 0);
        ready = 1;
    }
    vz_runtime_invocation inv;
    memset(&inv, 0, sizeof inv);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        int64_t before = inv.deadline_ms;
        vz_runtime_invocation old = inv;
        bool claimed = vz_runtime_parse_header(&inv, &arena, p, len);
        int w = which(p, len);
        FUZZ_CHECK(claimed == (w >= 0));
        /* the value as the reference trims it */
        const char *v = NULL, *ve = p + len;
        if (w >= 0) {
            v = p + strlen(names[w]) + 1;
            while (v < ve && blank(*v))
                v++;
            while (ve > v && (blank(ve[-1]) || ve[-1] == '\r' || ve[-1] == '\n'))
                ve--;
        }
        for (size_t i = 0; i < 7; i++) {
            const char *now = *field_of(&inv, i), *was = *field_of(&old, i);
            if ((int)i != w) {
                FUZZ_CHECK(now == was); /* other fields untouched */
                continue;
            }
            if (ve == v) {
                FUZZ_CHECK(now == was); /* empty values are ignored */
                continue;
            }
            FUZZ_CHECK(now != NULL && (now < p || now >= end)); /* a copy */
            /* never cut: a NUL inside is kept as DEL (0x7f), a control character the loop refuses */
            size_t n = strlen(now);
            FUZZ_CHECK(n == (size_t)(ve - v));
            for (size_t k = 0; k < n; k++)
                FUZZ_CHECK(now[k] == (v[k] == '\0' ? 0x7f : v[k]));
        }
        if (w == 7) {
            int64_t want = ref_deadline(v, (size_t)(ve - v));
            FUZZ_CHECK(inv.deadline_ms == (want > 0 ? want : before));
        } else {
            FUZZ_CHECK(inv.deadline_ms == before);
        }
        p += len;
    }
    /* the error type check on the whole input as a string */
    char type[128] = {0};
    size_t n = size < sizeof type - 1 ? size : sizeof type - 1;
    memcpy(type, data, n);
    type[n] = '\0';
    FUZZ_CHECK(vz_runtime_error_type_valid(type) == ref_error_type(type));
    vz_arena_reset(&arena);
    return 0;
}
