#!/usr/bin/env python3
# icmp_flood.py - for tests/net/test_icmp_limit.sh: floods the gateway with
# packets that each earn an ICMP error, and counts the errors that come back.
#
#   icmp_flood.py flood IFACE GW_MAC one|spoofed SECONDS MAX
#       UDP datagrams with TTL 1 to 203.0.113.80 (so each earns Time
#       Exceeded), from 192.168.137.10 (one) or from random sources in
#       192.168.137.20-250 (spoofed), ports varying, for at most SECONDS and
#       MAX frames. Prints the number sent and the seconds it took.
#   icmp_flood.py count IFACE SECONDS EXCLUDE_IP
#       Counts ICMP Time Exceeded frames received on IFACE for SECONDS, except
#       those to EXCLUDE_IP (a legitimate traceroute's). A kernel filter passes
#       only ICMP type 11, so the count is exact; prints "COUNT DROPS", DROPS
#       being the frames the socket itself lost (PACKET_STATISTICS).
# Addresses from the test topology only (gw_topo.sh); bounded in time and count.
import ctypes
import random
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
FRAMES = 4096  # distinct frames, sent round robin


def csum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ttl1_udp(src, sport):
    dst = socket.inet_aton("203.0.113.80")
    udp = struct.pack("!HHHH", sport, 33434, 8 + 16, 0) + b"rssnat-icmp-flood"[:16]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), sport, 0, 1, 17, 0, src, dst)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + udp


def flood(iface, gw_mac, mode, seconds, max_frames):
    rng = random.Random(14)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    eth = bytes.fromhex(gw_mac.replace(":", "")) + s.getsockname()[4] + struct.pack("!H", ETH_P_IP)
    frames = []
    for i in range(FRAMES):
        last = 10 if mode == "one" else rng.randrange(20, 251)
        src = socket.inet_aton("192.168.137.%d" % last)
        frames.append(eth + ttl1_udp(src, 1024 + i))
    sent = 0
    start = time.monotonic()
    end = start + seconds
    while sent < max_frames and time.monotonic() < end:
        for _ in range(256):
            try:
                s.send(frames[sent % FRAMES])
            except OSError:  # the veth's queue is full: try again
                continue
            sent += 1
    print(sent, "%.1f" % (time.monotonic() - start))


def attach_icmp_11_filter(s):
    # Classic BPF: IPv4, protocol ICMP, type 11 (a 20-byte IP header: the
    # gateway's own errors have no options), else nothing.
    prog = [(0x28, 0, 0, 12), (0x15, 0, 5, ETH_P_IP), (0x30, 0, 0, 23), (0x15, 0, 3, 1),
            (0x30, 0, 0, 34), (0x15, 0, 1, 11), (0x06, 0, 0, 0xFFFF), (0x06, 0, 0, 0)]
    code = b"".join(struct.pack("HBBI", *insn) for insn in prog)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def count(iface, seconds, exclude):
    # Protocol 0 until the filter is on: nothing is queued unfiltered.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    attach_icmp_11_filter(s)
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root)
    s.bind((iface, ETH_P_IP))
    s.settimeout(0.2)
    skip = socket.inet_aton(exclude)
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        if addr[2] != PACKET_OUTGOING and data[30:34] != skip:
            n += 1
    _, drops = struct.unpack("II", s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    print(n, drops)


if __name__ == "__main__":
    if sys.argv[1] == "flood":
        flood(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]))
    elif sys.argv[1] == "count":
        count(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit("usage: icmp_flood.py flood|count ...")
