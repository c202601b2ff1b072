#!/usr/bin/env python3
"""Write the three TCP reassembly evasion captures of netsec-proto's tests.

Usage: scripts/craft-reassembly-captures.py [DIR]
       (default DIR: crates/netsec-proto/tests/data/reassembly)

Each capture holds one HTTP request from 192.0.2.10 to 198.51.100.20:80 (TEST-NET
addresses, RFC 5737) with a full handshake, the server's response and both FINs.
The real request names Host `real.example`; the evasion tries to make a monitor
see another one:

  wrap-out-of-order.pcap  the client's ISN is 2^32 - 31, so the request crosses
                          the sequence wrap; its three segments arrive last
                          first. Monitors keyed by the raw 32-bit sequence
                          number stall and report no request.
  spoof-far-ahead.pcap    a spoofed segment from the client's address, 20 MB
                          ahead of the next byte (far outside the server's
                          64,256-byte window), carries a request for
                          `spoof.example` before the real one.
  overlap-decoy.pcap      the request's second segment (`Host: real.example`)
                          arrives before its first; then a longer segment at
                          the same sequence number says `Host: evil.example`
                          (its tail is the real request's last line, so only
                          the Host differs). A receiver keeps the bytes it
                          already queued (and so does Suricata's default
                          policy); a monitor that lets the longer segment
                          replace them logs evil.example.

Raw bytes only (struct), no dependencies; fixed timestamps, so the output is
the same on every run. Nothing is sent anywhere.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapcraft import checksum, write_pcap  # noqa: E402

CLIENT = bytes([192, 0, 2, 10])
SERVER = bytes([198, 51, 100, 20])
CMAC = bytes([0x02, 0, 0, 0, 0, 0x0a])
SMAC = bytes([0x02, 0, 0, 0, 0, 0x14])
CPORT, SPORT = 40123, 80
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

REQUEST = (b"GET /index.html HTTP/1.1\r\nHost: real.example\r\n"
           b"User-Agent: craft/1\r\nAccept: */*\r\n\r\n")
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


def tcp_frame(src, dst, sport, dport, seq, ack, flags, payload=b"", window=502, wscale=None):
    opts = b""
    if flags & SYN:
        opts = struct.pack("!BBH", 2, 4, 1460)  # MSS
        if wscale is not None:
            opts += struct.pack("!BBBB", 1, 3, 3, wscale)  # NOP, window scale
    off = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      off << 4, flags, window, 0, 0) + opts
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
    csum = checksum(pseudo + hdr + payload)
    hdr = hdr[:16] + struct.pack("!H", csum) + hdr[18:]
    total = 20 + len(hdr) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0x1234, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    smac, dmac = (CMAC, SMAC) if src == CLIENT else (SMAC, CMAC)
    return dmac + smac + b"\x08\x00" + ip + hdr + payload


class Capture:
    def __init__(self, client_isn, server_isn):
        self.frames = []
        self.t = 1_700_000_000_000_000  # microseconds
        self.c = client_isn  # next client sequence number (after the SYN: ISN+1)
        self.s = server_isn

    def add(self, frame):
        self.t += 1000
        self.frames.append((self.t, frame))

    def client(self, seq, flags, payload=b"", **kw):
        self.add(tcp_frame(CLIENT, SERVER, CPORT, SPORT, seq, self.s, flags, payload, **kw))

    def server(self, flags, payload=b"", ack=None, **kw):
        self.add(tcp_frame(SERVER, CLIENT, SPORT, CPORT, self.s, self.c if ack is None else ack,
                           flags, payload, **kw))

    def handshake(self):
        isn = self.c
        self.add(tcp_frame(CLIENT, SERVER, CPORT, SPORT, isn, 0, SYN, window=64240, wscale=7))
        self.c = (isn + 1) & 0xFFFFFFFF
        self.add(tcp_frame(SERVER, CLIENT, SPORT, CPORT, self.s, self.c, SYN | ACK,
                           window=65160, wscale=7))
        self.s = (self.s + 1) & 0xFFFFFFFF
        self.client(self.c, ACK)

    def finish(self, request_len):
        """The server acknowledges the request, answers, and both sides close."""
        self.c = (self.c + request_len) & 0xFFFFFFFF
        self.server(ACK)
        self.server(PSH | ACK, RESPONSE)
        self.s = (self.s + len(RESPONSE)) & 0xFFFFFFFF
        self.client(self.c, ACK)
        self.client(self.c, FIN | ACK)
        self.c = (self.c + 1) & 0xFFFFFFFF
        self.server(FIN | ACK)
        self.s = (self.s + 1) & 0xFFFFFFFF
        self.client(self.c, ACK)

    def write(self, path):
        write_pcap(path, 1, self.frames)


def wrap_out_of_order():
    cap = Capture(client_isn=2**32 - 31, server_isn=0x10000000)
    cap.handshake()
    base = cap.c
    cuts = [0, 20, 50, len(REQUEST)]  # the middle segment crosses the wrap
    for i in (2, 1, 0):
        cap.client(base + cuts[i], PSH | ACK, REQUEST[cuts[i]:cuts[i + 1]])
    cap.finish(len(REQUEST))
    return cap


def spoof_far_ahead():
    cap = Capture(client_isn=0x2A000000, server_isn=0x51000000)
    cap.handshake()
    spoof = b"GET /index.html HTTP/1.1\r\nHost: spoof.example\r\n\r\n"
    cap.client(cap.c + 20_000_000, PSH | ACK, spoof)
    cap.client(cap.c, PSH | ACK, REQUEST)
    cap.finish(len(REQUEST))
    return cap


def overlap_decoy():
    cap = Capture(client_isn=0x3B000000, server_isn=0x62000000)
    cap.handshake()
    base = cap.c
    first = REQUEST.index(b"Host:")
    second = REQUEST.index(b"User-Agent:")
    decoy = REQUEST[first:].replace(b"real.example", b"evil.example")
    cap.client(base + first, PSH | ACK, REQUEST[first:second])  # Host: real.example
    cap.client(base + first, PSH | ACK, decoy)  # longer, same sequence number
    cap.client(base + second, PSH | ACK, REQUEST[second:])
    cap.client(base, PSH | ACK, REQUEST[:first])
    cap.finish(len(REQUEST))
    return cap


def main(argv):
    out = argv[0] if argv else "crates/netsec-proto/tests/data/reassembly"
    os.makedirs(out, exist_ok=True)
    for name, make in [("wrap-out-of-order", wrap_out_of_order),
                       ("spoof-far-ahead", spoof_far_ahead),
                       ("overlap-decoy", overlap_decoy)]:
        path = os.path.join(out, name + ".pcap")
        cap = make()
        cap.write(path)
        print(f"{path}: {len(cap.frames)} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
