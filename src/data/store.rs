//! The digit set on disk: one safetensors file per split with three tensors
//!   images       u8  (N, 40, 40)   ink 0..255, row-major, y down
//!   trajectories f32 (N, 301, 2)   pen position (x, y) in pixels of the 40x40 frame
//!   labels       u8  (N)           digit class 0..9
//! plus `meta.yaml` in the directory (format name, sizes, seed). Files are written atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::digits::{DigitSample, IMAGE_SIZE, POINTS};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;

pub const FORMAT: &str = "ndp-digits/1";

/// A split held in memory, flat arrays in the layout above.
#[derive(Clone, Debug, Default)]
pub struct DigitSet {
    pub images: Vec<u8>,
    pub trajectories: Vec<f32>,
    pub labels: Vec<u8>,
}

/// `meta.yaml` of a digit directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitMeta {
    pub format: String,
    pub image_size: usize,
    pub points: usize,
    pub seed: u64,
    pub train: usize,
    pub test: usize,
}

impl DigitSet {
    pub fn from_samples(samples: &[DigitSample]) -> Self {
        let mut set = DigitSet::default();
        for s in samples {
            set.images.extend_from_slice(&s.image);
            set.trajectories
                .extend(s.trajectory.iter().flat_map(|p| p.iter().copied()));
            set.labels.push(s.label);
        }
        set
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image(&self, i: usize) -> &[u8] {
        let n = IMAGE_SIZE * IMAGE_SIZE;
        &self.images[i * n..(i + 1) * n]
    }

    pub fn trajectory(&self, i: usize) -> &[f32] {
        let n = POINTS * 2;
        &self.trajectories[i * n..(i + 1) * n]
    }

    /// The first `n` samples (for quick runs on a large set).
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.images.truncate(n * IMAGE_SIZE * IMAGE_SIZE);
        self.trajectories.truncate(n * POINTS * 2);
        self.labels.truncate(n);
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let n = self.len();
        let cpu = Device::Cpu;
        let mut map = HashMap::new();
        map.insert(
            "images".to_string(),
            Tensor::from_slice(&self.images, (n, IMAGE_SIZE, IMAGE_SIZE), &cpu)?,
        );
        map.insert(
            "trajectories".to_string(),
            Tensor::from_slice(&self.trajectories, (n, POINTS, 2), &cpu)?,
        );
        map.insert(
            "labels".to_string(),
            Tensor::from_slice(&self.labels, n, &cpu)?,
        );
        let bytes = safetensors::serialize(&map, None).map_err(|e| Error::File {
            path: path.into(),
            msg: format!("serialising: {e}"),
        })?;
        write_atomic(path, &bytes)
    }

    /// Loads and checks one split; every error names the file and the field.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| {
            Error::File {
                path: path.into(),
                msg: format!("not a readable safetensors file (truncated or corrupt?): {e}"),
            }
        })?;
        let get = |field: &str, dtype: DType, dims: &[usize]| -> Result<Tensor> {
            let data_err = |msg: String| Error::Data {
                path: PathBuf::from(path),
                field: field.into(),
                msg,
            };
            let t = tensors
                .get(field)
                .ok_or_else(|| data_err("missing".into()))?;
            if t.dtype() != dtype {
                return Err(data_err(format!(
                    "dtype {:?}, expected {:?}",
                    t.dtype(),
                    dtype
                )));
            }
            let got = t.dims();
            let ok = got.len() == dims.len()
                && got
                    .iter()
                    .zip(dims)
                    .all(|(g, w)| *w == usize::MAX || g == w);
            if !ok {
                let want: Vec<String> = dims
                    .iter()
                    .map(|d| {
                        if *d == usize::MAX {
                            "N".into()
                        } else {
                            d.to_string()
                        }
                    })
                    .collect();
                return Err(data_err(format!(
                    "shape {got:?}, expected ({})",
                    want.join(", ")
                )));
            }
            Ok(t.clone())
        };
        let labels = get("labels", DType::U8, &[usize::MAX])?;
        let n = labels.dim(0)?;
        let images = get("images", DType::U8, &[n, IMAGE_SIZE, IMAGE_SIZE])?;
        let trajectories = get("trajectories", DType::F32, &[n, POINTS, 2])?;
        let set = DigitSet {
            images: images.flatten_all()?.to_vec1()?,
            trajectories: trajectories.flatten_all()?.to_vec1()?,
            labels: labels.to_vec1()?,
        };
        if let Some(i) = set.trajectories.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data {
                path: path.into(),
                field: "trajectories".into(),
                msg: format!("non-finite value in sample {}", i / (POINTS * 2)),
            });
        }
        Ok(set)
    }
}

/// Paths of the two splits and the meta file of a digit directory.
pub fn split_path(dir: &Path, split: &str) -> PathBuf {
    dir.join(format!("{split}.safetensors"))
}

pub fn save_meta(dir: &Path, meta: &DigitMeta) -> Result<()> {
    let path = dir.join("meta.yaml");
    let text = serde_yaml::to_string(meta).expect("meta serialises");
    write_atomic(&path, text.as_bytes())
}

pub fn load_meta(dir: &Path) -> Result<DigitMeta> {
    let path = dir.join("meta.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let meta: DigitMeta = serde_yaml::from_str(&text).map_err(|e| Error::Config {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    if meta.format != FORMAT {
        return Err(Error::Data {
            path,
            field: "format".into(),
            msg: format!("`{}`, expected `{FORMAT}`", meta.format),
        });
    }
    Ok(meta)
}
