/* sigv4.h -- AWS Signature Version 4 for the SQS client, and the SHA-256 and HMAC it rests on.
 *
 * Our own signer rather than libcurl's CURLOPT_AWS_SIGV4: libcurl up to 8.2
 * (Debian's 7.88.1, the one the lean bootstrap compiles) names a removed header
 * such as "Expect:" in SignedHeaders although it sends none, and a verifier
 * that rebuilds the canonical request from what it received refuses every such
 * request.  Here the caller lists the headers it sends, and exactly those are
 * signed: the signature holds whatever libcurl the bytes go out through.
 *
 * The steps are AWS's ("Create a signed AWS API request", SigV4):
 *   canonical request = METHOD \n URI \n QUERY \n name:value\n... \n signed;names \n hex(SHA-256(payload))
 *   string to sign    = AWS4-HMAC-SHA256 \n X-Amz-Date \n date/region/service/aws4_request \n hex(SHA-256(CR))
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service), "aws4_request")
 *   signature         = hex(HMAC(signing key, string to sign))
 * SHA-256 is FIPS 180-4's, HMAC is RFC 2104's; neither needs OpenSSL, so the
 * lean bootstrap signs without loading it.
 */
#ifndef VZ_SIGV4_H
#define VZ_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VZ_SHA256_LEN 32

/* An incremental SHA-256: init, update any number of times, final. */
typedef struct vz_sha256_ctx {
    uint32_t h[8];         /* the hash value H(i) */
    uint64_t bytes;        /* message length so far */
    unsigned char blk[64]; /* the message block being filled */
    size_t nblk;           /* bytes in blk */
} vz_sha256_ctx;

/* Start a SHA-256 (FIPS 180-4, 5.3.3's initial hash value). */
void vz_sha256_init(vz_sha256_ctx *s);

/* Hash `len` more bytes at `data`. */
void vz_sha256_update(vz_sha256_ctx *s, const void *data, size_t len);

/* Pad, finish and write the 32-byte digest to out; s must be initialised again before reuse. */
void vz_sha256_final(vz_sha256_ctx *s, unsigned char out[VZ_SHA256_LEN]);

/* The SHA-256 of `len` bytes at `data`, in one call. */
void vz_sha256(const void *data, size_t len, unsigned char out[VZ_SHA256_LEN]);

/* HMAC-SHA-256 (RFC 2104) of `len` bytes at `data` under the key of `klen` bytes at `key`. */
void vz_hmac_sha256(const void *key, size_t klen, const void *data, size_t len, unsigned char out[VZ_SHA256_LEN]);

/* Write the lower-case hex of `n` bytes at `in` to out (2n + 1 bytes, NUL-terminated). */
void vz_hex(const unsigned char *in, size_t n, char *out);

/* One header as it is sent; the name in any case (it is signed in lower case). */
typedef struct vz_sigv4_header {
    const char *name;
    const char *value;
} vz_sigv4_header;

/* What is signed: the request as it goes on the wire. */
typedef struct vz_sigv4_request {
    const char *method;             /* "POST" */
    const char *path;               /* the URL's path as sent, "/" when empty; dot segments already removed */
    const char *query;              /* the URL's query as sent, without '?', or NULL */
    const vz_sigv4_header *headers; /* every header to sign, each sent exactly so, distinct names; must
                                       include host and x-amz-date (and x-amz-security-token if any) */
    size_t nheaders;                /* at most VZ_SIGV4_MAX_HEADERS */
    const void *payload;            /* the body, or NULL when empty */
    size_t payload_len;             /* its length */
    const char *amz_date;           /* the X-Amz-Date sent, "YYYYMMDDTHHMMSSZ" */
} vz_sigv4_request;

#define VZ_SIGV4_MAX_HEADERS 16

/* Who signs, and for what. */
typedef struct vz_sigv4_key {
    const char *access_key_id; /* AWS_ACCESS_KEY_ID */
    const char *secret_key;    /* AWS_SECRET_ACCESS_KEY */
    const char *region;        /* "us-east-1" */
    const char *service;       /* "sqs" */
} vz_sigv4_key;

/* Format t (UTC) as X-Amz-Date's basic ISO 8601, "20261207T211500Z", into out (17 bytes). */
void vz_sigv4_amz_date(time_t t, char out[17]);

/* The canonical request of r (AWS's step 1), malloc'ed, caller frees; NULL on OOM or a request
 * that cannot be signed (no headers, too many, a name repeated, no or malformed amz_date). */
char *vz_sigv4_canonical_request(const vz_sigv4_request *r);

/* The Authorization header's value for r under k ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..."), malloc'ed, caller frees; NULL when vz_sigv4_canonical_request is. The secret appears
 * nowhere in it, and the key material derived from it is wiped before return. */
char *vz_sigv4_authorization(const vz_sigv4_request *r, const vz_sigv4_key *k);

#endif
