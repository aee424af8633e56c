/* aws_error.h -- the code and message of an AWS service's error answer, in either protocol.
 *
 * AWS JSON protocols answer {"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "..."}
 * ("Message", "code" and "Code" in some services); the Query protocol answers
 * <ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>...</Message>
 * </Error>...</ErrorResponse>.  A signature error's message goes on, after its first line, to quote the
 * canonical request the service expected, session token included: only the first line is kept.
 */
#ifndef VZ_AWS_ERROR_H
#define VZ_AWS_ERROR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct vz_aws_error {
    char code[64];     /* "SignatureDoesNotMatch", without the JSON type's namespace; "" when none */
    char message[512]; /* the message's first line, XML entities decoded; "" when none */
} vz_aws_error;

/* Parse the error body of `len` bytes at `body` (JSON or XML) into out; true when it names a code. */
bool vz_aws_error_parse(const char *body, size_t len, vz_aws_error *out);

#endif
