//! rosbag2 bags without ROS: a bag directory (metadata.yaml + .mcap or .db3 files, split bags
//! too) or a bare .mcap / .db3 file; messages in log-time order, CDR decoded into msgs types.
//! Every error names the file (and the topic and offset where there is one).
//!
//! Writing: MCAP bags with metadata.yaml (writer.rs).

pub mod cdr;
mod mcap_file;
pub mod mcap_walk;
mod metadata;
mod sqlite_file;
mod writer;

pub use writer::BagWriter;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// How a bag stores its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    Mcap,
    Sqlite3,
}

/// One serialized message as stored: full CDR, 4-byte encapsulation header included.
#[derive(Clone, Debug)]
pub struct BagMessage {
    pub topic: String,
    /// ROS type, e.g. `sensor_msgs/msg/JointState`.
    pub msg_type: String,
    pub log_time_ns: u64,
    pub data: Vec<u8>,
    /// Where it came from, for errors: the file, and the message's position in it.
    pub file: PathBuf,
    pub index: usize,
}

/// An opened bag: its storage files, in order.
#[derive(Clone, Debug)]
pub struct Bag {
    pub storage: Storage,
    pub files: Vec<PathBuf>,
}

/// What `ndp bag info` prints.
#[derive(Clone, Debug, Serialize)]
pub struct TopicInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub msg_type: String,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BagInfo {
    pub storage: Storage,
    pub duration_s: f64,
    pub messages: u64,
    pub topics: Vec<TopicInfo>,
}

fn storage_of(file: &Path) -> Result<Storage> {
    match file.extension().and_then(|e| e.to_str()) {
        Some("mcap") => Ok(Storage::Mcap),
        Some("db3") => Ok(Storage::Sqlite3),
        _ => Err(Error::invalid(
            file.display().to_string(),
            "not a bag: expected a bag directory (with metadata.yaml), a .mcap or a .db3 file",
        )),
    }
}

impl Bag {
    /// A bag directory (reads its metadata.yaml) or a single storage file.
    pub fn open(path: &Path) -> Result<Bag> {
        if path.is_dir() {
            let meta = metadata::Metadata::read(&path.join("metadata.yaml"))?;
            let files: Vec<PathBuf> = meta.files.iter().map(|f| path.join(f)).collect();
            if let Some(missing) = files.iter().find(|f| !f.exists()) {
                return Err(Error::invalid(
                    path.join("metadata.yaml").display().to_string(),
                    format!("lists {}, which does not exist", missing.display()),
                ));
            }
            return Ok(Bag {
                storage: meta.storage,
                files,
            });
        }
        if !path.exists() {
            return Err(Error::invalid(path.display().to_string(), "no such bag"));
        }
        Ok(Bag {
            storage: storage_of(path)?,
            files: vec![path.to_path_buf()],
        })
    }

    /// Every message of every file, in log-time order (stable across files).
    pub fn messages(&self) -> Result<Vec<BagMessage>> {
        let mut all = Vec::new();
        for f in &self.files {
            match self.storage {
                Storage::Mcap => mcap_file::read(f, &mut all)?,
                Storage::Sqlite3 => sqlite_file::read(f, &mut all)?,
            }
        }
        all.sort_by_key(|m| m.log_time_ns);
        Ok(all)
    }

    /// Calls `f` for every message, file by file in storage order (not sorted by time), with
    /// the message bytes borrowed where the storage allows (MCAP without chunk compression):
    /// the path for large camera bags. `f` gets the file and the message.
    pub fn for_each_message(
        &self,
        mut f: impl FnMut(&Path, mcap_walk::MessageRef<'_>) -> Result<()>,
    ) -> Result<()> {
        for file in &self.files {
            match self.storage {
                Storage::Mcap => mcap_file::for_each(file, |m| f(file, m))?,
                Storage::Sqlite3 => {
                    let mut msgs = Vec::new();
                    sqlite_file::read(file, &mut msgs)?;
                    for m in &msgs {
                        f(
                            file,
                            mcap_walk::MessageRef {
                                topic: &m.topic,
                                msg_type: &m.msg_type,
                                log_time_ns: m.log_time_ns,
                                data: &m.data,
                                index: m.index,
                            },
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Topics, types, counts and duration, from the messages themselves.
    pub fn info(&self) -> Result<BagInfo> {
        // A walk without copying message bytes or sorting: only counts and the time span.
        let mut topics: BTreeMap<String, TopicInfo> = BTreeMap::new();
        let (mut n, mut first, mut last) = (0u64, u64::MAX, 0u64);
        self.for_each_message(|_, m| {
            if !topics.contains_key(m.topic) {
                topics.insert(
                    m.topic.to_string(),
                    TopicInfo {
                        name: m.topic.to_string(),
                        msg_type: m.msg_type.to_string(),
                        count: 0,
                    },
                );
            }
            topics.get_mut(m.topic).expect("inserted above").count += 1;
            n += 1;
            first = first.min(m.log_time_ns);
            last = last.max(m.log_time_ns);
            Ok(())
        })?;
        let span = if n > 0 {
            (last - first) as f64 * 1e-9
        } else {
            0.0
        };
        Ok(BagInfo {
            storage: self.storage,
            duration_s: span,
            messages: n,
            topics: topics.into_values().collect(),
        })
    }
}
