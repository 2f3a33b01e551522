//! The f32 data of the ops' CPU inputs, with errors that name the op and the input.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout, Storage, Tensor};

/// The contiguous f32 values of one input of `op`.
pub fn f32_slice<'a>(
    op: &str,
    s: &'a CpuStorage,
    l: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("{op}: {what} must be f32, got {:?}", s.dtype())
    };
    let (a, b) = l
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{op}: {what} must be contiguous")))?;
    Ok(&v[a..b])
}

/// Runs `f` on the f32 values of a contiguous CPU tensor.
pub fn with_f32<R>(
    op: &str,
    t: &Tensor,
    what: &str,
    f: impl FnOnce(&[f32]) -> R,
) -> candle_core::Result<R> {
    let (s, l) = t.storage_and_layout();
    let Storage::Cpu(s) = &*s else {
        candle_core::bail!("{op}: runs on the CPU only")
    };
    Ok(f(f32_slice(op, s, l, what)?))
}
