/* fuzz_queue_name.c -- queue names from outside: vz_sqs_queue_from_arn and
 * vz_registry_resolve_queue on arbitrary bytes.
 *
 * The input is "ARN-or-queue\0prefix" (no NUL: default prefix).  The
 * handler table is this file's own, with names that prefix each other, so
 * that the longest-match rule is exercised.  Properties: a queue name taken
 * from an ARN fits its buffer and holds only what SQS allows in a name; a
 * resolved handler is the longest name equal to the stripped queue or to
 * its part before "_<stage>", checked against a slow reference. */
#include <string.h>

#include "fuzz.h"
#include "vz/registry.h"
#include "vz/sqs.h"

static const vz_handler h_cris = {.name = "cris"}, h_cris_location = {.name = "cris_location"},
                        h_example = {.name = "example"}, h_location = {.name = "location"}, h_x = {.name = "x"};
const vz_handler *const vz_registry_table[] = {&h_cris, &h_cris_location, &h_example, &h_location, &h_x, NULL};

/* The handler the rules of registry.h pick, written the slow, obvious way. */
static const vz_handler *reference(const char *queue, const char *prefix)
{
    char q[4096];
    snprintf(q, sizeof q, "%s", queue);
    size_t n = strlen(q);
    if (n > 5 && strcmp(q + n - 5, ".fifo") == 0)
        q[n -= 5] = '\0';
    const char *p = prefix ? prefix : VZ_DEFAULT_QUEUE_PREFIX;
    const char *rest = q;
    if (strlen(p) < n && strncmp(q, p, strlen(p)) == 0)
        rest = q + strlen(p);
    const vz_handler *best = NULL;
    for (size_t i = 0; vz_registry_table[i]; i++) {
        const char *name = vz_registry_table[i]->name;
        size_t k = strlen(name);
        int match = strcmp(rest, name) == 0 || (strncmp(rest, name, k) == 0 && rest[k] == '_');
        if (match && (!best || k > strlen(best->name)))
            best = vz_registry_table[i];
    }
    return best;
}

static void check_arn(const char *arn)
{
    char buf[96];
    memset(buf, 'Z', sizeof buf);
    if (vz_sqs_queue_from_arn(arn, buf, sizeof buf) != 0)
        return;
    size_t n = strlen(buf);
    FUZZ_CHECK(n > 0 && n <= 80);
    FUZZ_CHECK(strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == n);
    const char *dot = strchr(buf, '.');
    FUZZ_CHECK(dot == NULL || strcmp(dot, ".fifo") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_logs();
    if (size > 2048)
        return 0;
    char in[2050];
    memcpy(in, data, size);
    in[size] = '\0';
    in[size + 1] = '\0';
    const char *queue = in;
    size_t qlen = strlen(queue);
    const char *prefix = qlen < size ? in + qlen + 1 : NULL;
    check_arn(queue);
    const vz_handler *got = vz_registry_resolve_queue(queue, prefix);
    const vz_handler *want = queue[0] ? reference(queue, prefix) : NULL;
    FUZZ_CHECK(got == want);
    return 0;
}
