//! The PPO loop: collect a rollout from the vector of environments, compute GAE, run the
//! clipped-surrogate update, log metrics, checkpoint, evaluate.

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::agent::Agent;
use super::buffer::Buffer;
use super::checkpoint::{self, TrainState};
use super::config::PpoRunConfig;
use super::normalize::{ObsNorm, ReturnNorm};
use crate::env::{Step, VecEnv};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::plot::{learning_curve, Curve};
use crate::train::adam::Adam;
use crate::train::metrics::MetricsLog;

/// Seeds of evaluation episodes start here, far from any training stream.
const EVAL_SEED: u64 = 1 << 40;

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpdateReport {
    pub update: u64,
    pub env_steps: u64,
    pub episodes: u64,
    /// Episodes that ended this rollout with success at some step / all that ended.
    pub success_rate: Option<f64>,
    /// Mean undiscounted (unscaled) return of those episodes.
    pub episode_return: Option<f64>,
    /// Deterministic evaluation, when one ran after this update.
    pub eval_success_rate: Option<f64>,
    pub policy_loss: f64,
    pub value_loss: f64,
    pub entropy: f64,
    pub approx_kl: f64,
    pub clip_fraction: f64,
    pub lr: f64,
    pub nan_skipped: u64,
    pub steps_per_s: f64,
    pub elapsed_s: f64,
}

/// The run's result (`ndp train-ppo --json` prints it).
#[derive(Clone, Debug, Serialize)]
pub struct PpoSummary {
    pub env_steps: u64,
    /// Deterministic evaluation at the end, over `ppo.eval_episodes` fresh episodes.
    pub success_rate: f64,
    pub episodes: u64,
    /// Success of the training episodes of the last rollout (stochastic actions).
    pub train_success_rate: Option<f64>,
    pub nan_skipped: u64,
    pub wall_s: f64,
}

/// Per-instance bookkeeping of the running episode.
#[derive(Clone, Default)]
struct Episode {
    ret: f64,
    success: bool,
    /// Buffer sub-step indices of this episode in the current rollout (dropped on NaN).
    subs: Vec<usize>,
}

/// Trains from scratch, or from `run`'s latest checkpoint when `resume`, on the configured
/// environments.
pub fn train_ppo(
    run: &Path,
    cfg: &PpoRunConfig,
    resume: bool,
    progress: &ProgressBar,
) -> Result<PpoSummary> {
    cfg.validate()?;
    train_ppo_on(run, cfg, VecEnv::new(&cfg.env)?, resume, progress)
}

/// As `train_ppo`, on given environments (tests inject faulty ones).
pub fn train_ppo_on(
    run: &Path,
    cfg: &PpoRunConfig,
    mut envs: VecEnv,
    resume: bool,
    progress: &ProgressBar,
) -> Result<PpoSummary> {
    cfg.validate()?;
    std::fs::create_dir_all(run).map_err(|e| Error::io(run, e))?;
    let spec = envs.spec().clone();
    let agent = Agent::new(&cfg.policy, &spec, cfg.ppo.seed)?;
    let vars = agent.varmap.data().lock().expect("varmap lock").clone();
    let mut adam = Adam::new(&vars, cfg.ppo.lr)?;
    let o = &cfg.ppo;
    let mut state = TrainState {
        update: 0,
        env_steps: 0,
        episodes: 0,
        nan_skipped: 0,
        adam_step: 0,
        obs_norm: ObsNorm::new(spec.obs_dim, o.normalize_obs),
        ret_norm: ReturnNorm::new(envs.len(), o.gamma, o.normalize_returns),
        curve: vec![],
        eval_curve: vec![],
    };
    let config_path = run.join(checkpoint::CONFIG);
    if resume {
        let dir = checkpoint::latest(run)?.ok_or_else(|| Error::Checkpoint {
            path: run.join(checkpoint::LATEST),
            msg: "no checkpoint to resume from".into(),
        })?;
        let saved = PpoRunConfig::load(&config_path)?;
        let mut same = saved.clone();
        same.ppo.total_steps = cfg.ppo.total_steps;
        if same != *cfg {
            return Err(Error::Config {
                path: config_path,
                msg: "the run was made by a different config (only ppo.total_steps may change on resume)".into(),
            });
        }
        state = checkpoint::load(&dir, &agent, &mut adam)?;
        state.ret_norm.set_envs(envs.len());
        tracing::info!(
            "resuming {} at update {}, {} env steps",
            dir.display(),
            state.update,
            state.env_steps
        );
    }
    write_atomic(&config_path, cfg.to_yaml().as_bytes())?;
    let mut log = if resume {
        MetricsLog::resume(&run.join("metrics.jsonl"), state.update)?
    } else {
        MetricsLog::create(&run.join("metrics.jsonl"))?
    };

    let (k, a, n_env) = (cfg.policy.k, spec.act_dim, envs.len());
    let calls = o.rollout_steps / k;
    let mut buf = Buffer::new(calls, n_env, k, spec.obs_dim, a);
    // A resumed run reseeds from the update count: reproducible without saving RNG state.
    let stream = o.seed ^ state.update.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = StdRng::seed_from_u64(stream);
    let mut obs: Vec<Vec<f64>> = (0..n_env)
        .map(|e| envs.reset(e, Some(stream.wrapping_add(e as u64 + 1))))
        .collect::<Result<_>>()?;
    let mut eps = vec![Episode::default(); n_env];
    progress.set_length(o.total_steps);
    progress.set_position(state.env_steps.min(o.total_steps));
    let started = Instant::now();
    let steps_at_start = state.env_steps;
    let mut last_train_success = None;
    while state.env_steps < o.total_steps {
        let frac = state.env_steps as f64 / o.total_steps as f64;
        adam.lr = if o.lr_decay {
            o.lr * (1.0 - frac)
        } else {
            o.lr
        };
        let t0 = Instant::now();
        let mut finished = Finished::default();
        buf.clear();
        for c in 0..calls {
            collect_call(
                c,
                &agent,
                &mut envs,
                &mut obs,
                &mut eps,
                &mut state,
                &mut buf,
                &mut rng,
                &mut finished,
                o.gamma,
            )?;
        }
        let steps = buf.executed.iter().filter(|&&x| x).count() as u64;
        state.env_steps += steps;
        let last_value = values_of(&agent, &state.obs_norm, &obs)?;
        let last: Vec<f32> = last_value.iter().map(|v| v[0]).collect();
        buf.compute_gae(&last, o.gamma, o.gae_lambda);
        let stats = update(&agent, &mut adam, &buf, cfg, &mut rng)?;
        state.update += 1;
        state.adam_step = adam.step;
        let success_rate = finished.rate();
        last_train_success = success_rate.or(last_train_success);
        if let Some(r) = success_rate {
            state.curve.push((state.env_steps, r));
        }
        let mut eval_rate = None;
        let done = state.env_steps >= o.total_steps;
        if o.eval_every > 0 && state.update % o.eval_every as u64 == 0 && !done {
            let r = evaluate(&agent, &state.obs_norm, &mut envs, o.eval_episodes)?;
            state.eval_curve.push((state.env_steps, r));
            eval_rate = Some(r);
            // Evaluation used the instances: start fresh training episodes.
            for (e, ob) in obs.iter_mut().enumerate() {
                *ob = envs.reset(e, None)?;
                eps[e] = Episode::default();
                state.ret_norm.forget(e);
            }
        }
        let report = UpdateReport {
            update: state.update,
            env_steps: state.env_steps,
            episodes: state.episodes,
            success_rate,
            episode_return: finished.mean_return(),
            eval_success_rate: eval_rate,
            policy_loss: stats.policy_loss,
            value_loss: stats.value_loss,
            entropy: stats.entropy,
            approx_kl: stats.approx_kl,
            clip_fraction: stats.clip_fraction,
            lr: adam.lr,
            nan_skipped: state.nan_skipped,
            steps_per_s: steps as f64 / t0.elapsed().as_secs_f64(),
            elapsed_s: started.elapsed().as_secs_f64(),
        };
        log.write(&report)?;
        progress.set_position(state.env_steps.min(o.total_steps));
        progress.set_message(format!(
            "success {} return {}",
            fmt_opt(report.success_rate),
            fmt_opt(report.episode_return)
        ));
        if state.update % o.checkpoint_every as u64 == 0 && !done {
            checkpoint::save(run, &agent, &adam, &state)?;
            checkpoint::export_policy(run, &agent, &state)?;
            plot_curves(run, &state)?;
        }
    }
    let success_rate = evaluate(&agent, &state.obs_norm, &mut envs, o.eval_episodes)?;
    state.eval_curve.push((state.env_steps, success_rate));
    checkpoint::save(run, &agent, &adam, &state)?;
    checkpoint::export_policy(run, &agent, &state)?;
    plot_curves(run, &state)?;
    progress.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    tracing::info!(
        "{} env steps in {wall_s:.1} s ({:.0} steps/s), evaluation success {success_rate:.3}",
        state.env_steps - steps_at_start,
        (state.env_steps - steps_at_start) as f64 / wall_s
    );
    Ok(PpoSummary {
        env_steps: state.env_steps,
        success_rate,
        episodes: state.episodes,
        train_success_rate: last_train_success,
        nan_skipped: state.nan_skipped,
        wall_s,
    })
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

/// Episodes that ended in one rollout.
#[derive(Default)]
struct Finished {
    n: usize,
    successes: usize,
    returns: f64,
}

impl Finished {
    fn rate(&self) -> Option<f64> {
        (self.n > 0).then(|| self.successes as f64 / self.n as f64)
    }
    fn mean_return(&self) -> Option<f64> {
        (self.n > 0).then(|| self.returns / self.n as f64)
    }
}

/// Normalised observations (B, obs) and DMP starts (B, A) x2 of raw observations.
fn batch(agent: &Agent, norm: &ObsNorm, obs: &[&[f64]]) -> Result<(Tensor, Tensor, Tensor)> {
    let (b, a) = (obs.len(), agent.act_dim());
    let mut x = Vec::with_capacity(b * agent.spec.obs_dim);
    let (mut y0, mut dy0) = (Vec::with_capacity(b * a), Vec::with_capacity(b * a));
    for o in obs {
        norm.apply(o, &mut x);
        agent.dmp_start(o, &mut y0, &mut dy0);
    }
    let dev = Device::Cpu;
    Ok((
        Tensor::from_vec(x, (b, agent.spec.obs_dim), &dev)?,
        Tensor::from_vec(y0, (b, a), &dev)?,
        Tensor::from_vec(dy0, (b, a), &dev)?,
    ))
}

/// Critic values (per head) of raw observations.
fn values_of(agent: &Agent, norm: &ObsNorm, obs: &[Vec<f64>]) -> Result<Vec<Vec<f32>>> {
    let refs: Vec<&[f64]> = obs.iter().map(|o| o.as_slice()).collect();
    let (x, _, _) = batch(agent, norm, &refs)?;
    Ok(agent.values(&x)?.to_vec2::<f32>()?)
}

fn finite(s: &Step) -> bool {
    s.reward.is_finite() && s.obs.iter().all(|v| v.is_finite())
}

/// One policy call for every instance, then its k sub-steps.
#[allow(clippy::too_many_arguments)]
fn collect_call(
    c: usize,
    agent: &Agent,
    envs: &mut VecEnv,
    obs: &mut [Vec<f64>],
    eps: &mut [Episode],
    state: &mut TrainState,
    buf: &mut Buffer,
    rng: &mut StdRng,
    finished: &mut Finished,
    gamma: f64,
) -> Result<()> {
    let (n_env, k, a, od) = (envs.len(), agent.k(), agent.act_dim(), agent.spec.obs_dim);
    let refs: Vec<&[f64]> = obs.iter().map(|o| o.as_slice()).collect();
    state
        .obs_norm
        .enabled
        .then(|| state.obs_norm.stat.update(&refs));
    let (x, y0, dy0) = batch(agent, &state.obs_norm, &refs)?;
    let means = agent.means(&x, &y0, &dy0)?; // (E, k, A)
    let values = agent.values(&x)?.to_vec2::<f32>()?;
    let means_v = means.flatten_all()?.to_vec1::<f32>()?;
    let std: Vec<f32> = agent.log_std().exp()?.to_vec1::<f32>()?;
    let log_std: Vec<f32> = agent.log_std().to_vec1::<f32>()?;
    let norm_const: f64 =
        log_std.iter().map(|&l| l as f64).sum::<f64>() + 0.5 * a as f64 * 1.837_877_066_409_345_3;
    let xs = x.flatten_all()?.to_vec1::<f32>()?;
    let (y0v, dy0v) = (
        y0.flatten_all()?.to_vec1::<f32>()?,
        dy0.flatten_all()?.to_vec1::<f32>()?,
    );
    for e in 0..n_env {
        let ci = buf.call(c, e);
        buf.obs[ci * od..(ci + 1) * od].copy_from_slice(&xs[e * od..(e + 1) * od]);
        buf.y0[ci * a..(ci + 1) * a].copy_from_slice(&y0v[e * a..(e + 1) * a]);
        buf.dy0[ci * a..(ci + 1) * a].copy_from_slice(&dy0v[e * a..(e + 1) * a]);
        for j in 0..k {
            let si = buf.sub(c, e, j);
            let mut quad = 0.0f64;
            for d in 0..a {
                let z: f64 = StandardNormal.sample(rng);
                let m = means_v[(e * k + j) * a + d];
                buf.actions[si * a + d] = m + std[d] * z as f32;
                quad += z * z;
            }
            buf.logp[si] = (-0.5 * quad - norm_const) as f32;
            buf.value[si] = values[e][j];
        }
    }
    let mut active = vec![true; n_env];
    // Instances whose episode was truncated: the step to bootstrap, and the final observation.
    let mut truncated: Vec<(usize, usize, Vec<f64>)> = vec![];
    for j in 0..k {
        let actions: Vec<Option<Vec<f64>>> = (0..n_env)
            .map(|e| {
                active[e].then(|| {
                    let si = buf.sub(c, e, j);
                    buf.actions[si * a..(si + 1) * a]
                        .iter()
                        .map(|&v| v as f64)
                        .collect()
                })
            })
            .collect();
        let results = envs.step(&actions)?;
        for (e, r) in results.into_iter().enumerate() {
            let Some(step) = r else { continue };
            let si = buf.sub(c, e, j);
            buf.executed[si] = true;
            let ep = &mut eps[e];
            if !finite(&step) {
                // Drop the whole episode: none of its steps in this rollout are trained on.
                for &i in &ep.subs {
                    buf.train[i] = false;
                }
                buf.done[si] = true;
                state.nan_skipped += 1;
                tracing::warn!(
                    "instance {e}: non-finite observation or reward at env step {}: episode skipped ({} so far)",
                    state.env_steps,
                    state.nan_skipped
                );
                state.ret_norm.forget(e);
                *ep = Episode::default();
                active[e] = false;
                obs[e] = envs.reset(e, None)?;
                continue;
            }
            let done = step.terminated || step.truncated;
            buf.train[si] = true;
            ep.subs.push(si);
            ep.ret += step.reward;
            ep.success |= step.success;
            buf.reward[si] = state.ret_norm.scale(e, step.reward, done);
            buf.done[si] = done;
            if done {
                finished.n += 1;
                finished.successes += ep.success as usize;
                finished.returns += ep.ret;
                state.episodes += 1;
                if step.truncated && !step.terminated {
                    truncated.push((e, si, step.obs.clone()));
                }
                *ep = Episode::default();
                active[e] = false;
                obs[e] = envs.reset(e, None)?;
            } else {
                obs[e] = step.obs;
            }
        }
    }
    if !truncated.is_empty() {
        // Time limits are not terminal: bootstrap with the value of the final observation.
        let finals: Vec<Vec<f64>> = truncated.iter().map(|t| t.2.clone()).collect();
        let v = values_of(agent, &state.obs_norm, &finals)?;
        for ((_, si, _), v) in truncated.iter().zip(v) {
            buf.reward[*si] += gamma * v[0] as f64;
        }
    }
    Ok(())
}

#[derive(Default)]
struct UpdateStats {
    policy_loss: f64,
    value_loss: f64,
    entropy: f64,
    approx_kl: f64,
    clip_fraction: f64,
}

/// PPO's clipped surrogate over the rollout's calls, in shuffled minibatches.
fn update(
    agent: &Agent,
    adam: &mut Adam,
    buf: &Buffer,
    cfg: &PpoRunConfig,
    rng: &mut StdRng,
) -> Result<UpdateStats> {
    let o = &cfg.ppo;
    let (k, a, od) = (buf.k, buf.act_dim, buf.obs_dim);
    let n = buf.calls * buf.envs;
    // Calls with at least one trained sub-step.
    let mut idx: Vec<usize> = (0..n)
        .filter(|&ci| buf.train[ci * k..(ci + 1) * k].iter().any(|&t| t))
        .collect();
    if idx.is_empty() {
        return Ok(UpdateStats::default());
    }
    let mb = idx.len().div_ceil(o.minibatches.min(idx.len()));
    let dev = Device::Cpu;
    let mut stats = UpdateStats::default();
    let mut count = 0.0;
    for _ in 0..o.epochs {
        idx.shuffle(rng);
        for chunk in idx.chunks(mb) {
            let b = chunk.len();
            let gather = |src: &[f32], w: usize| -> Vec<f32> {
                chunk
                    .iter()
                    .flat_map(|&ci| src[ci * w..(ci + 1) * w].iter().copied())
                    .collect()
            };
            let mask: Vec<f32> = chunk
                .iter()
                .flat_map(|&ci| {
                    buf.train[ci * k..(ci + 1) * k]
                        .iter()
                        .map(|&t| t as u8 as f32)
                })
                .collect();
            let msum: f32 = mask.iter().sum();
            if msum == 0.0 {
                continue;
            }
            // Advantages normalised over the minibatch's trained sub-steps.
            let mut adv = gather(&buf.adv, k);
            let mean = adv.iter().zip(&mask).map(|(v, m)| v * m).sum::<f32>() / msum;
            let var = adv
                .iter()
                .zip(&mask)
                .map(|(v, m)| m * (v - mean).powi(2))
                .sum::<f32>()
                / msum;
            let sd = var.sqrt() + 1e-8;
            adv.iter_mut().for_each(|v| *v = (*v - mean) / sd);
            let x = Tensor::from_vec(gather(&buf.obs, od), (b, od), &dev)?;
            let y0 = Tensor::from_vec(gather(&buf.y0, a), (b, a), &dev)?;
            let dy0 = Tensor::from_vec(gather(&buf.dy0, a), (b, a), &dev)?;
            let act = Tensor::from_vec(gather(&buf.actions, k * a), (b, k, a), &dev)?;
            let old = Tensor::from_vec(gather(&buf.logp, k), (b, k), &dev)?;
            let ret = Tensor::from_vec(gather(&buf.ret, k), (b, k), &dev)?;
            let adv = Tensor::from_vec(adv, (b, k), &dev)?;
            let mask = Tensor::from_vec(mask, (b, k), &dev)?;

            let means = agent.means(&x, &y0, &dy0)?;
            let logp = agent.log_prob(&means, &act)?;
            let log_ratio = (&logp - &old)?;
            let ratio = log_ratio.exp()?;
            let s1 = (&ratio * &adv)?;
            let s2 = (ratio.clamp(1.0 - o.clip, 1.0 + o.clip)? * &adv)?;
            let pg = ((s1.minimum(&s2)? * &mask)?.sum_all()? * (-1.0 / msum as f64))?;
            let v = agent.values(&x)?;
            let vl = (((v - &ret)?.sqr()? * &mask)?.sum_all()? * (0.5 / msum as f64))?;
            let ent = agent.entropy()?;
            let loss = ((&pg + (&vl * o.vf_coef)?)? - (&ent * o.ent_coef)?)?;
            let grads = loss.backward()?;
            let norm = adam.grad_norm(&grads)?;
            let scale = if norm > o.max_grad_norm {
                o.max_grad_norm / (norm + 1e-6)
            } else {
                1.0
            };
            adam.step(&grads, scale)?;

            // Diagnostics (no gradient needed).
            let r = ratio.detach();
            let kl = (((&r - 1.0)? - log_ratio.detach())? * &mask)?.sum_all()?;
            let clipped = ((r - 1.0)?
                .abs()?
                .gt(o.clip)?
                .to_dtype(candle_core::DType::F32)?
                * &mask)?
                .sum_all()?;
            stats.policy_loss += pg.to_scalar::<f32>()? as f64;
            stats.value_loss += vl.to_scalar::<f32>()? as f64;
            stats.entropy += ent.to_scalar::<f32>()? as f64;
            stats.approx_kl += kl.to_scalar::<f32>()? as f64 / msum as f64;
            stats.clip_fraction += clipped.to_scalar::<f32>()? as f64 / msum as f64;
            count += 1.0;
        }
    }
    if count > 0.0 {
        for v in [
            &mut stats.policy_loss,
            &mut stats.value_loss,
            &mut stats.entropy,
            &mut stats.approx_kl,
            &mut stats.clip_fraction,
        ] {
            *v /= count;
        }
    }
    Ok(stats)
}

/// Success rate of `episodes` deterministic episodes (the actions are the means) on fresh
/// evaluation seeds; an episode succeeds if the success flag is ever set. A non-finite
/// observation or reward ends its episode as a failure.
pub fn evaluate(agent: &Agent, norm: &ObsNorm, envs: &mut VecEnv, episodes: usize) -> Result<f64> {
    if episodes == 0 {
        return Ok(0.0);
    }
    let (n_env, k, a) = (envs.len(), agent.k(), agent.act_dim());
    let mut successes = 0usize;
    let mut next = 0usize;
    while next < episodes {
        let batch_n = (episodes - next).min(n_env);
        let mut obs: Vec<Vec<f64>> = (0..batch_n)
            .map(|e| envs.reset(e, Some(EVAL_SEED + (next + e) as u64)))
            .collect::<Result<_>>()?;
        let mut active: Vec<bool> = vec![true; batch_n];
        let mut success = vec![false; batch_n];
        while active.iter().any(|&x| x) {
            let live: Vec<usize> = (0..batch_n).filter(|&e| active[e]).collect();
            let refs: Vec<&[f64]> = live.iter().map(|&e| obs[e].as_slice()).collect();
            let (x, y0, dy0) = batch(agent, norm, &refs)?;
            let means = agent
                .means(&x, &y0, &dy0)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            for j in 0..k {
                let mut actions: Vec<Option<Vec<f64>>> = vec![None; n_env];
                for (row, &e) in live.iter().enumerate() {
                    if active[e] {
                        let off = (row * k + j) * a;
                        actions[e] = Some(means[off..off + a].iter().map(|&v| v as f64).collect());
                    }
                }
                for (e, r) in envs.step(&actions)?.into_iter().enumerate() {
                    let Some(step) = r else { continue };
                    if !finite(&step) {
                        active[e] = false;
                        continue;
                    }
                    success[e] |= step.success;
                    if step.terminated || step.truncated {
                        active[e] = false;
                    }
                    obs[e] = step.obs;
                }
            }
        }
        successes += success.iter().filter(|&&s| s).count();
        next += batch_n;
    }
    Ok(successes as f64 / episodes as f64)
}

/// `learning_curve.png`: training and evaluation success rate against environment steps.
fn plot_curves(run: &Path, state: &TrainState) -> Result<()> {
    let to = |v: &[(u64, f64)]| v.iter().map(|&(s, r)| (s as f64, r)).collect::<Vec<_>>();
    let mut curves = vec![Curve {
        name: "training episodes (sampled actions)".into(),
        points: to(&state.curve),
    }];
    if !state.eval_curve.is_empty() {
        curves.push(Curve {
            name: "evaluation (mean actions)".into(),
            points: to(&state.eval_curve),
        });
    }
    learning_curve(
        &run.join("learning_curve.png"),
        "PPO success rate",
        "environment steps",
        "success rate",
        &curves,
        false,
    )
}
