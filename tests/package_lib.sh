# package_lib.sh -- sourced by the tests that run the zip's bootstrap.
#
# package_unpacked SRC BUILD TMP: scripts/package (--no-build) writes TMP/vz-events.zip, which is
#   unpacked into TMP/task; sets `task` to that folder.  When packaging fails it prints the
#   packager's output and exits 1.
# image_libraries SRC: the sonames deploy/al2023-provided.txt says the provided.al2023 image has,
#   one per line.

package_unpacked() {
    local src=$1 build=$2 tmp=$3
    if ! "$src/scripts/package" --build-dir "$build" --no-build --out "$tmp/vz-events.zip" >"$tmp/package.out" 2>&1; then
        cat "$tmp/package.out" >&2
        echo "FAIL: scripts/package" >&2
        exit 1
    fi
    task=$tmp/task
    mkdir "$task" && (cd "$task" && unzip -q "$tmp/vz-events.zip")
}

image_libraries() {
    grep -v '^[[:space:]]*\(#\|$\)' "$1/deploy/al2023-provided.txt" | awk '{ print $1 }'
}
