/* fuzz.h -- what the libFuzzer targets of tests/fuzz share.
 *
 * FUZZ_CHECK states a property the code must keep for every input; breaking
 * it aborts, which libFuzzer reports as a crash and saves as a reproducer,
 * like a sanitizer finding.  fuzz_quiet_logs() sends the log to /dev/null at
 * TRACE so that every log line is still built (and checked by the sanitizers). */
#ifndef VZ_FUZZ_H
#define VZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vz/log.h"

#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);                                \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Log every level, in JSON, to /dev/null. */
static inline void fuzz_quiet_logs(void)
{
    static FILE *devnull;
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    FUZZ_CHECK(devnull != NULL);
    vz_log_configure(1, VZ_LOG_TRACE, devnull);
}

#endif
