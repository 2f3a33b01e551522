//! `ndp digits generate`: writes train and held-out splits of the digit-writing set.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use ndp_ros::data::digits::{generate, GenerateSpec, IMAGE_SIZE, POINTS};
use ndp_ros::data::store::{save_meta, split_path, DigitMeta, FORMAT};
use ndp_ros::data::DigitSet;

#[derive(Subcommand)]
pub enum DigitsCmd {
    /// Generates DIR/train.safetensors, DIR/test.safetensors and DIR/meta.yaml.
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        train: usize,
        #[arg(long, default_value_t = 2_000)]
        test: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

pub fn run(cmd: DigitsCmd) -> Result<()> {
    match cmd {
        DigitsCmd::Generate {
            out,
            train,
            test,
            seed,
        } => {
            let t0 = std::time::Instant::now();
            // Distinct streams for the two splits, both fixed by the seed.
            let tr = DigitSet::from_samples(&generate(GenerateSpec { count: train, seed }));
            let te = DigitSet::from_samples(&generate(GenerateSpec {
                count: test,
                seed: seed ^ 0x9E37_79B9_7F4A_7C15,
            }));
            tr.save(&split_path(&out, "train"))
                .context("writing the training split")?;
            te.save(&split_path(&out, "test"))
                .context("writing the held-out split")?;
            save_meta(
                &out,
                &DigitMeta {
                    format: FORMAT.into(),
                    image_size: IMAGE_SIZE,
                    points: POINTS,
                    seed,
                    train,
                    test,
                },
            )?;
            eprintln!(
                "wrote {train} + {test} digit samples to {} in {:.1} s",
                out.display(),
                t0.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}
