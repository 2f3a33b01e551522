//! A zero-copy walk over an MCAP file's messages. Uncompressed chunks (rosbag2's and
//! rosbags' default) are walked in place: message bytes are borrowed from the (memory-mapped)
//! file, never copied. Compressed chunks go through the mcap crate's chunk reader, which
//! decompresses them. Every length is bounds-checked, chunk CRCs are verified, and sizes are
//! capped before anything is allocated (test/fuzz_bag.rs). Hand-written because the crate's
//! readers copy every record twice (into their buffer, then out), which halves throughput on
//! camera bags.

use std::collections::HashMap;

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"\x89MCAP0\r\n";
const OP_SCHEMA: u8 = 0x03;
const OP_CHANNEL: u8 = 0x04;
const OP_MESSAGE: u8 = 0x05;
const OP_CHUNK: u8 = 0x06;
const OP_FOOTER: u8 = 0x02;
const OP_DATA_END: u8 = 0x0F;
/// Largest uncompressed chunk accepted (writers chunk at a few MiB; rosbag2 at 768 KiB).
const MAX_CHUNK: u64 = 1 << 30;

/// One message, its bytes borrowed from the file where the chunk was not compressed.
pub struct MessageRef<'a> {
    pub topic: &'a str,
    pub msg_type: &'a str,
    pub log_time_ns: u64,
    pub data: &'a [u8],
    /// Position among the file's messages (for errors).
    pub index: usize,
}

/// A little-endian cursor whose every read is bounds-checked.
struct Cur<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
    }
    fn string(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = &self.b[self.at.min(self.b.len())..];
        self.at = self.b.len();
        s
    }
    fn done(&self) -> bool {
        self.at >= self.b.len()
    }
}

/// Schemas and channels seen so far (ids are file-wide).
#[derive(Default)]
struct Registry {
    schemas: HashMap<u16, String>,
    channels: HashMap<u16, (String, String)>,
}

/// Calls `f` for every message of the MCAP bytes `file` (named `what` in errors), in file order.
pub fn for_each_message(
    file: &[u8],
    what: &str,
    mut f: impl FnMut(MessageRef<'_>) -> Result<()>,
) -> Result<()> {
    let err = |msg: String| Error::invalid(what.to_string(), msg);
    if file.get(..8) != Some(MAGIC) {
        return Err(err("not an MCAP file (bad magic at offset 0)".into()));
    }
    let mut reg = Registry::default();
    let mut count = 0usize;
    let mut cur = Cur { b: file, at: 8 };
    loop {
        let offset = cur.at;
        let Some(op) = cur.take(1).map(|s| s[0]) else {
            return Err(err(format!(
                "truncated MCAP: the file ends at offset {offset} before its data-end record"
            )));
        };
        let body = cur
            .u64()
            .and_then(|n| cur.take(usize::try_from(n).ok()?))
            .ok_or_else(|| {
                err(format!(
                    "truncated MCAP: record at offset {offset} runs past the end"
                ))
            })?;
        match op {
            OP_DATA_END | OP_FOOTER => return Ok(()),
            OP_CHUNK => {
                let mut c = Cur { b: body, at: 0 };
                let bad = || err(format!("corrupt chunk header at offset {offset}"));
                // message start and end times: not needed for a full walk
                c.take(16).ok_or_else(bad)?;
                let size = c.u64().ok_or_else(bad)?;
                let crc = c.u32().ok_or_else(bad)?;
                let compression = c.string().ok_or_else(bad)?;
                let records = c
                    .u64()
                    .and_then(|n| c.take(usize::try_from(n).ok()?))
                    .ok_or_else(bad)?;
                if size > MAX_CHUNK {
                    return Err(err(format!(
                        "corrupt chunk at offset {offset}: declares {size} bytes uncompressed"
                    )));
                }
                if compression.is_empty() {
                    if size != records.len() as u64 {
                        return Err(err(format!(
                            "corrupt chunk at offset {offset}: {} bytes, header says {size}",
                            records.len()
                        )));
                    }
                    if crc != 0 && crc32fast::hash(records) != crc {
                        return Err(err(format!("chunk CRC mismatch at offset {offset}")));
                    }
                    walk_records(records, offset, &mut reg, &mut count, what, &mut f)?;
                } else {
                    let plain = decompress(compression, records, size)
                        .map_err(|e| err(format!("chunk at offset {offset}: {e}")))?;
                    if crc != 0 && crc32fast::hash(&plain) != crc {
                        return Err(err(format!("chunk CRC mismatch at offset {offset}")));
                    }
                    walk_records(&plain, offset, &mut reg, &mut count, what, &mut f)?;
                }
            }
            OP_SCHEMA | OP_CHANNEL | OP_MESSAGE => {
                let r = mcap::parse_record(op, body)
                    .map_err(|e| err(format!("corrupt record at offset {offset}: {e}")))?;
                record(r, &mut reg, &mut count, what, &mut f)?;
            }
            _ => {}
        }
    }
}

/// A compressed chunk's records; the output is bounded by the declared size (checked against
/// MAX_CHUNK before), so a corrupt stream cannot allocate more.
fn decompress(compression: &str, data: &[u8], size: u64) -> std::result::Result<Vec<u8>, String> {
    let size = size as usize;
    let out = match compression {
        "zstd" => zstd::bulk::decompress(data, size).map_err(|e| format!("zstd: {e}"))?,
        "lz4" => {
            use std::io::Read;
            let mut out = Vec::with_capacity(size);
            lz4::Decoder::new(data)
                .map_err(|e| format!("lz4: {e}"))?
                .take(size as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("lz4: {e}"))?;
            out
        }
        other => return Err(format!("unsupported compression `{other}`")),
    };
    if out.len() != size {
        return Err(format!(
            "decompressed to {} bytes, the header says {size}",
            out.len()
        ));
    }
    Ok(out)
}

/// The records inside a chunk, messages borrowed in place.
fn walk_records(
    records: &[u8],
    chunk_offset: usize,
    reg: &mut Registry,
    count: &mut usize,
    what: &str,
    f: &mut impl FnMut(MessageRef<'_>) -> Result<()>,
) -> Result<()> {
    let err = |msg: String| Error::invalid(what.to_string(), msg);
    let mut cur = Cur { b: records, at: 0 };
    while !cur.done() {
        let at = cur.at;
        let bad = || {
            err(format!(
                "corrupt record {at} bytes into the chunk at offset {chunk_offset}"
            ))
        };
        let op = cur.take(1).ok_or_else(bad)?[0];
        let body = cur
            .u64()
            .and_then(|n| cur.take(usize::try_from(n).ok()?))
            .ok_or_else(bad)?;
        if op == OP_MESSAGE {
            let mut m = Cur { b: body, at: 0 };
            let channel = m.u16().ok_or_else(bad)?;
            let (_seq, log_time, _pub) = (
                m.u32().ok_or_else(bad)?,
                m.u64().ok_or_else(bad)?,
                m.u64().ok_or_else(bad)?,
            );
            emit(reg, channel, log_time, m.rest(), count, what, f)?;
        } else if op == OP_SCHEMA || op == OP_CHANNEL {
            let r = mcap::parse_record(op, body).map_err(|e| err(format!("{}: {e}", bad())))?;
            record(r, reg, count, what, f)?;
        }
    }
    Ok(())
}

fn record(
    r: mcap::records::Record<'_>,
    reg: &mut Registry,
    count: &mut usize,
    what: &str,
    f: &mut impl FnMut(MessageRef<'_>) -> Result<()>,
) -> Result<()> {
    use mcap::records::Record;
    match r {
        Record::Schema { header, .. } => {
            reg.schemas.insert(header.id, header.name);
        }
        Record::Channel(ch) => {
            if ch.message_encoding != "cdr" {
                return Err(Error::invalid(
                    format!("{what}: topic {}", ch.topic),
                    format!("message encoding `{}`, expected cdr", ch.message_encoding),
                ));
            }
            let schema = reg.schemas.get(&ch.schema_id).cloned().unwrap_or_default();
            reg.channels.insert(ch.id, (ch.topic, schema));
        }
        Record::Message { header, data } => {
            emit(
                reg,
                header.channel_id,
                header.log_time,
                &data,
                count,
                what,
                f,
            )?;
        }
        _ => {}
    }
    Ok(())
}

fn emit(
    reg: &Registry,
    channel: u16,
    log_time_ns: u64,
    data: &[u8],
    count: &mut usize,
    what: &str,
    f: &mut impl FnMut(MessageRef<'_>) -> Result<()>,
) -> Result<()> {
    let (topic, msg_type) = reg.channels.get(&channel).ok_or_else(|| {
        Error::invalid(
            what.to_string(),
            format!("message {count} is on channel {channel}, which no channel record defines"),
        )
    })?;
    f(MessageRef {
        topic,
        msg_type,
        log_time_ns,
        data,
        index: *count,
    })?;
    *count += 1;
    Ok(())
}
