"""The installable package: `pip install ./analysis` into a venv outside the repository
gives `import normsweep` and `python3 -m normsweep report|claims|status` from any
directory (and the in-tree `python3 -m analysis` is the same code)."""
import os
import shutil
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def venv(tmp_path_factory, repo_root):
    d = tmp_path_factory.mktemp("pkg")
    r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(d / "venv")],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip("python3 -m venv does not work here (apt-get install python3-venv): "
                    + r.stderr.strip()[-300:])
    # install from a copy, so that pip's in-tree build leaves nothing in the repository
    src = d / "src"
    shutil.copytree(os.path.join(repo_root, "analysis"), src,
                    ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
    py = str(d / "venv" / "bin" / "python3")
    r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        "--no-deps", "-q", str(src)], capture_output=True, text=True, timeout=600,
                       cwd=str(d))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return py, d


def test_installed_package_works_from_any_directory(venv, files, tmp_path):
    py, d = venv
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subprocess.run([py, "-c", "import normsweep, sys; print(normsweep.__file__); "
                        "runs, tr = normsweep.load(sys.argv[1]); print(len(runs))", files["full"]],
                       capture_output=True, text=True, timeout=300, cwd=str(elsewhere))
    assert r.returncode == 0, r.stderr
    path, n = r.stdout.split()
    assert "site-packages" in path and str(d) in path  # the installed copy, not the repo
    assert int(n) == 32
    out = elsewhere / "rep"
    r = subprocess.run([py, "-m", "normsweep", "report", files["full"], "-o", "rep", "--dpi", "40"],
                       capture_output=True, text=True, timeout=600, cwd=str(elsewhere))
    assert r.returncode == 0, r.stderr
    assert (out / "index.html").is_file() and (out / "report.md").is_file()
    for cmd in (["claims", files["full"]], ["status", files["full"]]):
        r = subprocess.run([py, "-m", "normsweep"] + cmd, capture_output=True, text=True,
                           timeout=300, cwd=str(elsewhere))
        assert r.returncode == 0 and r.stderr == "", r.stderr
    r = subprocess.run([py, "-m", "normsweep", "--help"], capture_output=True, text=True,
                       timeout=120, cwd=str(elsewhere))
    assert r.stdout.startswith("usage: python3 -m normsweep")
    # a bad file: the one-line error names the installed command
    r = subprocess.run([py, "-m", "normsweep", "status", str(elsewhere / "none.h5")],
                       capture_output=True, text=True, timeout=120, cwd=str(elsewhere))
    assert r.returncode == 2 and r.stderr.startswith("python3 -m normsweep: error:")
