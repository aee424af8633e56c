"""emf_check.py -- check the metric lines of a vz-events log against the Embedded Metric Format spec.

usage: python3 -B emf_check.py LOG [EXPECT...]
  Every line of LOG that is a JSON object with an "_aws" member is a metric line and must follow the
  CloudWatch Embedded Metric Format specification: the line is the object and nothing else; _aws has
  a numeric Timestamp (whole epoch milliseconds, within a day of now) and CloudWatchMetrics, a non-empty
  array of directives, each with a Namespace (1 to 255 characters), Dimensions (an array of dimension
  sets, each an array of at most 30 names whose values are non-empty strings at the top level) and
  Metrics (1 to 100 definitions, each a Name and a valid Unit, each Name's value a number at the top
  level).  No dimension may be a message id or a row key (cardinality).
  EXPECT is Metric{Dim=value,...}=N: the values of Metric on the lines whose dimensions match sum to N.
  At least one metric line must be found.  Exit status 0 when everything holds.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vzcheck import check, finish  # noqa: E402

UNITS = {"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
         "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
         "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
         "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
         "Count/Second", "None"}
FORBIDDEN = {"messageId", "MessageId", "crash_id", "case_id", "requestId", "key"}


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate(n, line, o):
    where = "line %d" % n
    check(where + " is only the object", line == line.strip() and line.startswith("{") and line.endswith("}"))
    aws = o.get("_aws")
    check(where + " _aws is an object", isinstance(aws, dict))
    if not isinstance(aws, dict):
        return
    ts = aws.get("Timestamp")
    check(where + " Timestamp is whole epoch ms near now",
          is_number(ts) and ts == int(ts) and abs(ts - time.time() * 1000) < 86400000, repr(ts))
    cwm = aws.get("CloudWatchMetrics")
    check(where + " CloudWatchMetrics is a non-empty array", isinstance(cwm, list) and len(cwm) >= 1)
    for d in cwm or []:
        ns = d.get("Namespace")
        check(where + " Namespace", isinstance(ns, str) and 1 <= len(ns) <= 255, repr(ns))
        dims = d.get("Dimensions")
        check(where + " Dimensions is an array", isinstance(dims, list))
        for ds in dims or []:
            check(where + " a dimension set of at most 30", isinstance(ds, list) and len(ds) <= 30)
            for name in ds:
                v = o.get(name)
                check(where + " dimension %s is a string at the top" % name, isinstance(v, str) and 0 < len(v) <= 1024)
                check(where + " dimension %s is low in cardinality" % name, name not in FORBIDDEN)
        ms = d.get("Metrics")
        check(where + " Metrics: 1 to 100", isinstance(ms, list) and 1 <= len(ms) <= 100)
        for m in ms or []:
            name = m.get("Name")
            check(where + " metric Name", isinstance(name, str) and 1 <= len(name) <= 255)
            check(where + " metric Unit", "Unit" not in m or m["Unit"] in UNITS, repr(m.get("Unit")))
            check(where + " metric %s's value is a number at the top" % name, is_number(o.get(name)))


def parse_expect(e):
    metric, rest = e.split("{", 1)
    dims, want = rest.rsplit("}=", 1)
    pairs = dict(p.split("=", 1) for p in dims.split(",") if p)
    return metric, pairs, float(want)


def main():
    path = sys.argv[1]
    lines = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.startswith("{"):
                continue
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if isinstance(o, dict) and "_aws" in o:
                validate(n, line, o)
                lines.append(o)
    check("metric lines found in " + path, len(lines) > 0)
    for e in sys.argv[2:]:
        metric, pairs, want = parse_expect(e)
        got = sum(o.get(metric, 0) for o in lines
                  if metric in o and all(o.get(k) == v for k, v in pairs.items()))
        check("expect " + e, got == want, "got %s" % got)
    finish("emf_check (%d metric lines)" % len(lines))


main()
