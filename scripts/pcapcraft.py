"""Shared by the capture-crafting scripts (craft-*.py): the Internet checksum
and a classic pcap writer. Raw bytes with struct, no dependencies."""

import struct


def checksum(data):
    """RFC 1071 one's-complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def write_pcap(path, linktype, frames):
    """Write (microsecond timestamp, frame) pairs as a little-endian pcap."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for t, frame in frames:
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            f.write(frame)
