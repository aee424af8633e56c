/* error.c -- vz_error helpers.  Messages are truncated on a UTF-8 boundary so
 * that whatever reaches a JSON encoder is still valid text. */
#include "vz/error.h"

#include <stdio.h>
#include <string.h>

/* Cut `s` back so it does not end in the middle of a UTF-8 sequence. */
static void trim_partial_utf8(char *s)
{
    size_t n = strlen(s);
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < want)
        s[i - 1] = '\0';
}

void vz_error_setv(vz_error *err, const char *type, const char *fmt, va_list ap)
{
    if (!err)
        return;
    snprintf(err->type, sizeof err->type, "%s", type ? type : "");
    if (fmt) {
        int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
        if (n >= (int)sizeof err->message)
            trim_partial_utf8(err->message);
    } else {
        err->message[0] = '\0';
    }
}

void vz_error_set(vz_error *err, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vz_error_setv(err, type, fmt, ap);
    va_end(ap);
}

void vz_error_clear(vz_error *err)
{
    if (err) {
        err->type[0] = '\0';
        err->message[0] = '\0';
    }
}

const char *vz_status_name(vz_status st)
{
    switch (st) {
    case VZ_OK:
        return "VZ_OK";
    case VZ_ERR:
        return "VZ_ERR";
    case VZ_EINVAL:
        return "VZ_EINVAL";
    case VZ_ENOMEM:
        return "VZ_ENOMEM";
    case VZ_ENOTFOUND:
        return "VZ_ENOTFOUND";
    case VZ_ETIMEDOUT:
        return "VZ_ETIMEDOUT";
    case VZ_EIO:
        return "VZ_EIO";
    case VZ_ESKIPPED:
        return "VZ_ESKIPPED";
    }
    return "VZ_UNKNOWN";
}
