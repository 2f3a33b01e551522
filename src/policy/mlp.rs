//! A plain ReLU MLP: layers `{prefix}.{i}`, no activation after the last one.

use candle_core::Tensor;
use candle_nn::{linear, Linear, Module, VarBuilder};

#[derive(Clone, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    /// ReLU after the last layer too (when the MLP is an encoder feeding a head).
    relu_last: bool,
}

impl Mlp {
    /// in_dim -> hidden... -> out_dim.
    pub fn new(
        in_dim: usize,
        hidden: &[usize],
        out_dim: usize,
        relu_last: bool,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let mut dims = vec![in_dim];
        dims.extend_from_slice(hidden);
        dims.push(out_dim);
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(w[0], w[1], vb.pp(i.to_string())))
            .collect::<candle_core::Result<_>>()?;
        Ok(Mlp { layers, relu_last })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i < last || self.relu_last {
                h = h.relu()?;
            }
        }
        Ok(h)
    }
}
