#!/usr/bin/env python3
"""seeds.py - writes the binary seed inputs of fuzz/corpus/ that are easier
to build than to type (the text ones, fuzz_config and fuzz_ctl, are kept as
they are). Run from the repository root after changing a harness's input
format: python3 fuzz/seeds.py. Each seed names what it reaches."""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(harness, name, data):
    os.makedirs(os.path.join(ROOT, harness), exist_ok=True)
    with open(os.path.join(ROOT, harness, name), "wb") as f:
        f.write(bytes(data))


# ---- fuzz_nat: records (fuzz_nat.c, build_record) ----
TCP, UDP, ICMP = 0, 1, 2
SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04


def rec(case, proto=UDP, side=0, sport=5000, dport=53, flags=0, echo=1, extra=(),
        payload=b"", hi=0):
    """One frame record: op = case | proto * 8 (| side bit 0x40, | hi bits)."""
    op = case | (proto * 8) | (side << 6) | hi
    return ([op & 0xff, len(payload)] + list(payload) + list(struct.pack(">HH", sport, dport)) +
            [flags, echo, 0x11] + list(extra))


def lan(proto, sport, dport, flags=0, host=0, server=0, echo=1):
    return rec(1, proto, 0, sport, dport, flags, echo, (host, server), b"hello")


def wan(proto, sport, dport, flags=0, src=0, echo=0):
    return rec(3, proto, 1, sport, dport, flags, echo, (src,), b"world")


def icmp_error(side, quote=20, hi=0):
    return rec(5, UDP, side, extra=(quote,), hi=hi)


def pad_ticks(records, secs=1):
    """Every 8th record is followed by a tick byte: keep records aligned."""
    out = []
    for i, r in enumerate(records):
        out += r
        if i % 8 == 7:
            out.append(secs)
    return out


def nat_seeds():
    write("fuzz_nat", "udp-flow-and-icmp-errors-both-sides", pad_ticks([
        lan(UDP, 5000, 53), wan(UDP, 53, 5000), icmp_error(1), icmp_error(0),
        icmp_error(1, 28, 0x20), icmp_error(0, 40, 0x20 | 0x80), lan(UDP, 5000, 53),
        wan(UDP, 53, 5000)]))
    write("fuzz_nat", "tcp-open-close-reset", pad_ticks([
        lan(TCP, 40000, 80, SYN), wan(TCP, 80, 40000, SYN | ACK), lan(TCP, 40000, 80, ACK),
        lan(TCP, 40000, 80, FIN | ACK), wan(TCP, 80, 40000, FIN | ACK),
        lan(TCP, 40000, 80, ACK), lan(TCP, 40001, 80, SYN), wan(TCP, 80, 40001, RST),
        icmp_error(1), icmp_error(0)]))
    write("fuzz_nat", "icmp-echo-and-errors", pad_ticks([
        lan(ICMP, 777, 0, echo=1), wan(ICMP, 0, 777, echo=0), icmp_error(1), icmp_error(0),
        lan(ICMP, 778, 0, echo=1, host=1)]))
    write("fuzz_nat", "port-mapping-and-hairpin", pad_ticks([
        wan(TCP, 5555, 8080, SYN), rec(2, TCP, 0, 6000, 8080, SYN, 1, (1,), b""),
        rec(2, UDP, 0, 6001, 5000, 0, 1, (2,), b"x"), lan(UDP, 5000, 53),
        rec(2, UDP, 0, 6002, 5000, 0, 1, (3,), b"y")]))
    frag = lambda side, off, more: rec(6, UDP, side, 7000, 53, extra=(off,), payload=b"f" * 16,
                                       hi=0x20 if more else 0)
    write("fuzz_nat", "fragments-both-orders-both-sides", pad_ticks([
        lan(UDP, 7000, 53), frag(0, 0, True), frag(0, 1, False), frag(0, 2, False),
        frag(0, 0, True), frag(1, 1, False), frag(1, 0, True), frag(1, 3, False)]))
    # burst: op 7 | proto << 3 | host << 5 | 0x80, then count - 32, then mode
    # (bit 0: one source port to many servers)
    burst = lambda proto, count, host=0, one=0: [7 | proto << 3 | host << 5 | 0x80,
                                                 count - 32, one]
    write("fuzz_nat", "exhaustion-bursts", pad_ticks([
        burst(UDP, 287), burst(TCP, 287, 1), burst(ICMP, 200, 2), lan(UDP, 5000, 53),
        lan(TCP, 40000, 80, SYN, host=3), wan(UDP, 53, 1100)], 0))
    write("fuzz_nat", "exhaustion-sessions-of-one-mapping", pad_ticks([
        burst(UDP, 287, 0, 1), burst(UDP, 287, 1, 1), burst(TCP, 287, 2, 1),
        lan(UDP, 1024, 9, host=0), wan(UDP, 9, 1024)], 0))
    change = lambda which: [7 | which << 3]
    write("fuzz_nat", "rss-change-migration", pad_ticks([
        lan(UDP, 5000, 53), lan(TCP, 40000, 80, SYN, host=1), lan(ICMP, 9, 0, host=2),
        lan(UDP, 5001, 53, host=3, server=1), change(1), wan(UDP, 53, 5000),
        lan(TCP, 40000, 80, ACK, host=1), wan(ICMP, 0, 9), change(2), lan(UDP, 5001, 53, host=3, server=1),
        wan(UDP, 53, 5000), change(3), lan(UDP, 5000, 53), change(0),
        wan(TCP, 80, 40000, ACK), icmp_error(1)]))
    write("fuzz_nat", "raw-frames", pad_ticks([
        [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 20] + [0] * 12 + [0x08, 0x00, 0x45, 0, 0, 20, 0, 0, 0, 0,
                                                          64, 17, 0, 0, 192, 168, 137, 10, 203, 0],
        [0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 30] + [0] * 12 + [0x08, 0x00, 0x46, 0, 0, 30, 0, 0, 0x20, 0,
                                                          64, 6, 0, 0, 203, 0, 113, 1, 198, 51,
                                                          100, 2, 1, 1, 0, 0, 0, 0, 0, 0]]))


# ---- fuzz_pkt: Ethernet frames (checksums are repaired by the harness) ----
def eth(ip, vlan=False):
    hdr = bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0x0a])
    if vlan:
        hdr += bytes([0x81, 0, 0, 5])
    return hdr + bytes([0x08, 0x00]) + ip


def ipv4(proto, payload, ttl=64, df=False, opts=b"", src=(192, 168, 137, 10),
         dst=(203, 0, 113, 1), frag=0):
    ihl = 5 + len(opts) // 4
    total = ihl * 4 + len(payload)
    flags = (0x4000 if df else 0) | frag
    return (bytes([0x40 | ihl, 0]) + struct.pack(">HHH", total, 0x1234, flags) +
            bytes([ttl, proto, 0, 0]) + bytes(src) + bytes(dst) + opts + payload)


def pkt_seeds():
    echo = bytes([8, 0, 0, 0]) + struct.pack(">HH", 0x77, 1) + b"ping" * 8
    write("fuzz_pkt", "echo-request", eth(ipv4(1, echo, dst=(192, 168, 137, 1))))
    write("fuzz_pkt", "echo-request-all-zero", eth(ipv4(1, bytes([8, 0, 0, 0, 0, 0, 0, 0]),
                                                        dst=(192, 168, 137, 1))))
    write("fuzz_pkt", "echo-request-options-vlan",
          eth(ipv4(1, echo, opts=bytes([1, 1, 1, 0]), dst=(192, 168, 137, 1)), vlan=True))
    udp = struct.pack(">HHHH", 5000, 53, 8 + 20, 0) + b"q" * 20
    write("fuzz_pkt", "udp-ttl-1", eth(ipv4(17, udp, ttl=1)))
    write("fuzz_pkt", "udp-big-df", eth(ipv4(17, struct.pack(">HHHH", 5000, 53, 8 + 1400, 0) +
                                                 b"x" * 1400, df=True)))
    write("fuzz_pkt", "udp-big-no-df", eth(ipv4(17, struct.pack(">HHHH", 5000, 53, 8 + 1400, 0) +
                                                    b"x" * 1400)))
    mss = bytes([2, 4, 0x05, 0xb4, 1, 1, 4, 2, 8, 10]) + bytes(8) + bytes([1, 3, 3, 7])
    syn = struct.pack(">HHIIBBHHH", 40000, 80, 1, 0, (5 + len(mss) // 4) << 4, 0x02, 65535, 0, 0)
    write("fuzz_pkt", "tcp-syn-mss", eth(ipv4(6, syn + mss)))
    bad = bytes([2, 4, 0x05, 0xb4, 5, 1, 2])  + bytes(1)
    synb = struct.pack(">HHIIBBHHH", 40000, 80, 1, 0, (5 + len(bad) // 4) << 4, 0x12, 65535, 0, 0)
    write("fuzz_pkt", "tcp-synack-bad-option", eth(ipv4(6, synb + bad)))
    inner = ipv4(17, struct.pack(">HHHH", 5000, 53, 28, 0), src=(198, 51, 100, 2))
    err = bytes([3, 3, 0, 0, 0, 0, 0, 0]) + inner[:28]
    write("fuzz_pkt", "icmp-error-ttl-1", eth(ipv4(1, err, ttl=1, src=(203, 0, 113, 9),
                                                   dst=(198, 51, 100, 2))))
    write("fuzz_pkt", "fragment-ttl-1", eth(ipv4(17, b"z" * 24, ttl=1, frag=0x2003)))


# ---- fuzz_dns_proxy: steps (fuzz_dns_proxy.c, LLVMFuzzerTestOneInput) ----
EXAMPLE, PRINTER, LAPTOP, NOTHERE, ZONE, REV_PRINTER, REV_OTHER, DEEP = 7, 0, 1, 2, 3, 4, 5, 6
T_A, T_AAAA, T_PTR, T_SOA, T_ANY, T_AXFR, T_TXT = 0, 1, 2, 3, 4, 5, 6
RD, CD, CHAOS, EDNS = 8, 16, 32, 64


def q_udp(name, qtype=T_A, flags=RD, qid=0x1234):
    return [1] + list(struct.pack(">H", qid)) + [name, qtype | flags]


def q_raw(data, qid=0x4242):
    return [0] + list(struct.pack(">H", qid)) + [len(data)] + list(data)


def up_udp(which=0, records=1, tc=False, rcode=None, soa=False, opt=False, how=0, ttl=300,
           extra=()):
    ctl = (records << 5) | (1 if tc else 0) | (16 if soa else 0) | (8 if opt else 0)
    if rcode is not None:
        ctl |= 2 | (rcode << 2)
    return ([4, which, ctl & 0xff, how] + list(struct.pack(">H", ttl)) * records +
            list(extra))


def up_tcp(which=0, records=3, how=0, ttl=600):
    return [6, which, (records << 5) & 0xff, how] + list(struct.pack(">H", ttl)) * records


def tcp(client, action, rest=()):
    return [3, (action * 3 + client) & 0xff] + list(rest)


def later(ms):
    return [7] + list(struct.pack(">H", ms))


def dns_proxy_seeds():
    w = lambda name, steps: write("fuzz_dns_proxy", name, sum(steps, []))
    w("forward-answer-cache", [q_udp(EXAMPLE), up_udp(0), q_udp(EXAMPLE, qid=7), later(1000),
                               q_udp(EXAMPLE, qid=8), later(60000), q_udp(EXAMPLE, qid=9),
                               up_udp(0, records=2, opt=True)])
    w("local-zone", [q_udp(PRINTER), q_udp(LAPTOP), q_udp(NOTHERE), q_udp(ZONE, T_SOA),
                     q_udp(REV_PRINTER, T_PTR), q_udp(REV_OTHER, T_PTR), q_udp(DEEP),
                     q_udp(PRINTER, T_AAAA), q_udp(PRINTER, T_ANY), q_udp(ZONE, T_AXFR),
                     q_udp(PRINTER, T_A, RD | CHAOS), q_udp(ZONE, T_TXT, EDNS)])
    w("tc-tcp-fallback", [q_udp(EXAMPLE, flags=RD | EDNS), up_udp(0, records=0, tc=True),
                          up_tcp(0), q_udp(EXAMPLE, qid=5), q_udp(DEEP, T_TXT),
                          up_udp(0, records=0, tc=True), up_tcp(0, how=1),
                          q_udp(EXAMPLE, T_AAAA), up_udp(0, records=0, tc=True), up_tcp(0, how=2),
                          q_udp(EXAMPLE, T_PTR), up_udp(0, records=0, tc=True), later(500)])
    w("timeouts-failover-servfail", [q_udp(EXAMPLE), later(250), up_udp(1), q_udp(DEEP),
                                     later(250), later(250), later(250), q_udp(EXAMPLE, T_AAAA),
                                     up_udp(0, records=0, rcode=2), up_udp(1, records=0, rcode=5),
                                     later(250), up_udp(1, records=0, rcode=4), later(61000),
                                     q_udp(DEEP, T_TXT), later(250)])
    w("spoofed-wrong-id-mangled", [q_udp(EXAMPLE), up_udp(0, how=3), q_udp(DEEP),
                                   up_udp(0, how=2), q_udp(EXAMPLE, T_AAAA),
                                   up_udp(0, how=1, extra=[8, 0xc0, 0x0c, 0, 1, 0, 1, 0xff, 0xff, 3]),
                                   q_udp(EXAMPLE, T_TXT), up_udp(0, records=3, how=0, ttl=0)])
    w("negative-and-cd", [q_udp(DEEP, flags=RD | CD), up_udp(0), q_udp(DEEP, flags=RD | CD, qid=2),
                          q_udp(NOTHERE + 0, T_A), q_udp(EXAMPLE, T_TXT),
                          up_udp(0, records=1, rcode=3, soa=True), q_udp(EXAMPLE, T_TXT, qid=3),
                          later(20000), q_udp(EXAMPLE, T_TXT, qid=4)])
    frame = lambda name, qtype, qid: tcp(0, 2, list(struct.pack(">H", qid)) + [name, qtype | RD])
    w("lan-tcp-framing", [tcp(0, 0), frame(PRINTER, T_A, 1), frame(EXAMPLE, T_A, 2), up_udp(0),
                          tcp(1, 0), tcp(1, 3, [5, 0, 40, 0x12, 0x34, 1]), tcp(1, 3, [2, 0, 0]),
                          tcp(2, 0), tcp(2, 3, [2, 0x20, 0]), tcp(0, 1), later(2000),
                          tcp(1, 0), frame(ZONE, T_SOA, 9), later(500)])
    w("raw-udp", [q_raw(b"\x12\x34\x81\x00" + bytes(8)), q_raw(b"\x12"),
                  q_raw(b"\x12\x34\x28\x00\x00\x01" + bytes(6) + b"\x01a\x00\x00\x01\x00\x01"),
                  q_raw(b"\x12\x34\x01\x00\x00\x02" + bytes(6) + b"\x01a\x00\x00\x01\x00\x01"),
                  q_raw(b"\x12\x34\x01\x00\x00\x01" + bytes(6) + b"\x3fa"),
                  q_raw(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x01a\x00\x00\x01\x00\x01"
                        b"\x00\x00\x29\x10\x00\x01\x00\x00\x00\x00\x00")])


if __name__ == "__main__":
    dns_proxy_seeds()
    nat_seeds()
    pkt_seeds()


# ---- fuzz_uplink: records (fuzz_uplink.c): op, length (2 bytes), bytes ----
NLMSG_DONE, RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_NEWNEIGH = 3, 20, 21, 24, 28


def nlmsg(kind, seq, body, flags=0):
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def rta(kind, data):
    pad = (4 - len(data) % 4) % 4
    return struct.pack("=HH", 4 + len(data), kind) + data + b"\0" * pad


def ifaddr(kind, seq, ip, prefix, flags=0, ifindex=5):
    addr = bytes(ip)
    return nlmsg(kind, seq, struct.pack("=BBBBI", 2, prefix, flags, 0, ifindex) +
                 rta(2, addr) + rta(1, addr))


def rtroute(seq, gw, metric=0, oif=5):
    return nlmsg(RTM_NEWROUTE, seq, struct.pack("=BBBBBBBBI", 2, 0, 0, 0, 254, 3, 0, 1, 0) +
                 rta(15, struct.pack("=I", 254)) + rta(4, struct.pack("=I", oif)) +
                 rta(6, struct.pack("=I", metric)) + rta(5, bytes(gw)))


def ndmsg(seq, ip, mac, state=2):
    return nlmsg(RTM_NEWNEIGH, seq, struct.pack("=BxxxiHBB", 2, 5, state, 0, 0) +
                 rta(1, bytes(ip)) + rta(2, bytes(mac)))


def done(seq):
    return nlmsg(NLMSG_DONE, seq, struct.pack("=i", 0))


def script(*records):
    out = b""
    for op, data in records:
        out += bytes([op]) + struct.pack(">H", len(data)) + data
    return out


RUN = (1, b"")
REFRESH = (2, b"")
write("fuzz_uplink", "start_addr_route_neigh", script(
    REFRESH, RUN, (0, ifaddr(RTM_NEWADDR, 1, [203, 0, 113, 50], 24) + done(1)),
    RUN, (0, rtroute(2, [203, 0, 113, 1], 100) + rtroute(2, [203, 0, 113, 254], 50) + done(2)),
    RUN, (0, ndmsg(3, [203, 0, 113, 254], [2, 0, 0, 0, 0, 0xfe]) + done(3))))
write("fuzz_uplink", "renumbered_then_released", script(
    REFRESH, RUN, (0, ifaddr(RTM_NEWADDR, 1, [203, 0, 113, 50], 24) + done(1)),
    (0, ifaddr(RTM_DELADDR, 9, [203, 0, 113, 50], 24)), RUN,
    (0, ifaddr(RTM_NEWADDR, 4, [203, 0, 113, 60], 24, 1) + done(4)),
    (0, ifaddr(RTM_DELADDR, 10, [203, 0, 113, 60], 24)), RUN, (0, done(5))))
write("fuzz_uplink", "interrupted_dump", script(
    REFRESH, RUN, (0, nlmsg(RTM_NEWADDR, 1, ifaddr(RTM_NEWADDR, 1, [198, 51, 100, 2], 30)[16:],
                            flags=0x10) + done(1)), RUN))
