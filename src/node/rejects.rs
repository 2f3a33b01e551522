//! Counts of everything the node refused, per cause, and logs that cannot flood: the first of
//! each cause at once, then at most one line per cause per `LOG_INTERVAL` with the count since.
//! Shared by the input, planner and executor threads (atomics only, no locks).

use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::throttle::Throttle;

use super::observe::Reject;

/// Why something was refused. Stable names: `Cause::name` is what tests and stats read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    MissingJoint,
    NonFinite,
    Malformed,
    ImageEncoding,
    ImageSize,
    TooLarge,
    Implausible,
    PolicyOutput,
    StaleInputs,
    ClockJumpedBack,
}

impl Cause {
    pub const ALL: [Cause; 10] = [
        Cause::MissingJoint,
        Cause::NonFinite,
        Cause::Malformed,
        Cause::ImageEncoding,
        Cause::ImageSize,
        Cause::TooLarge,
        Cause::Implausible,
        Cause::PolicyOutput,
        Cause::StaleInputs,
        Cause::ClockJumpedBack,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cause::MissingJoint => "missing_joint",
            Cause::NonFinite => "non_finite",
            Cause::Malformed => "malformed",
            Cause::ImageEncoding => "image_encoding",
            Cause::ImageSize => "image_size",
            Cause::TooLarge => "too_large",
            Cause::Implausible => "implausible",
            Cause::PolicyOutput => "policy_output",
            Cause::StaleInputs => "stale_inputs",
            Cause::ClockJumpedBack => "clock_jumped_back",
        }
    }

    pub fn of(r: &Reject) -> Cause {
        match r {
            Reject::MissingJoint(_) => Cause::MissingJoint,
            Reject::NonFinite(_) => Cause::NonFinite,
            Reject::LengthMismatch(_) => Cause::Malformed,
            Reject::ImageEncoding(_) => Cause::ImageEncoding,
            Reject::ImageSize(_) => Cause::ImageSize,
            Reject::TooLarge(_) => Cause::TooLarge,
            Reject::Implausible(_) => Cause::Implausible,
            Reject::PolicyOutput(_) => Cause::PolicyOutput,
        }
    }
}

/// At most one log line per cause in this many seconds.
pub const LOG_INTERVAL_S: f64 = 1.0;

/// Per-cause counters and log gates.
#[derive(Debug)]
pub struct RejectLog {
    counts: [AtomicU64; Cause::ALL.len()],
    gates: [Throttle; Cause::ALL.len()],
}

impl Default for RejectLog {
    fn default() -> Self {
        RejectLog {
            counts: Default::default(),
            gates: std::array::from_fn(|_| Throttle::new(LOG_INTERVAL_S)),
        }
    }
}

impl RejectLog {
    /// Counts a refused input and logs it if its cause's gate is open.
    pub fn record(&self, r: &Reject) {
        let cause = Cause::of(r);
        let n = self.count_cause(cause);
        if let Some(held) = self.gates[cause as usize].allow() {
            tracing::warn!("{r}: skipped ({n} so far, {held} not logged since the last line)");
        }
    }

    /// Counts one event of `cause` (no log); returns the count so far.
    pub fn count_cause(&self, cause: Cause) -> u64 {
        self.counts[cause as usize].fetch_add(1, Ordering::Relaxed) + 1
    }

    /// How many of `kind` (a `Cause::name`) were counted.
    pub fn count(&self, kind: &str) -> u64 {
        Cause::ALL
            .iter()
            .find(|c| c.name() == kind)
            .map_or(0, |c| self.counts[*c as usize].load(Ordering::Relaxed))
    }

    /// Every cause with its count (for the stop summary and benchmarks).
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        Cause::ALL
            .iter()
            .map(|c| (c.name(), self.counts[*c as usize].load(Ordering::Relaxed)))
            .collect()
    }
}
