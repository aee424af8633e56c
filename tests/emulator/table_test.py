#!/usr/bin/env python3
"""table_test.py -- every row of docs/emulator.md's table against Lambda and AWS's RIE names, in its
last column, at least one test, and every test it names is registered with ctest (tests/*.cmake:
add_test(NAME ...) or vz_scenarios(PREFIX ... SCENARIOS ...)).

usage: table_test.py SOURCE_DIR
"""
import glob
import os
import re
import sys

src = sys.argv[1]
tests = set()
for f in glob.glob(os.path.join(src, "tests", "*.cmake")):
    text = open(f, encoding="utf-8").read()
    tests.update(re.findall(r"add_test\(\s*NAME\s+([A-Za-z0-9_]+)", text))
    for prefix, body in re.findall(r"vz_scenarios\(\s*(\w+)\s+(.*?)\)", text, re.S):
        m = re.search(r"SCENARIOS\s+(.*?)(?:\bARGS\b|$)", body, re.S)
        if m:
            tests.update(f"{prefix}_{s}" for s in m.group(1).split())

doc = open(os.path.join(src, "docs", "emulator.md"), encoding="utf-8").read()
section = doc.split("## Against Lambda and AWS's Runtime Interface Emulator", 1)[1].split("\n## ", 1)[0]
rows = [l for l in section.splitlines() if l.startswith("| ") and not l.startswith("| behaviour |")]
fails = 0
for line in rows:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    name, checked = cells[0], cells[-1]
    named = [n for n in re.findall(r"`([a-z0-9_]+)`", checked) if "_" in n]
    missing = [n for n in named if n not in tests]
    if not named:
        print(f"FAIL: row {name!r} names no test in its last column", file=sys.stderr)
        fails += 1
    elif missing:
        print(f"FAIL: row {name!r} names tests ctest does not have: {', '.join(missing)}", file=sys.stderr)
        fails += 1
    else:
        print(f"ok: {name}: {', '.join(named)}")
if len(rows) < 10:
    print(f"FAIL: only {len(rows)} rows found: is the table still there?", file=sys.stderr)
    fails += 1
print(f"emulator table: {len(rows)} rows, {fails} failed")
sys.exit(1 if fails else 0)
