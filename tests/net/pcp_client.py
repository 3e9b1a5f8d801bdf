#!/usr/bin/env python3
"""pcp_client.py - a small PCP client (RFC 6887) for tests/net/test_portctl.sh:
no PCP client is packaged in Debian. One request, one answer, printed as
JSON ({"result": N, "lifetime": S, "epoch": E, "ext_port": P, "ext_ip": A}),
or {"timeout": true}. Every wait is bounded.

  pcp_client.py map  --src A --proto udp|tcp --int-port P [--ext-port P]
                     [--lifetime S] [--nonce HEX] [--prefer-failure]
                     [--client A] [--third-party A]
  pcp_client.py peer --src A --proto udp|tcp --int-port P --peer A:P [...]
  pcp_client.py announce --src A
  pcp_client.py raw  --src A HEX         any bytes; prints the answer's hex
  pcp_client.py listen --seconds S       announcements to 224.0.0.1:5350
"""
import argparse
import ipaddress
import json
import socket
import struct
import sys
import time

SERVER = ("192.168.137.1", 5351)


def v4_mapped(addr):
    return b"\0" * 10 + b"\xff\xff" + socket.inet_aton(addr)


def request(op, lifetime, client, data=b"", options=b""):
    return struct.pack("!BBHI", 2, op, 0, lifetime) + v4_mapped(client) + data + options


def map_data(nonce, proto, int_port, ext_port, ext_ip="0.0.0.0"):
    return nonce + struct.pack("!B3xHH", proto, int_port, ext_port) + v4_mapped(ext_ip)


def exchange(src, msg, timeout=1.0, tries=2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    try:
        for _ in range(tries):
            s.sendto(msg, SERVER)
            try:
                return s.recv(2048)
            except socket.timeout:
                continue
        return None
    finally:
        s.close()


def decode(resp):
    if resp is None:
        return {"timeout": True}
    out = {"len": len(resp), "version": resp[0], "opcode": resp[1] & 0x7F,
           "r": resp[1] >> 7}
    if len(resp) >= 24:
        out["result"] = resp[3]
        out["lifetime"], out["epoch"] = struct.unpack("!II", resp[4:12])
    if len(resp) >= 60:
        out["nonce"] = resp[24:36].hex()
        out["ext_port"] = struct.unpack("!H", resp[42:44])[0]
        out["ext_ip"] = str(ipaddress.IPv6Address(resp[44:60]).ipv4_mapped or "")
    if len(resp) < 24 and len(resp) >= 8 and resp[0] == 0:  # NAT-PMP format
        out["result"] = struct.unpack("!H", resp[2:4])[0]
        if resp[1] == 128 and len(resp) >= 12:  # the public address (RFC 6886 3.2)
            out["ext_ip"] = socket.inet_ntoa(resp[8:12])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op", choices=["map", "peer", "announce", "raw", "listen"])
    ap.add_argument("hex", nargs="?")
    ap.add_argument("--src", default="192.168.137.10")
    ap.add_argument("--client")
    ap.add_argument("--proto", default="udp")
    ap.add_argument("--int-port", type=int, default=0)
    ap.add_argument("--ext-port", type=int, default=0)
    ap.add_argument("--ext-ip", default="0.0.0.0")
    ap.add_argument("--lifetime", type=int, default=600)
    ap.add_argument("--nonce", default="0102030405060708090a0b0c")
    ap.add_argument("--prefer-failure", action="store_true")
    ap.add_argument("--third-party")
    ap.add_argument("--peer")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=1.0)
    a = ap.parse_args()
    client = a.client or a.src
    proto = {"udp": 17, "tcp": 6}.get(a.proto, None)
    if proto is None:
        proto = int(a.proto)
    nonce = bytes.fromhex(a.nonce)
    opts = b""
    if a.prefer_failure:
        opts += struct.pack("!BBH", 2, 0, 0)
    if a.third_party:
        opts += struct.pack("!BBH", 1, 0, 16) + v4_mapped(a.third_party)

    if a.op == "listen":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 5350))
        end = time.time() + a.seconds
        got = []
        while time.time() < end:
            s.settimeout(max(0.05, end - time.time()))
            try:
                data, frm = s.recvfrom(2048)
            except socket.timeout:
                break
            d = decode(data)
            d["from"] = frm[0]
            got.append(d)
        print(json.dumps(got))
        return 0
    if a.op == "raw":
        resp = exchange(a.src, bytes.fromhex(a.hex or ""), a.timeout, 1)
        print(json.dumps({"timeout": True} if resp is None else {"hex": resp.hex()}))
        return 0
    if a.op == "announce":
        msg = request(0, 0, client, options=opts)
    elif a.op == "map":
        msg = request(1, a.lifetime, client,
                      map_data(nonce, proto, a.int_port, a.ext_port, a.ext_ip), opts)
    else:
        host, port = a.peer.rsplit(":", 1)
        data = map_data(nonce, proto, a.int_port, a.ext_port, a.ext_ip)
        data += struct.pack("!H2x", int(port)) + v4_mapped(host)
        msg = request(2, a.lifetime, client, data, opts)
    print(json.dumps(decode(exchange(a.src, msg, a.timeout))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
