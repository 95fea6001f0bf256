"""status: counts by status, per-run progress (also when steps_done was never written),
and the terminal summary."""
import h5py
import numpy as np

import analysis
from analysis import status
from analysis.tests import make_fixture as fx


def test_counts_and_progress(files):
    sw = analysis.read_sweep(files["partial"])
    assert status.counts(sw) == {"done": 8, "running": 4, "pending": 17, "stopped": 1,
                                 "diverged": 1, "failed": 1}
    done, total = status.progress(sw)
    assert list(done[:16]) == [100] * 8 + [40] * 4 + [30, 20, 50, 0]
    assert (done[16:] == 0).all() and (total == 100).all()


def test_progress_falls_back_to_logged_steps(tmp_path):
    p = fx.write(str(tmp_path / "p.h5"), partial=True)
    with h5py.File(p, "a") as f:  # a writer that has not updated steps_done yet
        f["steps_done"][9] = -1
        f["steps_done"][3] = -1
    done, _ = status.progress(analysis.read_sweep(p))
    assert done[9] == 41  # last logged step 40 (loss logged before its update) + 1
    assert done[3] == 100  # status done: complete whatever was logged
    assert done[20] == 0


def test_last_finite():
    a = np.array([[1.0, 2.0, np.nan], [np.nan, np.nan, np.nan], [5.0, np.nan, 7.0]])
    np.testing.assert_array_equal(status.last_finite(a), [2.0, np.nan, 7.0])


def test_summary_lines(files):
    sw = analysis.read_sweep(files["partial"])
    lines = status.summary(sw)
    assert lines[0].startswith(files["partial"] + ": sweep 'fixture', 32 runs")
    assert lines[1] == "  done 8 | running 4 | pending 17 | stopped 1 | diverged 1 | failed 1"
    assert lines[2] == "  steps 1060 / 3200 (33.1%)"  # 8*100 + 4*40 + 30 + 20 + 50
    assert len(lines) == 4 + 32
    row12 = lines[4 + 12].split()
    assert row12[:8] == ["12", "0.1", "dln:depth=4", "noisy_batch", "0", "diverged", "30/100", "30%"]
    assert row12[8] == "1e+04" and "diverged at step 30;" in lines[4 + 12]
    row9 = lines[4 + 9].split()
    assert row9[5:9] == ["running", "40/100", "40%", "%.4g" % fx.train_loss(9, 40)]
    # big sweeps list only the runs that need attention
    short = status.summary(sw, max_rows=10)
    assert "(25 runs done or pending not listed; --all lists every run)" in short[3]
    assert [ln.split()[0] for ln in short[5:]] == ["8", "9", "10", "11", "12", "13", "14"]
    assert len(status.summary(sw, show_all=True, max_rows=10)) == 4 + 32
