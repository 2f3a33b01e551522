//! sqlite3 storage (the Humble default): tables topics and messages.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::BagMessage;
use crate::error::{Error, Result};

pub fn read(path: &Path, out: &mut Vec<BagMessage>) -> Result<()> {
    let err = |what: &str, e: rusqlite::Error| {
        Error::invalid(path.display().to_string(), format!("{what}: {e}"))
    };
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| err("not a readable sqlite3 bag", e))?;
    let mut topics: HashMap<i64, (String, String)> = HashMap::new();
    let mut q = db
        .prepare("SELECT id, name, type FROM topics")
        .map_err(|e| err("no topics table", e))?;
    let rows = q
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| err("reading topics", e))?;
    for row in rows {
        let (id, name, ty) = row.map_err(|e| err("reading topics", e))?;
        topics.insert(id, (name, ty));
    }
    let mut q = db
        .prepare("SELECT topic_id, timestamp, data FROM messages ORDER BY timestamp, id")
        .map_err(|e| err("no messages table", e))?;
    let rows = q
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .map_err(|e| err("reading messages", e))?;
    for (i, row) in rows.enumerate() {
        let (tid, t, data) = row.map_err(|e| err(&format!("reading message {i}"), e))?;
        let (topic, msg_type) = topics.get(&tid).cloned().ok_or_else(|| {
            Error::invalid(
                path.display().to_string(),
                format!("message {i} refers to topic id {tid}, which the topics table lacks"),
            )
        })?;
        out.push(BagMessage {
            topic,
            msg_type,
            log_time_ns: t.max(0) as u64,
            data,
            file: path.to_path_buf(),
            index: i,
        });
    }
    Ok(())
}
