//! metadata.yaml of a bag directory: which storage, which files.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Storage;
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct File {
    rosbag2_bagfile_information: Info,
}

#[derive(Deserialize)]
struct Info {
    storage_identifier: String,
    relative_file_paths: Vec<PathBuf>,
}

pub struct Metadata {
    pub storage: Storage,
    pub files: Vec<PathBuf>,
}

impl Metadata {
    pub fn read(path: &Path) -> Result<Metadata> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(
                path.display().to_string(),
                format!("cannot read the bag's metadata.yaml ({e}); a bag directory needs one"),
            )
        })?;
        let f: File = serde_yaml::from_str(&text).map_err(|e| {
            Error::invalid(
                path.display().to_string(),
                format!("not rosbag2 metadata: {e}"),
            )
        })?;
        let info = f.rosbag2_bagfile_information;
        let storage = match info.storage_identifier.as_str() {
            "mcap" => Storage::Mcap,
            "sqlite3" => Storage::Sqlite3,
            s => {
                return Err(Error::invalid(
                    format!("{}: storage_identifier", path.display()),
                    format!("`{s}`: expected mcap or sqlite3"),
                ))
            }
        };
        if info.relative_file_paths.is_empty() {
            return Err(Error::invalid(
                format!("{}: relative_file_paths", path.display()),
                "lists no storage files",
            ));
        }
        Ok(Metadata {
            storage,
            files: info.relative_file_paths,
        })
    }
}
