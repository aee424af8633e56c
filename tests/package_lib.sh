# package_lib.sh -- sourced by the tests that run the zip's bootstrap.
#
# package_unpacked SRC BUILD TMP: scripts/package (--no-build) writes TMP/vz-events.zip, which is
#   unpacked into TMP/task; sets `task` to that folder.  When packaging fails it prints the
#   packager's output and exits 1.
# image_libraries SRC: the sonames deploy/al2023-provided.txt says the provided.al2023 image has,
#   one per line.
# loaded_objects LD_DEBUG_LOG: the objects the loader initialised (LD_DEBUG=libs' "calling init:"
#   lines), one per line, sorted.
# mapped_objects PID: the shared objects /proc/PID/maps names, one per line, sorted.
# only_zip_or_image LIST [TASK]: whether every object named in the file LIST (a path a line) is
#   under TASK (default $task) or a library the image has: on $allowed (image_libraries) by its
#   SONAME, or by its file name when it has none (maps name the real file, libkrb5.so.3.3; the
#   allow-list names sonames).  Names every other one on stderr and returns 1.

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

loaded_objects() {
    awk '/calling init:/ { print $NF }' "$1" | sort -u
}

mapped_objects() {
    awk '$6 ~ /\.so/ { print $6 }' "/proc/$1/maps" | sort -u
}

only_zip_or_image() {
    local root=${2:-$task} p so bad=0
    while read -r p; do
        case "$p" in "$root"/*) continue ;; esac
        so=$(readelf -d "$p" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
        grep -qxF "${so:-$(basename "$p")}" <<<"$allowed" || { echo "  from outside the zip and not on the allow-list: $p" >&2; bad=1; }
    done <"$1"
    return $bad
}
