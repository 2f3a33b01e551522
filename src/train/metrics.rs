//! Metrics as JSON lines: one object per line, appended and flushed as training goes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

pub struct MetricsLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl MetricsLog {
    /// Starts a fresh log at `path` (truncating an old one).
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(MetricsLog {
            path: path.into(),
            out: BufWriter::new(f),
        })
    }

    /// Continues the log of a run resumed after update `through`: lines of later updates
    /// (logged after the checkpoint it resumes from, so they will be logged again) and a
    /// torn last line are dropped first, so every update appears once. Creates it if absent.
    pub fn resume(path: &Path, through: u64) -> Result<Self> {
        let old = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(path, e)),
        };
        let mut kept = String::new();
        for line in old.lines() {
            let v: serde_json::Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(_) => continue,
            };
            if v["update"].as_u64().is_some_and(|u| u <= through) {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        crate::fsutil::write_atomic(path, kept.as_bytes())?;
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(MetricsLog {
            path: path.into(),
            out: BufWriter::new(f),
        })
    }

    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let line = serde_json::to_string(record).expect("metrics serialise");
        writeln!(self.out, "{line}")
            .and_then(|_| self.out.flush())
            .map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_drops_updates_after_the_checkpoint_and_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut text: String = (0..6).map(|u| format!("{{\"update\":{u}}}\n")).collect();
        text.push_str("{\"update\":6,\"env_st"); // torn by a crash
        std::fs::write(&path, text).unwrap();
        let mut log = MetricsLog::resume(&path, 2).unwrap();
        log.write(&serde_json::json!({"update": 3})).unwrap();
        let updates: Vec<u64> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["update"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(updates, vec![0, 1, 2, 3]);
    }
}
