/* commands.h -- the subcommands of `vz-events`; main.c parses argv and calls one.
 * Each returns the process exit status (0 success, 1 rejected/failed, 2 usage). */
#ifndef VZ_COMMANDS_H
#define VZ_COMMANDS_H

#include <stddef.h>

/* `vz-events invoke [--handler NAME] [--timeout-ms N] EVENT.json|-`: run one event, print the answer. */
int vz_cmd_invoke(int argc, char **argv);

/* `vz-events handlers`: print the registered handler names, one a line. */
int vz_cmd_handlers(int argc, char **argv);

/* `vz-events event --queue QUEUE [--region R] BODY.json...`: wrap bodies into an SQS event on stdout. */
int vz_cmd_event(int argc, char **argv);

/* Read a whole file (or stdin for "-") of at most max bytes; malloc'd and NUL-terminated, caller frees.
 * Returns NULL with a message in errbuf when unreadable or too large. */
char *vz_read_file(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen);

#endif
