#!/usr/bin/python3
"""torch_probe_cost.py - PyTorch peer of `normsweep bench --probe`.

usage: torch_probe_cost.py --arch A [--norm none|batch] [--batch 128] [--reps 7] [--etas 8]

Same nets as torch_bench.py (imported from it). Times, 1 thread, on synthetic data:
  step   zero_grad + forward + loss + backward + SGD step
  probe  one loss-landscape probe the way a PyTorch user writes it: keep w and g
         (clones), then for each of --etas step sizes eta (lr * [0.5 .. 4],
         log-spaced): w -= eta g, zero_grad, forward + loss + backward,
         ||grad - g||, w restored; BN running statistics restored at the end
         (the probe's forwards run in train mode and move them).
Times are process CPU time (time.process_time), medians over --reps, parts
interleaved per rep (see bench_probe.c for why CPU time). Prints one JSON line.
Run with OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS set as for normsweep.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import synthetic_setup  # noqa: E402  (same nets as the throughput peer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--norm", default="none")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--etas", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.01)
    a = ap.parse_args()
    net, x, y, crit, loss_kind = synthetic_setup(a.arch, a.norm, a.batch)
    params = [p for p in net.parameters()]
    opt = torch.optim.SGD(params, lr=a.lr)
    w0 = [p.detach().clone() for p in params]
    etas = [a.lr * 0.5 * (8.0 ** (k / (a.etas - 1))) if a.etas > 1 else a.lr * 0.5
            for k in range(a.etas)]

    def reset():
        with torch.no_grad():
            for p, w in zip(params, w0):
                p.copy_(w)

    def step():
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()

    def probe():
        g = [p.grad.detach().clone() for p in params]
        w = [p.detach().clone() for p in params]
        stats = [b.detach().clone() for b in net.buffers()]
        out = []
        for eta in etas:
            with torch.no_grad():
                for p, gi in zip(params, g):
                    p.sub_(gi, alpha=eta)
            net.zero_grad()
            loss = crit(net(x), y)
            loss.backward()
            with torch.no_grad():
                d2 = sum(((p.grad - gi) ** 2).sum() for p, gi in zip(params, g))
                out.append((loss.item(), d2.sqrt().item()))
                for p, wi in zip(params, w):
                    p.copy_(wi)
        with torch.no_grad():
            for b, s in zip(net.buffers(), stats):
                b.copy_(s)
        return out

    def fresh_gradient():
        reset()
        net.zero_grad()
        crit(net(x), y).backward()

    ts, tp = [], []
    for r in range(-a.warmup, a.reps):
        reset()
        t0 = time.process_time()
        step()
        t1 = time.process_time()
        fresh_gradient()
        t2 = time.process_time()
        probe()
        t3 = time.process_time()
        if r >= 0:
            ts.append(t1 - t0)
            tp.append(t3 - t2)
    ts.sort()
    tp.sort()
    ms, mp = 1e3 * ts[len(ts) // 2], 1e3 * tp[len(tp) // 2]
    print(json.dumps({"bench": "probe", "impl": "pytorch-" + torch.__version__, "arch": a.arch,
                      "norm": a.norm, "batch": a.batch, "reps": a.reps, "etas": a.etas,
                      "ms_per_step": round(ms, 3), "ms_per_probe": round(mp, 3),
                      "probe_per_step": round(mp / ms, 3), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
