#!/usr/bin/env python3
"""Write the encapsulation captures of netsec-proto's decoding tests.

Usage: scripts/craft-decode-captures.py [DIR]
       (default DIR: crates/netsec-proto/tests/data/decode)

One small pcap per encapsulation, each frame built byte by byte (struct, no
dependencies, fixed timestamps, so the output is the same on every run).
Inside every tunnel or shim is a DNS query or an HTTP request whose name says
where it came from, so a decoder that misses a layer misses a name. Frames that
carry no IP (PPPoE discovery, LCP, STP, an 802.11 beacon, an encrypted 802.11
frame) sit beside them. Addresses are RFC 5737 / RFC 3849 documentation
ranges; nothing is sent anywhere. Expectations: scripts/tshark_expectations.py
DIR/*.pcap --out DIR/expected.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapcraft import checksum, write_pcap  # noqa: E402

C4, S4 = bytes([192, 0, 2, 10]), bytes([198, 51, 100, 53])
C6 = bytes.fromhex("20010db8000000000000000000000010")
S6 = bytes.fromhex("20010db8000000000000000000000053")
T4A, T4B = bytes([203, 0, 113, 1]), bytes([203, 0, 113, 2])  # tunnel endpoints
MAC_A = bytes([0x02, 0, 0, 0, 0, 0x0a])
MAC_B = bytes([0x02, 0, 0, 0, 0, 0x0b])
MAC_C = bytes([0x02, 0, 0, 0, 0, 0x0c])


def ipv4(src, dst, proto, body, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, 0x4000, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + body


def ipv6(src, dst, proto, body):
    return struct.pack("!IHBB16s16s", 0x60000000, len(body), proto, 64, src, dst) + body


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, payload, seq=1000):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 0x50, 0x18, 65535, 0, 0) + payload


def dns_query(name, qid=0x1234):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def http_get(host):
    return f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: craft/1\r\n\r\n".encode()


def dns4(name, sport=40000):
    return ipv4(C4, S4, 17, udp(sport, 53, dns_query(name)))


def dns6(name, sport=40000):
    return ipv6(C6, S6, 17, udp(sport, 53, dns_query(name)))


def http4(host, sport=40001):
    return ipv4(C4, S4, 6, tcp(sport, 80, http_get(host)))


def http6(host, sport=40001):
    return ipv6(C6, S6, 6, tcp(sport, 80, http_get(host)))


def eth(ethertype, payload, src=MAC_A, dst=MAC_B):
    return dst + src + struct.pack("!H", ethertype) + payload


def vlan(vid, ethertype, tpid=0x8100):
    return struct.pack("!HHH", tpid, vid, ethertype)


def mpls(labels, payload):
    out = b""
    for i, label in enumerate(labels):
        bottom = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (label << 12) | (bottom << 8) | 64)
    return out + payload


def pppoe(ppp_proto, payload, session=0x0042):
    return struct.pack("!BBHHH", 0x11, 0, session, 2 + len(payload), ppp_proto) + payload


def write(path, linktype, frames):
    start = 1_700_000_000_000_000
    write_pcap(path, linktype, [(start + 1000 * (i + 1), f) for i, f in enumerate(frames)])
    print(f"{path}: {len(frames)} frames")


def capture_mpls():
    return 1, [
        eth(0x8847, mpls([100, 200], dns4("mpls-dns.example"))),
        MAC_B + MAC_A + vlan(100, 0x8847) + mpls([300], http4("mpls-vlan.example")),
        eth(0x8847, mpls([101], dns6("mpls-v6.example"))),
        # Ethernet pseudowire with its control word (RFC 4448 §3; first nibble 0, flags
        # and sequence number set so that no manufacturer prefix reads in it: tshark's
        # heuristic takes a frame without control word when both MACs have known OUIs).
        eth(0x8847, mpls([16, 17], b"\x0f\xff\xff\x01" + eth(0x0800, http4("mpls-pw.example", 40002), MAC_C))),
    ]


def capture_pppoe():
    padi = struct.pack("!BBHH", 0x11, 0x09, 0, 4) + struct.pack("!HH", 0x0101, 0)
    lcp_echo = struct.pack("!BBHI", 9, 1, 8, 0x01020304)
    return 1, [
        eth(0x8863, padi, dst=b"\xff" * 6),
        eth(0x8864, pppoe(0x0021, dns4("pppoe-dns.example"))),
        MAC_B + MAC_A + vlan(10, 0x8100, tpid=0x88A8) + vlan(20, 0x8864)[2:]
        + pppoe(0x0057, http6("pppoe-qinq.example")),
        eth(0x8864, pppoe(0xC021, lcp_echo)),
    ]


def capture_llc_snap():
    snap = b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + dns4("snap.example")
    bpdu = b"\x42\x42\x03" + bytes(35)
    stp_dst = bytes([0x01, 0x80, 0xC2, 0, 0, 0])
    return 1, [
        MAC_B + MAC_A + struct.pack("!H", len(snap)) + snap,
        stp_dst + MAC_A + struct.pack("!H", len(bpdu)) + bpdu,
    ]


def wlan_data(payload, to_ds=True, from_ds=False, qos=True, protected=False):
    subtype = 0x8 if qos else 0x0
    fc0 = (subtype << 4) | (2 << 2)
    fc1 = (0x01 if to_ds else 0) | (0x02 if from_ds else 0) | (0x40 if protected else 0)
    bssid = bytes([0x02, 0, 0, 0, 0, 0xAA])
    if to_ds and not from_ds:
        a1, a2, a3 = bssid, MAC_A, MAC_B
    elif from_ds and not to_ds:
        a1, a2, a3 = MAC_A, bssid, MAC_B
    elif not to_ds:
        a1, a2, a3 = MAC_B, MAC_A, bssid
    else:
        a1, a2, a3 = bssid, bssid, MAC_B  # WDS: receiver, transmitter, destination
    hdr = struct.pack("<BBH", fc0, fc1, 0) + a1 + a2 + a3 + struct.pack("<H", 0x10)
    if to_ds and from_ds:
        hdr += MAC_A  # address 4 (WDS): the source
    if qos:
        hdr += struct.pack("<H", 0)
    if protected:
        return hdr + bytes([0x01, 0x00, 0x00, 0x20, 0, 0, 0, 0]) + bytes(range(64))
    return hdr + b"\xaa\xaa\x03\x00\x00\x00" + payload


def radiotap(frame):
    # Version 0, length 12: present = flags (bit 1) and rate (bit 2); flags 0, rate 2 Mb/s, padding.
    return struct.pack("<BBHI", 0, 0, 12, 0x00000006) + bytes([0x00, 0x04, 0, 0]) + frame


def capture_radiotap():
    beacon = (struct.pack("<BBH", 0x80, 0, 0) + b"\xff" * 6 + MAC_B + MAC_B + struct.pack("<H", 0)
              + bytes(8) + struct.pack("<HH", 100, 0x0431) + b"\x00\x05craft")
    return 127, [
        radiotap(beacon),
        radiotap(wlan_data(b"\x08\x00" + dns4("wifi-dns.example"))),
        radiotap(wlan_data(b"\x08\x00" + http4("wifi-http.example"), to_ds=False, from_ds=True, qos=False)),
        radiotap(wlan_data(b"", protected=True)),
        radiotap(wlan_data(b"\x86\xdd" + dns6("wifi-v6.example"), qos=True)),
    ]


def capture_ieee80211():
    return 105, [
        wlan_data(b"\x86\xdd" + dns6("wlan-raw.example"), qos=False),
        wlan_data(b"\x08\x00" + http4("wlan-raw-http.example"), to_ds=True, from_ds=True, qos=True),
    ]


def nflog(family, packet, prefix=b"craft"):
    def tlv(t, v):
        raw = struct.pack("<HH", 4 + len(v), t) + v
        return raw + b"\0" * (-len(raw) % 4)
    return (struct.pack("!BBH", family, 0, 7)
            + tlv(1, struct.pack("!HBB", 0x0800 if family == 2 else 0x86DD, 3, 0))  # packet header
            + tlv(10, prefix + b"\0")
            + tlv(9, packet))


def capture_nflog():
    return 239, [
        nflog(2, dns4("nflog-dns.example")),
        nflog(2, http4("nflog-http.example")),
        nflog(10, dns6("nflog-v6.example")),
    ]


def outer_udp(dport, payload, sport=50000):
    return eth(0x0800, ipv4(T4A, T4B, 17, udp(sport, dport, payload), ident=7))


def capture_geneve():
    opt = struct.pack("!HBB", 0x0101, 0x01, 1) + b"\x00\x00\x00\x2a"  # one 4-byte option
    hdr = struct.pack("!BBH", len(opt) // 4, 0, 0x6558) + struct.pack("!I", 0x00123400) + opt
    return 1, [
        outer_udp(6081, hdr + eth(0x0800, dns4("geneve-dns.example"), MAC_C)),
        outer_udp(6081, struct.pack("!BBHI", 0, 0, 0x0800, 0x00123400) + http4("geneve-ip.example")),
    ]


def gtpu(inner, ext=False):
    if not ext:
        return struct.pack("!BBHI", 0x30, 0xFF, len(inner), 0x1000) + inner
    # S flag and one PDU session container extension (type 0x85, 4 bytes).
    body = struct.pack("!HBB", 7, 0, 0x85) + bytes([1, 0x00, 0x09, 0x00]) + inner
    return struct.pack("!BBHI", 0x36, 0xFF, len(body), 0x1000) + body


def capture_gtpu():
    return 1, [
        outer_udp(2152, gtpu(http4("gtpu-http.example")), sport=2152),
        outer_udp(2152, gtpu(dns4("gtpu-ext.example"), ext=True), sport=2152),
        outer_udp(2152, gtpu(dns6("gtpu-v6.example")), sport=2152),
    ]


def fragments(src, dst, proto, body, cut, ident):
    """An IPv4 datagram as two fragments split at byte `cut` of its payload (a multiple of 8)."""
    def frag(offset, more, data):
        flags = (offset // 8) | (0x2000 if more else 0)
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, flags, 64, proto, 0, src, dst)
        return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + data
    return [frag(0, True, body[:cut]), frag(cut, False, body[cut:])]


def capture_tunnel_fragments():
    gtp = udp(2152, 2152, gtpu(http4("gtpu-frag.example")))
    greb = gre(0x0800, dns4("gre-frag.example"))
    return 1, [eth(0x0800, f) for f in fragments(T4A, T4B, 17, gtp, 48, 21)
               + fragments(T4A, T4B, 47, greb, 32, 22)]


def capture_ayiya():
    identity = bytes(16)
    signature = bytes(20)
    # Identity 2^4 bytes, type 1; signature 5 words, SHA-1; auth 2, opcode 1 (forward); IPv6; epoch.
    hdr = struct.pack("!BBBBI", 0x41, 0x52, 0x21, 41, 1_700_000_000) + identity + signature
    return 1, [outer_udp(5072, hdr + dns6("ayiya.example"), sport=5072)]


def client_hello(sni):
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = (b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!H", 4) + b"\x13\x01\x13\x02"
            + b"\x01\x00" + struct.pack("!H", len(sni_ext)) + sni_ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


class TcpSession:
    """One TCP connection, client C4 to server S4: handshake, then segments either way."""

    def __init__(self, sport, dport):
        self.sport, self.dport = sport, dport
        self.c, self.s = 5000, 9000
        self.frames = []
        self.seg(True, 0x02)
        self.seg(False, 0x12)
        self.seg(True, 0x10)

    def seg(self, from_client, flags, payload=b""):
        grow = len(payload) + (1 if flags & 0x03 else 0)
        if from_client:
            h = struct.pack("!HHIIBBHHH", self.sport, self.dport, self.c, self.s, 0x50, flags, 65535, 0, 0)
            self.c += grow
            self.frames.append(eth(0x0800, ipv4(C4, S4, 6, h + payload)))
        else:
            h = struct.pack("!HHIIBBHHH", self.dport, self.sport, self.s, self.c, 0x50, flags, 65535, 0, 0)
            self.s += grow
            self.frames.append(eth(0x0800, ipv4(S4, C4, 6, h + payload), src=MAC_B, dst=MAC_A))

    def client(self, payload):
        self.seg(True, 0x18, payload)

    def server(self, payload):
        self.seg(False, 0x18, payload)


def capture_http_connect():
    """A TLS session through an HTTP proxy: CONNECT, 200, then the ClientHello."""
    t = TcpSession(40100, 3128)
    t.client(b"CONNECT tunnelled.example:443 HTTP/1.1\r\nHost: tunnelled.example:443\r\n\r\n")
    t.server(b"HTTP/1.1 200 Connection established\r\n\r\n")
    t.client(client_hello("tunnelled.example"))
    t.seg(False, 0x10)
    return 1, t.frames


def capture_socks():
    """TLS through SOCKS 5 (no authentication, CONNECT by domain name) and
    HTTP through SOCKS 4a, both to port 1080."""
    t5 = TcpSession(40200, 1080)
    t5.client(b"\x05\x01\x00")
    t5.server(b"\x05\x00")
    name = b"socks5-inner.example"
    t5.client(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", 443))
    t5.server(b"\x05\x00\x00\x01" + bytes([192, 0, 2, 99]) + struct.pack("!H", 50000))
    t5.client(client_hello("socks5-inner.example"))
    t4 = TcpSession(40201, 1080)
    t4.client(b"\x04\x01" + struct.pack("!H", 80) + bytes([0, 0, 0, 1]) + b"craft\0socks4-inner.example\0")
    t4.server(b"\x00\x5a" + bytes(6))
    t4.client(http_get("socks4-inner.example"))
    return 1, t5.frames + t4.frames


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_message(qid, flags, questions, answers=b"", counts=None, additional=b"", arcount=0):
    body = b"".join(dns_name(n) + struct.pack("!HH", t, 1) for n, t in questions)
    qd, an, ns, ar = counts or (len(questions), 0, 0, arcount)
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar) + body + answers + additional


def opt_record(options, udp_size=1232):
    data = b"".join(struct.pack("!HH", code, len(v)) + v for code, v in options)
    return b"\0" + struct.pack("!HHIH", 41, udp_size, 0x00008000, len(data)) + data


def capture_dns_odd():
    """DNS messages as seen in the wild that strict parsers refuse."""
    a = lambda ip, rdlen=4: b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, rdlen) + bytes(ip)  # noqa: E731
    edns = opt_record([(8, b"\x00\x01\x18\x00\xc0\x00\x02"),   # client subnet 192.0.2.0/24
                       (10, bytes(range(8))),                    # cookie
                       (12, bytes(16)),                          # padding
                       (65001, b"vendor")])                      # unknown, private use
    msgs = [
        dns_message(0x0101, 0x0100, [("edns-options.example", 1)], additional=edns, arcount=1),
        dns_message(0x0102, 0x0100, [("two-questions-a.example", 1), ("two-questions-b.example", 28)]),
        # A response whose answer has a 5-byte A record.
        dns_message(0x0103, 0x8180, [("bad-rdata.example", 1)], answers=a([192, 0, 2, 7, 9], rdlen=5),
                    counts=(1, 1, 0, 0)),
        # A response announcing three answers and carrying one (truncated by a middlebox).
        dns_message(0x0104, 0x8180, [("short-answers.example", 1)], answers=a([192, 0, 2, 8]),
                    counts=(1, 3, 0, 0)),
        # Two OPT records (RFC 6891 §6.1.1 allows one).
        dns_message(0x0105, 0x0100, [("two-opt.example", 1)], additional=opt_record([]) + opt_record([]),
                    arcount=2),
    ]
    return 1, [eth(0x0800, ipv4(C4, S4, 17, udp(40300 + i, 53, m))) for i, m in enumerate(msgs)]


def gre(proto, payload, flags=0, extra=b""):
    return struct.pack("!HH", flags, proto) + extra + payload


def outer_gre(payload):
    return eth(0x0800, ipv4(T4A, T4B, 47, payload, ident=9))


def capture_gre_variants():
    inner_eth = eth(0x0800, dns4("erspan3.example"), MAC_C)
    # ERSPAN III: ver 2, VLAN 0 | COS, BSO, T, session 5 | timestamp | SGT, P, FT, HW id, D, Gra, O=0.
    erspan3 = struct.pack("!HHIHH", 0x2000, 0x0005, 0x11223344, 0, 0x0000)
    ppp = b"\xff\x03\x00\x21" + dns4("pptp.example")
    # PPTP enhanced GRE: K and S set, version 1; key = payload length, call id.
    pptp = gre(0x880B, ppp, flags=0x3001, extra=struct.pack("!HHI", len(ppp), 0x0007, 1))
    pptp_ack = gre(0x880B, b"", flags=0x2081, extra=struct.pack("!HHI", 0, 0x0007, 1))
    return 1, [
        outer_gre(gre(0x22EB, erspan3 + inner_eth, flags=0x1000, extra=struct.pack("!I", 1))),
        outer_gre(pptp),
        outer_gre(pptp_ack),
        outer_gre(gre(0x6558, eth(0x0800, http4("gre-teb.example"), MAC_C))),
        outer_gre(gre(0x8847, mpls([500], dns4("gre-mpls.example")))),
        # Aruba access point to controller: an 802.11 data frame (protocol 0x8200).
        outer_gre(gre(0x8200, wlan_data(b"\x08\x00" + dns4("gre-aruba.example")))),
    ]


def main(argv):
    out = argv[0] if argv else "crates/netsec-proto/tests/data/decode"
    os.makedirs(out, exist_ok=True)
    for name, make in [("mpls", capture_mpls), ("pppoe", capture_pppoe),
                       ("llc-snap", capture_llc_snap), ("radiotap", capture_radiotap),
                       ("ieee80211", capture_ieee80211), ("nflog", capture_nflog),
                       ("geneve", capture_geneve), ("gtpu", capture_gtpu),
                       ("gre-variants", capture_gre_variants),
                       ("tunnel-fragments", capture_tunnel_fragments),
                       ("ayiya", capture_ayiya),
                       ("http-connect", capture_http_connect),
                       ("socks", capture_socks),
                       ("dns-odd", capture_dns_odd)]:
        linktype, frames = make()
        write(os.path.join(out, name + ".pcap"), linktype, frames)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
