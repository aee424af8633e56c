/* conninfo.h -- DATABASE_URL checked before use, and libpq's connection messages made safe to log.
 *
 * libpq quotes the connection string in its parse errors, password included,
 * and a malformed URL can turn part of a password into a host name that then
 * appears in "could not translate host name" messages.  These two functions
 * keep every secret out of what the runtime logs.
 */
#ifndef VZ_CONNINFO_H
#define VZ_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

/* Check a libpq URL or conninfo string.  Returns true when libpq can use it; else writes into
 * why (size n) which part is wrong and how, never any value of it. */
bool vz_conninfo_check(const char *url, char *why, size_t n);

/* Make a libpq message about the connection `url` safe to log, in place (it never grows):
 * the password of url (decoded, and as typed in a URL), PGPASSWORD's, and url itself become
 * asterisks wherever they appear. */
void vz_conninfo_scrub(char *msg, const char *url);

#endif
