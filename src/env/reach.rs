//! Built-in reach: the hand must come within 5 cm of a random goal (Meta-World reach-v3's
//! goal box, reward and success radius) within the step limit.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::hand::{self, V3};
use super::{Env, EnvSpec, Step};
use crate::error::Result;

const GOAL_LOW: V3 = [-0.1, 0.8, 0.05];
const GOAL_HIGH: V3 = [0.1, 0.9, 0.3];
/// Success radius (m).
pub const SUCCESS_DIST: f64 = 0.05;

pub struct Reach {
    spec: EnvSpec,
    rng: StdRng,
    hand: V3,
    prev: [f64; 18],
    goal: V3,
    margin: f64,
    steps: usize,
    pending: hand::Pending,
}

impl Reach {
    pub fn new(max_steps: usize, seed: u64) -> Self {
        Reach {
            spec: EnvSpec {
                obs_dim: hand::OBS_DIM,
                act_dim: hand::ACT_DIM,
                max_steps,
            },
            rng: StdRng::seed_from_u64(seed),
            hand: hand::HAND_INIT,
            prev: hand::frame(&hand::HAND_INIT, None),
            goal: GOAL_LOW,
            margin: 1.0,
            steps: 0,
            pending: hand::Pending::default(),
        }
    }

    fn obs(&self) -> Vec<f64> {
        hand::observation(&hand::frame(&self.hand, None), &self.prev, &self.goal)
    }
}

impl Env for Reach {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Vec<f64>> {
        if let Some(s) = seed {
            self.rng = StdRng::seed_from_u64(s);
        }
        self.hand = hand::HAND_INIT;
        self.prev = hand::frame(&self.hand, None);
        self.goal = hand::uniform(&mut self.rng, &GOAL_LOW, &GOAL_HIGH);
        self.margin = hand::dist(&self.hand, &self.goal);
        self.steps = 0;
        self.pending.clear();
        Ok(self.obs())
    }

    fn send_step(&mut self, action: &[f64]) -> Result<()> {
        self.pending.put("reach", action)
    }

    fn recv_step(&mut self) -> Result<Step> {
        let action = self.pending.take("reach")?;
        self.prev = hand::frame(&self.hand, None);
        hand::move_hand(&mut self.hand, &action);
        self.steps += 1;
        let d = hand::dist(&self.hand, &self.goal);
        Ok(Step {
            obs: self.obs(),
            reward: 10.0 * hand::tolerance(d, SUCCESS_DIST, self.margin),
            terminated: false,
            truncated: self.steps >= self.spec.max_steps,
            success: d < SUCCESS_DIST,
        })
    }

    fn expert_action(&mut self) -> Result<Option<Vec<f64>>> {
        Ok(Some(hand::toward(&self.hand, &self.goal)))
    }
}
