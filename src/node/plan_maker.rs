//! The planner's side: a snapshot of the latest inputs -> the network -> checked (g, w) ->
//! the DMP rollout as a `Plan`. Runs on the planner thread (or inline in `Controller`), never
//! on the executor's ticks.

use super::inputs::Inputs;
use super::observe::{JointSnapshot, Reject};
use super::plan::Plan;
use crate::dmp::{DmpConfig, DmpStepper};
use crate::error::Result;
pub use crate::policy::deployment::Dy0;

/// What the policy sees at a planning tick.
pub struct PlanInput<'a> {
    pub state: &'a JointSnapshot,
    /// Grayscale, image_side x image_side, in [0, 1] (image observation only).
    pub image: Option<&'a [f32]>,
    /// The observation vector (vector observation only).
    pub vector: Option<&'a [f64]>,
}

/// Something that maps an observation to DMP parameters: the network, or a fake in tests.
pub trait Planner {
    /// Goal g (one per DoF) and weights w (row-major, DoF x N).
    fn plan(&mut self, input: &PlanInput) -> Result<(Vec<f64>, Vec<f64>)>;
}

pub struct PlanMaker<P> {
    pub planner: P,
    dmp: DmpConfig,
    stepper: DmpStepper,
    duration_s: f64,
    image_side: usize,
    seq: u64,
    dy0: Dy0,
    scale: f64,
}

impl<P: Planner> PlanMaker<P> {
    /// `dmp` with its final sub-steps; `duration_s` the seconds one rollout spans.
    pub fn new(
        planner: P,
        dmp: &DmpConfig,
        dof: usize,
        duration_s: f64,
        image_side: usize,
    ) -> Self {
        PlanMaker {
            planner,
            stepper: DmpStepper::new(dmp, dof),
            dmp: dmp.clone(),
            duration_s,
            image_side,
            seq: 0,
            dy0: Dy0::Measured,
            scale: 1.0,
        }
    }

    /// DMP units per position unit (deploy.yaml `position_scale`): the policy sees positions
    /// times this, and the plan is divided back.
    pub fn set_position_scale(&mut self, scale: f64) {
        self.scale = scale;
    }

    /// How each plan's initial velocity is set: as the model was trained (deploy.yaml).
    pub fn set_dy0(&mut self, dy0: Dy0) {
        self.dy0 = dy0;
    }

    /// Plans from the latest inputs into `out`, stamped `t0_ns`. Ok(false): no inputs yet.
    /// A refused policy output makes `out` a hold at the measured state and returns the reason.
    pub fn make(
        &mut self,
        inputs: &Inputs,
        t0_ns: i64,
        out: &mut Plan,
    ) -> std::result::Result<bool, Reject> {
        let Some(snap) = inputs.snapshot(self.image_side) else {
            return Ok(false);
        };
        self.seq += 1;
        let scaled;
        let state = if self.scale == 1.0 {
            &snap.state
        } else {
            scaled = JointSnapshot {
                positions: snap
                    .state
                    .positions
                    .iter()
                    .map(|p| p * self.scale)
                    .collect(),
                velocities: snap
                    .state
                    .velocities
                    .iter()
                    .map(|v| v * self.scale)
                    .collect(),
            };
            &scaled
        };
        let input = PlanInput {
            state,
            image: snap.image.as_deref(),
            vector: snap.vector.as_deref(),
        };
        let made = match self.rollout(&input, t0_ns, out) {
            Ok(()) => Ok(true),
            Err(r) => {
                out.fill_hold(self.seq, t0_ns, &snap.state.positions);
                return Err(r);
            }
        };
        if self.scale != 1.0 {
            out.unscale(self.scale);
            if out.positions.iter().any(|v| !(*v as f32).is_finite()) {
                let r = Reject::PolicyOutput("the plan is not finite in position units".into());
                out.fill_hold(self.seq, t0_ns, &snap.state.positions);
                return Err(r);
            }
        }
        made
    }

    fn rollout(
        &mut self,
        input: &PlanInput,
        t0_ns: i64,
        out: &mut Plan,
    ) -> std::result::Result<(), Reject> {
        let (g, w) = self
            .planner
            .plan(input)
            .map_err(|e| Reject::PolicyOutput(e.to_string()))?;
        let state = input.state;
        let d = state.positions.len();
        if g.len() != d || w.len() != d * self.dmp.n_basis {
            return Err(Reject::PolicyOutput(format!(
                "{} goals and {} weights for {d} DoF and {} bases",
                g.len(),
                w.len(),
                self.dmp.n_basis
            )));
        }
        if g.iter().chain(&w).any(|v| !(*v as f32).is_finite()) {
            return Err(Reject::PolicyOutput("NaN or Inf in g or w".into()));
        }
        // The DMP's initial velocity in DMP time units: measured, or the training constant.
        let dy0: Vec<f64> = match self.dy0 {
            Dy0::Measured => state
                .velocities
                .iter()
                .map(|v| v * self.duration_s)
                .collect(),
            Dy0::Constant(c) => vec![c; d],
        };
        let dy0_per_s: Vec<f64> = dy0.iter().map(|v| v / self.duration_s).collect();
        self.stepper
            .reset(&state.positions, &dy0, &g, &w)
            .map_err(|e| Reject::PolicyOutput(e.to_string()))?;
        out.fill_motion(
            self.seq,
            t0_ns,
            self.duration_s,
            &mut self.stepper,
            self.dmp.t * self.dmp.substeps,
            &state.positions,
            &dy0_per_s,
            &g,
            &w,
        );
        if out.positions.iter().any(|v| !(*v as f32).is_finite()) {
            return Err(Reject::PolicyOutput(
                "the DMP rollout diverged (NaN or Inf)".into(),
            ));
        }
        Ok(())
    }
}
