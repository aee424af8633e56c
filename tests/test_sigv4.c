/* test_sigv4.c -- SHA-256, HMAC-SHA-256 and SigV4 (src/sigv4.c) against answers computed as the test runs:
 * Python's hashlib and hmac for the digests, botocore's SigV4Auth (Debian's python3-botocore) for the
 * signatures (tests/sigv4_reference.py).  Nothing expected is written here but FIPS 180-4's two examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "vz/sigv4.h"

#ifndef VZ_SIGV4_REFERENCE /* tests/CMakeLists.txt defines it as the script's absolute path */
#define VZ_SIGV4_REFERENCE "tests/sigv4_reference.py"
#endif

/* Run the reference script on the JSON request; its stdout, malloc'ed, without the last newline. */
static char *reference(const cJSON *req)
{
    char path[] = "/tmp/vz-sigv4-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *text = cJSON_PrintUnformatted(req);
    assert_non_null(text);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    free(text);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -B %s < %s", VZ_SIGV4_REFERENCE, path);
    // NOLINTNEXTLINE(cert-env33-c): the reference is a script, run through the shell for its redirection
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (len + 1 == cap) {
            cap *= 2;
            char *more = realloc(out, cap);
            if (!more)
                free(out);
            assert_non_null(more);
            out = more;
        }
    }
    int rc = pclose(p);
    unlink(path);
    if (rc != 0)
        fail_msg("%s failed (exit %d): is python3-botocore installed (scripts/packages.txt)?", cmd, rc);
    while (len > 0 && out[len - 1] == '\n')
        len--;
    out[len] = '\0';
    return out;
}

static char *to_hex(const unsigned char *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    assert_non_null(h);
    vz_hex(p, n, h);
    return h;
}

/* hashlib's SHA-256 of the bytes. */
static char *python_sha256(const unsigned char *p, size_t n)
{
    cJSON *req = cJSON_CreateObject();
    char *hex = to_hex(p, n);
    cJSON_AddStringToObject(req, "mode", "sha256");
    cJSON_AddStringToObject(req, "hex", hex);
    char *out = reference(req);
    cJSON_Delete(req);
    free(hex);
    return out;
}

static void fips_examples(void **state)
{
    (void)state;
    unsigned char d[VZ_SHA256_LEN];
    char hex[65];
    vz_sha256("abc", 3, d); /* FIPS 180-4's examples (SHA256.pdf): one block, and the empty message */
    vz_hex(d, sizeof d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    vz_sha256("", 0, d);
    vz_hex(d, sizeof d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Line i of text (lines separated by '\n'), malloc'ed. */
static char *line_of(const char *text, size_t i)
{
    const char *p = text;
    for (; i > 0; i--) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            fail_msg("the reference answered fewer lines than it was asked for:\n%s", text);
        p = nl ? nl + 1 : "";
    }
    size_t n = strcspn(p, "\n");
    char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Every length around the padding's edges (55, 56, 63, 64, 119, 120 bytes), against hashlib (one run). */
static void sha256_matches_hashlib_at_every_padding_edge(void **state)
{
    (void)state;
    static const size_t lengths[] = {1, 54, 55, 56, 57, 63, 64, 65, 111, 119, 120, 127, 128, 129, 1000};
    enum { N = sizeof lengths / sizeof lengths[0] };
    unsigned char buf[1000], d[VZ_SHA256_LEN];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    cJSON *all = cJSON_CreateArray();
    for (size_t i = 0; i < N; i++) {
        cJSON *req = cJSON_CreateObject();
        char *hex = to_hex(buf, lengths[i]);
        cJSON_AddStringToObject(req, "mode", "sha256");
        cJSON_AddStringToObject(req, "hex", hex);
        cJSON_AddItemToArray(all, req);
        free(hex);
    }
    char *answers = reference(all);
    cJSON_Delete(all);
    for (size_t i = 0; i < N; i++) {
        vz_sha256(buf, lengths[i], d);
        char *ours = to_hex(d, sizeof d), *theirs = line_of(answers, i);
        if (strcmp(ours, theirs) != 0)
            fail_msg("SHA-256 of %zu bytes: ours %s, hashlib %s", lengths[i], ours, theirs);
        free(ours);
        free(theirs);
    }
    free(answers);
}

/* Fed in pieces of every size from 1 to 97 bytes, the digest is the one-call digest. */
static void sha256_incremental_is_one_call(void **state)
{
    (void)state;
    unsigned char buf[3001], whole[VZ_SHA256_LEN], parts[VZ_SHA256_LEN];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i ^ (i >> 3));
    vz_sha256(buf, sizeof buf, whole);
    for (size_t step = 1; step <= 97; step++) {
        vz_sha256_ctx s;
        vz_sha256_init(&s);
        for (size_t off = 0; off < sizeof buf; off += step)
            vz_sha256_update(&s, buf + off, sizeof buf - off < step ? sizeof buf - off : step);
        vz_sha256_final(&s, parts);
        assert_memory_equal(whole, parts, sizeof whole);
    }
}

/* A million 'a's (FIPS 180-4's long example), against hashlib. */
static void sha256_of_a_million_bytes(void **state)
{
    (void)state;
    size_t n = 1000000;
    unsigned char *a = malloc(n), d[VZ_SHA256_LEN];
    assert_non_null(a);
    memset(a, 'a', n);
    vz_sha256(a, n, d);
    char *ours = to_hex(d, sizeof d), *theirs = python_sha256(a, n);
    assert_string_equal(ours, theirs);
    free(ours);
    free(theirs);
    free(a);
}

/* Keys shorter than, equal to and longer than the block (hashed first), against Python's hmac (one run). */
static void hmac_matches_python(void **state)
{
    (void)state;
    static const size_t klens[] = {0, 4, 20, 63, 64, 65, 131};
    enum { N = sizeof klens / sizeof klens[0] };
    unsigned char key[131], data[200], mac[VZ_SHA256_LEN];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(0xaa ^ i);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7);
    cJSON *all = cJSON_CreateArray();
    char *dhex = to_hex(data, sizeof data);
    for (size_t i = 0; i < N; i++) {
        cJSON *req = cJSON_CreateObject();
        char *khex = to_hex(key, klens[i]);
        cJSON_AddStringToObject(req, "mode", "hmac");
        cJSON_AddStringToObject(req, "key", khex);
        cJSON_AddStringToObject(req, "hex", dhex);
        cJSON_AddItemToArray(all, req);
        free(khex);
    }
    free(dhex);
    char *answers = reference(all);
    cJSON_Delete(all);
    for (size_t i = 0; i < N; i++) {
        vz_hmac_sha256(key, klens[i], data, sizeof data, mac);
        char *ours = to_hex(mac, sizeof mac), *theirs = line_of(answers, i);
        if (strcmp(ours, theirs) != 0)
            fail_msg("HMAC-SHA-256 with a %zu-byte key: ours %s, Python's %s", klens[i], ours, theirs);
        free(ours);
        free(theirs);
    }
    free(answers);
}

typedef struct sign_case {
    const char *url;          /* what botocore is given */
    const char *path, *query; /* the same URL's path and query, as our signer takes them */
    const char *host;
    const char *body;
    const char *secret, *token, *region, *service;
    const char *extra_name, *extra_value; /* one more signed header, or NULL */
} sign_case;

/* The request botocore is asked to sign for sc. */
static cJSON *sign_request(const sign_case *sc)
{
    cJSON *req = cJSON_CreateObject(), *hdrs = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "mode", "sign");
    cJSON_AddStringToObject(req, "method", "POST");
    cJSON_AddStringToObject(req, "url", sc->url);
    cJSON_AddStringToObject(hdrs, "Host", sc->host);
    cJSON_AddStringToObject(hdrs, "Content-Type", "application/x-amz-json-1.0");
    cJSON_AddStringToObject(hdrs, "X-Amz-Target", "AmazonSQS.SendMessage");
    if (sc->extra_name)
        cJSON_AddStringToObject(hdrs, sc->extra_name, sc->extra_value);
    cJSON_AddItemToObject(req, "headers", hdrs);
    cJSON_AddStringToObject(req, "body", sc->body);
    cJSON_AddStringToObject(req, "key", "AKIDEXAMPLE");
    cJSON_AddStringToObject(req, "secret", sc->secret);
    if (sc->token)
        cJSON_AddStringToObject(req, "token", sc->token);
    cJSON_AddStringToObject(req, "region", sc->region);
    cJSON_AddStringToObject(req, "service", sc->service);
    return req;
}

/* We sign the headers botocore signed, with its X-Amz-Date: the same canonical request and Authorization. */
static void same_as_botocore(const sign_case *sc, const char *answer)
{
    cJSON *ans = cJSON_Parse(answer);
    assert_non_null(ans);
    const char *date = cJSON_GetObjectItem(ans, "amz_date")->valuestring;
    const char *want_auth = cJSON_GetObjectItem(ans, "authorization")->valuestring;
    const char *want_cr = cJSON_GetObjectItem(ans, "canonical_request")->valuestring;
    vz_sigv4_header h[6] = {{"Host", sc->host},
                            {"Content-Type", "application/x-amz-json-1.0"},
                            {"X-Amz-Target", "AmazonSQS.SendMessage"},
                            {"X-Amz-Date", date}};
    size_t n = 4;
    if (sc->token)
        h[n++] = (vz_sigv4_header){"X-Amz-Security-Token", sc->token};
    if (sc->extra_name)
        h[n++] = (vz_sigv4_header){sc->extra_name, sc->extra_value};
    vz_sigv4_request r = {.method = "POST",
                          .path = sc->path,
                          .query = sc->query,
                          .headers = h,
                          .nheaders = n,
                          .payload = sc->body,
                          .payload_len = strlen(sc->body),
                          .amz_date = date};
    vz_sigv4_key k = {
        .access_key_id = "AKIDEXAMPLE", .secret_key = sc->secret, .region = sc->region, .service = sc->service};
    char *cr = vz_sigv4_canonical_request(&r), *auth = vz_sigv4_authorization(&r, &k);
    assert_non_null(cr);
    assert_non_null(auth);
    if (strcmp(cr, want_cr) != 0)
        fail_msg("canonical request for %s:\n-- ours --\n%s\n-- botocore's --\n%s", sc->url, cr, want_cr);
    if (strcmp(auth, want_auth) != 0)
        fail_msg("Authorization for %s:\n ours:      %s\n botocore: %s", sc->url, auth, want_auth);
    assert_null(strstr(auth, sc->secret));
    free(cr);
    free(auth);
    cJSON_Delete(ans);
}

static const sign_case sign_cases[] = {
    /* a plain SQS call to a local endpoint */
    {.url = "http://127.0.0.1:4566/",
     .path = "/",
     .host = "127.0.0.1:4566",
     .body = "{\"QueueUrl\":\"http://127.0.0.1:4566/000000000000/q\",\"MessageBody\":\"x\"}",
     .secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
     .region = "us-east-1",
     .service = "sqs"},
    /* a session token, AWS's own host, UTF-8 and escapes in the body */
    {.url = "https://sqs.eu-west-3.amazonaws.com/",
     .path = "/",
     .host = "sqs.eu-west-3.amazonaws.com",
     .body = "{\"MessageBody\":\"caf\xc3\xa9  \\u00e9 \\\"q\\\"\"}",
     .secret = "s3cr3t",
     .token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+token/value=",
     .region = "eu-west-3",
     .service = "sqs"},
    /* an empty body, a secret longer than HMAC's block, another service */
    {.url = "http://localhost:9324/",
     .path = "/",
     .host = "localhost:9324",
     .body = "",
     .secret = "a-secret-longer-than-sixty-four-bytes-0123456789-0123456789-0123456789-0123456789",
     .region = "ap-southeast-2",
     .service = "lambda"},
    /* a path that needs encoding (twice, as non-S3 services want), a query out of order, runs of spaces */
    {.url = "http://127.0.0.1:8000/000000000000/a%20queue:x/?b=2&a=9&a=1&c",
     .path = "/000000000000/a%20queue:x/",
     .query = "b=2&a=9&a=1&c",
     .host = "127.0.0.1:8000",
     .body = "Action=SendMessage&MessageBody=hi",
     .secret = "secret",
     .region = "us-west-2",
     .service = "sqs",
     .extra_name = "X-Amz-Meta-Note",
     .extra_value = "  two   spaces\tand a tab  "},
};

/* Every case signed by botocore in one run (its import is the slow part), then by us. */
static void signs_as_botocore(void **state)
{
    (void)state;
    enum { N = sizeof sign_cases / sizeof sign_cases[0] };
    cJSON *all = cJSON_CreateArray();
    for (size_t i = 0; i < N; i++)
        cJSON_AddItemToArray(all, sign_request(&sign_cases[i]));
    char *answers = reference(all);
    cJSON_Delete(all);
    for (size_t i = 0; i < N; i++) {
        char *answer = line_of(answers, i);
        same_as_botocore(&sign_cases[i], answer);
        free(answer);
    }
    free(answers);
}

/* What cannot be signed is refused rather than signed wrong. */
static void refuses_what_it_cannot_sign(void **state)
{
    (void)state;
    vz_sigv4_header twice[] = {{"Host", "a"}, {"host", "b"}, {"X-Amz-Date", "20261207T000000Z"}};
    vz_sigv4_request r = {
        .method = "POST", .path = "/", .headers = twice, .nheaders = 3, .amz_date = "20261207T000000Z"};
    assert_null(vz_sigv4_canonical_request(&r));
    r.nheaders = 0;
    assert_null(vz_sigv4_canonical_request(&r));
    r.headers = twice + 1;
    r.nheaders = 2;
    r.amz_date = "2026-12-07T00:00:00Z";
    assert_null(vz_sigv4_canonical_request(&r));
    r.amz_date = "20261207T000000Z";
    char *cr = vz_sigv4_canonical_request(&r);
    assert_non_null(cr);
    free(cr);
}

static void amz_date_is_basic_iso8601_utc(void **state)
{
    (void)state;
    char d[17];
    vz_sigv4_amz_date(1796677200, d); /* 2026-12-07 21:00:00 UTC */
    assert_string_equal(d, "20261207T210000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fips_examples),
        cmocka_unit_test(sha256_matches_hashlib_at_every_padding_edge),
        cmocka_unit_test(sha256_incremental_is_one_call),
        cmocka_unit_test(sha256_of_a_million_bytes),
        cmocka_unit_test(hmac_matches_python),
        cmocka_unit_test(signs_as_botocore),
        cmocka_unit_test(refuses_what_it_cannot_sign),
        cmocka_unit_test(amz_date_is_basic_iso8601_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
