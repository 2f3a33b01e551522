//! Reading YAML configs with errors that name the file, the key path and the line.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Parses `path` as `T`; unknown, missing and mistyped keys are errors naming the key.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, path)
}

/// Parses YAML text that came from `path` (used in messages only).
pub fn parse<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T> {
    serde_yaml::from_str(text).map_err(|e| Error::Config {
        path: path.into(),
        msg: e.to_string(),
    })
}

/// Parses `path` as `T` and runs `validate` on it; a validation error is reported against the
/// file (`config FILE: invalid value for KEY: ...`).
pub fn load_checked<T: DeserializeOwned>(
    path: &Path,
    validate: impl FnOnce(&T) -> Result<()>,
) -> Result<T> {
    let cfg: T = load(path)?;
    validate(&cfg).map_err(|e| Error::Config {
        path: path.into(),
        msg: e.to_string(),
    })?;
    Ok(cfg)
}
