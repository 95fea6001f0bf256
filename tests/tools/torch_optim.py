#!/usr/bin/python3
"""torch_optim.py DIR - normsweep's optimizers and lr schedules against PyTorch's.

DIR holds what `test_optim --trajectories DIR` wrote: w0.bin (n float32), grads.bin
(steps x n float32), cases.json, and per case k the trajectory case_k.bin
(steps x n float32: the weights after each update) and case_k_lr.bin (steps float64:
the learning rate of each update). For each case this rebuilds the optimizer in
torch (SGD / Adam / AdamW) with its scheduler (LinearLR warm-up, StepLR,
CosineAnnealingLR, joined by SequentialLR), feeds it the same gradients, and
requires, at every step,
  - the learning rate equal to 1e-12 relative,
  - the weights equal to 1e-6 relative: max |w_ns - w_torch| / max |w_torch|.
Prints one line per case; exits 1 if any case fails, 77 if torch is missing.
"""
import json
import os
import sys

import numpy as np

try:
    import torch
except ImportError:
    print("SKIP: /usr/bin/python3 cannot import torch (apt-get install python3-torch)")
    sys.exit(77)

LR_TOL, W_TOL = 1e-12, 1e-6


def optimizer(case, params):
    kind, lr, wd = case["optimizer"], case["lr"], case["weight_decay"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=case["momentum"], weight_decay=wd)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    return cls(params, lr=lr, betas=tuple(case["betas"]), eps=case["eps"], weight_decay=wd)


def scheduler(case, opt, steps):
    S = torch.optim.lr_scheduler
    warm, kind = case["warmup"], case["schedule"]
    main = None
    if kind == "step":
        main = S.StepLR(opt, step_size=case["step_size"], gamma=case["gamma"])
    elif kind == "cosine":
        main = S.CosineAnnealingLR(opt, T_max=steps - warm, eta_min=case["min_factor"] * case["lr"])
    if warm == 0:
        return main
    ramp = S.LinearLR(opt, start_factor=case["warmup_start"], end_factor=1.0, total_iters=warm)
    if main is None:
        return ramp
    return S.SequentialLR(opt, schedulers=[ramp, main], milestones=[warm])


def check(d, k, case, w0, grads, steps):
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    opt = optimizer(case, [w])
    sched = scheduler(case, opt, steps)
    ours = np.fromfile(os.path.join(d, f"case_{k}.bin"), dtype=np.float32).reshape(steps, -1)
    our_lr = np.fromfile(os.path.join(d, f"case_{k}_lr.bin"), dtype=np.float64)
    err_w = err_lr = 0.0
    for t in range(steps):
        lr = opt.param_groups[0]["lr"]
        err_lr = max(err_lr, abs(our_lr[t] - lr) / abs(lr))
        w.grad = torch.from_numpy(grads[t].copy())
        opt.step()
        if sched is not None:
            sched.step()
        ref = w.detach().numpy().astype(np.float64)
        err_w = max(err_w, np.max(np.abs(ours[t] - ref)) / np.max(np.abs(ref)))
    ok = err_lr <= LR_TOL and err_w <= W_TOL
    print(f"{'ok' if ok else 'FAIL'}: {case['name']}: lr rel err {err_lr:.3g} (tol {LR_TOL:g}), "
          f"weights rel err {err_w:.3g} (tol {W_TOL:g}) over {steps} steps")
    return ok


def main(d):
    meta = json.load(open(os.path.join(d, "cases.json")))
    n, steps = meta["n"], meta["steps"]
    w0 = np.fromfile(os.path.join(d, "w0.bin"), dtype=np.float32)
    grads = np.fromfile(os.path.join(d, "grads.bin"), dtype=np.float32).reshape(steps, n)
    assert w0.size == n
    torch.set_num_threads(1)
    good = [check(d, k, c, w0, grads, steps) for k, c in enumerate(meta["cases"])]
    print(f"torch {torch.__version__}: {sum(good)}/{len(good)} optimizer cases agree")
    return 0 if all(good) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
