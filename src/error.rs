//! The library's error type: every variant names the file, key, field or tensor at fault.

use std::path::PathBuf;

/// Errors raised by the library. Binaries wrap them with `anyhow` for one clear line on stderr.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config {path}: {msg}")]
    Config { path: PathBuf, msg: String },
    #[error("invalid value for `{key}`: {msg}")]
    Invalid { key: String, msg: String },
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("data {path}: field `{field}`: {msg}")]
    Data {
        path: PathBuf,
        field: String,
        msg: String,
    },
    #[error("checkpoint {path}: {msg}")]
    Checkpoint { path: PathBuf, msg: String },
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        what: String,
        expected: String,
        got: String,
    },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(key: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Invalid {
            key: key.into(),
            msg: msg.into(),
        }
    }
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
