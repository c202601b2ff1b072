#!/usr/bin/env python3
"""A minimal dnscat2 server for recording testdata/dns/dnscat2.pcap.

dnscat2's own server is Ruby (not in Debian); this speaks the part of its
wire format (doc/protocol.md of github.com/iagox86/dnscat2) that the real C
client uses without encryption (`--no-encryption`): each query name is the
client's packet in hex, in labels, under DOMAIN; the answer carries the
server's packet in hex, as a TXT string, or as a CNAME or MX name under
DOMAIN, of the record type asked (the client rotates TXT, CNAME and MX).

Packets: SYN (packet_id, 0x00, session_id, isn, options), MSG (packet_id,
0x01, session_id, seq, ack, data), FIN (packet_id, 0x02, session_id,
reason). The server answers a SYN with its own, each MSG with its seq, the
client's seq acknowledged when it is the one expected, and up to CHUNK bytes
of what it has to send (here: an echo of what the client sent, in upper
case, as a shell-like peer would answer), a FIN with a FIN.

Usage: dnscat2-responder.py ADDRESS DOMAIN   (UDP port 53; stops on SIGTERM)
"""

import random
import socket
import struct
import sys

CHUNK = 48
TXT, CNAME, MX = 16, 5, 15


def read_name(msg, at):
    labels = []
    while True:
        n = msg[at]
        if n == 0:
            return labels, at + 1
        labels.append(msg[at + 1 : at + 1 + n])
        at += 1 + n


def encode_name(text):
    out = b""
    for label in text.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def hex_labels(data, domain):
    h = data.hex()
    parts = [h[i : i + 60] for i in range(0, len(h), 60)] or []
    return ".".join(parts + [domain])


class Session:
    def __init__(self, sid):
        self.sid = sid
        self.seq = random.randrange(0x10000)
        self.ack = None
        self.outgoing = b""


def handle(packet, sessions):
    """The server's packet answering the client's, or None."""
    if len(packet) < 5:
        return None
    kind = packet[2]
    (sid,) = struct.unpack(">H", packet[3:5])
    pid = random.randrange(0x10000)
    if kind == 0x00 and len(packet) >= 9:
        (isn,) = struct.unpack(">H", packet[5:7])
        s = sessions.setdefault(sid, Session(sid))
        s.ack = isn
        return struct.pack(">HBHHH", pid, 0x00, sid, s.seq, 0)
    if kind == 0x01 and len(packet) >= 9:
        s = sessions.get(sid)
        if s is None:
            return struct.pack(">HBH", pid, 0x02, sid) + b"unknown session\0"
        seq, ack = struct.unpack(">HH", packet[5:9])
        data = packet[9:]
        # The client acknowledged some of what was sent: drop it.
        sent = (ack - s.seq) & 0xFFFF
        if 0 < sent <= len(s.outgoing):
            s.outgoing = s.outgoing[sent:]
            s.seq = ack
        if seq == s.ack:
            s.ack = (s.ack + len(data)) & 0xFFFF
            s.outgoing += data.upper()
        return struct.pack(">HBHHH", pid, 0x01, sid, s.seq, s.ack) + s.outgoing[:CHUNK]
    if kind == 0x02:
        sessions.pop(sid, None)
        return struct.pack(">HBH", pid, 0x02, sid) + b"bye\0"
    return None


def answer(query, domain, sessions):
    (qid,) = struct.unpack(">H", query[:2])
    labels, end = read_name(query, 12)
    qtype, _qclass = struct.unpack(">HH", query[end : end + 4])
    question = query[12 : end + 4]
    names = [l.decode("ascii", "replace").lower() for l in labels]
    dlabels = domain.split(".")
    if names[-len(dlabels) :] != dlabels:
        return None
    try:
        packet = bytes.fromhex("".join(names[: -len(dlabels)]))
    except ValueError:
        return None
    reply = handle(packet, sessions)
    header = struct.pack(">HHHHHH", qid, 0x8580, 1, 1 if reply is not None else 0, 0, 0)
    if reply is None:
        return header + question
    if qtype == TXT:
        h = reply.hex().encode()
        rdata = b"".join(bytes([len(h[i : i + 255])]) + h[i : i + 255] for i in range(0, len(h), 255))
    elif qtype == CNAME:
        rdata = encode_name(hex_labels(reply, domain))
    elif qtype == MX:
        rdata = struct.pack(">H", random.randrange(1, 100)) + encode_name(hex_labels(reply, domain))
    else:
        return header[:6] + b"\0\0" + header[8:] + question
    rr = b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 1, len(rdata)) + rdata
    return header + question + rr


def main():
    address, domain = sys.argv[1], sys.argv[2].lower().strip(".")
    random.seed(20261203)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    sessions = {}
    while True:
        query, peer = sock.recvfrom(4096)
        try:
            out = answer(query, domain, sessions)
        except (IndexError, struct.error):
            out = None
        if out is not None:
            sock.sendto(out, peer)


if __name__ == "__main__":
    main()
