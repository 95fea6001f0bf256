#!/usr/bin/python3
"""torch_demo_check.py - the demo's claims, measured by an independent implementation.

PyTorch (Debian python3-torch) trains the demo's setup - VGG-11 at width 1/16 on
Fashion-MNIST zero-padded to 32x32 after standardization, plain SGD, batch 128,
Glorot (xavier_uniform, zero bias) init - with torch's own modules (nn.Conv2d,
nn.BatchNorm2d, autograd), its own data order and its own random streams, and measures
the demo's numbers with the definitions of docs/experiments.md:
  final training accuracy  mean over the last 50 steps (train mode, the step's batch)
  gradient change          max over eta of ||g - grad L(w - eta g)||, eta = lr x 8
                           log-spaced values in [0.5, 4]; median over the probe steps
  loss range               max - min over eta of L(w - eta g); median over probe steps
  ICS cosine               cos(G_i, G'_i) of Definition 2.1, median over probe steps and
                           layers 2..L
Then it prints the claims' verdicts for BN against the plain net (claims 2 and 3).
Nothing is shared with normsweep's C engine; only the numbers' definitions are.

usage: torch_demo_check.py [--norms none,batch] [--lrs 0.05,0.1,0.5] [--seeds 0,1]
                           [--steps 400] [--probes 200,250,300,350] [--width 0.0625]
                           [--json FILE]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from analysis.torch_model import build, read_idx  # noqa: E402 (pure torch, no normsweep code)

FMNIST = "/usr/share/datasets/fashion-mnist"


def load_data(pad):
    x = read_idx(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")).astype(np.float64) / 255.0
    y = read_idx(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    x = (x - x.mean()) / x.std()
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))[:, None].astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def make_net(norm, width, seed):
    torch.manual_seed(seed)
    m = build("vgg11:width=%g" % width, norm, (1, 32, 32), 10)
    for mod in m.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    return m.train()


def loss_grad(m, x, y):
    """Loss and flat gradient on (x, y) in train mode, BN running stats untouched."""
    saved = [b.clone() for b in m.buffers()]
    m.zero_grad()
    out = m(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    for b, s in zip(m.buffers(), saved):
        b.copy_(s)
    g = torch.cat([p.grad.reshape(-1) for p in m.parameters()]).double()
    acc = (out.argmax(1) == y).double().mean().item()
    return loss.item(), g, acc


def set_params(m, flat):
    o = 0
    with torch.no_grad():
        for p in m.parameters():
            n = p.numel()
            p.copy_(flat[o:o + n].view_as(p).to(p.dtype))
            o += n


def flat_params(m):
    return torch.cat([p.detach().reshape(-1) for p in m.parameters()]).double()


def weight_slices(m):
    """(start, end) of every conv/linear weight in the flat vector, in network order."""
    out, o = [], 0
    mods = {id(p): mod for mod in m.modules() for p in mod.parameters(recurse=False)}
    for p in m.parameters():
        mod = mods[id(p)]
        if isinstance(mod, (nn.Conv2d, nn.Linear)) and p is mod.weight:
            out.append((o, o + p.numel()))
        o += p.numel()
    return out


def probe(m, x, y, lr, etas):
    """Landscape (grad change max, loss range) and ICS cosines of layers 2..L at w."""
    w = flat_params(m)
    loss0, g, _ = loss_grad(m, x, y)
    losses, changes = [], []
    for eta in etas:
        set_params(m, w - eta * g)
        lo, ge, _ = loss_grad(m, x, y)
        losses.append(lo)
        changes.append((g - ge).norm().item())
    w1 = w - lr * g
    cos = []
    for a, b in weight_slices(m)[1:]:
        wp = torch.cat([w1[:a], w[a:]])  # layers before i moved, i and after not
        set_params(m, wp)
        _, gp, _ = loss_grad(m, x, y)
        G, Gp = g[a:b], gp[a:b]
        cos.append((G @ Gp / (G.norm() * Gp.norm())).item())
    set_params(m, w)
    fin = [v for v in losses if np.isfinite(v)]
    return {"grad_change": float(np.nanmax(changes)),
            "loss_range": float(max(fin) - min(fin)) if fin else float("nan"),
            "ics_cos": cos, "loss": loss0}


def run(norm, lr, seed, args, data):
    x_all, y_all = data
    m = make_net(norm, args.width, seed)
    gen = torch.Generator().manual_seed(1000 + seed)
    etas = lr * np.logspace(np.log10(0.5), np.log10(4.0), 8)
    accs, probes = [], []
    perm = torch.randperm(len(y_all), generator=gen)
    pos = 0
    for t in range(args.steps):
        if pos + 128 > len(perm):
            perm, pos = torch.randperm(len(y_all), generator=gen), 0
        idx = perm[pos:pos + 128]
        pos += 128
        x, y = x_all[idx], y_all[idx]
        if t in args.probes:
            probes.append(probe(m, x, y, lr, etas))
        m.zero_grad()
        out = m(x)
        loss = F.cross_entropy(out, y)
        if not torch.isfinite(loss) or loss.item() > 1e3:
            return {"norm": norm, "lr": lr, "seed": seed, "diverged": t, "acc": 0.0}
        loss.backward()
        with torch.no_grad():
            for p in m.parameters():
                p -= lr * p.grad
        accs.append((out.argmax(1) == y).double().mean().item())
    return {"norm": norm, "lr": lr, "seed": seed, "diverged": -1,
            "acc": float(np.mean(accs[-50:])),
            "grad_change": float(np.median([p["grad_change"] for p in probes])),
            "loss_range": float(np.median([p["loss_range"] for p in probes])),
            "ics_cos": float(np.median([c for p in probes for c in p["ics_cos"]]))}


def med(rows, norm, lr, key):
    v = [r.get(key, np.nan) for r in rows if r["norm"] == norm and r["lr"] == lr]
    v = [x for x in v if np.isfinite(x)]
    return (float(np.median(v)), min(v), max(v)) if v else (np.nan, np.nan, np.nan)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--norms", default="none,batch")
    ap.add_argument("--lrs", default="0.05,0.1,0.5")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--probes", default="200,250,300,350")
    ap.add_argument("--width", type=float, default=0.0625)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    args.probes = {int(p) for p in args.probes.split(",")}
    torch.set_num_threads(1)
    data = load_data(2)
    rows = []
    for lr in [float(v) for v in args.lrs.split(",")]:
        for norm in args.norms.split(","):
            for seed in [int(v) for v in args.seeds.split(",")]:
                t0 = time.process_time()
                r = run(norm, lr, seed, args, data)
                r["cpu_s"] = time.process_time() - t0
                rows.append(r)
                print(json.dumps(r), flush=True)
    print("\nlr     norm    final acc            grad change          loss range           ICS cos")
    lrs = sorted({r["lr"] for r in rows})
    for lr in lrs:
        for norm in args.norms.split(","):
            cells = ["%.3g [%.3g-%.3g]" % med(rows, norm, lr, k)
                     for k in ("acc", "grad_change", "loss_range", "ics_cos")]
            print("%-6g %-7s %s" % (lr, norm, "  ".join("%-19s" % c for c in cells)))
    print()
    for lr in lrs:
        pl, bn = med(rows, "none", lr, "acc")[0], med(rows, "batch", lr, "acc")[0]
        c2 = med(rows, "batch", lr, "ics_cos")[0] <= med(rows, "none", lr, "ics_cos")[0]
        print("lr %g: claim 2 (BN's ICS cosine not above the plain net's): %s" % (
            lr, "holds" if c2 else "FAILS"))
        if pl >= 0.5:
            gc = med(rows, "batch", lr, "grad_change")[0] < med(rows, "none", lr, "grad_change")[0]
            lrg = med(rows, "batch", lr, "loss_range")[0] < med(rows, "none", lr, "loss_range")[0]
            print("lr %g: claim 3 (plain net trains, acc %.3f): BN gradient change below: %s; "
                  "loss range below: %s" % (lr, pl, "holds" if gc else "FAILS",
                                            "holds" if lrg else "FAILS"))
        elif lr == lrs[-1]:
            ok = bn >= 0.5 and bn - pl >= 0.2
            print("lr %g: claim 3 (largest lr): plain acc %.3f, BN acc %.3f: %s" % (
                lr, pl, bn, "holds" if ok else "FAILS"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
