//! f32 matrix products with arbitrary strides (the `gemm` crate candle itself uses), on the
//! calling thread: the ops split their work over threads themselves (conv2d by chunks of
//! samples), which scaled where splitting each product did not.

/// A matrix view: base pointer, row stride and column stride in elements.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}

impl View {
    /// Row-major with `cols` columns.
    pub fn rows(ptr: *const f32, cols: usize) -> Self {
        View {
            ptr,
            rs: cols as isize,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(ptr: *const f32, cols: usize) -> Self {
        View {
            ptr,
            rs: 1,
            cs: cols as isize,
        }
    }
}

/// dst (m x n, row-major, row stride `dst_rs`) = [dst +] lhs (m x k) . rhs (k x n).
///
/// # Safety
/// Every element the views address must be valid for reads (lhs, rhs) and dst must hold
/// m rows of `dst_rs` floats with n <= dst_rs, not aliasing lhs or rhs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: usize,
    accumulate: bool,
    lhs: View,
    rhs: View,
) {
    // SAFETY: the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs.ptr,
            lhs.cs,
            lhs.rs,
            rhs.ptr,
            rhs.cs,
            rhs.rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}
