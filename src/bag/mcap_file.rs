//! MCAP storage (ros2 profile, cdr messages, chunks uncompressed, zstd or lz4): the file is
//! memory-mapped and walked by mcap_walk.rs (messages borrowed in place where chunks are not
//! compressed).

use std::path::Path;

use super::mcap_walk::{for_each_message, MessageRef};
use super::BagMessage;
use crate::error::{Error, Result};

/// Calls `f` for every message of the file, in file order, without copying message bytes.
pub fn for_each(path: &Path, f: impl FnMut(MessageRef<'_>) -> Result<()>) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Err(Error::invalid(
            path.display().to_string(),
            "empty file, not an MCAP bag",
        ));
    }
    // SAFETY: the map is read-only and lives only for this call; a bag being rewritten while it
    // is read is outside what any reader can make sense of (rosbag2 writes new files).
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    for_each_message(&map, &path.display().to_string(), f)
}

/// Every message of the file, copied out (one copy of each message's bytes).
pub fn read(path: &Path, out: &mut Vec<BagMessage>) -> Result<()> {
    for_each(path, |m| {
        out.push(BagMessage {
            topic: m.topic.to_string(),
            msg_type: m.msg_type.to_string(),
            log_time_ns: m.log_time_ns,
            data: m.data.to_vec(),
            file: path.to_path_buf(),
            index: m.index,
        });
        Ok(())
    })
}
