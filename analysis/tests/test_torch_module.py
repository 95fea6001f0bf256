"""torch_module(file, run): the run's final weights in a torch nn.Module (eval mode) with
the file's input preprocessing; on the real Fashion-MNIST test split it must reproduce
the file's final test accuracy to 1e-6 (i.e. the same count of correct images) for every
normalization kind, conv and dense."""
import os

import numpy as np
import pytest

import analysis
from analysis.tests.conftest import _mpirun, _normsweep_bin

torch = pytest.importorskip("torch", reason="python3-torch not installed: torch_module not "
                                            "checked (apt-get install python3-torch)")
FMNIST = "/usr/share/datasets/fashion-mnist"

SPEC = """\
name: torch-module-test
data: "fashion-mnist:pad=2"
train: {steps: 6, batch: 32, log_every: 1, eval_every: 0}
grid:
  lr: [0.1]
  arch: ["vgg11:width=0.0625"]
  norm: [none, batch, l1, "group:groups=2"]
  seed: [3]
"""
SPEC_MLP = """\
name: torch-module-test-mlp
data: fashion-mnist
train: {steps: 6, batch: 32, log_every: 1, eval_every: 0}
grid:
  lr: [0.1]
  arch: ["mlp:784-24-16-10"]
  norm: [noisy_batch, l2, linf, layer]
  seed: [3]
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    if not os.path.isfile(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")):
        pytest.skip("dataset-fashion-mnist not installed (%s): torch_module not checked" % FMNIST)
    b = _normsweep_bin()
    d = tmp_path_factory.mktemp("torchmod")
    out = []
    for k, text in enumerate((SPEC, SPEC_MLP)):
        spec = d / ("s%d.yaml" % k)
        spec.write_text(text)
        out.append(str(d / ("s%d.h5" % k)))
        _mpirun(b, ["run", str(spec), "-o", out[-1], "--force", "--quiet"], d)
    return out


def test_accuracy_equals_the_files(made):
    from analysis.torch_model import read_idx
    x_u8 = read_idx(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    torch.set_num_threads(1)
    seen = set()
    for path in made:
        sw = analysis.read_sweep(path)
        for r in range(sw.nrun):
            m = analysis.torch_module(path, r)
            assert not m.training
            x = m.standardize(x_u8)
            assert tuple(x.shape[1:]) == m.input_shape
            with torch.no_grad():
                pred = torch.cat([m(x[i:i + 2000]).argmax(1) for i in range(0, len(x), 2000)])
            acc = float((pred.numpy() == y).mean())
            want = float(sw.runs["final_test_acc"][r])
            assert abs(acc - want) <= 1e-6, (path, r, sw.runs["norm"][r], acc, want)
            seen.add(str(sw.runs["norm"][r]).split(":")[0])
    assert seen == {"none", "batch", "noisy_batch", "l1", "l2", "linf", "layer", "group"}


def test_standardize_is_the_files(made):
    """mean/std from the file, pad from the data string: the border is exactly 0 and the
    middle is (u/255 - mean)/std rounded once to float32."""
    m = analysis.torch_module(made[0], 0)
    sd = m.standardize
    assert sd.pad == 2 and abs(sd.mean[0] - 0.2860406) < 1e-6 and abs(sd.std[0] - 0.3530242) < 1e-6
    u = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    x = sd(u).numpy()
    assert x.shape == (2, 1, 32, 32) and x.dtype == np.float32
    assert (x[:, :, :2] == 0).all() and (x[:, :, :, -2:] == 0).all()
    want = ((u / 255.0 - sd.mean[0]) / sd.std[0]).astype(np.float32)
    np.testing.assert_array_equal(x[:, 0, 2:30, 2:30], want)
    m2 = analysis.torch_module(made[1], 0)
    assert m2.standardize.pad == 0 and m2.input_shape == (1, 28, 28)  # the MLP flattens it
