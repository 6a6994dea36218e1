#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# The far end and the client of test-link-emulator: echo servers, and scenarios that time replies through a relay
# and print "key=value" lines. Loopback only; every wait is bounded.
"""usage: link-echo.py serve udp|tcp      prints "port N", then echoes (UDP: "<source port> <payload>";
                                         a datagram "late MS" is answered once, MS ms later)
       link-echo.py udp PORT RELAY-PID RELAY-OUT NAT-SEC
       link-echo.py tcp PORT RELAY-PID RELAY-OUT"""

import os
import select
import signal
import socket
import sys
import threading
import time


def serve(kind):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    print(f"port {s.getsockname()[1]}", flush=True)
    if kind == "udp":
        while True:
            data, peer = s.recvfrom(65536)
            reply = b"%d " % peer[1] + data
            if data.startswith(b"late "):
                threading.Timer(int(data[5:]) / 1000, s.sendto, (reply, peer)).start()
            else:
                s.sendto(reply, peer)
    s.listen(8)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo_stream, args=(c,), daemon=True).start()


def echo_stream(c):
    while data := c.recv(65536):
        c.sendall(data)


def switch(pid, out):
    """SIGUSR2 to the relay, and wait (at most 5 s) for the line that says it switched."""
    def count():
        with open(out) as f:
            return sum(1 for line in f if line.startswith(("blackhole on ", "blackhole off ")))
    n = count()
    os.kill(pid, signal.SIGUSR2)
    for _ in range(100):
        if count() > n:
            return
        time.sleep(0.05)
    sys.exit("the relay did not switch its black hole")


def recv_all(s, n, timeout):
    """Up to n UDP replies within timeout seconds: (replies, seconds until the last one)."""
    got, t0, last = [], time.monotonic(), 0.0
    while len(got) < n:
        left = t0 + timeout - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        got.append(s.recv(65536))
        last = time.monotonic() - t0
    return got, last


def udp(port, pid, out, nat_sec):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.send(b"x" * 20)
    got, rtt = recv_all(s, 1, 3)
    print(f"rtt_ms={rtt * 1000:.0f}")
    first_port = got[0].split()[0].decode() if got else "none"
    t0 = time.monotonic()
    for i in range(8):
        s.send(b"%d" % i + b"y" * 499)
    got, _ = recv_all(s, 8, 5)
    print(f"burst_ms={(time.monotonic() - t0) * 1000:.0f} burst_replies={len(got)}")
    # The reply to "late" comes after the mapping has been idle for longer than the NAT keeps it.
    s.send(b"late %d" % ((nat_sec + 1) * 1000))
    late, _ = recv_all(s, 1, nat_sec + 1.5)
    s.send(b"z")
    got, _ = recv_all(s, 1, 3)
    print(f"port_before={first_port} port_after={got[0].split()[0].decode() if got else 'none'} "
          f"late_replies={len(late)}")
    switch(pid, out)
    for _ in range(3):
        s.send(b"hole")
    during, _ = recv_all(s, 3, 1)
    switch(pid, out)
    s.send(b"after")
    after, _ = recv_all(s, 1, 3)
    print(f"hole_replies={len(during)} after_replies={len(after)}")


def tcp(port, pid, out):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.monotonic()
    s.sendall(b"x")
    s.recv(1)
    print(f"rtt_ms={(time.monotonic() - t0) * 1000:.0f}")
    t0, want, got = time.monotonic(), 8000, 0
    s.sendall(b"y" * want)
    while got < want:
        got += len(s.recv(65536))
    print(f"stream_ms={(time.monotonic() - t0) * 1000:.0f}")
    switch(pid, out)
    s.sendall(b"h" * 100)
    held = len(s.recv(100)) if select.select([s], [], [], 1)[0] else 0
    switch(pid, out)
    after = 0
    while after < 100 and select.select([s], [], [], 3)[0]:
        after += len(s.recv(100))
    print(f"hole_bytes={held} after_bytes={after}")


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[:1] == ["serve"] and len(a) == 2:
        serve(a[1])
    elif a[:1] == ["udp"] and len(a) == 5:
        udp(int(a[1]), int(a[2]), a[3], int(a[4]))
    elif a[:1] == ["tcp"] and len(a) == 4:
        tcp(int(a[1]), int(a[2]), a[3])
    else:
        sys.exit(__doc__)
