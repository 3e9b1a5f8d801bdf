#!/usr/bin/env python3
"""bad_services.py IFACE - hand-made malformed DHCP and DNS packets toward
the gateway's LAN address, from inside a test namespace: truncated options,
option-overload loops, a wrong magic cookie, a short BOOTP message; DNS with
a compression pointer loop, a forward pointer, an oversized label, a name
over 255 bytes, a truncated header and a question count of 2. Each must be
a counted drop, never a crash (tests/net/test_services.sh checks)."""
import os
import socket
import struct
import sys

IFACE = sys.argv[1]
GW = "192.168.137.1"
MAC = bytes.fromhex("02000000ee01")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(payload, src="0.0.0.0", dst="255.255.255.255", sport=68, dport=67):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = csum(s + d + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + MAC + b"\x08\x00" + ip + udp


def bootp(options, cookie=b"\x63\x82\x53\x63", length=None):
    fixed = struct.pack("!BBBBIHH", 1, 1, 6, 0, 0x1234, 0, 0x8000) + b"\0" * 16
    fixed += MAC + b"\0" * 10 + b"\0" * 192
    msg = fixed + cookie + options
    return msg if length is None else msg[:length]


def dhcp_cases():
    discover = b"\x35\x01\x01"
    yield bootp(discover + b"\x0c\x20ab")                      # option runs past the end
    yield bootp(discover + b"\x34\x01\x03\xff")                # overload: options in file+sname...
    yield bootp(b"\x34\x01\x03" + discover + b"\x34\x01\x03")  # ...repeated: an option loop
    yield bootp(discover + b"\xff", cookie=b"\x01\x02\x03\x04")  # bad magic cookie
    yield bootp(discover + b"\xff", length=200)                # shorter than 240 bytes
    yield bootp(b"\x35\x05\x01\x01\x01\x01\x01\xff")           # message type of length 5
    yield bootp(b"\x3d\x00" + discover + b"\xff")              # empty client identifier


def name(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def dns_cases():
    hdr = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    yield hdr + b"\xc0\x0c" + b"\x00\x01\x00\x01"              # pointer to itself: a loop
    yield hdr + b"\xc0\x20" + b"\x00\x01\x00\x01" + b"\0" * 20  # pointer forward
    yield hdr + b"\x40" + b"a" * 64 + b"\0\x00\x01\x00\x01"   # label of 64 bytes
    yield hdr + name([b"a" * 63] * 5) + b"\x00\x01\x00\x01"    # name over 255 bytes
    yield hdr[:7]                                              # truncated header
    yield struct.pack("!HHHHHH", 0x4343, 0x0100, 2, 0, 0, 0) + name([b"x"]) + b"\x00\x01\x00\x01"
    yield hdr + b"\x03abc"                                     # name runs off the end


def main():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((IFACE, 0))
    for msg in dhcp_cases():
        s.send(udp_frame(msg))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for msg in dns_cases():
        u.sendto(msg, (GW, 53))
    for _ in range(50):                                         # and random bytes to both
        s.send(udp_frame(os.urandom(300)))
        u.sendto(os.urandom(40), (GW, 53))
    return 0


sys.exit(main())
