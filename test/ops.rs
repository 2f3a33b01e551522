//! The fast ops against candle's own: im2col conv2d (forward, dX, dW, db) over many shapes,
//! strides and paddings, and the fused ReLU + max-pool, within 1e-5 normwise (relative to the
//! sum of |terms| for gradients).

use candle_core::{Device, Tensor, Var};
use ndp_ros::ops::{conv2d, conv2d_relu_pool2, linear_relu, relu_max_pool2, ConvSpec};
use proptest::prelude::*;

fn rel_err(a: &Tensor, b: &Tensor) -> f32 {
    err_vs_terms(a, b, b)
}

/// ||a - b|| / ||scale||, where `scale` is the same quantity computed from the inputs' absolute
/// values: the sum of |terms| that roundoff is relative to (a sum that cancels to near zero,
/// like the bias gradient of a single channel, would make a plain relative error meaningless).
fn err_vs_terms(a: &Tensor, b: &Tensor, scale: &Tensor) -> f32 {
    let sq = |t: &Tensor| {
        t.sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    (sq(&(a - b).unwrap()) / sq(scale).max(1e-30)).sqrt()
}

/// One sample per im2col chunk, on two op threads: the property tests run the chunked,
/// threaded paths (partial weight gradients summed across threads, disjoint dX writes) that
/// the digit model's batch of 64 takes, on small shapes. (Process-wide settings: the other
/// tests here then run either way, and both must agree with candle.)
fn chunked_threaded() {
    ndp_ros::ops::set_chunk_floats(1);
    ndp_ros::ops::threads::set_threads(2);
}

fn randn(shape: &[usize]) -> Tensor {
    Tensor::randn(0f32, 1.0, shape, &Device::Cpu).unwrap()
}

#[derive(Debug, Clone)]
struct Case {
    b: usize,
    cin: usize,
    cout: usize,
    h: usize,
    w: usize,
    k: (usize, usize),
    stride: usize,
    padding: usize,
}

/// The smallest side >= 1 for kernel `k`, padding `p`, stride `s` and `extra` strides; with
/// `exact`, the strides tile the padded side exactly (candle's conv2d backward fails on the
/// others: its transposed convolution gets the input's shape wrong).
fn side(k: usize, p: usize, s: usize, extra: usize, exact: bool, rem: usize) -> usize {
    let mut m = 0;
    while k + s * m < 2 * p + 1 {
        m += 1;
    }
    k + s * (m + extra) - 2 * p + if exact { 0 } else { rem % s }
}

fn cases(exact: bool) -> impl Strategy<Value = Case> {
    (
        (1usize..5, 1usize..5, 1usize..7),
        (1usize..6, 1usize..6, 1usize..4, 0usize..3),
        (0usize..6, 0usize..6, 0usize..3, 0usize..3),
    )
        .prop_map(
            move |((b, cin, cout), (kh, kw, stride, padding), (eh, ew, rh, rw))| Case {
                b,
                cin,
                cout,
                h: side(kh, padding, stride, eh, exact, rh),
                w: side(kw, padding, stride, ew, exact, rw),
                k: (kh, kw),
                stride,
                padding,
            },
        )
}

fn dot(a: &Tensor, b: &Tensor) -> f32 {
    (a * b)
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Output, dX, dW, db of one convolution under a random output weighting.
fn run(c: &Case, fast: bool, x: &Tensor, w: &Tensor, b: &Tensor, r: &Tensor) -> [Tensor; 4] {
    let (xv, wv, bv) = (
        Var::from_tensor(x).unwrap(),
        Var::from_tensor(w).unwrap(),
        Var::from_tensor(b).unwrap(),
    );
    let y = if fast {
        conv2d(
            &xv,
            &wv,
            &bv,
            ConvSpec {
                stride: c.stride,
                padding: c.padding,
            },
        )
        .unwrap()
    } else {
        xv.conv2d(&wv, c.padding, c.stride, 1, 1)
            .unwrap()
            .broadcast_add(&bv.reshape((1, c.cout, 1, 1)).unwrap())
            .unwrap()
    };
    let grads = (&y * r).unwrap().sum_all().unwrap().backward().unwrap();
    let g = |v: &Var| grads.get(v).unwrap().clone();
    [y.clone(), g(&xv), g(&wv), g(&bv)]
}

/// Output, dX, dW, db of relu(x . w^T + b) (ours, or candle's matmul, add and relu) under a
/// random output weighting.
fn run_linear(fast: bool, x: &Tensor, w: &Tensor, b: &Tensor, r: &Tensor) -> [Tensor; 4] {
    let (xv, wv, bv) = (
        Var::from_tensor(x).unwrap(),
        Var::from_tensor(w).unwrap(),
        Var::from_tensor(b).unwrap(),
    );
    let y = if fast {
        linear_relu(&xv, &wv, &bv).unwrap()
    } else {
        xv.matmul(&wv.t().unwrap())
            .unwrap()
            .broadcast_add(&bv)
            .unwrap()
            .relu()
            .unwrap()
    };
    let grads = (&y * r).unwrap().sum_all().unwrap().backward().unwrap();
    let g = |v: &Var| grads.get(v).unwrap().clone();
    [y.clone(), g(&xv), g(&wv), g(&bv)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Batches below and above the two-thread split (16 rows), odd sizes everywhere.
    #[test]
    fn linear_relu_matches_candle(bs in 1usize..40, k in 1usize..50, n in 1usize..30) {
        chunked_threaded();
        let (x, w, b, r) = (randn(&[bs, k]), randn(&[n, k]), randn(&[n]), randn(&[bs, n]));
        let ours = run_linear(true, &x, &w, &b, &r);
        let theirs = run_linear(false, &x, &w, &b, &r);
        let abs = |t: &Tensor| t.abs().unwrap();
        let terms = run_linear(false, &abs(&x), &abs(&w), &abs(&b), &abs(&r));
        for (i, ((a, t), s)) in ours.iter().zip(&theirs).zip(&terms).enumerate() {
            prop_assert_eq!(a.dims(), t.dims());
            let e = err_vs_terms(a, t, s);
            prop_assert!(e < 1e-5, "{} differs by {}", ["y", "dx", "dw", "db"][i], e);
        }
    }

    #[test]
    fn im2col_conv_matches_candle(c in cases(true)) {
        chunked_threaded();
        let x = randn(&[c.b, c.cin, c.h, c.w]);
        let w = randn(&[c.cout, c.cin, c.k.0, c.k.1]);
        let b = randn(&[c.cout]);
        let want_y = x.conv2d(&w, c.padding, c.stride, 1, 1).unwrap();
        let r = randn(want_y.dims());
        let ours = run(&c, true, &x, &w, &b, &r);
        let theirs = run(&c, false, &x, &w, &b, &r);
        let abs = |t: &Tensor| t.abs().unwrap();
        let terms = run(&c, false, &abs(&x), &abs(&w), &abs(&b), &abs(&r));
        for (name, ((a, t), s)) in ["y", "dx", "dw", "db"].iter().zip(ours.iter().zip(&theirs).zip(&terms)) {
            prop_assert_eq!(a.dims(), t.dims(), "{} shape", name);
            let e = err_vs_terms(a, t, s);
            prop_assert!(e < 1e-5, "{name}: error {e} (relative to the terms) for {c:?}");
        }
    }

    /// Any shape, strides that leave input rows unused included: the output against candle,
    /// and the gradients by the adjoint identities of a linear map (for y0 = conv(x, w) without
    /// bias: <y0, r> = <x, dX> = <w, dW>, and db = the sum of r per channel).
    #[test]
    fn im2col_conv_any_stride_is_linear_and_adjoint(c in cases(false)) {
        chunked_threaded();
        let x = randn(&[c.b, c.cin, c.h, c.w]);
        let w = randn(&[c.cout, c.cin, c.k.0, c.k.1]);
        let b = randn(&[c.cout]);
        let y0 = x.conv2d(&w, c.padding, c.stride, 1, 1).unwrap();
        let r = randn(y0.dims());
        let [y, dx, dw, db] = run(&c, true, &x, &w, &b, &r);
        let want = y0.broadcast_add(&b.reshape((1, c.cout, 1, 1)).unwrap()).unwrap();
        prop_assert!(rel_err(&y, &want) < 1e-5, "y for {c:?}");
        let (yr, xd, wd) = (dot(&y0, &r), dot(&x, &dx), dot(&w, &dw));
        let scale = (y0.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap()
            * r.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap()).sqrt();
        prop_assert!((yr - xd).abs() <= 1e-5 * scale, "<y0,r> {yr} vs <x,dX> {xd} for {c:?}");
        prop_assert!((yr - wd).abs() <= 1e-5 * scale, "<y0,r> {yr} vs <w,dW> {wd} for {c:?}");
        let want_db = r.sum((0, 2, 3)).unwrap();
        let db_terms = r.abs().unwrap().sum((0, 2, 3)).unwrap();
        prop_assert!(err_vs_terms(&db, &want_db, &db_terms) < 1e-5, "db for {c:?}");
    }

    /// The fused conv + ReLU + pool equals candle's conv -> relu -> max_pool2d forward, and
    /// its gradients equal those of our separate conv2d and relu_max_pool2 (checked above).
    #[test]
    fn fused_conv_relu_pool_matches_the_separate_ops(c in cases(false)) {
        chunked_threaded();
        let x = randn(&[c.b, c.cin, c.h, c.w]);
        let w = randn(&[c.cout, c.cin, c.k.0, c.k.1]);
        let b = randn(&[c.cout]);
        let spec = ConvSpec { stride: c.stride, padding: c.padding };
        let conv = x.conv2d(&w, c.padding, c.stride, 1, 1).unwrap();
        let (_, _, ho, wo) = conv.dims4().unwrap();
        if ho < 2 || wo < 2 {
            let e = conv2d_relu_pool2(&x, &w, &b, spec).unwrap_err();
            prop_assert!(e.to_string().contains("too small to pool"), "{e}");
            return Ok(());
        }
        let want = conv
            .broadcast_add(&b.reshape((1, c.cout, 1, 1)).unwrap()).unwrap()
            .relu().unwrap().max_pool2d(2).unwrap();
        let r = randn(want.dims());
        let grads = |fused: bool, x: &Tensor, w: &Tensor, b: &Tensor, r: &Tensor| {
            let (xv, wv, bv) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap(), Var::from_tensor(b).unwrap());
            let y = if fused {
                conv2d_relu_pool2(&xv, &wv, &bv, spec).unwrap()
            } else {
                relu_max_pool2(&conv2d(&xv, &wv, &bv, spec).unwrap()).unwrap()
            };
            let g = (&y * r).unwrap().sum_all().unwrap().backward().unwrap();
            [y, g.get(&xv).unwrap().clone(), g.get(&wv).unwrap().clone(), g.get(&bv).unwrap().clone()]
        };
        let (fused, separate) = (grads(true, &x, &w, &b, &r), grads(false, &x, &w, &b, &r));
        let abs = |t: &Tensor| t.abs().unwrap();
        let terms = grads(false, &abs(&x), &abs(&w), &abs(&b), &abs(&r));
        prop_assert!(rel_err(&fused[0], &want) < 1e-5, "y for {c:?}");
        for (name, ((a, t), s)) in ["y", "dx", "dw", "db"].iter().zip(fused.iter().zip(&separate).zip(&terms)) {
            let e = err_vs_terms(a, t, s);
            prop_assert!(e < 1e-5, "{name}: error {e} (relative to the terms) for {c:?}");
        }
    }

    /// candle's max_pool2d backward multiplies the gradient by the window's mean mask, i.e.
    /// divides it by 4 for a unique maximum (a bug: the true gradient passes whole); ours is the
    /// true gradient, so it is 4x candle's (randn inputs have no ties). On odd sides candle
    /// also sends gradient to the dropped edge, so gradients are compared on even sides.
    #[test]
    fn relu_max_pool_matches_candle(b in 1usize..4, ch in 1usize..4, h in 2usize..11, w in 2usize..11) {
        let x = Var::from_tensor(&randn(&[b, ch, h, w])).unwrap();
        let y = relu_max_pool2(&x).unwrap();
        let want = x.relu().unwrap().max_pool2d(2).unwrap();
        prop_assert_eq!(y.dims(), want.dims());
        prop_assert!(rel_err(&y, &want) < 1e-6);
        let r = randn(y.dims());
        let g1 = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = (&want * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let (a, t) = (g1.get(&x).unwrap(), (g2.get(&x).unwrap() * 4.0).unwrap());
        if h % 2 == 0 && w % 2 == 0 {
            prop_assert!(rel_err(a, &t) < 1e-6, "dx differs");
        }
        // Either way: one gradient entry per window with a positive maximum, equal to dy.
        let nonzero = a.ne(0f32).unwrap().to_dtype(candle_core::DType::F32).unwrap();
        let positive = y.gt(0f32).unwrap().to_dtype(candle_core::DType::F32).unwrap();
        prop_assert_eq!(nonzero.sum_all().unwrap().to_scalar::<f32>().unwrap(),
            positive.sum_all().unwrap().to_scalar::<f32>().unwrap());
        prop_assert!((a.sum_all().unwrap().to_scalar::<f32>().unwrap() - dot(&positive, &r)).abs() < 1e-4);
    }
}

/// The digit model's shapes exactly (batch 64, both layers), and no input gradient is computed
/// for an input that is not tracked (the image).
#[test]
fn digit_layers_match_and_the_image_gets_no_gradient() {
    for (cin, cout, side) in [(1, 20, 28), (20, 50, 12)] {
        let c = Case {
            b: 64,
            cin,
            cout,
            h: side,
            w: side,
            k: (5, 5),
            stride: 1,
            padding: 0,
        };
        let x = randn(&[64, cin, side, side]);
        let w = randn(&[cout, cin, 5, 5]);
        let b = randn(&[cout]);
        let r = randn(&[64, cout, side - 4, side - 4]);
        let theirs = run(&c, false, &x, &w, &b, &r);
        let abs = |t: &Tensor| t.abs().unwrap();
        let terms = run(&c, false, &abs(&x), &abs(&w), &abs(&b), &abs(&r));
        // One thread and two (the split by columns and by samples).
        for threads in [1, 2] {
            ndp_ros::ops::threads::set_threads(threads);
            let ours = run(&c, true, &x, &w, &b, &r);
            for ((a, t), s) in ours.iter().zip(&theirs).zip(&terms) {
                assert!(err_vs_terms(a, t, s) < 1e-5, "{threads} threads");
            }
        }
        ndp_ros::ops::threads::set_threads(1);
    }
    let x = randn(&[2, 1, 8, 8]);
    let w = Var::from_tensor(&randn(&[3, 1, 3, 3])).unwrap();
    let b = Var::from_tensor(&randn(&[3])).unwrap();
    let y = conv2d(&x, &w, &b, ConvSpec::default()).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&x).is_none());
    assert!(grads.get(&w).is_some() && grads.get(&b).is_some());
}

#[test]
fn bad_shapes_are_clear_errors() {
    let x = randn(&[1, 2, 6, 6]);
    let e = conv2d(&x, &randn(&[4, 3, 3, 3]), &randn(&[4]), ConvSpec::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("input has 2 channels, weight expects 3"),
        "{e}"
    );
    let e = conv2d(&x, &randn(&[4, 2, 7, 7]), &randn(&[4]), ConvSpec::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("kernel 7x7 larger than padded input 6x6"),
        "{e}"
    );
    let e = linear_relu(&randn(&[4, 3]), &randn(&[5, 2]), &randn(&[5])).unwrap_err();
    assert!(e.to_string().contains("must be (B, K) and (N, K)"), "{e}");
    let e = linear_relu(&randn(&[4, 3]), &randn(&[5, 3]), &randn(&[4])).unwrap_err();
    assert!(e.to_string().contains("bias [4] must be [5]"), "{e}");
    let e = linear_relu(&randn(&[4, 3]), &randn(&[0, 3]), &randn(&[0])).unwrap_err();
    assert!(e.to_string().contains("has no output features"), "{e}");
    let e = relu_max_pool2(&randn(&[1, 1, 1, 4])).unwrap_err();
    assert!(e.to_string().contains("(B, C, H >= 2, W >= 2)"), "{e}");
}

/// The forward pass hands its im2col matrix to the first backward; a second backward over the
/// same graph rebuilds it and gets the same gradients.
#[test]
fn a_second_backward_gets_the_same_gradients() {
    for pooled in [false, true] {
        let x = Var::from_tensor(&randn(&[3, 2, 9, 9])).unwrap();
        let w = Var::from_tensor(&randn(&[4, 2, 3, 3])).unwrap();
        let b = Var::from_tensor(&randn(&[4])).unwrap();
        let spec = ConvSpec {
            stride: 1,
            padding: 1,
        };
        let y = if pooled {
            conv2d_relu_pool2(&x, &w, &b, spec).unwrap()
        } else {
            conv2d(&x, &w, &b, spec).unwrap()
        };
        let loss = (&y * &randn(y.dims())).unwrap().sum_all().unwrap();
        let (g1, g2) = (loss.backward().unwrap(), loss.backward().unwrap());
        for v in [&x, &w, &b] {
            assert!(rel_err(g2.get(v).unwrap(), g1.get(v).unwrap()) < 1e-7);
        }
    }
}
