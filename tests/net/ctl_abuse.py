#!/usr/bin/env python3
"""ctl_abuse.py MODE ARGS... - the pieces of tests/net/test_ctl_abuse.sh:
misbehaving control-socket clients, and a probe that measures what a LAN
host sees meanwhile. Every mode ends by itself (bounded in time and count).

  probe SECONDS GW TARGET    (in the LAN namespace) a DNS query for the
                             local zone's SOA (mshome.net) to GW and an ICMP
                             echo to TARGET through the gateway, every 0.2 s
                             each; prints one line of figures
  sessions COUNT DST         (in the LAN namespace) COUNT UDP datagrams from
                             one source port to DST ports 20000.., one NAT
                             session each (one mapping: RFC 4787 REQ-1)
  trickle SOCK SECONDS       connect, then one byte every 0.9 s and never a
                             newline; connect again when dropped
  noread SOCK SECONDS LINE   connect, send LINE, never read; hold each
                             connection HOLD seconds (env, default 12)
  crowd SOCK COUNT           open COUNT idle connections at once; print how
                             many were refused at once with an error line
"""
import os
import select
import socket
import struct
import sys
import time

INTERVAL = 0.2
DNS_TIMEOUT = 1.0


def dns_query(ident):
    name = b"".join(bytes([len(p)]) + p for p in b"mshome.net".split(b".")) + b"\0"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 6, 1)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def echo_request(ident, seq):
    msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"rssnat-ctl-abuse"
    return msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]


def pct(values, p):
    if not values:
        return -1.0
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


class Probe:
    def __init__(self, gw, target):
        self.gw, self.target = gw, target
        self.dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.dns.connect((gw, 53))
        self.icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.ident = os.getpid() & 0xFFFF
        self.dns_sent, self.dns_rtt = {}, []
        self.ping_sent, self.ping_rtt, self.ping_at = {}, [], []

    def send(self, seq):
        now = time.monotonic()
        self.dns_sent[seq] = now
        self.dns.send(dns_query(seq))
        self.ping_sent[seq] = now
        self.icmp.sendto(echo_request(self.ident, seq), (self.target, 0))

    def take_dns(self, now):
        data = self.dns.recv(4096)
        if len(data) < 12:
            return
        ident, flags = struct.unpack("!HH", data[:4])
        sent = self.dns_sent.pop(ident, None)
        # An answer (QR set, RCODE 0) within the client's timeout counts.
        if sent is not None and flags & 0x8000 and not flags & 0xF and now - sent <= DNS_TIMEOUT:
            self.dns_rtt.append(now - sent)

    def take_icmp(self, now):
        data = self.icmp.recv(4096)
        ihl = (data[0] & 0xF) * 4
        typ, _, _, ident, seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        sent = self.ping_sent.pop(seq, None)
        if typ == 0 and ident == self.ident and sent is not None:
            self.ping_rtt.append(now - sent)
            self.ping_at.append(now)

    def run(self, seconds):
        start = time.monotonic()
        end = start + seconds
        seq, next_send = 1, start
        while True:
            now = time.monotonic()
            if now >= end + DNS_TIMEOUT + 1:  # late answers still arrive
                break
            if now >= next_send and now < end:
                self.send(seq)
                seq += 1
                next_send += INTERVAL
            r, _, _ = select.select([self.dns, self.icmp], [], [], 0.02)
            now = time.monotonic()
            if self.dns in r:
                self.take_dns(now)
            if self.icmp in r:
                self.take_icmp(now)
        sent = seq - 1
        # The longest time without a ping reply, the window's ends included.
        marks = [start] + self.ping_at + [max(end, self.ping_at[-1] if self.ping_at else end)]
        gap = max(b - a for a, b in zip(marks, marks[1:]))
        ms = lambda s: "%.1f" % (s * 1000)
        print("dns_sent=%d dns_ok=%d dns_p50_ms=%s dns_max_ms=%s "
              "ping_sent=%d ping_ok=%d ping_p50_ms=%s ping_max_ms=%s ping_max_gap_ms=%s"
              % (sent, len(self.dns_rtt), ms(pct(self.dns_rtt, 0.5)),
                 ms(max(self.dns_rtt, default=-0.001)), sent, len(self.ping_rtt),
                 ms(pct(self.ping_rtt, 0.5)), ms(max(self.ping_rtt, default=-0.001)), ms(gap)))


def sessions(count, dst):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.168.137.10", 40000))
    for i in range(count):
        s.sendto(b"rssnat", (dst, 20000 + i))
        if i % 200 == 199:
            time.sleep(0.01)  # a bounded burst, not a flood
    print(count)


def connect(path):
    """A connected socket; waits (up to 2 s) while the listen backlog is full."""
    deadline = time.monotonic() + 2
    while True:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(2)
        try:
            c.connect(path)
            return c
        except BlockingIOError:
            c.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def trickle(path, seconds):
    end = time.monotonic() + seconds
    drops = conns = 0
    c = None
    while time.monotonic() < end:
        try:
            if c is None:
                c = connect(path)
                conns += 1
            c.send(b"s")
        except OSError:
            drops += 1
            if c:
                c.close()
            c = None
            continue
        time.sleep(0.9)
    if c:
        c.close()
    print("connections=%d dropped=%d" % (conns, drops))


def noread(path, seconds, line):
    hold = float(os.environ.get("HOLD", "12"))
    end = time.monotonic() + seconds
    conns = 0
    while time.monotonic() < end:
        try:
            c = connect(path)
        except OSError:
            time.sleep(0.2)
            continue
        conns += 1
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            c.send(line.encode() + b"\n")
        except OSError:
            pass
        time.sleep(max(0.0, min(hold, end - time.monotonic())))
        c.close()
    print("connections=%d" % conns)


def crowd(path, count):
    conns = []
    for _ in range(count):
        try:
            conns.append(connect(path))
        except OSError:
            break
    refused = 0
    deadline = time.monotonic() + 1.0
    pending = list(conns)
    while pending and time.monotonic() < deadline:
        r, _, _ = select.select(pending, [], [], 0.05)
        for c in r:
            data = c.recv(512)
            if data.startswith(b"error "):
                refused += 1
            pending.remove(c)
    for c in conns:
        c.close()
    print("opened=%d refused_at_once=%d" % (len(conns), refused))


def main():
    mode = sys.argv[1]
    if mode == "probe":
        Probe(sys.argv[3], sys.argv[4]).run(float(sys.argv[2]))
    elif mode == "sessions":
        sessions(int(sys.argv[2]), sys.argv[3])
    elif mode == "trickle":
        trickle(sys.argv[2], float(sys.argv[3]))
    elif mode == "noread":
        noread(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    elif mode == "crowd":
        crowd(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
