#!/usr/bin/env python3
"""monitor_client.py SOCK - a scripted client of vmm's control socket
(docs/monitor.md) for tests/e2e/test-monitor.sh.

Reads a script on stdin, one item a line:
    {...}            a request: sent as is, then wait for its reply (any
                     line that is not an event)
    #raw TEXT        send TEXT and a newline, wait for a reply
    #wait EVENT [S]  wait until event EVENT arrives (with data.status S)
    #sleep SECONDS
Prints every line received (greeting, replies, events) on stdout and exits
0; 1 (saying why on stderr) when the vmm closes the connection or stays
silent for 60 s where a line was awaited.
"""
import json
import socket
import sys
import time

TIMEOUT = 60.0


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.seen = []          # events received, in order

    def line(self):
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit("monitor_client: no line within %d s" % TIMEOUT)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                sys.exit("monitor_client: the vmm closed the connection")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        print(raw.decode(), flush=True)
        msg = json.loads(raw)
        if "event" in msg:
            self.seen.append(msg)
        return msg

    def reply(self):
        while True:
            msg = self.line()
            if "event" not in msg:
                return msg

    def wait_event(self, name, status):
        def match(m):
            return m["event"] == name and (status is None or
                                           m["data"].get("status") == status)
        while True:
            for i, m in enumerate(self.seen):
                if match(m):
                    del self.seen[: i + 1]
                    return
            self.line()


def main():
    c = Client(sys.argv[1])
    greeting = c.line()
    if "QMP" not in greeting:
        sys.exit("monitor_client: no greeting")
    for item in sys.stdin:
        item = item.rstrip("\n")
        if not item:
            continue
        if item.startswith("#sleep "):
            time.sleep(float(item.split()[1]))
        elif item.startswith("#wait "):
            words = item.split()
            c.wait_event(words[1], words[2] if len(words) > 2 else None)
        else:
            if item.startswith("#raw "):
                item = item[5:]
            c.sock.sendall(item.encode() + b"\n")
            c.reply()


main()
