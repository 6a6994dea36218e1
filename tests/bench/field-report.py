#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/bench/field-report.py ROWS.tsv OUT.json [KEY=VALUE...]: the markdown tables of `make bench-field` (see
# field.sh for the columns) from the rows field.sh wrote, and the same rows as JSON with the run's parameters.
import datetime
import json
import os
import sys

TABLES = {
    "drain": ("Drain of queued messages through the link",
              ["transport", "MaxInFlight", "loss % each way", "drain s", "one-in-flight limit s",
               "bandwidth limit s", "lost", "duplicates", "retries", "note", "bytes up", "bytes down"]),
    "nat": ("Delivery after idling behind a NAT that forgot the mapping",
            ["transport", "idle s / NAT timeout s", "to delivery s", "goal s", "note", "mappings forgotten",
             "replies dropped by the NAT"]),
    "blackhole": ("Recovery after a black hole (messages published during it)",
                  ["transport", "black hole s", "messages", "to first upstream s", "to empty queue s", "lost",
                   "duplicates", "note"]),
    "bytes": ("Bytes on the wire per delivered message (relay payload both ways, DTLS/TLS included)",
              ["transport", "messages", "cold B/msg", "restart B/msg", "payload B"]),
}
# Columns kept in the JSON but left out of the markdown table.
HIDDEN = {"bytes up", "bytes down"}


def value(s):
    try:
        return int(s)
    except ValueError:
        try:
            return float(s)
        except ValueError:
            return s


def main():
    rows = {k: [] for k in TABLES}
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            cols = TABLES[fields[0]][1]
            rows[fields[0]].append(dict(zip(cols, (value(x) for x in fields[1:]))))
    for kind, (title, cols) in TABLES.items():
        if not rows[kind]:
            continue
        shown = [c for c in cols if c not in HIDDEN]
        print(f"\n**{title}**\n")
        print("| " + " | ".join(shown) + " |")
        print("|" + "|".join("---" if c in ("transport", "note") else "---:" for c in shown) + "|")
        for r in rows[kind]:
            print("| " + " | ".join(str(r.get(c, "")) for c in shown) + " |")
    out = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
               cpus=os.cpu_count(), parameters=dict(a.split("=", 1) for a in sys.argv[3:]), **rows)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
