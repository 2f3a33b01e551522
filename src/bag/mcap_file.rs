//! MCAP storage (ros2 profile, cdr messages, chunks uncompressed, zstd or lz4).

use std::path::Path;

use super::BagMessage;
use crate::error::{Error, Result};

pub fn read(path: &Path, out: &mut Vec<BagMessage>) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let err = |i: usize, e: mcap::McapError| {
        Error::invalid(
            path.display().to_string(),
            format!("corrupt MCAP after message {i}: {e}"),
        )
    };
    let stream = mcap::MessageStream::new(&bytes).map_err(|e| err(0, e))?;
    for (i, m) in stream.enumerate() {
        let m = m.map_err(|e| err(i, e))?;
        if m.channel.message_encoding != "cdr" {
            return Err(Error::invalid(
                format!("{}: topic {}", path.display(), m.channel.topic),
                format!(
                    "message encoding `{}`, expected cdr",
                    m.channel.message_encoding
                ),
            ));
        }
        let msg_type = m
            .channel
            .schema
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        out.push(BagMessage {
            topic: m.channel.topic.clone(),
            msg_type,
            log_time_ns: m.log_time,
            data: m.data.into_owned(),
            file: path.to_path_buf(),
            index: i,
        });
    }
    Ok(())
}
