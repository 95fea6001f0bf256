#!/usr/bin/env bash
# test_flush_kill.sh - SIGKILL to every process of a sweep (mpirun and both
# ranks, at once, mid-run) loses at most one flush interval of each running
# run's traces, and --resume then gives a file equal to an uninterrupted run.
#  1. reference: the sweep (2 runs of 200000 logged steps, ~6 s each) uninterrupted
#  2. the same with --flush-seconds 1 --checkpoint-seconds 2 (checkpoint.every=0:
#     only the time cadence checkpoints); a reader polls the file every ~50 ms
#     (live traces: each run's last step in the file must advance while it runs)
#     and, 0.9 s after each run has been flushed 3 times (near the worst case:
#     just before the next flush), SIGKILLs mpirun and the ranks
#  3. per run: the last step in the file; the kill time minus the last poll that
#     did not yet show it bounds the time lost from above (the poll after it,
#     from below); the step rate seen by the reader turns that into steps.
#     Asserted: lost <= 1 s (the interval) + 0.5 s (one step, the sync itself,
#     a loaded machine). The test prints what it measured.
#  4. `normsweep status` shows each killed run as running, with the steps in the file
#  5. each run has a time checkpoint; --resume = the uninterrupted file (h5same)
# ctest-labels: mpi
# ctest-timeout: 300
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
export PYTHONPATH="$SRC/tests/tools${PYTHONPATH:+:$PYTHONPATH}"  # h5text.py: the file's text
PY=/usr/bin/python3
"$PY" -c "import h5py, numpy" 2>/dev/null || { echo "SKIP: $PY lacks h5py/numpy"; exit 77; }
SPEC=$SRC/tests/data/sweep_small.yaml
OV=(train.steps=200000 probes.every=5000 'grid.lr=[0.05]' 'grid.norm=[none,batch]' checkpoint.every=0)
FLUSH=1
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_flush.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*"; cat err.txt 2>/dev/null | tail -20; exit 1; }

# 1. reference
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" "${OV[@]}" -o ref.h5 --quiet

# 2. the sweep to kill; the reader decides when and kills
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" "${OV[@]}" -o s.h5 --flush-seconds "$FLUSH" \
    --checkpoint-seconds 2 --progress-every 0 2>err.txt &
mp=$!
ranks=""
for _ in $(seq 1 100); do
    ranks=$(pgrep -P "$mp" -x normsweep | tr '\n' ' ' || true)
    [ "$(wc -w <<<"$ranks")" -eq 2 ] && break
    sleep 0.05
done
[ "$(wc -w <<<"$ranks")" -eq 2 ] || fail "the 2 ranks did not start (pids: '$ranks')"

cat >reader.py <<'PY'
# Poll s.h5 read-only while the sweep writes it; once each run has been
# flushed 3 times, wait 0.9 of an interval more (a kill right after a flush
# would lose nothing and prove nothing; this one comes near the worst case)
# and kill every process; then measure what the kill lost.
import os, signal, sys, time
import h5py, numpy as np
path, flush = sys.argv[1], float(sys.argv[2])
pids = [int(p) for p in sys.argv[3:]]
RUNS = (0, 1)

from h5text import text

def last_steps():
    """Per run: the last step whose train_loss is in the file (-1: none)."""
    try:
        with h5py.File(path, "r") as f:
            step = f["step"][()]
            out = []
            for r in RUNS:
                ok = np.flatnonzero(~np.isnan(f["train_loss"][r]))
                out.append(int(step[ok[-1]]) if ok.size else -1)
            return out
    except (OSError, KeyError):  # not created yet: nothing is in it
        return [-1] * len(RUNS)

obs = []  # (start, end, [last step per run])
t_kill = t_ready = None
deadline = time.time() + 60
while time.time() < deadline:
    t0 = time.time()
    v = last_steps()
    obs.append((t0, time.time(), v))
    if t_ready is None and all(len({o[2][r] for o in obs if o[2][r] >= 0}) >= 3 for r in RUNS):
        t_ready = time.time()
    if t_ready is not None and time.time() >= t_ready + 0.9 * flush:
        t_kill = time.time()
        for p in pids:
            os.kill(p, signal.SIGKILL)
        break
    time.sleep(0.05)
if t_kill is None:
    sys.exit("FAIL: the runs were not flushed 3 times within 60 s (no live traces)")
time.sleep(1.0)  # the dead processes' writes are all in the page cache
final = last_steps()
with h5py.File(path, "r") as f:
    steps = f["steps"][()]
    status = text(f["status"])
bad = []
for r in RUNS:
    s_file = final[r]
    if status[r] != "running" or not (0 <= s_file < steps[r] - 1):
        bad.append(f"run {r}: not killed mid-run (status {status[r]}, last step {s_file})")
        continue
    before = [o for o in obs if o[2][r] < s_file]   # polls that did not show it yet
    after = [o for o in obs if o[2][r] == s_file]   # polls that did
    lost_hi = t_kill - before[-1][0]                # the flush came after this poll began
    lost_lo = t_kill - after[0][1] if after else 0.0
    # the reader's view of the step rate: first sight of each flushed value
    seen = {}
    for o in obs:
        if o[2][r] >= 0:
            seen.setdefault(o[2][r], o[0])
    vals = sorted(seen)
    rate = (vals[-1] - vals[0]) / (seen[vals[-1]] - seen[vals[0]])
    gaps = np.diff([seen[v] for v in vals])
    done_hi = s_file + 1 + rate * lost_hi
    print(f"run {r}: {s_file + 1} steps in file, ~{done_hi:.0f} done at kill "
          f"(~{rate:.0f} steps/s), lost {lost_lo:.2f}..{lost_hi:.2f} s = <= {rate * lost_hi:.0f} "
          f"steps; flushes seen {len(vals)}, {gaps.mean():.2f} s apart (interval {flush:g} s)")
    if lost_hi > flush + 0.5:
        bad.append(f"run {r}: lost up to {lost_hi:.2f} s > one flush interval {flush:g} s + 0.5 s")
print(f"polls: {len(obs)}, kill {t_kill - obs[0][0]:.2f} s after the first")
with open("in_file.txt", "w") as out:  # for the status check
    out.write(" ".join(str(final[r] + 1) for r in RUNS) + "\n")
if bad:
    sys.exit("FAIL: " + "; ".join(bad))
PY
"$PY" reader.py s.h5 "$FLUSH" "$mp" $ranks || fail "the reader's verdict (above)"
wait "$mp" 2>/dev/null || true
echo "ok: SIGKILL of mpirun and every rank lost at most one flush interval per run"

# status shows each killed run's progress as far as its traces are in the file
"$NS" status --json s.h5 >status.json || fail "status failed on the killed file"
"$PY" - <<'PY' || fail "status does not show the runs' logged steps"
import json
want = [int(x) for x in open("in_file.txt").read().split()]
runs = json.load(open("status.json"))["runs"]
got = [(r["status"], r["steps_done"]) for r in runs[:2]]
assert got == [("running", w) for w in want], f"status {got}, file {want}"
PY
echo "ok: status shows the killed runs as running with the steps in the file"

# 5. time checkpoints, then resume
for r in 0 1; do
    [ -s "s.h5.ckpt/run_0000$r.ckpt" ] || fail "run $r has no time checkpoint"
done
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" "${OV[@]}" -o s.h5 --resume --quiet 2>err.txt ||
    fail "--resume failed"
"$PY" "$SRC/tests/tools/h5same.py" ref.h5 s.h5 >same.txt || { cat same.txt; fail "resume differs"; }
echo "ok: each run had a time checkpoint; --resume = the uninterrupted run (h5same)"
echo "3 passed, 0 failed"
