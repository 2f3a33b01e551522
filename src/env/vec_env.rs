//! Several instances stepped together: every action is sent before any result is awaited, so
//! remote bridges simulate in parallel while local tasks simply run in turn.

use super::{make, Env, EnvConfig, EnvSpec, Step};
use crate::error::{Error, Result};

pub struct VecEnv {
    envs: Vec<Box<dyn Env>>,
    spec: EnvSpec,
}

impl VecEnv {
    /// `cfg.num_envs` instances of the configured task.
    pub fn new(cfg: &EnvConfig) -> Result<Self> {
        cfg.validate()?;
        let envs = (0..cfg.num_envs)
            .map(|i| make(cfg, i))
            .collect::<Result<Vec<_>>>()?;
        Self::from_envs(envs)
    }

    /// A vector of given instances, which must agree on their spec.
    pub fn from_envs(envs: Vec<Box<dyn Env>>) -> Result<Self> {
        let spec = envs
            .first()
            .ok_or_else(|| Error::invalid("env.num_envs", "must be at least 1"))?
            .spec()
            .clone();
        if let Some((i, e)) = envs.iter().enumerate().find(|(_, e)| *e.spec() != spec) {
            return Err(Error::invalid(
                "env",
                format!(
                    "instance {i} has spec {:?}, instance 0 has {spec:?}",
                    e.spec()
                ),
            ));
        }
        Ok(VecEnv { envs, spec })
    }

    pub fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    pub fn len(&self) -> usize {
        self.envs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    pub fn reset(&mut self, i: usize, seed: Option<u64>) -> Result<Vec<f64>> {
        self.envs[i].reset(seed)
    }

    /// Steps the instances whose action is `Some`; the others are left alone (`None` out).
    pub fn step(&mut self, actions: &[Option<Vec<f64>>]) -> Result<Vec<Option<Step>>> {
        if actions.len() != self.envs.len() {
            return Err(Error::Shape {
                what: "actions of a vector environment".into(),
                expected: self.envs.len().to_string(),
                got: actions.len().to_string(),
            });
        }
        for (env, a) in self.envs.iter_mut().zip(actions) {
            if let Some(a) = a {
                env.send_step(a)?;
            }
        }
        self.envs
            .iter_mut()
            .zip(actions)
            .map(|(env, a)| a.as_ref().map(|_| env.recv_step()).transpose())
            .collect()
    }

    /// The scripted expert of instance `i`, where its task has one.
    pub fn expert_action(&mut self, i: usize) -> Result<Option<Vec<f64>>> {
        self.envs[i].expert_action()
    }
}
