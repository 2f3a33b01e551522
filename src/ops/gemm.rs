//! f32 matrix products with arbitrary strides (the `gemm` crate candle itself uses), split
//! over the op threads by output columns.

use super::threads::split;

/// A matrix view: base pointer, row stride and column stride in elements.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}

/// Raw pointers cross into the scoped worker threads; the column split keeps writes disjoint.
#[derive(Clone, Copy)]
struct Shared(*mut f32, View, View);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// Taken whole by a method, so closures capture the Send wrapper, not its raw fields.
    fn parts(self) -> (*mut f32, View, View) {
        (self.0, self.1, self.2)
    }
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

    fn col(self, c: usize) -> *const f32 {
        self.ptr.wrapping_offset(self.cs * c as isize)
    }

    fn row(self, r: usize) -> *const f32 {
        self.ptr.wrapping_offset(self.rs * r as isize)
    }
}

/// dst (m x n, row-major, row stride `dst_rs`) = [dst +] lhs (m x k) . rhs (k x n).
/// Split over the op threads when the product is large enough to repay a thread start
/// (~20 us): by columns of dst, or by rows when there are too few columns (weight gradients,
/// whose dst is a few dozen columns wide).
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
    let shared = Shared(dst, lhs, rhs);
    let small = m * n * k < 1 << 21;
    let by_rows = !small && n < 128 && m >= 32;
    let one = |rows: (usize, usize), cols: (usize, usize)| {
        let (dst, lhs, rhs) = shared.parts();
        let lhs = View {
            ptr: lhs.row(rows.0),
            ..lhs
        };
        let rhs = View {
            ptr: rhs.col(cols.0),
            ..rhs
        };
        // SAFETY: the caller's contract; this part's rows x cols block of dst is its alone.
        unsafe {
            sgemm_serial(
                rows.1 - rows.0,
                cols.1 - cols.0,
                k,
                dst.wrapping_add(rows.0 * dst_rs + cols.0),
                dst_rs,
                accumulate,
                lhs,
                rhs,
            )
        }
    };
    if by_rows {
        split(m, 16, move |r0, r1| one((r0, r1), (0, n)));
    } else {
        let min_cols = if small { n.max(1) } else { 64 };
        split(n, min_cols, move |c0, c1| one((0, m), (c0, c1)));
    }
}

/// `sgemm` on this thread only (callers that split the work themselves).
///
/// # Safety
/// As `sgemm`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_serial(
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
