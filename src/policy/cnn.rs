//! The digit model's image encoder (LeNet-like, as in the NDP paper's digit experiments):
//! conv 5x5 (20) -> ReLU -> max-pool 2 -> conv 5x5 (50) -> ReLU -> max-pool 2 -> fc 200 -> ReLU.

use candle_core::Tensor;
use candle_nn::{conv2d, linear, Conv2d, Conv2dConfig, Linear, Module, VarBuilder};

pub const FEATURES: usize = 200;

#[derive(Clone, Debug)]
pub struct DigitCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    fc: Linear,
}

impl DigitCnn {
    /// For single-channel square images of side `size`.
    pub fn new(size: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        let cfg = Conv2dConfig::default();
        let side = ((size - 4) / 2 - 4) / 2;
        Ok(DigitCnn {
            conv1: conv2d(1, 20, 5, cfg, vb.pp("conv1"))?,
            conv2: conv2d(20, 50, 5, cfg, vb.pp("conv2"))?,
            fc: linear(50 * side * side, FEATURES, vb.pp("fc"))?,
        })
    }
}

impl Module for DigitCnn {
    /// (B, 1, S, S) in [0, 1] -> (B, 200).
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.conv1.forward(x)?.relu()?.max_pool2d(2)?;
        let h = self.conv2.forward(&h)?.relu()?.max_pool2d(2)?;
        self.fc.forward(&h.flatten_from(1)?)?.relu()
    }
}
