/* base64.h -- RFC 4648 base64, for HTTP bodies that Lambda's function URLs and API Gateway
 * pass base64-encoded (isBase64Encoded). */
#ifndef VZ_BASE64_H
#define VZ_BASE64_H

#include <stddef.h>

/* Decode `len` characters of standard base64 (padding optional, no whitespace) into a malloc'd
 * buffer of *out_len bytes plus a NUL, caller frees. NULL when the text is not base64 or on OOM. */
unsigned char *vz_base64_decode(const char *text, size_t len, size_t *out_len);

/* Encode `len` bytes as standard padded base64; malloc'd NUL-terminated string, caller frees. NULL on OOM. */
char *vz_base64_encode(const void *data, size_t len);

#endif
