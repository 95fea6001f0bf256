"""claims.py - the paper's four claims, checked on a results file.

    /usr/bin/python3 -m analysis claims results.h5 [--check]

Santurkar et al. 2018 claim (docs/experiments.md, "The claims table", has the exact
definitions; every constant below is named there):
  1. noisy BN trains like BN;
  2. BN does not reduce internal covariate shift (ICS);
  3. BN makes the loss landscape smoother and tolerates larger learning rates;
  4. l_p normalizations behave like BN.
Each claim is a list of checks; each check has a verdict (holds / fails / no data) and
the numbers behind it: the median over seeds with the seed range [min-max] and the
seed count. Runs are split by every varying axis except lr, norm and seed (a "setting",
e.g. one architecture with one momentum); the claims are checked per setting.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import groups

# -- the definitions (docs/experiments.md lists the same values) ------------------------
FINAL_WINDOW = 50        # final training accuracy: mean over the logged steps of the last 50
TRAINS_ACC = 0.5         # a net "trains" when its final training accuracy is >= this
                         # (regression: when it removed >= half of its initial loss)
CLEARLY_WORSE = 0.2      # "trains clearly worse": final accuracy lower by at least this
SAME_ACC = 0.05          # "trains like BN": final accuracy within this of BN's
PLATEAU_FRACTION = 0.95  # on the initial plateau: loss still >= 95% of the initial loss
PLATEAU_WINDOW = 20      # ... mean over the logged steps t-19..t (t: the probe step)
INITIAL_WINDOW = 10      # initial loss: mean over the logged steps 0..9
LP_NORMS = ("l1", "l2", "linf")

HOLDS, FAILS, NO_DATA = "holds", "FAILS", "no data"


@dataclass
class Check:
    text: str                     # what is checked, e.g. "lr 0.1: noisy BN acc within 0.05 of BN"
    verdict: str                  # HOLDS, FAILS or NO_DATA
    numbers: str                  # the values behind it, with seed spread
    values: dict = field(default_factory=dict)  # the raw numbers, for tests and users


@dataclass
class Claim:
    number: int
    title: str
    setting: str                  # the setting (varying axes but lr/norm/seed), "" if one
    checks: list

    @property
    def seeds(self):
        """The most seeds behind any of the claim's numbers."""
        n = [v.n for c in self.checks for v in c.values.values() if isinstance(v, Spread)]
        return max(n) if n else 0

    @property
    def verdict(self):
        v = [c.verdict for c in self.checks]
        if not v or all(x == NO_DATA for x in v):
            return NO_DATA
        return FAILS if FAILS in v else HOLDS


# -- per-run numbers ------------------------------------------------------------------
def _mean(a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(a)) if np.size(a) else float("nan")


def _median(a):
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def _logged(sw, name, r, lo=None, hi=None):
    """The logged (not NaN) values of trace `name` for run r at steps lo..hi (inclusive;
    None: open); inf (a diverged step) is kept."""
    a = np.asarray(sw.var(name)[r], dtype=float)
    st = np.asarray(sw.coords["step"], dtype=float)
    keep = ~np.isnan(a)
    if lo is not None:
        keep &= st >= lo
    if hi is not None:
        keep &= st <= hi
    return a[keep]


def _last_step(sw, name, r):
    a = np.asarray(sw.var(name)[r], dtype=float)
    st = np.asarray(sw.coords["step"])
    ok = np.flatnonzero(~np.isnan(a))
    return int(st[ok[-1]]) if ok.size else None


def final_train_acc(sw, r):
    """Mean training accuracy over the logged steps among the run's last FINAL_WINDOW
    steps. A diverged run scores 0: it does not train."""
    if str(sw.runs["status"][r]) == "diverged":
        return 0.0
    if not sw.has("train_acc") or "step" not in sw.coords:
        return float("nan")
    last = _last_step(sw, "train_acc", r)
    if last is None:
        return float("nan")
    return _mean(_logged(sw, "train_acc", r, lo=last - FINAL_WINDOW + 1))


def final_loss_removed(sw, r):
    """Regression (no accuracy, e.g. the DLN): 1 - final loss / initial loss, the final
    loss the mean over the logged steps of the last FINAL_WINDOW. 1: loss gone; 0: no
    progress. A diverged run scores 0."""
    if str(sw.runs["status"][r]) == "diverged":
        return 0.0
    last = _last_step(sw, "train_loss", r) if sw.has("train_loss") else None
    init = initial_loss(sw, r)
    if last is None or not np.isfinite(init) or init <= 0:
        return float("nan")
    return 1.0 - _mean(_logged(sw, "train_loss", r, lo=last - FINAL_WINDOW + 1)) / init


def training_score(sw, r):
    """The claims' measure of how well run r trained: its final training accuracy, or
    for a file without accuracies (regression) the fraction of its loss removed."""
    if sw.has("train_acc") and np.isfinite(_finite_or_nan(sw, "train_acc", r)):
        return final_train_acc(sw, r)
    return final_loss_removed(sw, r)


def _finite_or_nan(sw, name, r):
    a = np.asarray(sw.var(name)[r], dtype=float)
    a = a[np.isfinite(a)]
    return a[-1] if a.size else float("nan")


def initial_loss(sw, r):
    """Mean of the logged training losses at steps 0..INITIAL_WINDOW-1 (the first
    logged one when logging is sparser)."""
    if not sw.has("train_loss") or "step" not in sw.coords:
        return float("nan")
    a = _logged(sw, "train_loss", r, hi=INITIAL_WINDOW - 1)
    if not a.size:
        a = _logged(sw, "train_loss", r)[:1]
    return _mean(a) if a.size else float("nan")


def on_plateau(sw, r, step):
    """Whether run r is still on its initial plateau at `step`: the mean training loss
    over the logged steps step-PLATEAU_WINDOW+1..step (at least the last one logged) is
    still >= PLATEAU_FRACTION x the initial loss. False when there is no loss there."""
    if not sw.has("train_loss") or "step" not in sw.coords:
        return False
    w = _logged(sw, "train_loss", r, lo=step - PLATEAU_WINDOW + 1, hi=step)
    if not w.size:
        w = _logged(sw, "train_loss", r, hi=step)[-1:]
    init = initial_loss(sw, r)
    if not w.size or not np.isfinite(init) or not np.all(np.isfinite(w)):
        return False
    return bool(np.mean(w) >= PLATEAU_FRACTION * init)


def _late_probes(sw):
    """Probe positions of steps t > 0 (step 0 is the initialization, not training)."""
    p = np.asarray(sw.coords.get("probe", []))
    return np.flatnonzero(p > 0)


def landscape_numbers(sw, r):
    """(median over probe steps t > 0 of max over eta of the gradient change,
    median of the loss range max - min over eta); NaN without data."""
    out = []
    late = _late_probes(sw)
    for name, f in (("landscape_grad_change", lambda a: np.nanmax(a, axis=1)),
                    ("landscape_loss", lambda a: np.nanmax(a, axis=1) - np.nanmin(a, axis=1))):
        if not sw.has(name) or not late.size:
            out.append(float("nan"))
            continue
        a = np.asarray(sw.var(name)[r][late], dtype=float)
        a = np.where(np.isfinite(a), a, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out.append(_median(f(a)))
    return tuple(out)


def ics_cosine(sw, r):
    """Median of ics_cos over probe steps t > 0 and measured layers 2..L (layer 1's
    cosine is 1 by definition)."""
    late = _late_probes(sw)
    if not sw.has("ics_cos") or not late.size:
        return float("nan")
    a = np.asarray(sw.var("ics_cos")[r][late], dtype=float)[:, 1:]
    return _median(a)


def plateau_probes(sw, r):
    """(probe steps t > 0 where run r is on its initial plateau, all probe steps t > 0)."""
    p = np.asarray(sw.coords.get("probe", []))
    late = [int(x) for x in p[p > 0]]
    return [t for t in late if on_plateau(sw, r, t)], late


# -- seed statistics ------------------------------------------------------------------
@dataclass
class Spread:
    median: float
    lo: float
    hi: float
    n: int

    def __str__(self):
        if self.n == 0:
            return "-"
        if self.n == 1:
            return _fmt(self.median)
        return "%s [%s-%s]" % (_fmt(self.median), _fmt(self.lo), _fmt(self.hi))


def _fmt(x):
    if not np.isfinite(x):
        return "nan"
    return "%.3g" % x if abs(x) < 1000 else "%.4g" % x


def spread(values):
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if not v.size:
        return Spread(float("nan"), float("nan"), float("nan"), 0)
    return Spread(float(np.median(v)), float(v.min()), float(v.max()), int(v.size))


# -- the claims -----------------------------------------------------------------------
class _Cells:
    """Per (lr, norm) of one setting: the run indices (one per seed) and their numbers."""

    def __init__(self, sw, idx):
        self.sw = sw
        self.lrs = sorted(sw.values("lr", idx))
        self.norms = sw.values("norm", idx)
        self.runs = {}
        for r in idx:
            key = (groups.lr_key(sw.runs["lr"][r]), str(sw.runs["norm"][r]))
            self.runs.setdefault(key, []).append(int(r))
        self._cache = {}
        self.metric = ("final training accuracy" if any(
            np.isfinite(_finite_or_nan(sw, "train_acc", r)) for r in idx if sw.has("train_acc"))
            else "fraction of the initial loss removed")

    def get(self, lr, norm):
        return self.runs.get((groups.lr_key(lr), norm), [])

    def stat(self, lr, norm, what):
        """Spread over seeds of a per-run number: 'acc', 'gc', 'range', 'ics'."""
        key = (groups.lr_key(lr), norm, what)
        if key not in self._cache:
            vals = []
            for r in self.get(lr, norm):
                if what == "acc":
                    vals.append(training_score(self.sw, r))
                elif what == "ics":
                    vals.append(ics_cosine(self.sw, r))
                else:
                    gc, rg = landscape_numbers(self.sw, r)
                    vals.append(gc if what == "gc" else rg)
            self._cache[key] = spread(vals)
        return self._cache[key]

    def plain_trains(self, lr):
        s = self.stat(lr, "none", "acc")
        return s.n > 0 and s.median >= TRAINS_ACC


def _no_data(text, why):
    return Check(text, NO_DATA, why)


def _claim1(c):
    out = []
    for lr in c.lrs:
        text = "lr %g: noisy BN's %s within %g of BN's" % (lr, c.metric, SAME_ACC)
        nb, bn = c.stat(lr, "noisy_batch", "acc"), c.stat(lr, "batch", "acc")
        if not nb.n or not bn.n:
            out.append(_no_data(text, "needs noisy_batch and batch runs at this lr"))
            continue
        d = abs(nb.median - bn.median)
        out.append(Check(text, HOLDS if d <= SAME_ACC else FAILS,
                         "noisy BN %s, BN %s, |diff| %.3f" % (nb, bn, d),
                         {"noisy_batch": nb, "batch": bn, "diff": d}))
    return out


def _claim2(c):
    out = []
    for lr in c.lrs:
        text = "lr %g: BN's median ICS cosine not above the plain net's" % lr
        bn, pl = c.stat(lr, "batch", "ics"), c.stat(lr, "none", "ics")
        if not bn.n or not pl.n:
            out.append(_no_data(text, "needs batch and none runs with ICS data at this lr"))
            continue
        out.append(Check(text, HOLDS if bn.median <= pl.median else FAILS,
                         "cos(G, G'): BN %s, none %s (1 = no shift)" % (bn, pl),
                         {"batch": bn, "none": pl}))
    return out


def _smoother(c, norm, label):
    """At every lr where the plain net trains: norm's gradient change (and, for BN,
    loss range) below the plain net's."""
    out = []
    for lr in c.lrs:
        if not c.plain_trains(lr):
            continue
        whats = (("gc", "max-over-eta gradient change"),) if norm != "batch" else (
            ("gc", "max-over-eta gradient change"), ("range", "loss range over eta"))
        for what, name in whats:
            text = "lr %g (plain net trains): %s's median %s below the plain net's" % (
                lr, label, name)
            a, pl = c.stat(lr, norm, what), c.stat(lr, "none", what)
            if not a.n or not pl.n:
                out.append(_no_data(text, "needs %s and none runs with landscape data" % norm))
                continue
            ratio = a.median / pl.median if pl.median else float("nan")
            plateau = _plateau_note(c, lr)
            out.append(Check(text, HOLDS if a.median < pl.median else FAILS,
                             "%s %s, none %s (ratio %.2f)%s" % (label, a, pl, ratio, plateau),
                             {norm: a, "none": pl, "ratio": ratio}))
    return out


def _plateau_note(c, lr):
    n_pl, n_all = 0, 0
    for r in c.get(lr, "none"):
        pl, late = plateau_probes(c.sw, r)
        n_pl, n_all = n_pl + len(pl), n_all + len(late)
    return "; none on its initial plateau at %d of %d probes" % (n_pl, n_all) if n_pl else ""


def _claim3(c):
    out = _smoother(c, "batch", "BN")
    if not any(c.plain_trains(lr) for lr in c.lrs):
        out.append(_no_data("BN smoother where the plain net trains",
                            "the plain net trains (%s >= %g) at no lr" % (c.metric, TRAINS_ACC)))
    lr = c.lrs[-1] if c.lrs else None
    text = "largest lr %s: the plain net diverges or trains clearly worse, BN trains" % (
        "%g" % lr if lr is not None else "-")
    pl, bn = (c.stat(lr, "none", "acc"), c.stat(lr, "batch", "acc")) if lr else (None, None)
    if lr is None or not pl.n or not bn.n:
        out.append(_no_data(text, "needs none and batch runs"))
        return out
    div = [r for r in c.get(lr, "none") if str(c.sw.runs["status"][r]) == "diverged"]
    worse = bn.median - pl.median >= CLEARLY_WORSE
    ok = bn.median >= TRAINS_ACC and (worse or len(div) == len(c.get(lr, "none")))
    out.append(Check(text, HOLDS if ok else FAILS,
                     "%s: none %s%s, BN %s" % (c.metric,
                         pl, " (%d diverged)" % len(div) if div else "", bn),
                     {"none": pl, "batch": bn, "diverged": len(div)}))
    return out


def _claim4(c):
    out = []
    lps = [n for n in LP_NORMS if n in c.norms]
    if not lps:
        return [_no_data("l1/l2/linf like BN", "no l1, l2 or linf runs")]
    for norm in lps:
        for lr in c.lrs:
            text = "lr %g: %s's %s within %g of BN's" % (lr, norm, c.metric, SAME_ACC)
            a, bn = c.stat(lr, norm, "acc"), c.stat(lr, "batch", "acc")
            if not a.n or not bn.n:
                out.append(_no_data(text, "needs %s and batch runs at this lr" % norm))
                continue
            d = abs(a.median - bn.median)
            out.append(Check(text, HOLDS if d <= SAME_ACC else FAILS,
                             "%s %s, BN %s, |diff| %.3f" % (norm, a, bn, d),
                             {norm: a, "batch": bn, "diff": d}))
        out += _smoother(c, norm, norm)
    return out


TITLES = {1: "Noisy BN trains like BN (BN's benefit is not from controlling the "
             "activation distributions)",
          2: "BN does not reduce internal covariate shift (gradient-change definition)",
          3: "BN makes the landscape smoother and tolerates larger learning rates",
          4: "l_p normalizations (l1, l2, linf) behave like BN"}


def evaluate(sw):
    """All claims for every setting of the file: a list of Claim."""
    out = []
    for setting, idx in groups.settings(sw):
        c = _Cells(sw, idx)
        for k, fn in ((1, _claim1), (2, _claim2), (3, _claim3), (4, _claim4)):
            out.append(Claim(k, TITLES[k], setting, fn(c)))
    return out


# -- output ---------------------------------------------------------------------------
def rows(claims):
    """The claims table as rows of strings: claim, check, verdict, numbers (header first)."""
    out = [["claim", "check", "verdict", "numbers (median over seeds [min-max])"]]
    for cl in claims:
        name = "%d. %s%s%s" % (cl.number, cl.title, " (%s)" % cl.setting if cl.setting else "",
                               " [%d seeds]" % cl.seeds if cl.seeds > 1 else "")
        for i, ch in enumerate(cl.checks):
            out.append([name if i == 0 else "", ch.text, ch.verdict, ch.numbers])
    return out


def text(claims, path=""):
    """Plain-text rendering for a terminal."""
    lines = []
    if path:
        lines.append("%s: the paper's claims (definitions: docs/experiments.md)" % path)
    for cl in claims:
        lines.append("")
        lines.append("Claim %d: %s%s -> %s%s" % (
            cl.number, cl.title, " [%s]" % cl.setting if cl.setting else "",
            cl.verdict.upper(), " (%d seeds)" % cl.seeds if cl.seeds > 1 else ""))
        for ch in cl.checks:
            lines.append("  %-7s %s" % (ch.verdict, ch.text))
            lines.append("          %s" % ch.numbers)
    n = {v: sum(cl.verdict == v for cl in claims) for v in (HOLDS, FAILS, NO_DATA)}
    lines.append("")
    lines.append("summary: %d claim(s) hold, %d fail, %d without data" % (
        n[HOLDS], n[FAILS], n[NO_DATA]))
    return lines


def markdown(claims):
    out = ["| claim | check | verdict | numbers (median over seeds [min-max]) |",
           "|---|---|---|---|"]
    for row in rows(claims)[1:]:
        row = [v.replace("|", "\\|") for v in row]
        row[2] = "**%s**" % row[2] if row[2] == FAILS else row[2]
        out.append("| " + " | ".join(row) + " |")
    return out


def html_table(claims, esc):
    out = ['<table class="claims"><tr>%s</tr>' % "".join(
        '<th class="l">%s</th>' % esc(h) for h in rows(claims)[0])]
    for row in rows(claims)[1:]:
        cls = {HOLDS: "v-holds", FAILS: "v-fails", NO_DATA: "v-nodata"}[row[2]]
        out.append('<tr><td class="l">%s</td><td class="l">%s</td><td class="l %s">%s</td>'
                   '<td class="l">%s</td></tr>' % (esc(row[0]), esc(row[1]), cls, esc(row[2]),
                                                   esc(row[3])))
    out.append("</table>")
    return "".join(out)
