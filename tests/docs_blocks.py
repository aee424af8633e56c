#!/usr/bin/python3
"""docs_blocks.py -- extract the code blocks of a Markdown file for tests/handlers_guide_test.sh.

usage: docs_blocks.py MARKDOWN TREE SH_DIR [--strict]

A fenced block preceded by the line `<!-- file: PATH -->` is written to TREE/PATH (which
must not exist yet).  A `sh` block without one is written to SH_DIR/<file>-<n>.sh, for a
syntax check.  With --strict (the guide) every other block is an error: each block must be
built or checked by something.  Without it (the README) the others are left alone.

A walk-through is run, not just checked: its blocks go, in the page's order, into one script
SH_DIR/walk.sh that tests/handlers_walkthrough_test.sh runs in the tree:
  `<!-- walk -->`              a sh block, run as it is;
  `<!-- walk: PATH -->`        a block written to PATH (relative to the tree) at that point,
                               replacing what is there (e.g. a file the scaffold wrote);
  `<!-- walk-expect: PATH -->` lines the page shows as output: each must be a line of PATH,
                               a file an earlier walk block wrote.
Prints one line per block: "file PATH", "sh FILE", "walk N", "walk-file PATH",
"walk-expect PATH" or "skip LANG".
"""
import os
import re
import sys

md, tree, shdir = sys.argv[1:4]
strict = "--strict" in sys.argv[4:]
lines = open(md, encoding="utf-8").read().split("\n")
fence = re.compile(r"^```([A-Za-z0-9_-]*)\s*$")
note = re.compile(r"^<!-- file: ([A-Za-z0-9_./-]+) -->$")
walk_note = re.compile(r"^<!-- walk(?:(-expect)?: ([A-Za-z0-9_./-]+))? -->$")
errors = []
walk = []
i = n = 0
while i < len(lines):
    m = fence.match(lines[i])
    if not m:
        i += 1
        continue
    lang, start = m.group(1), i
    j = i + 1
    while j < len(lines) and lines[j] != "```":
        j += 1
    if j == len(lines):
        errors.append("%s:%d: block never closed" % (md, start + 1))
        break
    body = "\n".join(lines[i + 1:j]) + "\n"
    prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
    target = note.match(prev)
    walked = walk_note.match(prev)
    n += 1
    if walked:
        where = "%s:%d" % (md, start + 1)
        expect, path = walked.group(1), walked.group(2)
        if "VZ_WALK_EOF" in body:
            errors.append("%s: a walk block may not hold VZ_WALK_EOF" % where)
        elif path and not expect and (path.startswith("/") or ".." in path.split("/")):
            errors.append("%s: %s is outside the tree" % (where, path))
        elif expect:
            walk.append("echo 'walk: %s: the output shown'\nwhile IFS= read -r line; do\n"
                        "    grep -qxF -- \"$line\" '%s' || { echo \"walk: %s: not in %s: $line\" >&2; exit 1; }\n"
                        "done <<'VZ_WALK_EOF'\n%sVZ_WALK_EOF\n" % (where, path, where, path, body))
            print("walk-expect %s" % path)
        elif path:
            walk.append("echo 'walk: %s: %s'\nmkdir -p \"$(dirname '%s')\"\ncat >'%s' <<'VZ_WALK_EOF'\n%sVZ_WALK_EOF\n"
                        % (where, path, path, path, body))
            print("walk-file %s" % path)
        elif lang != "sh":
            errors.append("%s: a walk block to run must be sh, not %s" % (where, lang or "plain"))
        else:
            walk.append("echo 'walk: %s'\n%s" % (where, body))
            print("walk %d" % len(walk))
    elif target:
        path = target.group(1)
        if path.startswith("/") or ".." in path.split("/"):
            errors.append("%s:%d: file %s is outside the tree" % (md, start + 1, path))
        else:
            dest = os.path.join(tree, path)
            if os.path.exists(dest):
                errors.append("%s:%d: %s exists already" % (md, start + 1, path))
            else:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "w", encoding="utf-8") as f:
                    f.write(body)
                print("file %s" % path)
    elif lang == "sh":
        dest = os.path.join(shdir, "%s-%d.sh" % (os.path.basename(md), n))
        with open(dest, "w", encoding="utf-8") as f:
            f.write(body)
        print("sh %s" % dest)
    elif strict:
        errors.append("%s:%d: a %s block that nothing builds (name its file: <!-- file: PATH -->)"
                      % (md, start + 1, lang or "plain"))
    else:
        print("skip %s" % (lang or "plain"))
    i = j + 1
if walk:
    with open(os.path.join(shdir, "walk.sh"), "w", encoding="utf-8") as f:
        f.write("# the walk-through of %s, block by block (tests/docs_blocks.py)\nset -euo pipefail\n" % md)
        f.write("\n".join(walk))
for e in errors:
    sys.stderr.write("docs_blocks: %s\n" % e)
sys.exit(1 if errors else 0)
