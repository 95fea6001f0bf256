"""Shared pytest fixtures: the fixture files are written once per session."""
import os

import pytest

from analysis.tests import make_fixture


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """{'full', 'partial', 'wrong_version', 'old_version', 'foreign'} -> path (see make_fixture.py)."""
    return make_fixture.write_all(str(tmp_path_factory.mktemp("fixtures")))


@pytest.fixture(scope="session")
def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _report(files, tmp_path_factory, kind):
    from analysis.report import write_report
    out = str(tmp_path_factory.mktemp("report_" + kind))
    return out, {p.name: p for p in write_report(files[kind], out, dpi=60)}  # 60: speed


@pytest.fixture(scope="session")
def report_full(files, tmp_path_factory):
    """(output dir, {plot name: Plot}) of the report on the full fixture, made once."""
    return _report(files, tmp_path_factory, "full")


@pytest.fixture(scope="session")
def report_partial(files, tmp_path_factory):
    return _report(files, tmp_path_factory, "partial")


def pytest_configure(config):
    # Show skip reasons in the summary (-rs): a skipped real-file test must say why.
    chars = getattr(config.option, "reportchars", "") or ""
    if "s" not in chars and "a" not in chars and "A" not in chars:
        config.option.reportchars = chars + "s"


# A tiny sweep every probe on: 2 lr x 4 norms x 2 seeds of a small MLP on synthetic
# classification data; lr 5.0 makes the `none` runs diverge within a few steps.
REAL_SPEC = """\
name: analysis-real-file-test
data: "synthetic-cls:n=128,test=64,c=1,h=4,w=4,classes=3"
train: {steps: 30, batch: 32, eval_every: 10, log_every: 2, diverge_above: 20.0}
grid:
  lr: [0.05, 5.0]
  arch: ["mlp:16-16-16-3"]
  norm: [none, batch, noisy_batch, l2]
  seed: [0, 1]
probes:
  every: 10
  eta: {relative: [0.5, 4.0], count: 4}
  random_direction: true
  ics: {layers: all}
  activations: {units: 3}
  hessian: {iters: 5, tol: 1.0e-3, trace_samples: 2}
  thm41: true
  curvature: {mode: both, k: 2, iters: 8, slq: {n_v: 2, m: 6}, hutchinson: 2, layers: {iters: 4}}
"""


def _normsweep_bin():
    """$NS_BIN, checked. Unset: skip (a developer running pytest by hand). Set but
    unusable: FAIL - scripts/test sets it, and a skip there would hide a broken writer."""
    import re
    import subprocess
    b = os.environ.get("NS_BIN")
    if not b:
        pytest.skip("NS_BIN is not set: the tests on a file written by the real normsweep "
                    "were not run (scripts/test sets NS_BIN=build/normsweep)")
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        pytest.fail("NS_BIN=%s is not an executable file (build it: cmake --build build)" % b)
    h = subprocess.run([b, "run", "--help"], capture_output=True, text=True, timeout=30)
    if not re.search(r"usage: normsweep run", h.stdout + h.stderr):
        pytest.fail("NS_BIN=%s has no working 'run' command (`run --help` said: %s)"
                    % (b, (h.stdout + h.stderr).strip()[:300]))
    return b


def _mpirun(b, args, cwd):
    import shutil
    import subprocess
    mpirun = shutil.which("mpirun")
    if not mpirun:
        pytest.fail("mpirun not found on PATH (apt-get install openmpi-bin)")
    env = dict(os.environ, TMPDIR=str(cwd), OMPI_MCA_rmaps_base_oversubscribe="1",
               OPENBLAS_NUM_THREADS="1")
    if os.geteuid() == 0:  # Open MPI refuses root otherwise (docs: platform)
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run([mpirun, "-n", "2", b] + args, capture_output=True, text=True,
                       timeout=120, env=env, cwd=str(cwd))
    assert r.returncode == 0, ("%s failed (rc %d); if the sweep format or the run command "
                               "changed, update REAL_SPEC in analysis/tests/conftest.py:\n%s"
                               % (" ".join(args), r.returncode, (r.stdout + r.stderr)[-3000:]))


@pytest.fixture(scope="session")
def real(tmp_path_factory):
    """Files written by `mpirun -n 2 $NS_BIN run` once per session: {'full': every run
    of REAL_SPEC, 'shard': only runs 1, 4, 7, ... (--shard 1/3; the rest stay pending),
    'spec': the spec path}."""
    b = _normsweep_bin()
    d = tmp_path_factory.mktemp("real")
    spec = d / "tiny.yaml"
    spec.write_text(REAL_SPEC)
    out = {"spec": str(spec), "full": str(d / "full.h5"), "shard": str(d / "shard.h5")}
    _mpirun(b, ["run", str(spec), "-o", out["full"], "--force", "--quiet"], d)
    _mpirun(b, ["run", str(spec), "-o", out["shard"], "--force", "--quiet", "--shard", "1/3"], d)
    return out
