//! The command line as rcl reads it: `--ros-args ... [--]` sections with `--params-file FILE`,
//! `-p name:=value`, `-r from:=to`, `-r __node:=NAME`, `-r __ns:=NS`, `--log-level L`.
//! ros2-client does none of this, so the embedded backend does it here.

use std::path::{Path, PathBuf};

use super::params::{ParamMap, ParamValue};
use crate::error::{Error, Result};

/// The ROS part of a command line, before the node name is known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RosArgs {
    /// Arguments outside `--ros-args` sections, for the program itself.
    pub program: Vec<String>,
    pub node_name: Option<String>,
    pub namespace: Option<String>,
    /// (from, to) topic remappings, in order.
    pub remaps: Vec<(String, String)>,
    pub params_files: Vec<PathBuf>,
    /// `-p` overrides, in order (they win over files).
    pub params: Vec<(String, ParamValue)>,
    pub log_level: Option<String>,
}

fn arg_err(msg: String) -> Error {
    Error::invalid("--ros-args", msg)
}

impl RosArgs {
    /// Splits `args` (without the program name).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Self> {
        let mut out = RosArgs::default();
        let mut it = args.into_iter();
        let mut in_ros = false;
        while let Some(a) = it.next() {
            if !in_ros {
                if a == "--ros-args" {
                    in_ros = true;
                } else {
                    out.program.push(a);
                }
                continue;
            }
            let mut value = |flag: &str| {
                it.next()
                    .ok_or_else(|| arg_err(format!("`{flag}` needs a value")))
            };
            match a.as_str() {
                "--" => in_ros = false,
                "--ros-args" => {}
                "--params-file" => out
                    .params_files
                    .push(PathBuf::from(value("--params-file")?)),
                "-p" | "--param" => {
                    let v = value(&a)?;
                    let (name, val) = split_rule(&v, &a)?;
                    // `node:name:=value` applies to one node; we are the only node.
                    let name = name.rsplit(':').next().unwrap_or(name).to_string();
                    out.params.push((name, ParamValue::parse(val)));
                }
                "-r" | "--remap" => {
                    let v = value(&a)?;
                    let (from, to) = split_rule(&v, &a)?;
                    let from = from.rsplit(':').next().unwrap_or(from);
                    match from {
                        "__node" | "__name" => out.node_name = Some(to.to_string()),
                        "__ns" => out.namespace = Some(to.to_string()),
                        _ => out.remaps.push((from.to_string(), to.to_string())),
                    }
                }
                "--log-level" => out.log_level = Some(value("--log-level")?),
                "-e" | "--enclave" => {
                    value(&a)?;
                }
                other if other.starts_with("--disable-") || other.starts_with("--enable-") => {}
                other => return Err(arg_err(format!("unknown ROS argument `{other}`"))),
            }
        }
        Ok(out)
    }

    /// All parameters for node `name` in namespace `ns`: files in order (`/**` first within a
    /// file, then the node's own section), then `-p` overrides.
    pub fn parameters(&self, name: &str, ns: &str) -> Result<ParamMap> {
        let mut map = ParamMap::new();
        for file in &self.params_files {
            load_params_file(file, name, ns, &mut map)?;
        }
        for (k, v) in &self.params {
            map.insert(k.clone(), v.clone());
        }
        Ok(map)
    }
}

fn split_rule<'a>(rule: &'a str, flag: &str) -> Result<(&'a str, &'a str)> {
    rule.split_once(":=")
        .ok_or_else(|| arg_err(format!("`{flag} {rule}`: expected from:=to")))
}

/// Does a parameter-file key (`/**`, `node`, `/ns/node`, `/**/node`) select this node?
fn key_matches(key: &str, name: &str, ns: &str) -> bool {
    let fq = if ns == "/" {
        format!("/{name}")
    } else {
        format!("{ns}/{name}")
    };
    key == "/**"
        || key == fq
        || (!key.starts_with('/') && ns == "/" && key == name)
        || key.strip_prefix("/**/").is_some_and(|n| n == name)
}

/// Merges the parameters of `file` that apply to this node into `map`.
pub fn load_params_file(file: &Path, name: &str, ns: &str, map: &mut ParamMap) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| Error::Config {
        path: file.into(),
        msg: e.to_string(),
    })?;
    let cfg_err = |msg: String| Error::Config {
        path: file.into(),
        msg,
    };
    let top = doc
        .as_mapping()
        .ok_or_else(|| cfg_err("expected a mapping of node names to `ros__parameters`".into()))?;
    // Wildcards first, so that the node's own section wins.
    let mut sections: Vec<(&str, &serde_yaml::Value)> = top
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?, v)))
        .filter(|(k, _)| key_matches(k, name, ns))
        .collect();
    sections.sort_by_key(|(k, _)| !k.contains("**"));
    for (key, section) in sections {
        let params = section
            .get("ros__parameters")
            .ok_or_else(|| cfg_err(format!("`{key}` has no `ros__parameters`")))?;
        flatten(params, String::new(), map).map_err(|p| {
            cfg_err(format!(
                "{key}.ros__parameters.{p}: not a ROS parameter value"
            ))
        })?;
    }
    Ok(())
}

/// Nested maps become dotted names, as in rcl.
fn flatten(
    v: &serde_yaml::Value,
    prefix: String,
    map: &mut ParamMap,
) -> std::result::Result<(), String> {
    if let Some(m) = v.as_mapping() {
        for (k, child) in m {
            let k = k
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("{k:?}"));
            let name = if prefix.is_empty() {
                k
            } else {
                format!("{prefix}.{k}")
            };
            flatten(child, name, map)?;
        }
        Ok(())
    } else {
        let val = ParamValue::from_yaml(v).ok_or_else(|| prefix.clone())?;
        map.insert(prefix, val);
        Ok(())
    }
}
