//! `ndp_policy`: the NDP policy as a ROS 2 node, on the embedded DDS transport (default) or
//! on rcl through r2r (feature `r2r`; NDP_TRANSPORT=dds picks the embedded one anyway).
//! Started by `ros2 launch ndp_ros ndp_policy.launch.py` or by hand:
//!     ndp_policy --ros-args --params-file config/ndp_policy.yaml -p checkpoint:=runs/x

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use candle_core::Device;
use ndp_ros::node::planner::{check_deployment, PolicyPlanner};
use ndp_ros::node::run::run;
use ndp_ros::node::{Controller, NodeParams};
use ndp_ros::policy::deployment::Deployment;
use ndp_ros::ros::args::RosArgs;
use ndp_ros::ros::names::NameResolver;
use ndp_ros::ros::rosout::{log_filter, RosoutLayer};
use ndp_ros::ros::Transport;
use ndp_ros::train::checkpoint;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// mimalloc, with a clear last word when an allocation fails under `memory_limit_mb` (Rust
/// then aborts with "memory allocation of N bytes failed").
struct Allocator;

fn out_of_memory() {
    const MSG: &[u8] = b"ndp_policy: out of memory under the parameter memory_limit_mb (RLIMIT_DATA): exiting; if no model or message explains it, a peer may be sending forged DDS fragments (README, Security)\n";
    // SAFETY: writes a static buffer to stderr; allocates nothing.
    unsafe { libc::write(2, MSG.as_ptr().cast(), MSG.len()) };
}

// SAFETY: every call forwards to mimalloc unchanged; only a null result is reported.
unsafe impl std::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc(l);
        if p.is_null() {
            out_of_memory();
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: std::alloc::Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc_zeroed(l);
        if p.is_null() {
            out_of_memory();
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, l: std::alloc::Layout, new: usize) -> *mut u8 {
        let p = mimalloc::MiMalloc.realloc(ptr, l, new);
        if p.is_null() {
            out_of_memory();
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, l: std::alloc::Layout) {
        mimalloc::MiMalloc.dealloc(ptr, l)
    }
}

#[global_allocator]
static GLOBAL: Allocator = Allocator;

const USAGE: &str = "usage: ndp_policy --ros-args [--params-file FILE] [-p name:=value] [-r from:=to] [-r __node:=NAME] [-r __ns:=NS]
environment: ROS_DOMAIN_ID (0..232), ROS_LOCALHOST_ONLY=1 or ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
parameters:";

/// Runs before Rust's runtime allocates anything (an ELF constructor): mimalloc reserves its
/// first arena on the first allocation, so `main` would be too late to make it small.
#[used]
#[link_section = ".init_array"]
static SMALL_ARENAS: extern "C" fn() = {
    extern "C" fn small_arenas() {
        ndp_ros::alloc::small_arenas();
    }
    small_arenas
};

fn main() -> ExitCode {
    // mimalloc's page purging stays on here (unlike training): memory a burst of oversized
    // messages took goes back to the OS.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Forwards log lines to /rosout once the transport gives it a sink.
static ROSOUT: std::sync::LazyLock<RosoutLayer> = std::sync::LazyLock::new(RosoutLayer::default);

/// Set by SIGINT or SIGTERM; the handler is installed first thing, so a signal during
/// start-up ends the node cleanly too (exit 0, nothing commanded).
static STOP: std::sync::LazyLock<Arc<AtomicBool>> =
    std::sync::LazyLock::new(|| Arc::new(AtomicBool::new(false)));

fn start() -> Result<()> {
    let flag = STOP.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("installing the SIGINT handler")?;
    let args = RosArgs::parse(std::env::args().skip(1))?;
    if let Some(mb) = memory_limit_mb(&args) {
        ndp_ros::alloc::limit_data_mb(mb).context("parameter memory_limit_mb")?;
    }
    if args.program.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}\n{}", NodeParams::describe());
        return Ok(());
    }
    let (name, ns) = name_and_namespace(&args);
    // Log lines go to stderr and, once the transport is up, to /rosout; ros2-client's own
    // echo of what it sends to /rosout is not printed twice.
    let level = log_filter(args.log_level.as_deref(), &name)?;
    let filter = tracing_subscriber::EnvFilter::new(format!("{level},ros2_client::rosout=off"));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(ROSOUT.clone())
        .init();
    // With r2r, rcl has parsed --ros-args (node name, namespace, remaps, parameters) already.
    #[cfg(feature = "r2r")]
    if std::env::var("NDP_TRANSPORT").as_deref() != Ok("dds") {
        let t = ndp_ros::ros::r2r::R2rTransport::new(&name, &ns)?;
        let np = NodeParams::from_map(ndp_ros::ros::Transport::parameters(&t))?;
        t.declare(declared_params(&np))?;
        let names = NameResolver::new(&name, &ns, &[]);
        return serve(Arc::new(t), np, &names);
    }
    #[cfg(feature = "dds")]
    {
        let names = NameResolver::new(&name, &ns, &args.remaps);
        let params = args.parameters(&name, &names.namespace)?;
        let opts = ndp_ros::ros::dds::DdsOptions::from_env()?;
        let np = NodeParams::from_map(&params)?;
        let sim_time = np.use_sim_time;
        let t = ndp_ros::ros::dds::DdsTransport::with_parameters(
            &opts,
            &names.namespace,
            &name,
            params,
            Some(declared_params(&np)),
        )?;
        if sim_time {
            t.use_sim_time()?;
        }
        serve(Arc::new(t), np, &names)
    }
    #[cfg(not(feature = "dds"))]
    anyhow::bail!(
        "built without the dds feature: set NDP_TRANSPORT to r2r or rebuild with --features dds"
    )
}

/// Loads the checkpoint named by the parameters (`params`, parsed from the transport's) and
/// runs the node until SIGINT or SIGTERM.
fn serve<T: Transport>(
    transport: Arc<T>,
    mut params: NodeParams,
    names: &NameResolver,
) -> Result<()> {
    if let Some(sink) = transport.log_sink() {
        ROSOUT.connect(sink);
    }
    let (cfg, policy, _) = checkpoint::load(&params.checkpoint, &Device::Cpu)
        .with_context(|| format!("parameter checkpoint `{}`", params.checkpoint.display()))?;
    let deploy = match Deployment::load(&params.checkpoint)? {
        Some(d) => d,
        None => {
            tracing::warn!(
                "{}: no deploy.yaml (trained before the deployment contract): derived from config.yaml",
                params.checkpoint.display()
            );
            cfg.deployment()
        }
    };
    check_deployment(&deploy, &params)?;
    let from = params.resolve_timing(deploy.plan_duration_s, cfg.dmp.t);
    if from.starts_with("dmp.t") {
        tracing::warn!(
            "plan duration {:.3} s from {from}: set plan_duration_s to the seconds the model was trained to cover, or it plays at the node's rate",
            params.plan_duration_s
        );
    } else {
        tracing::info!("plan duration {:.3} s from {from}", params.plan_duration_s);
    }
    let mut planner = PolicyPlanner::new(policy, &params)?;
    planner.set_normalization(deploy.normalization.clone())?;
    let mut ctl = Controller::new(params, planner, &cfg.dmp, cfg.model.input_size)?;
    ctl.set_dy0(deploy.dy0);
    ctl.set_position_scale(deploy.position_scale);
    let stats = run(transport.clone(), names, ctl, STOP.clone(), None)?;
    if stats.published > 0 {
        transport.flush(std::time::Duration::from_millis(300));
    }
    tracing::info!(
        "{} ticks, {} missed, {} commands published",
        stats.ticks,
        stats.missed_ticks,
        stats.published
    );
    Ok(())
}

/// The memory ceiling as early as possible (before DDS starts): the parameter's value from the
/// command line and parameter files, else its default. Errors there surface later, named.
fn memory_limit_mb(args: &RosArgs) -> Option<usize> {
    let (name, ns) = name_and_namespace(args);
    let params = args
        .parameters(&name, &NameResolver::new(&name, &ns, &[]).namespace)
        .ok()?;
    match params.get("memory_limit_mb") {
        // Below the minimum: not applied; the parameter check names it next.
        Some(ndp_ros::ros::ParamValue::Integer(i))
            if *i as usize >= ndp_ros::node::params::MIN_MEMORY_MB =>
        {
            Some(*i as usize)
        }
        Some(_) => None,
        None => Some(1024),
    }
    .filter(|mb| *mb > 0)
}

/// The node's name and namespace from `-r __node:=` / `-r __ns:=`, else the defaults.
fn name_and_namespace(args: &RosArgs) -> (String, String) {
    let name = args
        .node_name
        .clone()
        .unwrap_or_else(|| "ndp_policy".into());
    let ns = args.namespace.clone().unwrap_or_else(|| "/".into());
    (name, ns)
}

/// Every parameter declared to the standard parameter services (list, get, set, describe);
/// the run-time ones (limits, input_timeout_s, enabled) accept changes.
fn declared_params(np: &NodeParams) -> ndp_ros::ros::DeclaredParams {
    let all = np.to_map();
    ndp_ros::ros::DeclaredParams {
        values: all.clone().into_iter().collect(),
        validate: ndp_ros::node::params::validator(all),
        descriptions: ndp_ros::node::params::descriptions(),
    }
}
