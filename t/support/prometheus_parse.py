#!/usr/bin/python3
"""Parses a metrics page with a real Prometheus text-format parser.

    t/support/prometheus_parse.py < page

Reads the text exposition format (0.0.4) on stdin, parses it with the
parser of Debian's python3-prometheus-client
(prometheus_client.parser.text_string_to_metric_families) and prints one
line a sample, sorted:

    name{k="v",...} value

labels sorted by name, their values escaped as the format escapes them
(\\\\, \\", \\n), the value an integer when it is one. Exits 1 with the
reason on stderr when the text does not parse.

That parser is lax: a sample whose name is not the name of the TYPE line
before it, a family given twice, or text that is not UTF-8 or does not end
in a line feed parse without an error there. Prometheus types such samples
wrongly or refuses the page, so each is an error here too.

/usr/bin/python3, not the first python3 of PATH: Debian's package is
installed for Debian's python.
"""

import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def fail(reason):
    sys.stderr.write("prometheus_parse: %s\n" % reason)
    sys.exit(1)


def escaped(value):
    return (value.replace("\\", "\\\\").replace("\n", "\\n")
            .replace('"', '\\"'))


def number(value):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() else repr(value)


def sample_line(sample):
    labels = ",".join('%s="%s"' % (k, escaped(v))
                      for k, v in sorted(sample.labels.items()))
    return "%s%s %s" % (sample.name, "{%s}" % labels if labels else "",
                        number(sample.value))


def main():
    raw = sys.stdin.buffer.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("not UTF-8: %s" % e)
    if text and not text.endswith("\n"):
        fail("the last line does not end with a line feed")
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and others
        fail("%s: %s" % (type(e).__name__, e))
    seen = set()
    lines = []
    for family in families:
        if family.type in ("untyped", "unknown"):
            names = sorted({s.name for s in family.samples}) or [family.name]
            fail("no TYPE line (or an untyped one) before the samples of %s"
                 % ", ".join(names))
        if family.name in seen:
            fail("the family %s is given twice" % family.name)
        seen.add(family.name)
        lines.extend(sample_line(s) for s in family.samples)
    for line in sorted(lines):
        print(line)


if __name__ == "__main__":
    main()
