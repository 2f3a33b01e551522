//! The DMP against its oracles: closed form = unrolled candle = f64 loop; gradients against
//! finite differences; w = 0 is the critically damped spring; the basis as specified.

use candle_core::{DType, Device, Tensor, Var};
use ndp_ros::dmp::unrolled::rollout_unrolled;
use ndp_ros::dmp::{fit_forcing, Basis, ClosedForm, DmpConfig, DmpLayer, DmpStepper, Kernel};
use proptest::prelude::*;

const KERNELS: [Kernel; 5] = [
    Kernel::Gaussian,
    Kernel::Linear,
    Kernel::Multiquadric,
    Kernel::InverseQuadric,
    Kernel::InverseMultiquadric,
];

/// Deterministic pseudo-random values in [-1, 1].
fn vals(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

struct Case {
    cfg: DmpConfig,
    b: usize,
    d: usize,
    y0: Vec<f64>,
    dy0: Vec<f64>,
    g: Vec<f64>,
    w: Vec<f64>,
}

fn case(cfg: DmpConfig, b: usize, d: usize, seed: u64) -> Case {
    let n = cfg.n_basis;
    let y0: Vec<f64> = vals(b * d, seed).iter().map(|v| 10.0 * v).collect();
    let dy0: Vec<f64> = vals(b * d, seed + 1).iter().map(|v| 2.0 * v).collect();
    let g: Vec<f64> = vals(b * d, seed + 2)
        .iter()
        .map(|v| 10.0 * v + 3.0)
        .collect();
    let w: Vec<f64> = vals(b * d * n, seed + 3)
        .iter()
        .map(|v| 100.0 * v)
        .collect();
    Case {
        cfg,
        b,
        d,
        y0,
        dy0,
        g,
        w,
    }
}

/// f64 stepper rollout, (B, D, points) flattened.
fn stepper_rollout(c: &Case) -> Vec<f64> {
    let (n, p) = (c.cfg.n_basis, c.cfg.points());
    let mut out = vec![0.0; c.b * c.d * p];
    for bi in 0..c.b {
        let mut s = DmpStepper::new(&c.cfg, c.d);
        let r = bi * c.d..(bi + 1) * c.d;
        s.reset(
            &c.y0[r.clone()],
            &c.dy0[r.clone()],
            &c.g[r.clone()],
            &c.w[bi * c.d * n..(bi + 1) * c.d * n],
        )
        .unwrap();
        let mut traj = vec![0.0; p * c.d];
        s.rollout_into(&mut traj);
        for k in 0..p {
            for j in 0..c.d {
                out[(bi * c.d + j) * p + k] = traj[k * c.d + j];
            }
        }
    }
    out
}

fn tensors(c: &Case, dtype: DType) -> [Tensor; 4] {
    let dev = Device::Cpu;
    let t = |v: &[f64], shape: &[usize]| {
        Tensor::from_slice(v, shape, &dev)
            .unwrap()
            .to_dtype(dtype)
            .unwrap()
    };
    [
        t(&c.y0, &[c.b, c.d]),
        t(&c.dy0, &[c.b, c.d]),
        t(&c.g, &[c.b, c.d]),
        t(&c.w, &[c.b, c.d, c.cfg.n_basis]),
    ]
}

fn flat(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den
}

fn configs() -> Vec<DmpConfig> {
    let mut out = Vec::new();
    for (i, kernel) in KERNELS.into_iter().enumerate() {
        let mut c = DmpConfig::new([30, 6, 2, 10, 15][i], [300, 5, 40, 25, 100][i]);
        c.substeps = [1, 8, 1, 3, 2][i];
        c.a_z = [25.0, 10.0, 5.0, 15.0, 25.0][i];
        c.kernel = kernel;
        out.push(c);
    }
    out
}

#[test]
fn closed_form_unrolled_and_f64_loop_agree() {
    for (i, cfg) in configs().into_iter().enumerate() {
        let c = case(cfg.clone(), 4, [2, 7, 1, 3, 2][i], i as u64 * 10);
        let reference = stepper_rollout(&c);
        let layer = DmpLayer::new(&cfg).unwrap();
        for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 1e-5)] {
            let [y0, dy0, g, w] = tensors(&c, dtype);
            let closed = flat(&layer.forward(&y0, &dy0, &g, &w).unwrap());
            let unrolled = flat(&rollout_unrolled(&cfg, &y0, &dy0, &g, &w).unwrap());
            let e1 = rel_err(&closed, &reference);
            let e2 = rel_err(&unrolled, &reference);
            assert!(
                e1 < tol,
                "{:?} {dtype:?}: closed form vs f64 loop {e1:e}",
                cfg.kernel
            );
            assert!(
                e2 < tol,
                "{:?} {dtype:?}: unrolled vs f64 loop {e2:e}",
                cfg.kernel
            );
        }
    }
}

#[test]
fn rollout_starts_at_y0_and_has_t_times_l_plus_one_points() {
    let mut cfg = DmpConfig::new(5, 5);
    cfg.substeps = 8;
    let c = case(cfg.clone(), 2, 3, 7);
    let out = stepper_rollout(&c);
    assert_eq!(out.len(), 2 * 3 * 41);
    for (row, y0) in c.y0.iter().enumerate() {
        assert_eq!(out[row * 41], *y0);
    }
}

/// Loss L = sum(Y * R): its gradient through the layer against central differences in f64.
#[test]
fn gradients_match_central_finite_differences() {
    for cfg in configs() {
        let c = case(cfg.clone(), 2, 2, 99);
        let layer = DmpLayer::new(&cfg).unwrap();
        let r = Tensor::from_vec(
            vals(2 * 2 * cfg.points(), 5),
            (2, 2, cfg.points()),
            &Device::Cpu,
        )
        .unwrap();
        let [y0, dy0, g, w] = tensors(&c, DType::F64);
        let vars = [&y0, &dy0, &g, &w].map(|t| Var::from_tensor(t).unwrap());
        let loss = |ts: [&Tensor; 4]| -> Tensor {
            (layer.forward(ts[0], ts[1], ts[2], ts[3]).unwrap() * &r)
                .unwrap()
                .sum_all()
                .unwrap()
        };
        let grads = loss([
            vars[0].as_tensor(),
            vars[1].as_tensor(),
            vars[2].as_tensor(),
            vars[3].as_tensor(),
        ])
        .backward()
        .unwrap();
        let base = [y0.clone(), dy0.clone(), g.clone(), w.clone()];
        for (which, name) in [(0, "y0"), (2, "g"), (3, "w")] {
            let analytic = flat(grads.get(vars[which].as_tensor()).unwrap());
            let x0 = flat(&base[which]);
            let h = 1e-5;
            for (i, &a) in analytic.iter().enumerate() {
                let shifted = |delta: f64| {
                    let mut x = x0.clone();
                    x[i] += delta;
                    let mut ts = base.clone();
                    ts[which] = Tensor::from_vec(x, base[which].shape(), &Device::Cpu).unwrap();
                    loss([&ts[0], &ts[1], &ts[2], &ts[3]])
                        .to_scalar::<f64>()
                        .unwrap()
                };
                let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
                let scale = numeric.abs().max(a.abs()).max(1.0);
                assert!(
                    (numeric - a).abs() / scale < 1e-6,
                    "{:?}: d L / d {name}[{i}]: analytic {a}, numeric {numeric}",
                    cfg.kernel
                );
            }
        }
    }
}

/// With w = 0 the DMP is y'' = a_z (a_z/4 (g - y) - y'): critically damped, no overshoot,
/// y(t) = g + (C1 + C2 t) e^{-a_z t / 2}; Euler with a small dt stays close to it.
#[test]
fn zero_weights_give_the_critically_damped_spring() {
    let mut cfg = DmpConfig::new(10, 100);
    cfg.substeps = 20;
    let (y0, g) = (2.0, -3.0);
    let mut s = DmpStepper::new(&cfg, 1);
    s.reset(&[y0], &[0.0], &[g], &[0.0; 10]).unwrap();
    let omega = cfg.a_z / 2.0;
    let (c1, c2) = (y0 - g, omega * (y0 - g));
    let mut prev = y0;
    for k in 1..cfg.points() {
        s.step();
        let t = k as f64 * cfg.dt();
        let y = s.position()[0];
        let exact = g + (c1 + c2 * t) * (-omega * t).exp();
        assert!(
            (y - exact).abs() < 2e-3 * (y0 - g).abs(),
            "t={t}: euler {y} vs exact {exact}"
        );
        assert!(
            y <= prev + 1e-15 && y >= g,
            "no overshoot and monotone: t={t}, y={y}"
        );
        prev = y;
    }
    assert!(
        (prev - g).abs() < 1e-3 * (y0 - g).abs(),
        "reaches the goal: {prev}"
    );
}

#[test]
fn basis_centres_and_widths_are_as_specified() {
    for (n, a_x) in [(30, 1.0), (5, 1.0), (10, 2.0)] {
        let mut cfg = DmpConfig::new(n, 100);
        cfg.a_x = a_x;
        let b = Basis::new(&cfg);
        assert_eq!(b.len(), n);
        assert!((b.centres[0] - 1.0).abs() < 1e-15);
        assert!((b.centres[n - 1] - (-a_x).exp()).abs() < 1e-15);
        for i in 0..n {
            let c = (-a_x * i as f64 / (n - 1) as f64).exp();
            assert!((b.centres[i] - c).abs() < 1e-15);
            assert!((b.widths[i] - (n as f64).powf(1.5) / c / a_x).abs() < 1e-9);
            // Each Gaussian peaks at its centre with value 1.
            assert!((b.psi(i, c) - 1.0).abs() < 1e-15);
        }
    }
}

/// Fitting the forcing term inverts the Euler integration: rollout(fit(rollout(w))) = rollout(w)
/// and the weights come back.
#[test]
fn fitting_a_rollout_recovers_its_weights() {
    for cfg in [DmpConfig::new(30, 300), DmpConfig::new(6, 40)] {
        let n = cfg.n_basis;
        let w: Vec<f64> = vals(n, 3).iter().map(|v| 200.0 * v).collect();
        let mut s = DmpStepper::new(&cfg, 1);
        s.reset(&[1.0], &[0.0], &[6.0], &w).unwrap();
        let mut traj = vec![0.0; cfg.points()];
        s.rollout_into(&mut traj);
        let fitted = fit_forcing(&cfg, &traj, 6.0, 1e-12).unwrap();
        s.reset(&[1.0], &[0.0], &[6.0], &fitted).unwrap();
        let mut again = vec![0.0; cfg.points()];
        s.rollout_into(&mut again);
        let err = rel_err(&again, &traj);
        assert!(
            err < 1e-7,
            "N={n}: the fitted DMP's rollout is off by {err:e}"
        );
        // With few, wide bases the weights themselves are identifiable.
        if n <= 6 {
            let err = rel_err(&fitted, &w);
            assert!(err < 1e-6, "N={n}: fitted weights off by {err:e}");
        }
    }
}

#[test]
fn layer_rejects_weights_of_the_wrong_size() {
    let layer = DmpLayer::new(&DmpConfig::new(10, 20)).unwrap();
    let z = Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap();
    let w = Tensor::zeros((2, 2, 7), DType::F32, &Device::Cpu).unwrap();
    let e = layer.forward(&z, &z, &z, &w).unwrap_err().to_string();
    assert!(
        e.contains("DMP weights w") && e.contains("10") && e.contains('7'),
        "{e}"
    );
}

#[test]
fn invalid_constants_name_the_key() {
    let mut cfg = DmpConfig::new(10, 20);
    cfg.a_z = f64::NAN;
    let e = cfg.validate("dmp").unwrap_err().to_string();
    assert!(e.contains("dmp.a_z"), "{e}");
    let mut cfg = DmpConfig::new(0, 20);
    cfg.n_basis = 0;
    assert!(cfg
        .validate("dmp")
        .unwrap_err()
        .to_string()
        .contains("dmp.n_basis"));
}

#[test]
fn selected_points_are_columns_of_the_full_operator() {
    let mut cfg = DmpConfig::new(5, 5);
    cfg.substeps = 8;
    let full = ClosedForm::new(&cfg);
    let cols: Vec<usize> = (0..=5).map(|i| i * 8).collect();
    let sub = full.select_columns(&cols);
    let mut p = vec![0.0; full.k()];
    ClosedForm::pack(0.5, 0.1, 2.0, &[10.0, -5.0, 3.0, 0.0, 1.0], &mut p);
    let (mut a, mut b) = (vec![0.0; full.points()], vec![0.0; sub.points()]);
    full.apply(&p, &mut a);
    sub.apply(&p, &mut b);
    for (j, &c) in cols.iter().enumerate() {
        assert_eq!(a[c], b[j]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The f64 closed form equals the f64 loop for random constants and parameters.
    #[test]
    fn closed_form_equals_loop(
        n in 1usize..20, t in 3usize..60, l in 1usize..5, a_z in 1.0f64..40.0,
        k in 0usize..5, seed in 0u64..1000,
    ) {
        let mut cfg = DmpConfig::new(n, t);
        cfg.substeps = l;
        cfg.a_z = a_z;
        cfg.kernel = KERNELS[k];
        let c = case(cfg.clone(), 1, 1, seed);
        let reference = stepper_rollout(&c);
        let op = ClosedForm::new(&cfg);
        let mut p = vec![0.0; op.k()];
        ClosedForm::pack(c.y0[0], c.dy0[0], c.g[0], &c.w, &mut p);
        let mut out = vec![0.0; op.points()];
        op.apply(&p, &mut out);
        prop_assert!(rel_err(&out, &reference) < 1e-12);
    }
}

/// The time-major rollout is the (B, D, points) one transposed, and gives the same gradients
/// for y0, g and w under the same loss (f32 and f64).
#[test]
fn time_major_layout_equals_the_transposed_rollout_and_its_gradients() {
    for dtype in [DType::F32, DType::F64] {
        for cfg in configs() {
            let c = case(cfg.clone(), 3, 2, 17);
            let layer = DmpLayer::new(&cfg).unwrap();
            let [y0, dy0, g, w] = tensors(&c, dtype);
            let r = Tensor::from_vec(
                vals(3 * 2 * cfg.points(), 8),
                (3, 2, cfg.points()),
                &Device::Cpu,
            )
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
            let vars = [&y0, &g, &w].map(|t| Var::from_tensor(t).unwrap());
            let (vy, vg, vw) = (
                vars[0].as_tensor(),
                vars[1].as_tensor(),
                vars[2].as_tensor(),
            );
            let plain = layer.forward(vy, &dy0, vg, vw).unwrap();
            let tm = layer.forward_time_major(vy, &dy0, vg, vw).unwrap();
            assert_eq!(tm.dims(), &[3, cfg.points(), 2]);
            let back = tm.transpose(1, 2).unwrap();
            assert_eq!(flat(&plain), flat(&back.contiguous().unwrap()));
            let ga = (plain * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (back * &r).unwrap().sum_all().unwrap().backward().unwrap();
            for v in &vars {
                let (a, b) = (
                    flat(ga.get(v.as_tensor()).unwrap()),
                    flat(gb.get(v.as_tensor()).unwrap()),
                );
                assert!(rel_err(&a, &b) < 1e-6, "{dtype:?}: gradients differ");
            }
        }
    }
}

#[test]
fn layer_rejects_mismatched_shapes_and_dtypes() {
    let layer = DmpLayer::new(&DmpConfig::new(4, 20)).unwrap();
    let dev = Device::Cpu;
    let z = Tensor::zeros((2, 2), DType::F32, &dev).unwrap();
    let w = Tensor::zeros((2, 2, 4), DType::F32, &dev).unwrap();
    let g3 = Tensor::zeros((2, 3), DType::F32, &dev).unwrap();
    let e = layer.forward(&z, &z, &g3, &w).unwrap_err().to_string();
    assert!(e.contains("DMP g") && e.contains("[2, 3]"), "{e}");
    let w3 = Tensor::zeros((3, 2, 4), DType::F32, &dev).unwrap();
    let e = layer.forward(&z, &z, &z, &w3).unwrap_err().to_string();
    assert!(
        e.contains("DMP weights w") && e.contains("[3, 2, 4]"),
        "{e}"
    );
    let z64 = z.to_dtype(DType::F64).unwrap();
    let e = layer.forward(&z64, &z, &z, &w).unwrap_err().to_string();
    assert!(e.contains("y0") && e.contains("F64"), "{e}");
    let e = layer
        .forward_time_major(&w, &w, &w, &w.unsqueeze(3).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("(B, D)"), "{e}");
}
