//! Fast CPU kernels for the image encoder, as candle custom ops with their own backward:
//! convolution as GEMMs over cache-sized im2col chunks, a fused ReLU + 2x2 max-pool, and a
//! fully connected layer with ReLU, all split over the op threads. candle's
//! own conv2d backward dominates an image-policy train step on a CPU (README, "Speed").

pub mod conv2d;
mod data;
pub mod gemm;
pub mod linear;
pub mod pool;
pub mod scratch;
pub mod threads;

pub use conv2d::{conv2d, conv2d_relu_pool2, set_chunk_floats, ConvSpec};
pub use linear::linear_relu;
pub use pool::relu_max_pool2;
