//! `ndp bench dmp` and `ndp bench train-step`: medians and percentiles, one JSON line.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use candle_core::{DType, Device, Tensor, Var};
use clap::Subcommand;
use ndp_ros::dmp::unrolled::rollout_unrolled;
use ndp_ros::dmp::{DmpConfig, DmpLayer, DmpStepper};
use ndp_ros::policy::ConvImpl;
use ndp_ros::train::{checkpoint, RunConfig};
use serde_json::json;

const DIGITS_CONFIG: &str = include_str!("../../../config/digits_ndp.yaml");

#[derive(Subcommand)]
pub enum BenchCmd {
    /// DMP layer forward+backward (closed form vs unrolled) and the f64 controller tick.
    Dmp {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 300)]
        iters: usize,
    },
    /// Controller tick compute of the node (7 DoF, N = 30).
    Tick {
        #[arg(long)]
        json: bool,
    },
    /// The threaded node at a controller rate with a network planning (in-memory transport).
    Jitter {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// The planning network: state (MLP) or image (CNN on 640x480 rgb8 frames at 30 Hz).
        #[arg(long, default_value = "state")]
        model: String,
        /// SCHED_FIFO priority of the executor thread (0: normal scheduling).
        #[arg(long, default_value_t = 0)]
        rt: usize,
        /// First the bare timer for as long (the executor's deadline loop with no node, same
        /// rate and priority): the stalls the machine itself has, beside the node's.
        #[arg(long)]
        baseline: bool,
        /// The executor alone on this CPU, the node's other threads on the others
        /// (executor_cpu); the bare timer too.
        #[arg(long)]
        cpu: Option<usize>,
    },
    /// Observation-to-command latency over the embedded DDS transport (loopback only).
    #[cfg(feature = "dds")]
    Latency {
        #[arg(long)]
        json: bool,
        /// state (MLP) or image (CNN, 640x480 rgb8 frames).
        #[arg(long, default_value = "state")]
        model: String,
        #[arg(long, default_value_t = 500)]
        samples: usize,
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
    },
    /// Reading and decoding a rosbag2 bag of JointState messages (writes it first if missing).
    Bag {
        #[arg(long)]
        json: bool,
        /// The bag directory; created with --messages JointState messages if it does not exist.
        #[arg(long)]
        bag: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
    },
    /// Reading and decoding a bag of 640x480 rgb8 camera images, without copying pixels
    /// (writes it first if missing: uncompressed chunks, as rosbag2 records by default).
    BagImages {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        bag: PathBuf,
        /// Size of the bag to write, in GB of image messages.
        #[arg(long, default_value_t = 1.0)]
        gb: f64,
    },
    /// One Adam step of the digit model at batch 64, and batch-1 inference.
    TrainStep {
        #[arg(long)]
        json: bool,
        /// Run config of the model [default: config/digits_ndp.yaml, built in].
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value_t = 40)]
        iters: usize,
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Convolution implementation: im2col (ours) or candle (the reference).
        #[arg(long, value_enum, default_value = "im2col")]
        conv: ConvArg,
        /// Threads of the custom ops (overrides NDP_THREADS).
        #[arg(long)]
        threads: Option<usize>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ConvArg {
    Im2col,
    Candle,
}

pub fn run(cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Dmp { json, iters } => dmp(json, iters),
        BenchCmd::Tick { json } => crate::bench_node::tick(json),
        BenchCmd::Jitter {
            json,
            rate,
            seconds,
            model,
            rt,
            baseline,
            cpu,
        } => crate::bench_node::jitter(json, rate, seconds, &model, (rt, cpu), baseline),
        #[cfg(feature = "dds")]
        BenchCmd::Latency {
            json,
            model,
            samples,
            rate,
        } => crate::bench_dds::latency(json, &model, samples, rate),
        BenchCmd::Bag {
            json,
            bag,
            messages,
        } => bag_read(json, &bag, messages),
        BenchCmd::BagImages { json, bag, gb } => bag_images(json, &bag, gb),
        BenchCmd::TrainStep {
            json,
            config,
            iters,
            batch,
            conv,
            threads,
        } => {
            if let Some(t) = threads {
                ndp_ros::ops::threads::set_threads(t);
            }
            let conv = match conv {
                ConvArg::Im2col => ConvImpl::Im2col,
                ConvArg::Candle => ConvImpl::Candle,
            };
            train_step(json, config, iters, batch, conv)
        }
    }
}

/// Percentile (0..=100) of `v` (sorted in place).
pub fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i]
}

/// Times `f` `iters` times after `warm` untimed calls; milliseconds per call.
fn time_ms(warm: usize, iters: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    for _ in 0..warm {
        f()?;
    }
    (0..iters)
        .map(|_| {
            let t = Instant::now();
            f()?;
            Ok(t.elapsed().as_secs_f64() * 1e3)
        })
        .collect()
}

fn dmp(as_json: bool, iters: usize) -> Result<()> {
    let (b, d, n, t) = (64usize, 2usize, 30usize, 300usize);
    let cfg = DmpConfig::new(n, t);
    let dev = Device::Cpu;
    let layer = DmpLayer::new(&cfg)?;
    let y0 = Var::from_tensor(&(Tensor::randn(0f32, 1.0, (b, d), &dev)? * 5.0)?)?;
    let dy0 = Var::from_tensor(&Tensor::zeros((b, d), DType::F32, &dev)?)?;
    let g = Var::from_tensor(&(Tensor::randn(0f32, 1.0, (b, d), &dev)? * 5.0)?)?;
    let w = Var::from_tensor(&(Tensor::randn(0f32, 1.0, (b, d, n), &dev)? * 50.0)?)?;
    // A fixed upstream gradient dL/dY, as a loss would give.
    let r = Tensor::randn(0f32, 1.0, (b, d, cfg.points()), &dev)?;
    let step = |traj: Tensor| -> Result<()> {
        let grads = (traj * &r)?.sum_all()?.backward()?;
        anyhow::ensure!(grads.get(&w).is_some(), "no gradient for w");
        Ok(())
    };
    let mut closed = time_ms(20, iters, || step(layer.forward(&y0, &dy0, &g, &w)?))?;
    let mut unrolled = time_ms(2, 15.min(iters), || {
        step(rollout_unrolled(&cfg, &y0, &dy0, &g, &w)?)
    })?;
    // The controller tick: 7 DoF, N = 30, f64, one Euler step per tick.
    let mut stepper = DmpStepper::new(&cfg, 7);
    let wv: Vec<f64> = (0..7 * n)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) * 3.0)
        .collect();
    let mut ticks = Vec::with_capacity(200_000);
    for rep in 0..200 {
        stepper.reset(&[0.1 * rep as f64; 7], &[0.0; 7], &[1.0; 7], &wv)?;
        for _ in 0..1000 {
            let t0 = Instant::now();
            stepper.step();
            ticks.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    std::hint::black_box(stepper.position());
    let out = json!({
        "B": b, "D": d, "N": n, "T": t,
        "fwd_bwd_ms_median": pct(&mut closed, 50.0),
        "fwd_bwd_ms_p99": pct(&mut closed, 99.0),
        "unrolled_fwd_bwd_ms_median": pct(&mut unrolled, 50.0),
        "speedup_vs_unrolled": pct(&mut unrolled, 50.0) / pct(&mut closed, 50.0),
        "tick_us_p50": pct(&mut ticks, 50.0),
        "tick_us_p99": pct(&mut ticks, 99.0),
        "tick_dof": 7,
    });
    report(as_json, &out);
    Ok(())
}

fn train_step(
    as_json: bool,
    config: Option<PathBuf>,
    iters: usize,
    batch: usize,
    conv: ConvImpl,
) -> Result<()> {
    let mut cfg: RunConfig = match &config {
        Some(p) => RunConfig::load(p)?,
        None => ndp_ros::yaml::parse(DIGITS_CONFIG, "config/digits_ndp.yaml (built in)".as_ref())?,
    };
    cfg.model.conv = conv;
    let dev = Device::Cpu;
    let (policy, varmap) = checkpoint::init(&cfg, &dev)?;
    let (s, dof, pts) = (cfg.model.input_size, cfg.model.dof, policy.points());
    let obs_shape = |b: usize| -> Vec<usize> {
        match cfg.model.encoder {
            ndp_ros::policy::EncoderKind::DigitCnn | ndp_ros::policy::EncoderKind::CnnState => {
                vec![b, 1, s, s]
            }
            ndp_ros::policy::EncoderKind::Mlp => vec![b, s],
        }
    };
    let obs = Tensor::rand(0f32, 1.0, obs_shape(batch), &dev)?;
    let y0 = (Tensor::rand(0f32, 1.0, (batch, dof), &dev)? * 40.0)?;
    let target = (Tensor::rand(0f32, 1.0, (batch, pts, dof), &dev)? * 40.0)?;
    let vars = varmap.data().lock().expect("varmap lock").clone();
    let mut opt = ndp_ros::train::adam::Adam::with_eps(&vars, cfg.train.lr, 1e-8)?;
    // Each step also split into its phases (forward + loss, backward, optimiser), so a
    // regression shows where it is.
    let mut phases = [vec![], vec![], vec![]];
    let mut steps = time_ms(5, iters, || {
        let t0 = Instant::now();
        let loss = (policy.trajectory(&obs, &y0)? - &target)?
            .sqr()?
            .mean_all()?;
        let t1 = Instant::now();
        let grads = loss.backward()?;
        let t2 = Instant::now();
        opt.step(&grads, 1.0)?;
        for (ph, (a, b)) in phases
            .iter_mut()
            .zip([(t0, t1), (t1, t2), (t2, Instant::now())])
        {
            ph.push((b - a).as_secs_f64() * 1e3);
        }
        Ok(())
    })?;
    let [mut fwd, mut bwd, mut adam] = phases;
    let obs1 = Tensor::rand(0f32, 1.0, obs_shape(1), &dev)?;
    let y01 = (Tensor::rand(0f32, 1.0, (1, dof), &dev)? * 40.0)?;
    let mut infer = time_ms(50, 1000, || {
        let traj = policy.trajectory(&obs1, &y01)?;
        std::hint::black_box(traj);
        Ok(())
    })?;
    let out = json!({
        "model": cfg.model.kind.to_string(),
        "batch": batch,
        "train_step_ms_median": pct(&mut steps, 50.0),
        "train_step_ms_p90": pct(&mut steps, 90.0),
        "forward_ms_median": pct(&mut fwd, 50.0),
        "backward_ms_median": pct(&mut bwd, 50.0),
        "optimizer_ms_median": pct(&mut adam, 50.0),
        "infer_p50_ms": pct(&mut infer, 50.0),
        "infer_p99_ms": pct(&mut infer, 99.0),
        "conv": format!("{:?}", cfg.model.conv).to_lowercase(),
        "op_threads": ndp_ros::ops::threads::threads(),
        "rayon_threads": std::env::var("RAYON_NUM_THREADS").unwrap_or_default(),
    });
    report(as_json, &out);
    Ok(())
}

/// Reads every message of `path` and decodes each JointState; one timed pass after a warm one
/// (so both this and rosbags read from the page cache).
fn bag_read(as_json: bool, path: &std::path::Path, n: usize) -> Result<()> {
    use ndp_ros::bag::{Bag, BagWriter};
    use ndp_ros::msgs::{Header, JointState, Time};
    if !path.exists() {
        let mut w = BagWriter::create(path)?;
        for i in 0..n {
            let js = JointState {
                header: Header {
                    stamp: Time::from_nanos(i as i64 * 1_000_000),
                    frame_id: "base".into(),
                },
                name: (1..=7).map(|j| format!("joint{j}")).collect(),
                position: (0..7).map(|j| (i * 7 + j) as f64 * 1e-3).collect(),
                velocity: vec![0.0; 7],
                effort: vec![],
            };
            w.write("/joint_states", i as u64 * 1_000_000, &js)?;
        }
        w.finish()?;
    }
    let bag = Bag::open(path)?;
    let pass = || -> Result<(usize, usize, f64)> {
        let t = Instant::now();
        let msgs = bag.messages()?;
        let mut bytes = 0;
        let mut checksum = 0.0;
        for m in &msgs {
            bytes += m.data.len();
            let js: JointState = m.decode()?;
            checksum += js.position[0];
        }
        std::hint::black_box(checksum);
        Ok((msgs.len(), bytes, t.elapsed().as_secs_f64()))
    };
    pass()?;
    let (count, bytes, secs) = pass()?;
    report(
        as_json,
        &json!({
            "bag": path.display().to_string(), "messages": count, "seconds": secs,
            "messages_per_s": count as f64 / secs, "mb_per_s": bytes as f64 / secs / 1e6,
        }),
    );
    Ok(())
}

/// Reads every image of `path` as `ImageRef` (pixels borrowed from the mapped file); one
/// timed pass after a warm one.
fn bag_images(as_json: bool, path: &std::path::Path, gb: f64) -> Result<()> {
    use ndp_ros::bag::{Bag, BagWriter};
    use ndp_ros::msgs::{Header, Image, ImageRef, Time};
    const W: usize = 640;
    const H: usize = 480;
    if !path.exists() {
        let frames = (gb * 1e9 / (W * H * 3) as f64).ceil() as usize;
        let mut w = BagWriter::create_with(path, false)?;
        let mut img = Image {
            height: H as u32,
            width: W as u32,
            encoding: "rgb8".into(),
            step: (W * 3) as u32,
            data: vec![0; W * H * 3],
            ..Default::default()
        };
        for i in 0..frames {
            img.header = Header {
                stamp: Time::from_nanos(i as i64 * 33_333_333),
                frame_id: "camera".into(),
            };
            for (j, px) in img.data.iter_mut().enumerate().step_by(97) {
                *px = (i + j) as u8;
            }
            w.write("/camera/image_raw", i as u64 * 33_333_333, &img)?;
        }
        w.finish()?;
    }
    let bag = Bag::open(path)?;
    let pass = || -> Result<(usize, usize, f64)> {
        let t = Instant::now();
        let (mut n, mut bytes, mut check) = (0usize, 0usize, 0u64);
        bag.for_each_message(|_, m| {
            let img: ImageRef = m.decode_as(ImageRef::ROS_TYPE)?;
            if img.data.len() != img.step as usize * img.height as usize {
                return Err(ndp_ros::Error::invalid(
                    format!("image {n}"),
                    format!("{} bytes for {}x{}", img.data.len(), img.width, img.height),
                ));
            }
            check = check.wrapping_add(img.data[img.data.len() / 2] as u64);
            bytes += m.data.len();
            n += 1;
            Ok(())
        })?;
        std::hint::black_box(check);
        Ok((n, bytes, t.elapsed().as_secs_f64()))
    };
    pass()?;
    let (count, bytes, secs) = pass()?;
    report(
        as_json,
        &json!({
            "bag": path.display().to_string(), "messages": count, "bytes": bytes, "seconds": secs,
            "messages_per_s": count as f64 / secs, "mb_per_s": bytes as f64 / secs / 1e6,
        }),
    );
    Ok(())
}

pub fn report(as_json: bool, out: &serde_json::Value) {
    if as_json {
        crate::print_json(out);
    } else {
        eprintln!("{}", serde_json::to_string_pretty(out).unwrap_or_default());
    }
}
