/* error.h -- status codes and the error record every fallible call fills.
 *
 * Functions return a vz_status (0 or a negative code, libuv style) and, when
 * they fail, fill a caller-provided vz_error with a message meant for a person:
 * what failed, which record, what to do.  The `type` is the Lambda error type
 * reported to the Runtime API ("Function.InvalidEvent", "Runtime.HandlerNotFound").
 */
#ifndef VZ_ERROR_H
#define VZ_ERROR_H

#include <stdarg.h>

typedef enum vz_status {
    VZ_OK = 0,
    VZ_ERR = -1,       /* generic failure, see the vz_error message */
    VZ_EINVAL = -2,    /* bad input: the event, a record, an argument */
    VZ_ENOMEM = -3,    /* allocation failed */
    VZ_ENOTFOUND = -4, /* a named thing (handler, row, file) does not exist */
    VZ_ETIMEDOUT = -5, /* the invocation's deadline was reached */
    VZ_EIO = -6,       /* I/O, network or database failure */
    VZ_ESKIPPED = -7   /* a record was not started (deadline, FIFO order) */
} vz_status;

typedef struct vz_error {
    char type[64];      /* Lambda error type, e.g. "Function.InvalidEvent" */
    char message[1024]; /* human-readable text, UTF-8, may be truncated */
} vz_error;

/* Set the error's type and formatted message; either may be NULL (type "" / message ""). */
void vz_error_set(vz_error *err, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* va_list variant of vz_error_set. */
void vz_error_setv(vz_error *err, const char *type, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Reset the error to empty. Accepts NULL. */
void vz_error_clear(vz_error *err);

/* Name of a status code ("VZ_EINVAL"); static string, never NULL. */
const char *vz_status_name(vz_status st);

#endif
