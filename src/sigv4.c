/* sigv4.c -- SHA-256 (FIPS 180-4), HMAC-SHA-256 (RFC 2104) and AWS Signature Version 4 (see sigv4.h).
 *
 * SHA-256 follows FIPS 180-4 section 6.2: 64-byte blocks, a 64-word message
 * schedule, 64 rounds with the constants K (the first 32 bits of the fractional
 * parts of the cube roots of the first 64 primes), the length in bits appended
 * big-endian after a 0x80 byte and zero padding.  HMAC is RFC 2104's
 * H((K ^ opad) || H((K ^ ipad) || text)) with a 64-byte block.
 *
 * The signer builds the canonical request from exactly the headers it is
 * given: lower-cased names, sorted; values with leading and trailing spaces
 * trimmed and inner runs of spaces made one; the path URI-encoded (every byte
 * but the unreserved ones and '/'); the query's pairs sorted as sent.
 */
#include "vz/sigv4.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vz/buf.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return x >> n | x << (32 - n);
}

/* FIPS 180-4 6.2.2: one 512-bit block into the hash value. */
static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (size_t t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 |
               (uint32_t)p[4 * t + 3];
    for (size_t t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ w[t - 15] >> 3;
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ w[t - 2] >> 10;
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (size_t t = 0; t < 64; t++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void vz_sha256_init(vz_sha256_ctx *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
    s->nblk = 0;
}

void vz_sha256_update(vz_sha256_ctx *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    s->bytes += len;
    while (len > 0) {
        size_t n = 64 - s->nblk < len ? 64 - s->nblk : len;
        memcpy(s->blk + s->nblk, p, n);
        s->nblk += n, p += n, len -= n;
        if (s->nblk == 64) {
            sha256_block(s->h, s->blk);
            s->nblk = 0;
        }
    }
}

void vz_sha256_final(vz_sha256_ctx *s, unsigned char out[VZ_SHA256_LEN])
{
    uint64_t bits = s->bytes * 8;
    unsigned char pad = 0x80;
    vz_sha256_update(s, &pad, 1);
    pad = 0;
    while (s->nblk != 56)
        vz_sha256_update(s, &pad, 1);
    unsigned char len[8];
    for (size_t i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    vz_sha256_update(s, len, 8);
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < 4; j++)
            out[4 * i + j] = (unsigned char)(s->h[i] >> (24 - 8 * j));
}

void vz_sha256(const void *data, size_t len, unsigned char out[VZ_SHA256_LEN])
{
    vz_sha256_ctx s;
    vz_sha256_init(&s);
    vz_sha256_update(&s, data, len);
    vz_sha256_final(&s, out);
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void vz_hmac_sha256(const void *key, size_t klen, const void *data, size_t len, unsigned char out[VZ_SHA256_LEN])
{
    unsigned char k[64] = {0}, pad[64], inner[VZ_SHA256_LEN];
    if (klen > sizeof k) /* RFC 2104: a key longer than the block is hashed first */
        vz_sha256(key, klen, k);
    else if (klen > 0)
        memcpy(k, key, klen);
    vz_sha256_ctx s;
    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    vz_sha256_init(&s);
    vz_sha256_update(&s, pad, 64);
    vz_sha256_update(&s, data, len);
    vz_sha256_final(&s, inner);
    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    vz_sha256_init(&s);
    vz_sha256_update(&s, pad, 64);
    vz_sha256_update(&s, inner, sizeof inner);
    vz_sha256_final(&s, out);
    wipe(k, sizeof k);
    wipe(pad, sizeof pad);
    wipe(inner, sizeof inner);
    wipe(&s, sizeof s);
}

void vz_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void vz_sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* A string being built; any failed append leaves ok false and the rest are skipped. */
typedef struct text {
    char *data;
    size_t len, cap;
    bool ok;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->ok && vz_buf_append(&t->data, &t->len, &t->cap, s, n, 512) != 0)
        t->ok = false;
}

static void puts_(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* The path URI-encoded as AWS's non-S3 services want it: every byte but unreserved ones and '/'. */
static void put_path(text *t, const char *path)
{
    if (!path || !*path)
        path = "/";
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (unreserved(*p) || *p == '/') {
            put(t, (const char *)p, 1);
        } else {
            char esc[4];
            put(t, esc, (size_t)snprintf(esc, sizeof esc, "%%%02X", *p));
        }
    }
}

typedef struct pair {
    const char *name, *value; /* as sent, not NUL-terminated */
    size_t nname, nvalue;
} pair;

static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = bytes_cmp(x->name, x->nname, y->name, y->nname);
    return c ? c : bytes_cmp(x->value, x->nvalue, y->value, y->nvalue);
}

/* The query's name=value pairs as sent, sorted by name then value ("a" is "a="); "" when none. */
static void put_query(text *t, const char *query)
{
    if (!query || !*query)
        return;
    size_t n = 1;
    for (const char *p = query; *p; p++)
        n += *p == '&';
    pair *pairs = calloc(n, sizeof *pairs);
    if (!pairs) {
        t->ok = false;
        return;
    }
    size_t k = 0;
    for (const char *p = query;;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nname = eq ? (size_t)(eq - p) : len;
        pairs[k++] = (pair){p, eq ? eq + 1 : p + len, nname, eq ? len - nname - 1 : 0};
        if (!amp)
            break;
        p = amp + 1;
    }
    qsort(pairs, k, sizeof *pairs, pair_cmp);
    for (size_t i = 0; i < k; i++) {
        if (i)
            put(t, "&", 1);
        put(t, pairs[i].name, pairs[i].nname);
        put(t, "=", 1);
        put(t, pairs[i].value, pairs[i].nvalue);
    }
    free(pairs);
}

/* A header's value as canonical: trimmed, inner runs of spaces and tabs made one space. */
static void put_value(text *t, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    bool space = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = true;
            continue;
        }
        if (space)
            put(t, " ", 1);
        space = false;
        put(t, v, 1);
    }
}

static int header_cmp(const void *a, const void *b)
{
    const vz_sigv4_header *x = *(const vz_sigv4_header *const *)a, *y = *(const vz_sigv4_header *const *)b;
    return strcasecmp(x->name, y->name);
}

static void put_lower(text *t, const char *s)
{
    for (; *s; s++) {
        char c = (char)tolower((unsigned char)*s);
        put(t, &c, 1);
    }
}

/* The headers sorted by lower-case name; false when there are none, too many, or a name twice. */
static bool sorted_headers(const vz_sigv4_request *r, const vz_sigv4_header *out[VZ_SIGV4_MAX_HEADERS])
{
    if (r->nheaders == 0 || r->nheaders > VZ_SIGV4_MAX_HEADERS)
        return false;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (!r->headers[i].name || !*r->headers[i].name || !r->headers[i].value)
            return false;
        out[i] = &r->headers[i];
    }
    qsort(out, r->nheaders, sizeof(const vz_sigv4_header *), header_cmp);
    for (size_t i = 1; i < r->nheaders; i++)
        if (strcasecmp(out[i - 1]->name, out[i]->name) == 0)
            return false;
    return true;
}

static void put_signed_names(text *t, const vz_sigv4_header *const *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(t, ";", 1);
        put_lower(t, h[i]->name);
    }
}

static bool valid_amz_date(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return false;
    for (size_t i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)d[i]))
            return false;
    return true;
}

char *vz_sigv4_canonical_request(const vz_sigv4_request *r)
{
    const vz_sigv4_header *h[VZ_SIGV4_MAX_HEADERS];
    if (!r->method || !valid_amz_date(r->amz_date) || !sorted_headers(r, h))
        return NULL;
    text t = {.ok = true};
    puts_(&t, r->method);
    put(&t, "\n", 1);
    put_path(&t, r->path);
    put(&t, "\n", 1);
    put_query(&t, r->query);
    put(&t, "\n", 1);
    for (size_t i = 0; i < r->nheaders; i++) {
        put_lower(&t, h[i]->name);
        put(&t, ":", 1);
        put_value(&t, h[i]->value);
        put(&t, "\n", 1);
    }
    put(&t, "\n", 1);
    put_signed_names(&t, h, r->nheaders);
    put(&t, "\n", 1);
    unsigned char digest[VZ_SHA256_LEN];
    char hex[2 * VZ_SHA256_LEN + 1];
    vz_sha256(r->payload ? r->payload : "", r->payload ? r->payload_len : 0, digest);
    vz_hex(digest, sizeof digest, hex);
    puts_(&t, hex);
    if (!t.ok) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

char *vz_sigv4_authorization(const vz_sigv4_request *r, const vz_sigv4_key *k)
{
    if (!k->access_key_id || !k->secret_key || !k->region || !k->service)
        return NULL;
    char *cr = vz_sigv4_canonical_request(r);
    if (!cr)
        return NULL;
    char date[9], scope[256], crhex[2 * VZ_SHA256_LEN + 1];
    unsigned char digest[VZ_SHA256_LEN];
    snprintf(date, sizeof date, "%.8s", r->amz_date);
    vz_sha256(cr, strlen(cr), digest);
    free(cr);
    vz_hex(digest, sizeof digest, crhex);
    int sn = snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, k->region, k->service);
    if (sn < 0 || (size_t)sn >= sizeof scope)
        return NULL;
    text sts = {.ok = true};
    puts_(&sts, "AWS4-HMAC-SHA256\n");
    puts_(&sts, r->amz_date);
    put(&sts, "\n", 1);
    puts_(&sts, scope);
    put(&sts, "\n", 1);
    puts_(&sts, crhex);
    /* The signing key: "AWS4" + secret, then the scope's parts one HMAC each. */
    size_t slen = strlen(k->secret_key);
    char *seed = malloc(slen + 5);
    unsigned char key[VZ_SHA256_LEN], sig[VZ_SHA256_LEN];
    if (!sts.ok || !seed) {
        free(sts.data);
        free(seed);
        return NULL;
    }
    snprintf(seed, slen + 5, "AWS4%s", k->secret_key);
    vz_hmac_sha256(seed, slen + 4, date, 8, key);
    wipe(seed, slen + 4);
    free(seed);
    vz_hmac_sha256(key, sizeof key, k->region, strlen(k->region), key);
    vz_hmac_sha256(key, sizeof key, k->service, strlen(k->service), key);
    vz_hmac_sha256(key, sizeof key, "aws4_request", 12, key);
    vz_hmac_sha256(key, sizeof key, sts.data, sts.len, sig);
    wipe(key, sizeof key);
    free(sts.data);
    char sighex[2 * VZ_SHA256_LEN + 1];
    vz_hex(sig, sizeof sig, sighex);
    const vz_sigv4_header *h[VZ_SIGV4_MAX_HEADERS];
    sorted_headers(r, h); /* succeeded in vz_sigv4_canonical_request */
    text a = {.ok = true};
    puts_(&a, "AWS4-HMAC-SHA256 Credential=");
    puts_(&a, k->access_key_id);
    put(&a, "/", 1);
    puts_(&a, scope);
    puts_(&a, ", SignedHeaders=");
    put_signed_names(&a, h, r->nheaders);
    puts_(&a, ", Signature=");
    puts_(&a, sighex);
    if (!a.ok) {
        free(a.data);
        return NULL;
    }
    return a.data;
}
