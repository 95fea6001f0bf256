"""The claims table on make_fixture's closed forms: every verdict and number is what the
definitions (docs/experiments.md) give by hand; the CLI's output and exit codes."""
import os
import subprocess
import sys

import numpy as np
import pytest

import analysis
from analysis import claims as C
from analysis.tests import make_fixture as fx

VGG, DLN = fx.ARCHS


@pytest.fixture(scope="module")
def sw(files):
    return analysis.read_sweep(files["full"])


def runs_of(lr, arch, norm):
    return [r for r, c in enumerate(fx.RUNS) if c[:3] == (lr, arch, norm)]


def final_acc(r):
    """Mean train_acc over the logged steps of the last 50 (50, 60, ..., 90, 99)."""
    st = fx.STEP[fx.STEP >= 99 - 50 + 1]
    return np.mean(fx.train_acc(r, st))


def by_setting(claims, number, arch):
    (cl,) = [c for c in claims if c.number == number and c.setting == arch]
    return cl


def test_per_run_numbers(sw):
    r = runs_of(0.1, VGG, "batch")[1]
    assert C.final_train_acc(sw, r) == pytest.approx(final_acc(r), rel=1e-12)
    # probes t > 0: 20, 40, 60, 80; max over eta at eta/lr = 4; median over the 4 probes
    gc, rg = C.landscape_numbers(sw, r)
    assert gc == pytest.approx(np.median([fx.landscape_grad_change(r, p, 3) for p in fx.PROBE[1:]]))
    assert rg == pytest.approx(np.median([fx.landscape_loss(r, p, 3) - fx.landscape_loss(r, p, 0)
                                          for p in fx.PROBE[1:]]))
    # ICS cosine: layers 2..6 (positions 1..5) at the 4 probes
    assert C.ics_cosine(sw, r) == pytest.approx(np.median([fx.ics_cos(r, p, l) for p in fx.PROBE[1:]
                                                           for l in range(1, 6)]))


def test_verdicts_follow_the_numbers(sw):
    claims = C.evaluate(sw)
    # two settings: the fixture's archs (batch goes with the arch, so it is not named)
    assert sorted({c.setting for c in claims}) == sorted([VGG, DLN])
    # 1: noisy BN (runs 4, 5) vs BN (2, 3) at lr 0.1: accuracies differ by 2/1000
    c1 = by_setting(claims, 1, VGG)
    ch = c1.checks[0]
    assert ch.text.startswith("lr 0.1:") and ch.verdict == C.HOLDS
    want = abs(np.median([final_acc(r) for r in runs_of(0.1, VGG, "noisy_batch")])
               - np.median([final_acc(r) for r in runs_of(0.1, VGG, "batch")]))
    assert ch.values["diff"] == pytest.approx(want) and want == pytest.approx(0.002)
    assert ch.values["batch"].n == 2
    # 2: ics_cos = 1 - 0.01 l - r/1000 falls with the run index: BN's (higher r) is lower
    assert by_setting(claims, 2, VGG).verdict == C.HOLDS
    # 3: grad change 4 (1 + r/10)(1 + p/100), median over p = 6 (1 + r/10): BN 7.5 vs none
    # 6.3 at lr 0.1 -> FAILS, with the numbers and seed spread printed
    c3 = by_setting(claims, 3, VGG)
    assert c3.verdict == C.FAILS
    gc = c3.checks[0]
    assert gc.verdict == C.FAILS and "max-over-eta gradient change" in gc.text
    assert gc.values["batch"].median == pytest.approx(7.5) and gc.values["none"].median == pytest.approx(6.3)
    assert (gc.values["batch"].lo, gc.values["batch"].hi) == (pytest.approx(7.2), pytest.approx(7.8))
    assert gc.numbers == "BN 7.5 [7.2-7.8], none 6.3 [6-6.6] (ratio 1.19)"
    # the largest lr: the fixture's plain net trains (acc ~0.9): "clearly worse" fails
    last = c3.checks[-1]
    assert last.text.startswith("largest lr 0.5") and last.verdict == C.FAILS
    # 4: l2 trains like BN (within 0.05), but its gradient change is larger than none's
    c4 = by_setting(claims, 4, VGG)
    acc = [c for c in c4.checks if "l2's final training accuracy" in c.text]
    assert len(acc) == 2 and all(c.verdict == C.HOLDS for c in acc)
    assert c4.verdict == C.FAILS


def test_no_data_checks(files):
    """The partial file: lr 0.5 DLN runs are pending -> those checks say 'no data'."""
    claims = C.evaluate(analysis.read_sweep(files["partial"]))
    c1 = by_setting(claims, 1, DLN)
    nd = [c for c in c1.checks if c.verdict == C.NO_DATA]
    assert nd and all("needs noisy_batch and batch runs" in c.numbers for c in nd)


def test_tables(sw):
    claims = C.evaluate(sw)
    rows = C.rows(claims)
    assert rows[0][:3] == ["claim", "check", "verdict"]
    assert sum(len(c.checks) for c in claims) == len(rows) - 1
    md = C.markdown(claims)
    assert md[0].startswith("| claim |") and "**FAILS**" in "\n".join(md)
    text = C.text(claims, "x.h5")
    assert text[0].startswith("x.h5: the paper's claims") and text[-1].startswith("summary:")


def _cli(repo_root, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=repo_root,
                          capture_output=True, text=True, timeout=120)


def test_claims_cli(files, repo_root):
    r = _cli(repo_root, "claims", files["full"])
    assert r.returncode == 0 and r.stderr == ""
    assert "Claim 3: BN makes the landscape smoother" in r.stdout
    assert "summary: 4 claim(s) hold, 4 fail, 0 without data" in r.stdout
    r = _cli(repo_root, "claims", files["full"], "--check")
    assert r.returncode == 1  # some claim fails on the fixture


def test_closed_pipe_is_quiet(files, repo_root):
    """`python3 -m analysis ... | head -1`: no BrokenPipeError text, exit 0."""
    for args in (["claims", files["full"]], ["status", files["full"], "--all"]):
        p = subprocess.run("%s -m analysis %s | head -n 1" % (
            sys.executable, " ".join(args)), shell=True, cwd=repo_root, capture_output=True,
            text=True, timeout=120, executable="/bin/bash")
        assert p.returncode == 0 and len(p.stdout.splitlines()) == 1, p
        assert p.stderr == "", p.stderr
        # and the exit status of python itself (PIPESTATUS) is 0
        p = subprocess.run("%s -m analysis %s | head -n 1 >/dev/null; echo ${PIPESTATUS[0]}" % (
            sys.executable, " ".join(args)), shell=True, cwd=repo_root, capture_output=True,
            text=True, timeout=120, executable="/bin/bash")
        assert p.stdout.strip() == "0" and p.stderr == "", p


def _damaged_copies(src, d):
    """A truncated copy and copies with metadata bytes overwritten (one of the latter
    made the HDF5 library itself crash with SIGSEGV in the reader)."""
    raw = open(src, "rb").read()
    out = {}
    t = os.path.join(d, "truncated.h5")
    with open(t, "wb") as f:
        f.write(raw[:len(raw) // 2])
    out["truncated"] = t
    for k, step in enumerate((50000, 7919, 3001)):
        b = bytearray(raw)
        for off in range(2000, len(b) - 64, step):
            b[off:off + 64] = b"\xff" * 64
        p = os.path.join(d, "flipped%d.h5" % k)
        with open(p, "wb") as f:
            f.write(bytes(b))
        out["flipped%d" % k] = p
    return out


def test_damaged_file_gives_one_error_line(files, repo_root, tmp_path):
    for kind, path in _damaged_copies(files["full"], str(tmp_path)).items():
        for cmd in (["report", path, "-o", str(tmp_path / ("rep_" + kind))],
                    ["status", path], ["claims", path]):
            r = _cli(repo_root, *cmd)
            lines = r.stderr.splitlines()
            assert r.returncode == 2, (kind, cmd, r.returncode, r.stderr[-2000:])
            assert len(lines) == 1 and "error: " in lines[0] and path in lines[0], (kind, r.stderr)
            assert "Traceback" not in r.stderr


def test_regression_files_use_the_loss_removed(files, tmp_path):
    """Without accuracies (a regression net such as the DLN) a run's training score is
    1 - final loss / initial loss (final: mean over the logged steps of the last 50)."""
    import shutil
    import h5py
    p = str(tmp_path / "noacc.h5")
    shutil.copy(files["full"], p)
    with h5py.File(p, "r+") as f:
        f["train_acc"][...] = np.nan  # written by nothing: a regression run logs no accuracy
    sw = analysis.read_sweep(p)
    r = runs_of(0.1, DLN, "batch")[0]
    st = fx.STEP[fx.STEP >= 50]
    want = 1 - np.mean(fx.train_loss(r, st)) / fx.train_loss(r, 0)
    assert C.training_score(sw, r) == pytest.approx(want, rel=1e-12)
    c1 = by_setting(C.evaluate(sw), 1, DLN)
    assert "fraction of the initial loss removed" in c1.checks[0].text
