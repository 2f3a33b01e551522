"""Malformed RTPS datagrams for test/e2e_attack.rs: random bytes, RTPS headers with random
submessages, truncated DATA, a DATA_FRAG with fragment size above the sample size, unknown
submessage ids. Sends to 127.0.0.1 ONLY (hard-coded), to the ports given.

Usage: python3 rtps_garbage.py --ports P1,P2,... [-n 5000]
"""
import argparse
import os
import socket
import struct
import time

DEST_HOST = "127.0.0.1"  # never anything else


def header():
    return b"RTPS" + bytes([2, 4, 0x01, 0x12]) + os.urandom(12)


def bad_frag():
    body = struct.pack("<HH", 0, 28) + bytes([0, 1, 0, 0xC7]) + bytes([0, 1, 0, 0xC2])
    body += struct.pack("<iI", 0, 1) + struct.pack("<IHHI", 0, 1, 16, 8) + b"x" * 16
    return header() + struct.pack("<BBH", 0x16, 0x01, len(body)) + body


KINDS = [
    lambda: os.urandom(80),
    lambda: header() + os.urandom(60),
    lambda: header() + struct.pack("<BBH", 0x15, 0x01, 200) + os.urandom(8),
    bad_frag,
    lambda: header() + struct.pack("<BBH", 0x7F, 0x01, 4) + b"abcd",
    lambda: b"RTPS",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("-n", type=int, default=5000, help="datagrams per port and kind")
    a = ap.parse_args()
    ports = [int(p) for p in a.ports.split(",")]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    for make in KINDS:
        for i in range(a.n):
            for p in ports:
                s.sendto(make(), (DEST_HOST, p))
                sent += 1
            if i % 200 == 0:
                time.sleep(0.005)
    print(f"sent {sent} datagrams to {DEST_HOST}:{a.ports}")


if __name__ == "__main__":
    main()
