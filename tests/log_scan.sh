#!/usr/bin/env bash
# log_scan.sh -- the last stage of scripts/test: no log the integration tests kept holds an API
# key, the database password, or a whole payload.
# usage: log_scan.sh LOG_DIR
#   LOG_DIR is $VZ_TEST_LOG_DIR: the runtime, faults, e2e, soak and security_db tests copy every
#   log they made there (emulator + runtime, PostgreSQL, SQS server, vz-events invoke), and append
#   each API key they made up to LOG_DIR/.secrets.  The database password is $PGPASSWORD, which
#   scripts/test sets to a random value for the run (the throwaway servers use trust
#   authentication, so it is never asked for, but every process holds it).
# A whole payload is recognised by its structure: a Hasura event's `"data":{"old"|"new"` or an SQS
# event's `"Records":[`.  Fails when a pattern is found (naming the file and pattern, not the
# value), or when there is nothing to scan.
set -u
dir=${1:?usage: log_scan.sh LOG_DIR}
[ -d "$dir" ] || { echo "log_scan: no log folder $dir (VZ_TEST_LOG_DIR)" >&2; exit 1; }
mapfile -t files < <(find "$dir" -type f ! -name .secrets)
nkeys=0
[ -f "$dir/.secrets" ] && nkeys=$(sort -u "$dir/.secrets" | grep -c .)
echo "log_scan: ${#files[@]} log files, $(cat "${files[@]}" 2>/dev/null | wc -l) lines, $nkeys API keys, password ${PGPASSWORD:+set}"
[ "${#files[@]}" -ge 10 ] || { echo "log_scan: FAIL: fewer than 10 log files kept: the scan would prove nothing" >&2; exit 1; }
[ "$nkeys" -ge 2 ] || { echo "log_scan: FAIL: fewer than 2 API keys recorded" >&2; exit 1; }
bad=0
n=0
while IFS= read -r key; do
    [ -n "$key" ] || continue
    n=$((n + 1))
    hits=$(grep -rlF -- "$key" "${files[@]}")
    [ -z "$hits" ] || { echo "log_scan: FAIL: API key #$n found in: $hits" >&2; bad=1; }
done < <(sort -u "$dir/.secrets")
if [ -n "${PGPASSWORD:-}" ]; then
    hits=$(grep -rlF -- "$PGPASSWORD" "${files[@]}")
    [ -z "$hits" ] || { echo "log_scan: FAIL: the database password found in: $hits" >&2; bad=1; }
else
    echo "log_scan: FAIL: PGPASSWORD is not set; scripts/test sets it" >&2
    bad=1
fi
for pat in '"data": *\{ *"(old|new)"' '"Records": *\['; do
    hits=$(grep -rlE -- "$pat" "${files[@]}")
    [ -z "$hits" ] || { echo "log_scan: FAIL: a whole payload ($pat) found in: $hits" >&2; bad=1; }
done
[ $bad -eq 0 ] && echo "log_scan: clean"
exit $bad
