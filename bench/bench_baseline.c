/* bench_baseline.c -- the transport's limit: a Lambda runtime that does nothing but the Runtime API calls.
 *
 * Run as the runtime command of vz-emulator (it reads AWS_LAMBDA_RUNTIME_API like vz-events):
 * GET /next, then POST the fixed answer {"batchItemFailures":[]} to .../response, forever, with
 * libcurl on one kept-alive connection.  No parsing of the event, no logging, no handler.
 * scripts/bench runs it side by side with vz-events against the same emulator: the ratio of their
 * invocations per second is the runtime's overhead.  SIGTERM ends it (default action: it holds
 * nothing to finish).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

typedef struct baseline {
    char request_id[128];
    char invocation_id[128];
    size_t body_bytes;
} baseline;

/* Copy a header's value into dst when line is "name: value". */
static void header_value(const char *line, size_t len, const char *name, char *dst, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && *v == ' ')
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
    memcpy(dst, v, vl);
    dst[vl] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    baseline *b = arg;
    header_value(line, size * n, "Lambda-Runtime-Aws-Request-Id", b->request_id, sizeof b->request_id);
    header_value(line, size * n, "Lambda-Runtime-Invocation-Id", b->invocation_id, sizeof b->invocation_id);
    return size * n;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    ((baseline *)arg)->body_bytes += size * n; /* the event is received, not looked at */
    return size * n;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api) {
        fprintf(stderr, "bench_baseline: AWS_LAMBDA_RUNTIME_API is not set (run it under vz-emulator)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    if (!c)
        return 1;
    baseline b;
    char next_url[300], url[600], hdr[200];
    snprintf(next_url, sizeof next_url, "http://%s/2018-06-01/runtime/invocation/next", api);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    static const char answer[] = "{\"batchItemFailures\":[]}";
    int rc = 0;
    for (;;) {
        memset(&b, 0, sizeof b);
        curl_easy_setopt(c, CURLOPT_URL, next_url);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        if (curl_easy_perform(c) != CURLE_OK || !b.request_id[0]) {
            rc = 1;
            break;
        }
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/response", api, b.request_id);
        snprintf(hdr, sizeof hdr, "Lambda-Runtime-Invocation-Id: %s", b.invocation_id);
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        h = curl_slist_append(h, hdr);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, answer);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(sizeof answer - 1));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(h);
        if (cc != CURLE_OK) {
            rc = 1;
            break;
        }
    }
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return rc;
}
