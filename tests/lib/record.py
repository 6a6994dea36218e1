#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reads iotpub-cloudsim's record (one JSON object a line) for the integration tests: counts events, and checks
# that a device's published payloads are exactly the expected bytes, in order, with nothing lost or extra.
"""usage: record.py count RECORD [--event=E] [--device=DN]
       record.py check RECORD --device=DN (--pubclient=JSON | --expect=FILE)... [--topic=T] [--allow-duplicates]
       record.py promise RECORD --device=DN --pubclient=JSON... [--ordered]
FILE has one base64 payload a line; JSON is pubclient's summary (its "payloads" are plain strings).
promise: every payload whose Publish returned an id ("published_payloads") must be recorded; prints
"promised= recorded= duplicates= lost= unpromised=" (and "order=ok|broken" with --ordered: each JSON's
payloads appear in its order, counting first occurrences)."""

import argparse
import base64
import json
import sys


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    # The emulator may be writing right now: a last line without its newline is not complete yet.
    lines = data.split("\n")[:-1]
    events = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as e:
            sys.exit(f"record.py: {path}:{n}: not JSON ({e})")
    return events


def show(b64):
    raw = base64.b64decode(b64)
    text = repr(raw[:40]) + ("..." if len(raw) > 40 else "")
    return f"{text} ({len(raw)} bytes)"


def expected_payloads(args):
    want = []
    for kind, path in args.sources:
        with open(path, encoding="utf-8") as f:
            if kind == "pubclient":
                want += [base64.b64encode(p.encode()).decode() for p in json.load(f)["payloads"]]
            else:
                want += [line.strip() for line in f if line.strip()]
    return want


def check(args, events):
    # Compare decoded bytes, so that base64 spelling differences cannot matter.
    mine = [e for e in events if e.get("event") == "publish" and e.get("deviceName") == args.device]
    got = [base64.b64encode(base64.b64decode(e.get("payload", ""))).decode() for e in mine]
    want = expected_payloads(args)
    errors = []
    if args.topic:
        wrong = [e.get("topic") for e in mine if e.get("topic") != args.topic]
        if wrong:
            errors.append(f"{len(wrong)} entries with topic other than {args.topic}, first: {wrong[0]}")
    seen, firsts = set(), []
    for p in got:
        if p not in seen:
            seen.add(p)
            firsts.append(p)
    dups = len(got) - len(firsts)
    missing = [p for p in want if p not in seen]
    extra = [p for p in firsts if p not in set(want)]
    if missing:
        errors.append(f"{len(missing)} expected payload(s) never recorded, first: {show(missing[0])}")
    if extra:
        errors.append(f"{len(extra)} unexpected payload(s) recorded, first: {show(extra[0])}")
    if dups and not args.allow_duplicates:
        errors.append(f"{dups} duplicate record entries")
    if not missing and not extra and firsts != want and not args.unordered:
        i = next(i for i, (a, b) in enumerate(zip(firsts, want)) if a != b)
        errors.append(f"order differs at position {i}: expected {show(want[i])}, recorded {show(firsts[i])}")
    moved = sum(1 for a, b in zip(firsts, want) if a != b)
    print(f"record.py: device {args.device}: expected {len(want)}, recorded {len(got)} "
          f"({dups} duplicate(s), {moved} out of place), {'OK' if not errors else 'MISMATCH'}")
    for e in errors:
        print(f"record.py:   {e}")
    return 1 if errors else 0


def promise(args, events):
    got = [base64.b64decode(e.get("payload", "")).decode(errors="replace") for e in events
           if e.get("event") == "publish" and e.get("deviceName") == args.device]
    first = {}
    for i, p in enumerate(got):
        first.setdefault(p, i)
    promised, order_ok = [], True
    for _, path in args.sources:
        with open(path, encoding="utf-8") as f:
            mine = json.load(f).get("published_payloads", [])
        promised += mine
        pos = [first[p] for p in mine if p in first]
        order_ok = order_ok and pos == sorted(pos)
    lost = [p for p in promised if p not in first]
    unpromised = len(set(first) - set(promised))
    line = (f"promised={len(promised)} recorded={len(got)} duplicates={len(got) - len(first)} "
            f"lost={len(lost)} unpromised={unpromised}")
    if args.ordered:
        line += f" order={'ok' if order_ok else 'broken'}"
    print(line)
    if lost:
        print(f"record.py: first lost payload: {lost[0][:60]!r}", file=sys.stderr)
    return 1 if lost or (args.ordered and not order_ok) else 0


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("command", choices=["count", "check", "promise"])
    ap.add_argument("record")
    ap.add_argument("--event", default="publish")
    ap.add_argument("--device")
    # Both kinds of expectation are concatenated in command-line order.
    ap.add_argument("--pubclient", dest="sources", action="append", type=lambda p: ("pubclient", p))
    ap.add_argument("--expect", dest="sources", action="append", type=lambda p: ("expect", p))
    ap.add_argument("--topic", help="every entry of the device must have this topic")
    ap.add_argument("--allow-duplicates", action="store_true")
    ap.add_argument("--unordered", action="store_true", help="check: any order (a window of messages in flight)")
    ap.add_argument("--ordered", action="store_true", help="promise: also check the order per JSON")
    args = ap.parse_args()
    events = load(args.record)
    if args.command == "count":
        print(sum(1 for e in events if e.get("event") == args.event
                  and (args.device is None or e.get("deviceName") == args.device)))
        return 0
    if not args.device or not args.sources:
        ap.error(f"{args.command} needs --device and --pubclient or --expect")
    return promise(args, events) if args.command == "promise" else check(args, events)


if __name__ == "__main__":
    sys.exit(main())
