//! Reproducible initial weights: candle's CPU device cannot be seeded (`set_seed` fails and
//! `rand` draws from the thread RNG), so this VarBuilder backend draws each parameter from its
//! own StdRng, seeded by the run seed and the parameter's path. The same seed gives the same
//! network whatever order the layers are built in.

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::init::NormalOrUniform;
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// A VarMap whose new variables are drawn from a seeded RNG.
struct Seeded {
    map: VarMap,
    seed: u64,
}

/// A VarBuilder over `map` whose fresh parameters are a function of `seed` and their path.
pub fn seeded_var_builder(
    map: &VarMap,
    seed: u64,
    dtype: DType,
    device: &Device,
) -> VarBuilder<'static> {
    let backend: Box<dyn SimpleBackend> = Box::new(Seeded {
        map: map.clone(),
        seed,
    });
    VarBuilder::from_backend(backend, dtype, device.clone())
}

/// FNV-1a: a stable hash of the path (std's hasher may change between releases).
fn path_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn draw(init: Init, shape: &Shape, rng: &mut rand::rngs::StdRng) -> Vec<f64> {
    let n = shape.elem_count();
    let uniform = |rng: &mut rand::rngs::StdRng, lo: f64, up: f64| -> Vec<f64> {
        (0..n).map(|_| rng.random_range(lo..=up)).collect()
    };
    let normal = |rng: &mut rand::rngs::StdRng, mean: f64, std: f64| -> Vec<f64> {
        (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                mean + std * z
            })
            .collect()
    };
    match init {
        Init::Const(c) => vec![c; n],
        Init::Uniform { lo, up } => uniform(rng, lo, up),
        Init::Randn { mean, stdev } => normal(rng, mean, stdev),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    uniform(rng, -bound, bound)
                }
                NormalOrUniform::Normal => normal(rng, 0.0, std),
            }
        }
    }
}

impl SimpleBackend for Seeded {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        if self
            .map
            .data()
            .lock()
            .expect("varmap lock")
            .contains_key(name)
        {
            return self.map.get(s, name, h, dtype, dev);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed ^ path_hash(name));
        let value = Tensor::from_vec(draw(h, &s, &mut rng), s.clone(), dev)?.to_dtype(dtype)?;
        let var = self.map.get(s, name, Init::Const(0.0), dtype, dev)?;
        self.map.data().lock().expect("varmap lock")[name].set(&value)?;
        Ok(var)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        self.map.get_unchecked(name, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map.contains_tensor(name)
    }
}
