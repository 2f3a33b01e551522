//! Latest-value input slots: the input thread checks each message and stores the newest one
//! with its receipt stamp (node clock); the planner copies what it needs; the executor reads
//! only the stamps (atomics), so it never waits on the input or planner threads.
//! Images are kept as received (after a header check) and converted only when a plan uses
//! them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::observe::{check_image, image_pixels, reorder, JointSnapshot, Reject};
use super::params::{NodeParams, ObservationMode};
use super::rejects::RejectLog;
use crate::msgs::{Float64MultiArray, Image, JointState, PoseStamped};

/// Values per observation vector beyond which a message is refused.
pub const MAX_VECTOR: usize = 65_536;

/// No input of this kind has arrived.
pub const NEVER: i64 = i64::MIN;

/// Receipt stamps (node clock, ns) of the newest valid inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamps {
    pub state: i64,
    /// The image or observation vector; `NEVER` also when the observation needs neither.
    pub obs: i64,
    /// How many of each were accepted so far (which ones came after a clock jump).
    pub state_seq: u64,
    pub obs_seq: u64,
}

pub struct Inputs {
    joint_names: Vec<String>,
    state_topic: String,
    pose_topic: String,
    image_topic: String,
    vector_topic: String,
    mode: ObservationMode,
    image_expect: (usize, usize),
    image_max_bytes: usize,
    state: Mutex<Option<JointSnapshot>>,
    image: Mutex<Option<(Arc<Image>, usize)>>,
    vector: Mutex<Option<Vec<f64>>>,
    state_stamp: AtomicI64,
    obs_stamp: AtomicI64,
    state_seq: AtomicU64,
    obs_seq: AtomicU64,
    /// With a position box: measurements farther outside it than its width are refused.
    plausible: Vec<(f64, f64)>,
    pub rejects: RejectLog,
}

/// What the planner reads at a planning tick.
pub struct Snapshot {
    pub state: JointSnapshot,
    /// Grayscale, side x side, in [0, 1] (image observations only).
    pub image: Option<Vec<f32>>,
    /// The observation vector (vector observations only).
    pub vector: Option<Vec<f64>>,
}

impl Inputs {
    pub fn new(p: &NodeParams) -> Self {
        Inputs {
            joint_names: p.joint_names.clone(),
            state_topic: p.joint_state_topic.clone(),
            pose_topic: p.ee_pose_topic.clone(),
            image_topic: p.image_topic.clone(),
            vector_topic: p.observation_topic.clone(),
            mode: p.observation,
            image_expect: (p.image_width, p.image_height),
            image_max_bytes: p.image_max_bytes,
            state: Mutex::new(None),
            image: Mutex::new(None),
            vector: Mutex::new(None),
            state_stamp: AtomicI64::new(NEVER),
            obs_stamp: AtomicI64::new(NEVER),
            state_seq: AtomicU64::new(0),
            obs_seq: AtomicU64::new(0),
            plausible: p
                .position_min
                .iter()
                .zip(&p.position_max)
                .map(|(&lo, &hi)| {
                    let margin = (hi - lo).max(1.0);
                    (lo - margin, hi + margin)
                })
                .collect(),
            rejects: RejectLog::default(),
        }
    }

    fn needs_image(&self) -> bool {
        matches!(self.mode, ObservationMode::Image | ObservationMode::Both)
    }

    /// Whether an image or a vector must arrive beside the state.
    pub fn needs_obs(&self) -> bool {
        self.mode != ObservationMode::State
    }

    /// Takes an observation vector (vector observations only): finite in f32, bounded size.
    pub fn on_vector(&self, msg: &Float64MultiArray, now_ns: i64) {
        if self.mode != ObservationMode::Vector {
            return;
        }
        let n = msg.data.len();
        let bad = if n > MAX_VECTOR {
            Some(Reject::TooLarge(format!(
                "{}: {n} values (at most {MAX_VECTOR})",
                self.vector_topic
            )))
        } else if n == 0 {
            Some(Reject::LengthMismatch(format!(
                "{}: an empty observation",
                self.vector_topic
            )))
        } else {
            msg.data
                .iter()
                .position(|v| !(*v as f32).is_finite())
                .map(|i| {
                    Reject::NonFinite(format!(
                        "{}: data[{i}] = {:e}",
                        self.vector_topic, msg.data[i]
                    ))
                })
        };
        if let Some(r) = bad {
            self.rejects.record(&r);
            return;
        }
        *self.vector.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.data.clone());
        self.obs_stamp.store(now_ns, Ordering::Release);
        self.obs_seq.fetch_add(1, Ordering::AcqRel);
    }

    fn store_state(&self, s: JointSnapshot, now_ns: i64, topic: &str) {
        // A position far outside the box (more than its width beyond it) is a sensor fault,
        // not a robot to bring back: refused rather than commanded from.
        if let Some(j) = s
            .positions
            .iter()
            .zip(&self.plausible)
            .position(|(p, (lo, hi))| !(lo..=hi).contains(&p))
        {
            let r = Reject::Implausible(format!(
                "{topic}: joint `{}` at {:e}, farther outside [position_min, position_max] than the range is wide",
                self.joint_names[j], s.positions[j]
            ));
            self.rejects.record(&r);
            return;
        }
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
        self.state_stamp.store(now_ns, Ordering::Release);
        self.state_seq.fetch_add(1, Ordering::AcqRel);
    }

    pub fn on_joint_state(&self, msg: &JointState, now_ns: i64) {
        match reorder(msg, &self.joint_names, &self.state_topic) {
            Ok(s) => self.store_state(s, now_ns, &self.state_topic),
            Err(r) => self.rejects.record(&r),
        }
    }

    /// End-effector pose as the measured state (pose output): x, y, z are the first DoF.
    pub fn on_pose(&self, msg: &PoseStamped, now_ns: i64) {
        let p = msg.pose.position;
        if ![p.x, p.y, p.z].iter().all(|v| (*v as f32).is_finite()) {
            let r = Reject::NonFinite(format!("{}: position {p:?}", self.pose_topic));
            self.rejects.record(&r);
            return;
        }
        let d = self.joint_names.len();
        let mut positions = vec![0.0; d];
        positions[..3].copy_from_slice(&[p.x, p.y, p.z]);
        let s = JointSnapshot {
            positions,
            velocities: vec![0.0; d],
        };
        self.store_state(s, now_ns, &self.pose_topic);
    }

    /// Takes the image after a header check (size bound first); pixels are read at planning.
    pub fn on_image(&self, msg: Image, now_ns: i64) {
        if !self.needs_image() {
            return;
        }
        match check_image(
            &msg.view(),
            self.image_expect,
            self.image_max_bytes,
            &self.image_topic,
        ) {
            Ok(channels) => {
                *self.image.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Arc::new(msg), channels));
                self.obs_stamp.store(now_ns, Ordering::Release);
                self.obs_seq.fetch_add(1, Ordering::AcqRel);
            }
            Err(r) => self.rejects.record(&r),
        }
    }

    pub fn stamps(&self) -> Stamps {
        Stamps {
            state: self.state_stamp.load(Ordering::Acquire),
            obs: if self.needs_obs() {
                self.obs_stamp.load(Ordering::Acquire)
            } else {
                NEVER
            },
            state_seq: self.state_seq.load(Ordering::Acquire),
            obs_seq: self.obs_seq.load(Ordering::Acquire),
        }
    }

    /// The newest state (and the newest image, converted to `side` x `side`), if present.
    pub fn snapshot(&self, side: usize) -> Option<Snapshot> {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let image = if self.needs_image() {
            // Converted outside the lock: the input thread keeps taking messages meanwhile.
            let (msg, channels) = self
                .image
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()?;
            Some(image_pixels(&msg.view(), channels, side))
        } else {
            None
        };
        let vector = if self.mode == ObservationMode::Vector {
            Some(
                self.vector
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()?,
            )
        } else {
            None
        };
        Some(Snapshot {
            state,
            image,
            vector,
        })
    }
}

/// Why the inputs cannot be acted on at node time `now_ns`, if they cannot. Ages are on the
/// node clock (monotonic, or /clock in sim time); an input stamped in the future means the
/// clock jumped back (a simulator reset) and counts as stale until a fresh one arrives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Freshness {
    /// A required input never arrived.
    Waiting,
    Fresh,
    /// Topic index (0: state, 1: image or vector) and age in seconds.
    Stale(usize, f64),
    ClockJumpedBack(usize),
}

/// Ages down to -`jump_tolerance_ns` count as 0: an input stamped just after the tick's
/// nominal time is not a clock jump (wall-time mode passes i64::MAX: its clock cannot jump).
pub fn freshness(
    stamps: Stamps,
    needs_obs: bool,
    now_ns: i64,
    timeout_s: f64,
    jump_tolerance_ns: i64,
) -> Freshness {
    let timeout_ns = (timeout_s * 1e9) as i64;
    let mut which = [(0, stamps.state), (1, stamps.obs)].into_iter();
    let n = if needs_obs { 2 } else { 1 };
    if which.clone().take(n).any(|(_, s)| s == NEVER) {
        return Freshness::Waiting;
    }
    for (i, s) in which.by_ref().take(n) {
        let age = now_ns.saturating_sub(s);
        if age < -jump_tolerance_ns {
            return Freshness::ClockJumpedBack(i);
        }
        if age > timeout_ns {
            return Freshness::Stale(i, age as f64 * 1e-9);
        }
    }
    Freshness::Fresh
}
