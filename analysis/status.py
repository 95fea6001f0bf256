"""status.py - a short terminal summary of a results file (running, killed or done).

    /usr/bin/python3 -m analysis status results.h5 [--all]
"""
import numpy as np

STATUS_ORDER = ("done", "running", "pending", "stopped", "diverged", "failed")


def _last_true(mask):
    """Per row of a 2-D boolean array: the last column that is True, -1 if none."""
    return np.where(mask, np.arange(mask.shape[1]), -1).max(axis=1)


def progress(sw):
    """Steps done per run: the run table's steps_done, or - when the writer has not
    updated it yet (-1) - the last step with a logged (not NaN) train_loss, + 1."""
    n = sw.nrun
    done = np.asarray(sw.runs.get("steps_done", np.full(n, -1)), dtype=float)
    done = np.where(done >= 0, done, np.nan)
    if sw.has("train_loss") and "step" in sw.coords:
        tl = sw.var("train_loss")
        step = np.asarray(sw.coords["step"], dtype=float)
        pos = _last_true(~np.isnan(tl))  # inf counts: a diverged step was logged
        last = np.where(pos >= 0, step[pos] + 1, np.nan)
        done = np.where(np.isnan(done), last, done)
    total = np.asarray(sw.runs.get("steps", np.full(n, np.nan)), dtype=float)
    if sw.runs.get("status") is not None:  # a finished run is complete whatever was logged
        done = np.where(sw.runs["status"] == "done", np.where(np.isnan(done), total, done), done)
    return np.where(np.isnan(done), 0, done), total


def counts(sw):
    """{status: count}, the schema's statuses first, unknown ones after."""
    st = list(sw.runs["status"])
    out = {s: st.count(s) for s in STATUS_ORDER if s in st}
    for s in sorted(set(st) - set(STATUS_ORDER)):
        out[s or "(empty)"] = st.count(s)
    return out


def _fmt(v, spec):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "-" if not np.isfinite(f) else format(f, spec)


def last_finite(a):
    """Last finite value of each row of a 2-D array (NaN if none)."""
    a = np.asarray(a, dtype=float)
    pos = _last_true(np.isfinite(a))
    return np.where(pos >= 0, a[np.arange(a.shape[0]), np.maximum(pos, 0)], np.nan)


def summary(sw, show_all=False, max_rows=40):
    """The status text (a list of lines)."""
    a = sw.attrs
    R = sw.nrun
    done, total = progress(sw)
    lines = ["%s: sweep %r, %d runs, normsweep %s, created %s" % (
        sw.path, a.get("spec_name", "?"), R, a.get("normsweep_version", "?"),
        a.get("created_utc", "?"))]
    lines.append("  " + " | ".join("%s %d" % kv for kv in counts(sw).items()))
    tot = np.nansum(total)
    if tot > 0:
        lines.append("  steps %d / %d (%.1f%%)" % (np.nansum(done), tot, 100.0 * np.nansum(done) / tot))
    status = sw.runs["status"]
    rows = np.arange(R)
    if not show_all and R > max_rows:
        rows = np.flatnonzero(~np.isin(status, ("done", "pending")))
        lines.append("  (%d runs done or pending not listed; --all lists every run)"
                     % (R - len(rows)))
    if len(rows) == 0:
        return lines
    loss = last_finite(sw.var("train_loss")) if sw.has("train_loss") else np.full(R, np.nan)
    tacc = sw.runs.get("final_test_acc", np.full(R, np.nan))
    div = sw.runs.get("diverged_step", np.full(R, -1))
    msg = sw.runs.get("message", np.full(R, ""))
    w_arch = max(4, max(len(str(sw.runs["arch"][r])) for r in rows))
    w_norm = max(4, max(len(str(sw.runs["norm"][r])) for r in rows))
    head = "  %4s  %-8s  %-*s  %-*s  %4s  %-8s  %-19s  %10s  %8s  %s" % (
        "run", "lr", w_arch, "arch", w_norm, "norm", "seed", "status", "progress",
        "last loss", "test acc", "note")
    lines.append(head)
    for r in rows:
        t = total[r]
        pct = "" if not np.isfinite(t) or t <= 0 else " %3.0f%%" % (100.0 * done[r] / t)
        prog = "%d/%s%s" % (done[r], _fmt(t, ".0f"), pct)
        note = []
        if int(div[r]) >= 0:
            note.append("diverged at step %d" % int(div[r]))
        if msg[r]:
            note.append(str(msg[r]))
        lines.append("  %4d  %-8s  %-*s  %-*s  %4s  %-8s  %-19s  %10s  %8s  %s" % (
            int(sw.coords["run"][r]), "%g" % sw.runs["lr"][r], w_arch, sw.runs["arch"][r],
            w_norm, sw.runs["norm"][r], sw.runs["seed"][r], status[r] or "?", prog,
            _fmt(loss[r], ".4g"), _fmt(tacc[r], ".4f"), "; ".join(note)))
    return lines
