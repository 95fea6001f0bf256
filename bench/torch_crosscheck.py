#!/usr/bin/python3
"""torch_crosscheck.py - rebuild a normsweep net in PyTorch from its export and
compare loss and gradients on the same batch.

usage: torch_crosscheck.py DIR [DIR ...]   (each DIR written by
       `normsweep bench --arch A --norm N --crosscheck DIR`)

For each DIR: loads net.json/net.bin (weights, running stats, normsweep's
gradients), batch.bin and result.json; builds the same layers with torch.nn
modules named as normsweep names them (features.K / layers.K / classifier),
runs one forward/backward in training mode and checks
  - loss:              |L_torch - L_ns| <= tol * |L_torch|
  - every tensor's gradient norm, and the total, to the same relative tol
  - every tensor's gradient: ||g_torch - g_ns|| <= tol_vec * ||g_torch||
Prints one line per tensor; exits 1 if anything disagrees.
"""
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

TOL = 1e-4      # loss and gradient norms (relative)
TOL_VEC = 1e-3  # whole gradient vectors (relative, float32 summation order differs)
ZERO_FLOOR = 1e-6  # relative to the whole gradient norm: "zero up to rounding"


class SSE(nn.Module):
    def forward(self, f, t):
        return ((f - t) ** 2).sum()


def build(man):
    """nn modules for the manifest's layer list, grouped by name prefix."""
    tensors = {t["name"]: t for t in man["tensors"] if t["kind"] == "param"}
    groups = OrderedDict()
    order = []
    for L in man["layers"]:
        name, kind = L["name"], L["kind"]
        cin, hin, win = L["in"]
        cout, hout, wout = L["out"]
        if kind == "conv2d":
            w = tensors[name + ".weight"]["shape"]
            k = w[2]
            stride = max(1, (hin + 2 * (k // 2) - k) // max(1, hout - 1)) if hout > 1 else 1
            m = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2,
                          bias=(name + ".bias") in tensors)
        elif kind == "dense":
            m = nn.Linear(cin * hin * win, cout, bias=(name + ".bias") in tensors)
        elif kind == "relu":
            m = nn.ReLU()
        elif kind == "maxpool2":
            m = nn.MaxPool2d(2)
        elif kind == "batch":
            m = (nn.BatchNorm2d if hin * win > 1 or _after_conv(man, name) else nn.BatchNorm1d)(
                cin, eps=man.get("norm_eps", 1e-5), momentum=0.1)
        else:
            raise SystemExit("torch_crosscheck: layer kind %r (%s) not supported" % (kind, name))
        if "." in name:
            prefix, idx = name.rsplit(".", 1)
        else:
            prefix, idx = name, None
        if prefix not in groups:
            groups[prefix] = OrderedDict()
            order.append(prefix)
        groups[prefix][idx] = (m, kind)
    return groups, order


def _after_conv(man, name):
    prev = None
    for L in man["layers"]:
        if L["name"] == name:
            return prev == "conv2d"
        prev = L["kind"]
    return False


class Net(nn.Module):
    def __init__(self, groups, order):
        super().__init__()
        self.order = order
        for prefix in order:
            g = groups[prefix]
            if list(g.keys()) == [None]:
                setattr(self, prefix, g[None][0])
            else:
                setattr(self, prefix, nn.Sequential(OrderedDict((k, m) for k, (m, _) in g.items())))
        self.kinds = {p: [kind for (_, kind) in groups[p].values()] for p in order}

    def forward(self, x):
        for prefix in self.order:
            mod = getattr(self, prefix)
            mods = list(mod.children()) if isinstance(mod, nn.Sequential) else [mod]
            for m in mods:
                if isinstance(m, nn.Linear) or isinstance(m, nn.BatchNorm1d):
                    x = x.reshape(x.shape[0], -1)
                x = m(x)
        return x


def check(d):
    man = json.load(open(os.path.join(d, "net.json")))
    res = json.load(open(os.path.join(d, "result.json")))
    blob = np.fromfile(os.path.join(d, "net.bin"), dtype="<f4")
    groups, order = build(man)
    net = Net(groups, order)
    sd = net.state_dict()
    for t in man["tensors"]:
        if t["kind"] == "grad":
            continue
        arr = blob[t["offset"]:t["offset"] + t["count"]].reshape(t["shape"])
        if t["name"] not in sd:
            raise SystemExit("torch_crosscheck: %s: no such tensor in the torch net" % t["name"])
        sd[t["name"]] = torch.from_numpy(arr.copy())
    net.load_state_dict(sd, strict=False)
    net.train()

    c, h, w = man["in_shape"]
    B, nout = res["batch"], man["nout"]
    raw = np.fromfile(os.path.join(d, "batch.bin"), dtype="<u1")
    nx = B * c * h * w * 4
    x = torch.from_numpy(raw[:nx].view("<f4").reshape(B, c, h, w).copy())
    if h == 1 and w == 1:
        x = x.reshape(B, c)
    out = net(x)
    if man["loss"] == "ce":
        y = torch.from_numpy(raw[nx:].view("<i4").astype(np.int64))
        loss = nn.CrossEntropyLoss()(out, y)
    else:
        t = torch.from_numpy(raw[nx:].view("<f4").reshape(B, nout).copy())
        loss = SSE()(out, t)
    loss.backward()

    ok = True
    lt, ln = loss.item(), res["loss"]
    rel = abs(lt - ln) / max(abs(lt), 1e-30)
    ok &= rel <= TOL
    print("%-40s loss torch %.9g normsweep %.9g rel %.2e %s" % (
        d, lt, ln, rel, "ok" if rel <= TOL else "FAIL"))
    params = dict(net.named_parameters())
    # A bias right before a batch norm has gradient exactly 0 in exact arithmetic;
    # both sides then hold rounding noise. Tensors whose gradient is below
    # ZERO_FLOOR x the whole gradient norm on both sides count as zero and agree.
    whole = np.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params.values()))
    floor = ZERO_FLOOR * whole
    tot_t = tot_n = 0.0
    for t in man["tensors"]:
        if t["kind"] != "grad":
            continue
        gn = blob[t["offset"]:t["offset"] + t["count"]].astype(np.float64)
        gt = params[t["name"]].grad.detach().numpy().reshape(-1).astype(np.float64)
        nt, nn_ = np.linalg.norm(gt), np.linalg.norm(gn)
        tot_t += nt * nt
        tot_n += nn_ * nn_
        r = abs(nt - nn_) / max(nt, 1e-30)
        rv = np.linalg.norm(gt - gn) / max(nt, 1e-30)
        good = (r <= TOL and rv <= TOL_VEC) or (nt < floor and nn_ < floor)
        ok &= good
        print("  %-28s |g| torch %.6e normsweep %.6e rel %.1e vec %.1e %s" % (
            t["name"], nt, nn_, r, rv,
            ("ok" if r <= TOL and rv <= TOL_VEC else "ok (zero up to rounding)")
            if good else "FAIL"))
    r = abs(np.sqrt(tot_t) - np.sqrt(tot_n)) / max(np.sqrt(tot_t), 1e-30)
    ok &= r <= TOL
    print("  %-28s |g| torch %.6e normsweep %.6e rel %.1e %s" % (
        "(all)", np.sqrt(tot_t), np.sqrt(tot_n), r, "ok" if r <= TOL else "FAIL"))
    return ok


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    ok = all([check(d) for d in sys.argv[1:]])
    print("crosscheck:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
