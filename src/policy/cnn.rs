//! The digit model's image encoder (LeNet-like, as in the NDP paper's digit experiments):
//! conv 5x5 (20) -> ReLU -> max-pool 2 -> conv 5x5 (50) -> ReLU -> max-pool 2 -> fc 200 -> ReLU.

use candle_core::Tensor;
use candle_nn::{conv2d, linear, Conv2d, Conv2dConfig, Linear, Module, VarBuilder};

use super::config::ConvImpl;
use crate::ops::{self, ConvSpec};

pub const FEATURES: usize = 200;

#[derive(Clone, Debug)]
pub struct DigitCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    fc: Linear,
    imp: ConvImpl,
}

impl DigitCnn {
    /// For single-channel square images of side `size`.
    pub fn new(size: usize, imp: ConvImpl, vb: VarBuilder) -> candle_core::Result<Self> {
        let cfg = Conv2dConfig::default();
        let side = ((size - 4) / 2 - 4) / 2;
        Ok(DigitCnn {
            conv1: conv2d(1, 20, 5, cfg, vb.pp("conv1"))?,
            conv2: conv2d(20, 50, 5, cfg, vb.pp("conv2"))?,
            fc: linear(50 * side * side, FEATURES, vb.pp("fc"))?,
            imp,
        })
    }

    /// conv -> ReLU -> 2x2 max-pool, by the configured implementation.
    fn block(&self, conv: &Conv2d, x: &Tensor) -> candle_core::Result<Tensor> {
        match (self.imp, conv.bias()) {
            (ConvImpl::Im2col, Some(b)) => {
                ops::conv2d_relu_pool2(x, conv.weight(), b, ConvSpec::default())
            }
            _ => conv.forward(x)?.relu()?.max_pool2d(2),
        }
    }
}

impl Module for DigitCnn {
    /// (B, 1, S, S) in [0, 1] -> (B, 200).
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.block(&self.conv1, x)?;
        let h = self.block(&self.conv2, &h)?.flatten_from(1)?;
        match (self.imp, self.fc.bias()) {
            (ConvImpl::Im2col, Some(b)) => ops::linear_relu(&h, self.fc.weight(), b),
            _ => self.fc.forward(&h)?.relu(),
        }
    }
}
