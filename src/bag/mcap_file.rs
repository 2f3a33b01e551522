//! MCAP storage (ros2 profile, cdr messages, chunks uncompressed, zstd or lz4), read through
//! the mcap crate's sans-io reader so that damaged files fail cleanly: chunk CRCs are checked
//! before a chunk's messages are used, and record sizes are bounded before anything is
//! allocated (test/fuzz_bag.rs found a flipped byte that made the plain reader allocate 8 EB).

use std::collections::HashMap;
use std::path::Path;

use mcap::records::Record;
use mcap::sans_io::linear_reader::{LinearReadEvent, LinearReader, LinearReaderOptions};

use super::BagMessage;
use crate::error::{Error, Result};

/// Largest record or uncompressed chunk accepted (writers chunk at a few MiB; rosbag2 at 768 KiB).
const MAX_RECORD: usize = 1 << 30;

pub fn read(path: &Path, out: &mut Vec<BagMessage>) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let err = |msg: String| Error::invalid(path.display().to_string(), msg);
    let mut reader = LinearReader::new_with_options(
        LinearReaderOptions::default()
            .with_prevalidate_chunk_crcs(true)
            .with_record_length_limit(MAX_RECORD),
    );
    let mut schemas: HashMap<u16, String> = HashMap::new();
    // channel id -> (topic, schema name)
    let mut channels: HashMap<u16, (String, String)> = HashMap::new();
    let mut fed = 0usize;
    let mut count = 0usize;
    while let Some(event) = reader.next_event() {
        let event = event.map_err(|e| err(format!("corrupt MCAP after message {count}: {e}")))?;
        match event {
            LinearReadEvent::ReadRequest(need) => {
                let n = need.min(bytes.len() - fed);
                reader.insert(n).copy_from_slice(&bytes[fed..fed + n]);
                reader.notify_read(n);
                fed += n;
            }
            LinearReadEvent::Record { opcode, data } => {
                let record = mcap::parse_record(opcode, data)
                    .map_err(|e| err(format!("corrupt MCAP record after message {count}: {e}")))?;
                match record {
                    Record::Schema { header, .. } => {
                        schemas.insert(header.id, header.name);
                    }
                    Record::Channel(ch) => {
                        if ch.message_encoding != "cdr" {
                            return Err(Error::invalid(
                                format!("{}: topic {}", path.display(), ch.topic),
                                format!("message encoding `{}`, expected cdr", ch.message_encoding),
                            ));
                        }
                        let schema = schemas.get(&ch.schema_id).cloned().unwrap_or_default();
                        channels.insert(ch.id, (ch.topic, schema));
                    }
                    Record::Message { header, data } => {
                        let (topic, msg_type) =
                            channels.get(&header.channel_id).ok_or_else(|| {
                                err(format!(
                                "message {count} is on channel {}, which no channel record defines",
                                header.channel_id
                            ))
                            })?;
                        out.push(BagMessage {
                            topic: topic.clone(),
                            msg_type: msg_type.clone(),
                            log_time_ns: header.log_time,
                            data: data.into_owned(),
                            file: path.to_path_buf(),
                            index: count,
                        });
                        count += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}
