#!/usr/bin/env bash
# launch.sh -- run a test binary, under $VZ_VALGRIND when scripts/test sets it.
exec ${VZ_VALGRIND:-} "$@"
