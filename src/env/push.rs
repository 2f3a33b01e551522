//! Built-in push: the hand must push a puck on the table to within 5 cm of a random goal
//! (Meta-World push-v3's puck and goal boxes and success radius). The puck is pushed
//! kinematically: a hand low enough to touch it moves it out of its way, along the line
//! from the hand to the puck's centre.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::hand::{self, V3};
use super::{Env, EnvSpec, Step};
use crate::error::Result;

const PUCK_LOW: V3 = [-0.1, 0.6, 0.02];
const PUCK_HIGH: V3 = [0.1, 0.7, 0.02];
const GOAL_LOW: V3 = [-0.1, 0.8, 0.02];
const GOAL_HIGH: V3 = [0.1, 0.9, 0.02];
/// Hand-to-puck-centre distance in the table plane at contact (hand and puck radii).
pub const CONTACT: f64 = 0.04;
/// The hand touches the puck only below this height.
pub const CONTACT_HEIGHT: f64 = 0.05;
pub const SUCCESS_DIST: f64 = 0.05;
/// Height the expert travels at before descending behind the puck.
const HOVER: f64 = 0.1;
/// Puck bounds on the table (m).
const TABLE_LOW: [f64; 2] = [-0.5, 0.35];
const TABLE_HIGH: [f64; 2] = [0.5, 1.0];

pub struct Push {
    spec: EnvSpec,
    rng: StdRng,
    hand: V3,
    puck: V3,
    prev: [f64; 18],
    goal: V3,
    margin: f64,
    steps: usize,
    pending: hand::Pending,
}

impl Push {
    pub fn new(max_steps: usize, seed: u64) -> Self {
        Push {
            spec: EnvSpec {
                obs_dim: hand::OBS_DIM,
                act_dim: hand::ACT_DIM,
                max_steps,
            },
            rng: StdRng::seed_from_u64(seed),
            hand: hand::HAND_INIT,
            puck: PUCK_LOW,
            prev: hand::frame(&hand::HAND_INIT, Some(&PUCK_LOW)),
            goal: GOAL_LOW,
            margin: 1.0,
            steps: 0,
            pending: hand::Pending::default(),
        }
    }

    fn obs(&self) -> Vec<f64> {
        let now = hand::frame(&self.hand, Some(&self.puck));
        hand::observation(&now, &self.prev, &self.goal)
    }

    /// Moves the puck out of the hand's way (swept in small increments so a fast hand cannot
    /// tunnel through it).
    fn contact(&mut self, from: V3) {
        const SUB: usize = 4;
        for s in 1..=SUB {
            let t = s as f64 / SUB as f64;
            let h: V3 = std::array::from_fn(|i| from[i] + (self.hand[i] - from[i]) * t);
            if h[2] >= CONTACT_HEIGHT {
                continue;
            }
            let d = hand::dist_xy(&h, &self.puck);
            if d < CONTACT {
                let (dx, dy) = if d > 1e-9 {
                    ((self.puck[0] - h[0]) / d, (self.puck[1] - h[1]) / d)
                } else {
                    (0.0, 1.0)
                };
                self.puck[0] = (h[0] + dx * CONTACT).clamp(TABLE_LOW[0], TABLE_HIGH[0]);
                self.puck[1] = (h[1] + dy * CONTACT).clamp(TABLE_LOW[1], TABLE_HIGH[1]);
            }
        }
    }
}

impl Env for Push {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Vec<f64>> {
        if let Some(s) = seed {
            self.rng = StdRng::seed_from_u64(s);
        }
        self.hand = hand::HAND_INIT;
        self.puck = hand::uniform(&mut self.rng, &PUCK_LOW, &PUCK_HIGH);
        self.goal = hand::uniform(&mut self.rng, &GOAL_LOW, &GOAL_HIGH);
        self.prev = hand::frame(&self.hand, Some(&self.puck));
        self.margin = hand::dist_xy(&self.puck, &self.goal);
        self.steps = 0;
        self.pending.clear();
        Ok(self.obs())
    }

    fn send_step(&mut self, action: &[f64]) -> Result<()> {
        self.pending.put("push", action)
    }

    fn recv_step(&mut self) -> Result<Step> {
        let action = self.pending.take("push")?;
        self.prev = hand::frame(&self.hand, Some(&self.puck));
        let from = self.hand;
        hand::move_hand(&mut self.hand, &action);
        self.contact(from);
        self.steps += 1;
        let to_goal = hand::dist_xy(&self.puck, &self.goal);
        let to_puck = hand::dist(&self.hand, &self.puck);
        let success = to_goal < SUCCESS_DIST;
        // Near the puck is worth up to 2, the puck near the goal up to 8 (10 on success).
        let reward = if success {
            10.0
        } else {
            2.0 * hand::tolerance(to_puck, CONTACT, 0.2)
                + 8.0 * hand::tolerance(to_goal, SUCCESS_DIST, self.margin)
        };
        Ok(Step {
            obs: self.obs(),
            reward,
            terminated: false,
            truncated: self.steps >= self.spec.max_steps,
            success,
        })
    }

    /// Behind the puck (seen from the goal) at hover height, down to the table, then through
    /// the puck toward the goal, re-aiming every step as the puck drifts.
    fn expert_action(&mut self) -> Result<Option<Vec<f64>>> {
        let (gx, gy) = (self.goal[0] - self.puck[0], self.goal[1] - self.puck[1]);
        let n = (gx * gx + gy * gy).sqrt().max(1e-9);
        let (ux, uy) = (gx / n, gy / n);
        let behind = [self.puck[0] - ux * CONTACT, self.puck[1] - uy * CONTACT];
        let off = ((self.hand[0] - behind[0]).powi(2) + (self.hand[1] - behind[1]).powi(2)).sqrt();
        let low = 0.02;
        let pushing = self.hand[2] < CONTACT_HEIGHT && off < 0.02;
        let target = if pushing {
            // Along the line through the puck to the goal, correcting sideways drift.
            [behind[0] + ux * 0.03, behind[1] + uy * 0.03, low]
        } else if off > 0.015 && self.hand[2] < CONTACT_HEIGHT + 0.01 {
            // Low but not behind the puck: lift first so the puck is not swept aside.
            [self.hand[0], self.hand[1], HOVER]
        } else if off > 0.015 {
            [behind[0], behind[1], HOVER]
        } else {
            [behind[0], behind[1], low]
        };
        Ok(Some(hand::toward(&self.hand, &target)))
    }
}
