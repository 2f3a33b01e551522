"""PyTorch reference for `ndp bench train-step` and `ndp bench dmp`: the same digit NDP model
(conv 5x5 20 / pool / conv 5x5 50 / pool / fc 200 / head 100 -> 2 + 2*30), the same closed-form
DMP (Y = P . M, M built here from the Euler recursion of ndp-method.md), MSE on the 301-point
trajectory, Adam. Prints one JSON object: medians for 1 and 2 threads."""

import json
import sys
import time

import numpy as np
import torch

N, T, D, B = 30, 300, 2, 64
A_Z, A_X = 25.0, 1.0


def dmp_operator(n=N, t=T, a_z=A_Z, a_x=A_X):
    """M ((n+3) x (t+1)): the rollout is linear in p = [y0, dy0, g, u_1..u_n], u_i = w_i (g - y0)."""
    b_z, dt = a_z / 4.0, 1.0 / t
    c = np.exp(-a_x * np.arange(n) / (n - 1))
    h = n ** 1.5 / c / a_x
    m = np.zeros((n + 3, t + 1))
    for k in range(n + 3):
        p = np.zeros(n + 3)
        p[k] = 1.0
        y, z, g, u, x = p[0], p[1], p[2], p[3:], 1.0
        m[k, 0] = y
        for s in range(1, t + 1):
            x = x + (-a_x * x) * dt
            psi = np.exp(-h * (x - c) ** 2)
            f = (psi @ u) / psi.sum() * x
            dz = a_z * (b_z * (g - y) - z) + f
            y, z = y + z * dt, z + dz * dt
            m[k, s] = y
    return torch.tensor(m, dtype=torch.float32)


class DigitNdp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 20, 5)
        self.conv2 = torch.nn.Conv2d(20, 50, 5)
        self.fc = torch.nn.Linear(800, 200)
        self.h0 = torch.nn.Linear(200, 100)
        self.h1 = torch.nn.Linear(100, D * (1 + N))
        self.register_buffer("m", dmp_operator())

    def forward(self, img, y0):
        h = torch.max_pool2d(torch.relu(self.conv1(img)), 2)
        h = torch.max_pool2d(torch.relu(self.conv2(h)), 2)
        h = torch.relu(self.fc(h.flatten(1)))
        out = self.h1(torch.relu(self.h0(h)))
        g = y0 + 10.0 * out[:, :D]
        w = 100.0 * out[:, D:].reshape(-1, D, N)
        return rollout(self.m, y0, g, w)


def rollout(m, y0, g, w):
    dy0 = torch.full_like(y0, 0.01)
    u = w * (g - y0).unsqueeze(-1)
    p = torch.cat([y0.unsqueeze(-1), dy0.unsqueeze(-1), g.unsqueeze(-1), u], dim=-1)
    return (p @ m).transpose(1, 2)  # (B, T+1, D)


def median_ms(f, warm, iters):
    for _ in range(warm):
        f()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times, times[len(times) // 2]


def run(threads, iters):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = DigitNdp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    img, y0 = torch.rand(B, 1, 28, 28), torch.rand(B, D) * 40
    target = torch.rand(B, T + 1, D) * 40

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((model(img, y0) - target) ** 2).mean()
        loss.backward()
        opt.step()

    _, step_ms = median_ms(step, 5, iters)
    img1, y01 = torch.rand(1, 1, 28, 28), torch.rand(1, D) * 40

    def infer():
        with torch.no_grad():
            model(img1, y01)

    inf, inf_p50 = median_ms(infer, 50, 1000)
    m = model.m
    y0v = (torch.randn(B, D) * 5).requires_grad_()
    gv = (torch.randn(B, D) * 5).requires_grad_()
    wv = (torch.randn(B, D, N) * 50).requires_grad_()
    r = torch.randn(B, T + 1, D)

    def dmp():
        (rollout(m, y0v, gv, wv) * r).sum().backward()

    _, dmp_ms = median_ms(dmp, 20, 300)
    return {
        "train_step_ms_median": step_ms,
        "infer_p50_ms": inf_p50,
        "infer_p99_ms": inf[int(0.99 * (len(inf) - 1))],
        "dmp_fwd_bwd_ms_median": dmp_ms,
    }


if __name__ == "__main__":
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    out = {"torch_version": torch.__version__}
    for threads in (1, 2):
        out[f"threads_{threads}"] = run(threads, iters)
    print(json.dumps(out))
