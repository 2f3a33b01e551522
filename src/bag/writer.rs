//! Writes rosbag2 MCAP bags (profile ros2, `ros2msg` schemas, cdr messages, zstd chunks) with a
//! metadata.yaml, as `ros2 bag record` makes them: `ros2 bag info` / `ros2 bag play` and
//! rosbags read them. The storage file is named `<bag>_0.mcap`, as rosbag2 names it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use byteorder::LittleEndian;

use crate::error::{Error, Result};
use crate::msgs::definition::schema;
use crate::msgs::RosMessage;

struct Topic {
    channel: u16,
    msg_type: String,
    count: u64,
}

pub struct BagWriter {
    dir: PathBuf,
    file: PathBuf,
    mcap: mcap::Writer<BufWriter<File>>,
    topics: HashMap<String, Topic>,
    order: Vec<String>,
    first: Option<u64>,
    last: u64,
}

impl BagWriter {
    /// A new bag directory at `dir` (which must not exist yet: nothing is overwritten), with
    /// zstd-compressed chunks.
    pub fn create(dir: &Path) -> Result<BagWriter> {
        Self::create_with(dir, true)
    }

    /// As `create`; `compress: false` writes uncompressed chunks (rosbag2's default: readers
    /// can then use message bytes in place, which matters for camera images).
    pub fn create_with(dir: &Path, compress: bool) -> Result<BagWriter> {
        if dir.exists() {
            return Err(Error::invalid(
                dir.display().to_string(),
                "already exists: a new bag needs a new directory",
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let stem = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bag".into());
        let file = dir.join(format!("{stem}_0.mcap"));
        let out = File::create(&file).map_err(|e| Error::io(&file, e))?;
        let mcap = mcap::WriteOptions::new()
            .profile("ros2")
            .compression(compress.then_some(mcap::Compression::Zstd))
            .create(BufWriter::new(out))
            .map_err(|e| Error::invalid(file.display().to_string(), format!("MCAP: {e}")))?;
        Ok(BagWriter {
            dir: dir.to_path_buf(),
            file,
            mcap,
            topics: HashMap::new(),
            order: Vec::new(),
            first: None,
            last: 0,
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::invalid(self.file.display().to_string(), format!("MCAP: {e}"))
    }

    /// Appends `msg` on `topic` at `log_time_ns` (a topic keeps the type of its first message).
    pub fn write<M: RosMessage>(&mut self, topic: &str, log_time_ns: u64, msg: &M) -> Result<()> {
        if !self.topics.contains_key(topic) {
            let def = schema(&M::ros_type()).ok_or_else(|| {
                Error::invalid(
                    topic,
                    format!("no message definition for {}", M::ros_type()),
                )
            })?;
            let sid = self
                .mcap
                .add_schema(&M::ros_type(), "ros2msg", def.as_bytes())
                .map_err(|e| self.err(e))?;
            let meta = BTreeMap::from([("offered_qos_profiles".to_string(), String::new())]);
            let channel = self
                .mcap
                .add_channel(sid, topic, "cdr", &meta)
                .map_err(|e| self.err(e))?;
            self.topics.insert(
                topic.to_string(),
                Topic {
                    channel,
                    msg_type: M::ros_type(),
                    count: 0,
                },
            );
            self.order.push(topic.to_string());
        }
        let t = &self.topics[topic];
        if t.msg_type != M::ros_type() {
            return Err(Error::invalid(
                topic,
                format!("carries {}, not {}", t.msg_type, M::ros_type()),
            ));
        }
        let mut data = vec![0u8, 1, 0, 0];
        data.extend(
            cdr_encoding::to_vec::<M, LittleEndian>(msg)
                .map_err(|e| Error::invalid(topic, format!("CDR encoding: {e}")))?,
        );
        let header = mcap::records::MessageHeader {
            channel_id: t.channel,
            sequence: t.count as u32,
            log_time: log_time_ns,
            publish_time: log_time_ns,
        };
        self.mcap
            .write_to_known_channel(&header, &data)
            .map_err(|e| self.err(e))?;
        self.topics.get_mut(topic).expect("added above").count += 1;
        self.first = Some(self.first.map_or(log_time_ns, |f| f.min(log_time_ns)));
        self.last = self.last.max(log_time_ns);
        Ok(())
    }

    /// Closes the MCAP file and writes metadata.yaml.
    pub fn finish(mut self) -> Result<PathBuf> {
        self.mcap.finish().map_err(|e| self.err(e))?;
        let start = self.first.unwrap_or(0);
        let duration = self.last.saturating_sub(start);
        let total: u64 = self.topics.values().map(|t| t.count).sum();
        let name = self
            .file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut yaml = format!(
            "rosbag2_bagfile_information:\n  version: 8\n  storage_identifier: mcap\n  duration:\n    nanoseconds: {duration}\n  starting_time:\n    nanoseconds_since_epoch: {start}\n  message_count: {total}\n  topics_with_message_count:\n"
        );
        for name in &self.order {
            let t = &self.topics[name];
            yaml.push_str(&format!(
                "    - topic_metadata:\n        name: {name}\n        type: {}\n        serialization_format: cdr\n        offered_qos_profiles: \"\"\n        type_description_hash: \"\"\n      message_count: {}\n",
                t.msg_type, t.count
            ));
        }
        yaml.push_str(&format!(
            "  compression_format: \"\"\n  compression_mode: \"\"\n  relative_file_paths:\n    - {name}\n  files:\n    - path: {name}\n      starting_time:\n        nanoseconds_since_epoch: {start}\n      duration:\n        nanoseconds: {duration}\n      message_count: {total}\n  custom_data: ~\n  ros_distro: \"\"\n"
        ));
        crate::fsutil::write_atomic(&self.dir.join("metadata.yaml"), yaml.as_bytes())?;
        Ok(self.dir)
    }
}
