#!/usr/bin/env bash
# test_store_flips.sh - one flipped byte anywhere in a results file never
# crashes or hangs `status`, `merge` or `run --resume` (issue 17, row 6): each
# answers with exit 0 (the byte was raw data) or a one-line refusal (exit 1/2),
# within a time limit. Flips every STEP-th byte of a small real results file
# (XOR 0xff) for each command and prints how many flips were tried.
# NS_FLIPS=N sets the flips per command (default 150; the closing note of
# issue 17 ran 1200).
# ctest-labels: cli slow
# ctest-timeout: 900
set -uo pipefail
NS=${NS_BIN:?run through ctest}
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_flips.XXXXXX")
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T NS_ISOLATE_TIMEOUT_S=20
cd "$T"
cat >tiny.yaml <<'Y'
name: tiny
data: "synthetic-cls:n=32,test=8,c=1,h=2,w=2,classes=2"
train: {steps: 4, batch: 8, eval_every: 2, log_every: 1}
grid: {lr: [0.1], arch: ["mlp:4-3-2"], norm: [none, batch], seed: [0]}
probes: {every: 2, eta: {relative: [0.5, 4.0], count: 2}, ics: {layers: all},
         activations: {units: 1}, hessian: {iters: 2, tol: 1.0e-3}}
Y
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$NS" run tiny.yaml -o good.h5 --quiet ||
  { echo "FAIL: the tiny sweep"; exit 1; }
/usr/bin/python3 - "$NS" "${NS_FLIPS:-150}" <<'P'
import os, subprocess, sys
ns, nflips = sys.argv[1], int(sys.argv[2])
data = open("good.h5", "rb").read()
step = max(1, len(data) // nflips)
commands = {
    "status": [ns, "status", "flip.h5"],
    "merge": [ns, "merge", "--force", "merged.h5", "flip.h5"],
    "resume": [ns, "run", "tiny.yaml", "-o", "flip.h5", "--resume", "--quiet"],
}
bad = []
for name, cmd in commands.items():
    rcs = {}
    for off in range(0, len(data), step):
        b = bytearray(data)
        b[off] ^= 0xFF
        with open("flip.h5", "wb") as f:
            f.write(b)
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            rc = r.returncode
            if rc not in (0, 1, 2):
                bad.append("%s, byte %d: exit %d: %s" % (name, off, rc, r.stderr[-300:]))
            elif rc and ("\n" in r.stderr.strip() and name == "status"):
                bad.append("%s, byte %d: more than one line: %s" % (name, off, r.stderr[-300:]))
        except subprocess.TimeoutExpired:
            rc = "hang"
            bad.append("%s, byte %d: no answer in 60 s" % (name, off))
        rcs[rc] = rcs.get(rc, 0) + 1
    print("%s: %d flips of a %d-byte file (every %d-th byte): exit codes %s"
          % (name, sum(rcs.values()), len(data), step, dict(sorted(rcs.items(), key=str))))
for b in bad[:20]:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
P
