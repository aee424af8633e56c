/* contract.h -- a handler's statements checked against a real database schema.
 *
 * What rowsync (rowsync.h) expects of a handler's statements, checked without
 * running them: each is prepared on the database (a syntax error, a missing
 * table or column, a type mismatch is found here, with its line), and the
 * work statement's answer is described and compared with the rule: at least
 * four columns, `wrote` (the third) a boolean, the old and new values (the
 * first two) text or the type of the value column in the table.  Nothing is
 * executed and nothing written.  ctest's `handlers_schema` runs it for every
 * handler on a throwaway PostGIS with every handler's schema.sql.
 */
#ifndef VZ_CONTRACT_H
#define VZ_CONTRACT_H

#include <stdio.h>

#include "vz/handler.h"

struct pg_conn; /* libpq's PGconn */

/* Check h's rowsync statements on pg (an open libpq connection); each problem is one line on out naming the file (or
 * the handler's rule) and what to change.  Returns the number of problems (0: the contract holds). */
int vz_contract_check(struct pg_conn *pg, const vz_handler *h, FILE *out);

/* `vz-events check [HANDLER...]`: vz_contract_check for the named handlers, or every one with a
 * rowsync rule, on DATABASE_URL (or PG*).  Returns the process exit status. */
int vz_cmd_check(int argc, char **argv);

#endif
