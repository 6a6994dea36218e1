#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Compares the org.iotpub1.* interfaces of a live Introspect() document with dbus/org.iotpub1.xml: methods
# and their args (name, type, direction, order), signals and their args, properties (type, access).
# Annotations and the standard org.freedesktop.DBus.* interfaces are ignored. Prints every difference.
"""usage: compare-introspection.py REFERENCE.xml LIVE.xml INTERFACE...
Each INTERFACE named must be present in LIVE; every org.iotpub1.* interface in LIVE must equal REFERENCE's."""

import sys
import xml.etree.ElementTree as ET


def parse(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        sys.exit(f"compare-introspection: {path}: {e}")
    return {i.get("name"): describe(i) for i in root.findall("interface")
            if i.get("name", "").startswith("org.iotpub1.")}


def args(elem, default_direction):
    return [(a.get("name"), a.get("type"), a.get("direction", default_direction)) for a in elem.findall("arg")]


def describe(iface):
    return {
        "method": {m.get("name"): args(m, "in") for m in iface.findall("method")},
        "signal": {s.get("name"): args(s, "out") for s in iface.findall("signal")},
        "property": {p.get("name"): (p.get("type"), p.get("access")) for p in iface.findall("property")},
    }


def compare(name, ref, live):
    diffs = []
    for kind in ("method", "signal", "property"):
        for member in sorted(set(ref[kind]) | set(live[kind])):
            where = f"{name}: {kind} {member}"
            if member not in live[kind]:
                diffs.append(f"{where}: missing from the live object")
            elif member not in ref[kind]:
                diffs.append(f"{where}: not in the reference XML")
            elif ref[kind][member] != live[kind][member]:
                diffs.append(f"{where}: reference {ref[kind][member]}, live {live[kind][member]}")
    return diffs


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    ref, live = parse(sys.argv[1]), parse(sys.argv[2])
    diffs = []
    for name in sys.argv[3:]:
        if name not in live:
            diffs.append(f"{name}: interface missing from the live object")
    for name in sorted(live):
        if name not in ref:
            diffs.append(f"{name}: live interface not in the reference XML")
        else:
            diffs += compare(name, ref[name], live[name])
    for d in diffs:
        print(f"compare-introspection: {d}")
    print(f"compare-introspection: {sys.argv[2]}: {len(diffs)} difference(s) in {', '.join(sorted(live)) or 'nothing'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
