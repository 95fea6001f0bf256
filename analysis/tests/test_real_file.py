"""The analysis against a file the real normsweep wrote (not the h5py fixture).

Runs when $NS_BIN is a normsweep binary whose --help lists `run` (scripts/test sets
NS_BIN=build/normsweep); skips with the reason otherwise. The command line follows
scripts/demo: `normsweep run SPEC -o OUT --force`; the spec below is a tiny deep linear
network sweep (docs/sweep-format.md) that takes seconds."""
import os
import re
import subprocess

import numpy as np
import pytest

import analysis
from analysis import figures

SPEC = """\
name: analysis-real-file-test
data: synthetic-dln:n=200,d=10
data_seed: 0
train: {steps: 40, batch: full, init: glorot, eval_every: 20, log_every: 5}
grid:
  arch: ["dln:depth=4,width=10"]
  norm: [none, batch]
  lr: [1.0e-4]
  seed: [0]
probes:
  every: 10
  eta: {relative: [0.5, 4.0], count: 4}
  ics: {layers: all}
  activations: {units: 4, quantiles: [0.025, 0.16, 0.5, 0.84, 0.975]}
  hessian: {iters: 10, tol: 1.0e-3}
"""


def _normsweep():
    b = os.environ.get("NS_BIN")
    if not b:
        pytest.skip("NS_BIN is not set: no real normsweep file to test against "
                    "(scripts/test sets NS_BIN=build/normsweep)")
    if not os.access(b, os.X_OK):
        pytest.skip("NS_BIN=%s is not an executable file" % b)
    h = subprocess.run([b, "--help"], capture_output=True, text=True, timeout=30)
    if not re.search(r"^\s+run\s", h.stdout + h.stderr, re.M):
        pytest.skip("%s --help does not list 'run' yet (the sweep runner has not landed)" % b)
    return b


def test_real_normsweep_file(tmp_path):
    b = _normsweep()
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "results.h5"
    env = dict(os.environ)
    if os.geteuid() == 0:  # as scripts/env.sh: Open MPI refuses root otherwise
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run([b, "run", str(spec), "-o", str(out), "--force"], capture_output=True,
                       text=True, timeout=300, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, ("normsweep run failed (if the sweep format or the run command "
                               "line changed, update SPEC / the command in this test):\n"
                               + r.stderr[-3000:])
    runs, traces = analysis.load(str(out))
    assert len(runs) == 2 and set(runs.status) == {"done"}
    assert list(runs.norm) == ["none", "batch"] and np.allclose(runs.lr, 1e-4)
    assert (runs.steps_done == 40).all()
    tl = traces.train_loss.values
    assert tl.shape[0] == 2 and np.isfinite(tl).all()
    assert int(traces.step.values[-1]) == 39 and int(traces.step.values[0]) == 0
    # final_train_loss is a real loss value, consistent with the logged curve's scale
    assert np.all(runs.final_train_loss > 0)
    sw = analysis.read_sweep(str(out))
    plots = figures.all_figures(sw)
    drawn = {p.name for p in plots if p.fig is not None}
    assert "training_dln_depth_4_width_10" in drawn, [(p.name, p.note) for p in plots]
    assert "landscape_dln_depth_4_width_10" in drawn
