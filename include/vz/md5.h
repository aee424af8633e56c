/* md5.h -- MD5 digests (RFC 1321), for SQS's md5OfBody.  Not for security. */
#ifndef VZ_MD5_H
#define VZ_MD5_H

#include <stddef.h>

/* Write the lower-case hex MD5 of `len` bytes at `data` into hex (33 bytes incl. NUL). */
void vz_md5_hex(const void *data, size_t len, char hex[33]);

#endif
