//! `ndp`: data, training, evaluation and benchmarks (see README and cli.md).
//! Every `--json` output is one JSON object on the last line of stdout; the rest goes to stderr.

mod bag;
mod bench;
#[cfg(feature = "dds")]
mod bench_dds;
mod bench_node;
mod collect;
mod digits;
mod plot_ppo;
mod ppo;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ndp",
    version,
    about = "Neural Dynamic Policies: data, training, evaluation, benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The synthetic digit-writing data set.
    Digits {
        #[command(subcommand)]
        cmd: digits::DigitsCmd,
    },
    /// Writes a run directory with random weights (smoke tests, node bring-up).
    InitModel(train::InitArgs),
    /// Behaviour cloning from demonstrations.
    TrainBc(train::TrainArgs),
    /// Trajectory loss of a trained run on its training and held-out data.
    Eval(train::EvalArgs),
    /// Online PPO (NDP, PPO, PPO-multi) against built-in tasks or simulator bridges.
    TrainPpo(ppo::PpoArgs),
    /// Learning curves of PPO runs (TASK-KIND-sSEED directories), averaged over seeds.
    PlotPpo(plot_ppo::PlotArgs),
    /// Records expert demonstrations from an environment into an MCAP bag.
    Collect(collect::CollectArgs),
    /// Records live topics (embedded DDS transport) into an MCAP bag until Ctrl-C.
    Record(collect::RecordArgs),
    /// Success rate of a behaviour-cloned run acting in a collect config's environment.
    EvalSim(collect::EvalSimArgs),
    /// rosbag2 bags (MCAP or sqlite3), read without ROS.
    Bag {
        #[command(subcommand)]
        cmd: bag::BagCmd,
    },
    /// Speed measurements (medians and percentiles; --json for machines).
    Bench {
        #[command(subcommand)]
        cmd: bench::BenchCmd,
    },
}

fn main() -> ExitCode {
    ndp_ros::alloc::keep_freed_pages();
    // candle re-reads /proc/cpuinfo on every matmul without it, and its pool stalls on 2 vCPUs.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // `ros2 launch` appends `--ros-args -r __node:=...` to every executable it starts: the
    // tool commands take no ROS arguments, so they are dropped before parsing the command line.
    let argv: Vec<String> = match ndp_ros::ros::args::RosArgs::parse(std::env::args().skip(1)) {
        Ok(a) => a.program,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(std::iter::once("ndp".to_string()).chain(argv));
    let result = match cli.cmd {
        Cmd::Digits { cmd } => digits::run(cmd),
        Cmd::InitModel(a) => train::init_model(a),
        Cmd::TrainBc(a) => train::train_bc(a),
        Cmd::Eval(a) => train::eval(a),
        Cmd::TrainPpo(a) => ppo::train(a),
        Cmd::PlotPpo(a) => plot_ppo::plot(a),
        Cmd::Collect(a) => collect::run_collect(a),
        Cmd::EvalSim(a) => collect::eval_sim(a),
        Cmd::Record(a) => collect::record(a),
        Cmd::Bag { cmd } => bag::run(cmd),
        Cmd::Bench { cmd } => bench::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `value` as the one JSON line on stdout.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
