"""torch_model.py - normsweep's nets as PyTorch modules (needs torch: Debian python3-torch).

    import analysis                                 # or: import normsweep
    m = analysis.torch_module("results.h5", run=3)  # eval mode, the run's final weights
    x = m.standardize(raw_uint8_images)             # the file's input preprocessing
    logits = m(x)

Layouts and module names follow docs/architectures.md exactly (features.K / layers.K /
classifier, counting every module), so the file's state_dict loads with strict=True.
Normalizations in eval mode as docs/normalizations.md defines them: batch and
noisy_batch are BatchNorm with running statistics (noisy BN adds no noise at test
time); l1/l2/linf use running_mean and running_norm; layer/group are GroupNorm.
"""
import math
import re

import numpy as np

VGG_CFG = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}
NORM_DEFAULTS = {"eps": 1e-5, "momentum": 0.1, "groups": 32}


def _torch():
    try:
        import torch
        return torch
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise ImportError("torch_module needs PyTorch (Debian: apt-get install python3-torch)"
                          ) from e


def parse_options(text):
    """'kind:key=v,key=v' -> (kind, {key: float})."""
    kind, _, rest = str(text).partition(":")
    opts = {}
    for tok in filter(None, rest.split(",")):
        k, _, v = tok.partition("=")
        opts[k.strip()] = float(v)
    return kind, opts


def c_round(x):
    """C's round(): half away from zero (docs/architectures.md, width=F)."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def _lp_norm_class(nn, torch):
    class LpNorm(nn.Module):
        """Eval-mode l_p normalization: (x - running_mean) / d * gamma + beta with
        d = running_norm + eps (l1, linf) or sqrt(running_norm^2 + eps) (l2)."""

        def __init__(self, c, p, eps, conv):
            super().__init__()
            self.p, self.eps, self.conv = p, eps, conv
            self.weight = nn.Parameter(torch.ones(c))
            self.bias = nn.Parameter(torch.zeros(c))
            self.register_buffer("running_mean", torch.zeros(c))
            self.register_buffer("running_norm", torch.ones(c))

        def forward(self, x):
            if self.training:
                raise RuntimeError("LpNorm here is the eval-mode layer only (normsweep trains)")
            n = self.running_norm.double()
            d = torch.sqrt(n * n + self.eps) if self.p == "l2" else n + self.eps
            scale = (self.weight.double() / d)
            shift = self.bias.double() - self.running_mean.double() * scale
            shape = (1, -1, 1, 1) if self.conv else (1, -1)
            return (x.double() * scale.view(shape) + shift.view(shape)).to(x.dtype)

    return LpNorm


def norm_module(norm, c, conv):
    """The torch module of a normalization over c units (None for 'none')."""
    torch = _torch()
    nn = torch.nn
    kind, opts = parse_options(norm)
    o = dict(NORM_DEFAULTS, **opts)
    if kind == "none":
        return None
    if kind in ("batch", "noisy_batch"):
        cls = nn.BatchNorm2d if conv else nn.BatchNorm1d
        return cls(c, eps=o["eps"], momentum=o["momentum"])
    if kind in ("l1", "l2", "linf"):
        return _lp_norm_class(nn, torch)(c, kind, o["eps"], conv)
    if kind in ("layer", "group"):
        g = 1 if kind == "layer" else int(o["groups"])
        return nn.GroupNorm(g, c, eps=o["eps"])
    raise ValueError("normalization %r: not known to torch_module" % norm)


def _vgg(arch, opts, norm, in_shape, nout):
    torch = _torch()
    nn = torch.nn
    width = float(opts.get("width", 1.0))
    c, h, w = in_shape
    feats = []
    for v in VGG_CFG[arch]:
        if v == "M":
            if h >= 2 and w >= 2:  # pools on maps smaller than 2x2 are omitted
                feats.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            continue
        cout = c_round(v * width)
        feats.append(nn.Conv2d(c, cout, 3, stride=1, padding=1, bias=True))
        nm = norm_module(norm, cout, conv=True)
        if nm is not None:
            feats.append(nm)
        feats.append(nn.ReLU())
        c = cout

    class VGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*feats)
            self.classifier = nn.Linear(c * h * w, nout)

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    return VGG()


def _mlp(sizes, norm, linear, bias):
    torch = _torch()
    nn = torch.nn
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(nn.Linear(sizes[i], sizes[i + 1], bias=bias))
        if i < len(sizes) - 2:
            nm = norm_module(norm, sizes[i + 1], conv=False)
            if nm is not None:
                mods.append(nm)
            if not linear:
                mods.append(nn.ReLU())

    class Flat(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(*mods)

        def forward(self, x):
            return self.layers(torch.flatten(x, 1))

    return Flat()


def build(arch, norm, in_shape, nout):
    """An untrained torch module of normsweep's layout for arch/norm on input (c, h, w)
    with nout outputs (docs/architectures.md)."""
    fam, _, rest = str(arch).partition(":")
    if fam in VGG_CFG:
        opts = dict(kv.split("=", 1) for kv in rest.split(",") if kv)
        return _vgg(fam, opts, norm, in_shape, nout)
    if fam == "mlp":
        return _mlp([int(x) for x in rest.split("-")], norm, linear=False, bias=True)
    if fam == "dln":
        opts = dict(kv.split("=", 1) for kv in rest.split(",") if kv)
        d, wd = int(opts["depth"]), int(opts["width"])
        return _mlp([wd] * (d + 1), norm, linear=True, bias=False)
    raise ValueError("architecture %r: not known to torch_module" % arch)


def read_idx(path):
    """An IDX file (MNIST family, plain or .gz) as a numpy uint8 array of its dims."""
    import gzip
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:3] != b"\0\0\x08":
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


# -- the data spec's preprocessing ------------------------------------------------------
def data_pad(data):
    """The `pad=P` option of a data spec string (docs/data.md), 0 if none."""
    m = re.search(r"(?:^|[:,])pad=(\d+)(?:,|$)", str(data).partition(":")[2])
    return int(m.group(1)) if m else 0


def in_shape(data, raw_shape):
    """Shape the net sees for raw images of (c, h, w): padded by the spec's pad."""
    c, h, w = raw_shape
    p = data_pad(data)
    return (c, h + 2 * p, w + 2 * p)


class Standardize:
    """The file's input preprocessing for raw pixels: x = (u/255 - mean_c) / std_c per
    channel (float64, rounded once to float32 as normsweep's table does), then zero
    padding by `pad` on every side. Call it on uint8 arrays [N, C, H, W] (or [N, H, W]
    for one channel); returns a float32 torch tensor."""

    def __init__(self, mean, std, pad):
        self.mean = np.asarray(mean, dtype=np.float32).astype(np.float64)
        self.std = np.asarray(std, dtype=np.float32).astype(np.float64)
        self.pad = int(pad)

    def __call__(self, u8):
        torch = _torch()
        a = np.asarray(u8)
        if a.ndim == 3:
            a = a[:, None]
        x = (a / 255.0 - self.mean[None, :, None, None]) / self.std[None, :, None, None]
        x = x.astype(np.float32)
        p = self.pad
        if p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        return torch.from_numpy(np.ascontiguousarray(x))

    def __repr__(self):
        return "Standardize(mean=%s, std=%s, pad=%d)" % (list(self.mean), list(self.std),
                                                         self.pad)


def torch_module(path, run):
    """The torch nn.Module of run `run` (position 0..R-1) of a results file, in eval
    mode, with the run's final weights loaded (strict) and `.standardize`, the file's
    input preprocessing (a Standardize), attached. The input shape comes from the
    first layer's weights and the data spec's pad."""
    torch = _torch()
    from .load import read_sweep, state_dict
    sw = read_sweep(path)
    sd = state_dict(path, run)
    r = int(run)
    arch, norm = str(sw.runs["arch"][r]), str(sw.runs["norm"][r])
    data = str(sw.attrs.get("data", ""))
    mean = sw.attrs.get("data_mean", [0.0])
    std = sw.attrs.get("data_std", [1.0])
    first = next(iter(sd.values()))
    last_w = [v for k, v in sd.items() if k.endswith(".weight") and v.ndim == 2][-1]
    nout = last_w.shape[0]
    if arch.partition(":")[0] in VGG_CFG:
        shape = _input_shape(first.shape[1], data, sw)
    elif data.startswith("synthetic-dln"):
        shape = (first.shape[1], 1, 1)
    else:  # an MLP on images: the flattened size is the first layer's width
        c, h, w = _input_shape(1, data, sw)
        shape = (first.shape[1] // (h * w), h, w)
    m = build(arch, norm, shape, nout)
    # strict: every tensor of the layout must be in the file and vice versa (BN's
    # num_batches_tracked, which normsweep does not keep, torch fills in itself)
    m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, strict=True)
    m.eval()
    m.standardize = Standardize(mean if isinstance(mean, list) else [mean],
                                std if isinstance(std, list) else [std], data_pad(data))
    m.input_shape = shape
    return m


def _input_shape(c, data, sw):
    """(c, h, w) of an image run: the data set's known raw sizes and the pad."""
    name = data.partition(":")[0]
    raw = {"fashion-mnist": 28, "mnist": 28, "kmnist": 28, "cifar10": 32}.get(name)
    if raw is None and name == "synthetic-cls":
        opts = dict(kv.split("=", 1) for kv in data.partition(":")[2].split(",") if "=" in kv)
        h, w = int(opts.get("h", 8)), int(opts.get("w", 8))
    elif raw is None:
        raise ValueError("%s: cannot tell the input size of data %r" % (sw.path, data))
    else:
        h = w = raw
    p = data_pad(data)
    return (c, h + 2 * p, w + 2 * p)
