#!/usr/bin/python3
"""torch_bench.py - PyTorch peer of `normsweep bench --arch A --norm N`.

usage: torch_bench.py --arch A [--norm none|batch] [--batch 128] [--steps 20] [--warmup 3]

Builds the same net as normsweep's arch string (vgg11/13/16/19[:width=F] CIFAR
layout with a 3x32x32 input, mlp:N0-..-Nk, dln:depth=D,width=W with squared-error
sum loss), times zero_grad + forward + loss + backward + SGD step on synthetic
data, 1 thread, and prints one JSON line with the same keys as normsweep's.
Run it with OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS set as for normsweep.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn

VGG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def build(arch, norm):
    name, _, opts = arch.partition(":")
    bn = norm == "batch"
    if name in VGG:
        width = 1.0
        if opts:
            k, v = opts.split("=")
            assert k == "width"
            width = float(v)
        layers, c, hw = [], 3, 32
        for v in VGG[name]:
            if v == "M":
                if hw >= 2:
                    layers.append(nn.MaxPool2d(2))
                    hw //= 2
                continue
            w = int(v * width + 0.5)
            layers.append(nn.Conv2d(c, w, 3, padding=1))
            if bn:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.ReLU(inplace=True))
            c = w
        net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * hw * hw, 10))
        return net, (3, 32, 32), 10, "ce"
    if name == "mlp":
        sizes = [int(s) for s in opts.split("-")]
        layers = []
        for i in range(1, len(sizes)):
            layers.append(nn.Linear(sizes[i - 1], sizes[i]))
            if i < len(sizes) - 1:
                if bn:
                    layers.append(nn.BatchNorm1d(sizes[i]))
                layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers), (sizes[0],), sizes[-1], "ce"
    if name == "dln":
        kv = dict(p.split("=") for p in opts.split(","))
        d, w = int(kv["depth"]), int(kv["width"])
        layers = []
        for i in range(d):
            layers.append(nn.Linear(w, w, bias=False))
            if bn and i < d - 1:
                layers.append(nn.BatchNorm1d(w))
        return nn.Sequential(*layers), (w,), w, "sse"
    raise SystemExit("torch_bench: unknown arch " + arch)


def synthetic_setup(arch, norm, batch):
    """The net of (arch, norm) in train mode, one synthetic batch of its shape and
    its loss: (net, x, y, criterion, loss_kind). Shared with torch_probe_cost.py."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net, shape, nout, loss_kind = build(arch, norm)
    net.train()
    x = torch.randn(batch, *shape)
    if loss_kind == "ce":
        y = torch.randint(0, nout, (batch,))
        crit = nn.CrossEntropyLoss()
    else:
        y = torch.randn(batch, nout)
        crit = nn.MSELoss(reduction="sum")
    return net, x, y, crit, loss_kind


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--norm", default="none")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    net, x, y, crit, loss_kind = synthetic_setup(a.arch, a.norm, a.batch)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3 if loss_kind == "sse" else 0.01)

    def step():
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    cpu0 = time.process_time()
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    times.sort()
    med = times[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"bench": "train", "impl": "pytorch-" + torch.__version__, "arch": a.arch,
                      "norm": a.norm, "batch": a.batch, "steps": a.steps,
                      "images_per_s": round(a.batch / med, 1), "ms_per_step": round(1e3 * med, 3),
                      "cpu_ms_per_step": round(1e3 * cpu / a.steps, 3),
                      "peak_rss_mb": round(rss, 1), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
