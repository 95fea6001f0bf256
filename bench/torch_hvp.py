#!/usr/bin/python3
"""torch_hvp.py - normsweep's exact Hessian-vector products against PyTorch's
double backprop, on the same weights, batch, vector (and noise).

usage: torch_hvp.py check DIR [DIR ...]
       torch_hvp.py bench DIR [--reps R] [--warmup W] [--lr LR]

Each DIR is written by `normsweep bench --hvp --arch A --norm N --mode M
--crosscheck DIR` (src/cli/bench_hvp.c): net.{json,bin} (weights, running
statistics, the gradient), batch.bin, v.bin, hv.bin, noise.bin (each
noisy_batch layer's s then m) and result.json.

check  rebuilds the net in float64 from PyTorch's own ops (F.conv2d, F.linear,
       F.batch_norm, F.group_norm, F.max_pool2d) plus the l_p normalizations
       and the paper's noisy BN written out (docs/normalizations.md), in the
       same mode (train: batch statistics, differentiated; eval: running
       statistics), and computes
         H v = d/dw <grad L(w), v>   (torch.autograd.grad twice)
       It checks the loss (1e-5), the gradient (1e-4) and H v (1e-4), each as
       ||torch - normsweep|| / ||torch|| over the whole vector, and prints one
       line per tensor. Exit 1 if anything disagrees.
bench  times, in float32 with 1 thread, PyTorch's training step (forward,
       backward, SGD update) and its double-backprop HVP on the net of DIR,
       process CPU time, medians over --reps; prints one JSON line.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

TOL_LOSS = 1e-5
TOL_GRAD = 1e-4
TOL_HVP = 1e-4


def load(d):
    man = json.load(open(os.path.join(d, "net.json")))
    res = json.load(open(os.path.join(d, "result.json")))
    blob = np.fromfile(os.path.join(d, "net.bin"), dtype="<f4")
    n = man["nparams"]
    v = np.fromfile(os.path.join(d, "v.bin"), dtype="<f4")
    hv = np.fromfile(os.path.join(d, "hv.bin"), dtype="<f4")
    assert v.size == n and hv.size == n, "v.bin / hv.bin size"
    c, h, w = man["in_shape"]
    B = res["batch"]
    raw = np.fromfile(os.path.join(d, "batch.bin"), dtype="<u1")
    nx = B * c * h * w * 4
    x = raw[:nx].view("<f4").reshape(B, c, h, w).copy()
    if man["loss"] == "ce":
        target = raw[nx:].view("<i4").astype(np.int64)
    else:
        target = raw[nx:].view("<f4").reshape(B, man["nout"]).copy()
    noise = np.fromfile(os.path.join(d, "noise.bin"), dtype="<f4")
    return man, res, blob, v, hv, x, target, noise


class Net:
    """The manifest's layer list as a function of a flat parameter list."""

    def __init__(self, man, res, blob, noise, dtype):
        self.man, self.res, self.dtype = man, res, dtype
        self.params = [t for t in man["tensors"] if t["kind"] == "param"]
        self.params.sort(key=lambda t: t["offset"])
        self.state = {t["name"]: torch.from_numpy(blob[t["offset"]:t["offset"] + t["count"]]
                                                  .astype(np.float64)).to(dtype)
                      for t in man["tensors"] if t["kind"] == "state"}
        self.index = {t["name"]: i for i, t in enumerate(self.params)}
        self.noise, off, B = {}, 0, res["batch"]
        for L in man["layers"]:
            if L["kind"] == "noisy_batch":
                cnt = B * int(np.prod(L["out"]))
                s = noise[off:off + cnt]
                m = noise[off + cnt:off + 2 * cnt]
                off += 2 * cnt
                shp = [B] + L["out"]
                self.noise[L["name"]] = (torch.from_numpy(s.reshape(shp).copy()).to(dtype),
                                         torch.from_numpy(m.reshape(shp).copy()).to(dtype))
        assert off == noise.size, "noise.bin size"

    def initial(self, blob):
        return [torch.from_numpy(blob[t["offset"]:t["offset"] + t["count"]].reshape(t["shape"])
                                 .astype(np.float64)).to(self.dtype) for t in self.params]

    def p(self, ps, name):
        i = self.index.get(name)
        return None if i is None else ps[i]

    def norm(self, L, x, ps, train):
        kind, name, res = L["kind"], L["name"], self.res
        eps, C = res["eps"], L["in"][0]
        g, b = self.p(ps, name + ".weight"), self.p(ps, name + ".bias")
        if kind in ("layer", "group"):
            return F.group_norm(x, res["groups"] if kind == "group" else 1, g, b, eps)
        if kind in ("batch", "noisy_batch"):
            rm, rv = self.state[name + ".running_mean"], self.state[name + ".running_var"]
            z = F.batch_norm(x, rm.clone(), rv.clone(), g, b, train, 0.0, eps)
            if kind == "noisy_batch" and train:
                s, m = self.noise[name]
                z = s.reshape(z.shape) * z + m.reshape(z.shape)
            return z
        X = x.reshape(x.shape[0], C, -1)
        if train:
            mu = X.mean((0, 2), keepdim=True)
            if kind == "l1":
                d = X.abs().mean((0, 2), keepdim=True) + eps
            elif kind == "l2":
                d = torch.sqrt((X * X).mean((0, 2), keepdim=True) + eps)
            elif kind == "linf":
                d = X.abs().amax((0, 2), keepdim=True) + eps
            else:
                raise SystemExit("torch_hvp: normalization %r not supported" % kind)
        else:
            mu = self.state[name + ".running_mean"].reshape(1, C, 1)
            nrm = self.state[name + ".running_norm"].reshape(1, C, 1)
            d = torch.sqrt(nrm * nrm + eps) if kind == "l2" else nrm + eps
        z = g.reshape(1, C, 1) * (X - mu) / d + b.reshape(1, C, 1)
        return z.reshape(x.shape)

    def forward(self, ps, x, train):
        for L in self.man["layers"]:
            kind, name = L["kind"], L["name"]
            if kind == "conv2d":
                w = self.p(ps, name + ".weight")
                k = w.shape[2]
                hin, hout = L["in"][1], L["out"][1]
                pad = k // 2
                stride = max(1, (hin + 2 * pad - k) // max(1, hout - 1)) if hout > 1 else 1
                x = F.conv2d(x, w, self.p(ps, name + ".bias"), stride=stride, padding=pad)
            elif kind == "dense":
                x = F.linear(x.reshape(x.shape[0], -1), self.p(ps, name + ".weight"),
                             self.p(ps, name + ".bias"))
            elif kind == "relu":
                x = F.relu(x)
            elif kind == "maxpool2":
                x = F.max_pool2d(x, 2)
            else:
                x = self.norm(L, x, ps, train)
        return x

    def loss(self, ps, x, target, train):
        out = self.forward(ps, x, train)
        if self.man["loss"] == "ce":
            return F.cross_entropy(out, target)
        return ((out - target) ** 2).sum()


def inputs(man, x, target, dtype):
    xt = torch.from_numpy(x).to(dtype)
    if man["in_shape"][1] * man["in_shape"][2] == 1:
        xt = xt.reshape(xt.shape[0], -1)
    tt = torch.from_numpy(target)
    if man["loss"] != "ce":
        tt = tt.to(dtype)
    return xt, tt


def hvp(net, ps, xt, tt, vs, train):
    loss = net.loss(ps, xt, tt, train)
    grads = torch.autograd.grad(loss, ps, create_graph=True, allow_unused=True)
    gv = sum((g * v).sum() for g, v in zip(grads, vs) if g is not None)
    hv = torch.autograd.grad(gv, ps, allow_unused=True)
    hv = [torch.zeros_like(p) if h is None else h for p, h in zip(ps, hv)]
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(ps, grads)]
    return loss, grads, hv


def flat(ts):
    return torch.cat([t.detach().reshape(-1) for t in ts]).double().numpy()


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-300)


def check(d):
    man, res, blob, v, hv_ns, x, target, noise = load(d)
    dt = torch.float64
    net = Net(man, res, blob, noise, dt)
    ps = [p.requires_grad_() for p in net.initial(blob)]
    vs = [torch.from_numpy(v[t["offset"]:t["offset"] + t["count"]].reshape(t["shape"])
                           .astype(np.float64)) for t in net.params]
    xt, tt = inputs(man, x, target, dt)
    train = res["mode"] == "train"
    loss, grads, hv = hvp(net, ps, xt, tt, vs, train)
    n = man["nparams"]
    g_ns = blob[n + man["nstate"]:n + man["nstate"] + n].astype(np.float64)
    hv_t, g_t = flat(hv), flat(grads)
    rl = abs(loss.item() - res["loss"]) / abs(loss.item())
    rg, rh = rel(g_t, g_ns), rel(hv_t, hv_ns.astype(np.float64))
    ok = rl <= TOL_LOSS and rg <= TOL_GRAD and rh <= TOL_HVP
    print("%-44s %-14s %-5s loss %.2e grad %.2e Hv %.2e |Hv| %.4g %s" % (
        res["arch"], res["norm"], res["mode"], rl, rg, rh, np.linalg.norm(hv_t),
        "ok" if ok else "FAIL"))
    whole = np.linalg.norm(hv_t)
    for t in net.params:
        a = hv_t[t["offset"]:t["offset"] + t["count"]]
        b = hv_ns[t["offset"]:t["offset"] + t["count"]].astype(np.float64)
        e = np.linalg.norm(a - b)
        if not ok or os.environ.get("NS_VERBOSE"):
            print("    %-28s |Hv| %.4e  err %.2e (of the whole %.2e)" % (
                t["name"], np.linalg.norm(a), e / max(np.linalg.norm(a), 1e-300), e / whole))
    return ok


def median(xs):
    return float(np.median(np.array(xs)))


def bench(d, reps, warmup, lr):
    torch.set_num_threads(1)
    man, res, blob, v, _, x, target, noise = load(d)
    dt = torch.float32
    net = Net(man, res, blob, noise, dt)
    w0 = net.initial(blob)
    vs = [torch.from_numpy(v[t["offset"]:t["offset"] + t["count"]].reshape(t["shape"]).copy())
          for t in net.params]
    xt, tt = inputs(man, x, target, dt)
    train = res["mode"] == "train"
    t_step, t_hvp = [], []
    for r in range(-warmup, reps):
        ps = [p.clone().requires_grad_() for p in w0]
        t0 = time.process_time()
        loss = net.loss(ps, xt, tt, True)
        grads = torch.autograd.grad(loss, ps)
        with torch.no_grad():
            for p, g in zip(ps, grads):
                p.sub_(lr * g)
        t1 = time.process_time()
        ps = [p.clone().requires_grad_() for p in w0]
        t2 = time.process_time()
        hvp(net, ps, xt, tt, vs, train)
        t3 = time.process_time()
        if r >= 0:
            t_step.append(t1 - t0)
            t_hvp.append(t3 - t2)
    ms_step, ms_hvp = 1e3 * median(t_step), 1e3 * median(t_hvp)
    print(json.dumps({"bench": "torch-hvp", "arch": res["arch"], "norm": res["norm"],
                      "mode": res["mode"], "batch": res["batch"], "reps": reps,
                      "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "ms_per_step": round(ms_step, 3), "ms_per_hvp": round(ms_hvp, 3),
                      "hvp_per_step": round(ms_hvp / ms_step, 3)}))


def main(argv):
    if len(argv) < 3 or argv[1] not in ("check", "bench"):
        print(__doc__)
        return 2
    if argv[1] == "check":
        torch.set_num_threads(1)
        ok = all([check(d) for d in argv[2:]])
        print("hvp crosscheck:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    opts = {"--reps": 7, "--warmup": 2, "--lr": 0.01}
    args = argv[3:]
    for i in range(0, len(args), 2):
        if args[i] not in opts or i + 1 >= len(args):
            print(__doc__)
            return 2
        opts[args[i]] = type(opts[args[i]])(args[i + 1])
    bench(argv[2], opts["--reps"], opts["--warmup"], opts["--lr"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
