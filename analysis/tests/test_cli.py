"""python3 -m analysis: exit codes and one-line errors."""
import os
import subprocess
import sys


def run(repo_root, *args):
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=repo_root,
                          capture_output=True, text=True, timeout=120)


def test_status_ok(files, repo_root):
    r = run(repo_root, "status", files["full"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1] == "  done 32"
    assert r.stderr == ""


def test_bad_files_exit_2_with_one_line(files, repo_root, tmp_path):
    txt = tmp_path / "x.txt"
    txt.write_text("not hdf5")
    for path, what in ((files["wrong_version"], "schema_version = 3"),
                       (files["foreign"], "not a normsweep results file"),
                       (str(txt), "not an HDF5 file"),
                       (str(tmp_path / "missing.h5"), "no such file")):
        for cmd in (["status", path], ["report", path, "-o", str(tmp_path / "rep")]):
            r = run(repo_root, *cmd)
            assert r.returncode == 2, (cmd, r.stderr)
            lines = r.stderr.splitlines()
            assert len(lines) == 1 and path in lines[0] and what in lines[0], r.stderr
            assert "expected" in lines[0] and r.stdout == ""
    assert not os.path.exists(tmp_path / "rep")  # nothing written for a bad file


def test_usage_errors_exit_2(repo_root, files):
    assert run(repo_root).returncode == 2
    assert run(repo_root, "frobnicate").returncode == 2
    r = run(repo_root, "report", files["full"], "--act-layers", "a,b")
    assert r.returncode == 2 and "comma-separated integers" in r.stderr


def test_report_cli(files, repo_root, tmp_path):
    out = tmp_path / "rep"
    r = run(repo_root, "report", files["partial"], "-o", str(out), "--ics-layers", "1",
            "--dpi", "40")
    assert r.returncode == 0, r.stderr
    # not drawn: activations (never written), random direction x 2 (no data); left out:
    # the FD Hessian (its probe off: no dataset); drawn: 18 + the curvature's top eigenvalues and traces x 2 (the
    # partial file has no SLQ or per-layer curvature: those figures are left out)
    assert r.stdout.strip() == "%s: 22 figures, 3 not drawn (no data)" % (out / "index.html")
    assert (out / "index.html").is_file() and (out / "report.md").is_file()
    assert (out / "ics_vgg11_width_0.125.png").is_file()
