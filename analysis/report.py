"""report.py - a results file -> a directory with PNG figures, index.html and report.md.

    /usr/bin/python3 -m analysis report results.h5 -o report/

The page is plain HTML + CSS (no scripts, no external URLs), so it opens from disk, from
a cluster's file share or as a CI artifact. Figures the file has no data for are listed
with the reason instead of being drawn empty; a running or killed sweep gives a report of
what is there.
"""
import html
import os

import numpy as np

from . import claims as claims_mod
from . import figures
from .load import read_sweep, SCHEMA_VERSION
from .status import counts, progress

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1250px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
figure { margin: 1em 0 2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; max-width: 60em; }
.note { color: #8a5a00; } pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
.s-done { color: #1a7f37; } .s-running { color: #0b5cad; } .s-pending { color: #777; }
.s-diverged, .s-failed { color: #b31d28; font-weight: bold; } .s-stopped { color: #8a5a00; }
table.claims td { vertical-align: top; } .v-holds { color: #1a7f37; font-weight: bold; }
.v-fails { color: #b31d28; font-weight: bold; } .v-nodata { color: #777; }
"""

RUN_TABLE = (  # (header, column or callable, format)
    ("run", "run", "d"), ("lr", "lr", "g"), ("arch", "arch", "s"), ("norm", "norm", "s"),
    ("seed", "seed", "d"), ("status", "status", "s"), ("progress", "progress", "s"),
    ("final train loss", "final_train_loss", ".4g"), ("final train acc", "final_train_acc", ".4f"),
    ("final test acc", "final_test_acc", ".4f"), ("diverged step", "diverged_step", "d"),
    ("wall s", "wall_s", ".1f"), ("message", "message", "s"),
)
TEXT_COLUMNS = ("arch", "norm", "status", "message")  # left-aligned in the HTML table


def _cell(v, fmt):
    if fmt == "s":
        return str(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(f) or (fmt == "d" and f < 0):
        return "-"  # unwritten (NaN) or "none" (-1)
    return format(int(f), "d") if fmt == "d" else format(f, fmt)


def run_rows(sw):
    """The run table as rows of strings (header first)."""
    done, total = progress(sw)
    rows = [[h for h, _, _ in RUN_TABLE]]
    for r in range(sw.nrun):
        row = []
        for _, col, fmt in RUN_TABLE:
            if col == "run":
                v = sw.coords["run"][r]
            elif col == "progress":
                v = "%d/%s" % (done[r], _cell(total[r], "d"))
            else:
                v = sw.runs[col][r] if col in sw.runs else np.nan
            row.append(_cell(v, fmt))
        rows.append(row)
    return rows


def _provenance(sw):
    a = sw.attrs
    keys = ("spec_name", "data", "created_utc", "normsweep_version", "git_commit",
            "hdf5_version", "mpi_version", "blas_kernel", "blas_threads")
    return [(k, str(a[k])) for k in keys if k in a]


def _html(sw, plots, title, rows, claims):
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>%s</title>" % e(title), "<style>%s</style></head><body>" % CSS,
           "<h1>%s</h1>" % e(title)]
    out.append("<h2>The paper's claims</h2>")
    out.append("<p>Verdicts on this file's runs; definitions (steps, medians, thresholds) "
               "in docs/experiments.md. Numbers: median over seeds [min-max].</p>")
    out.append(claims_mod.html_table(claims, e))
    out.append("<h2>File</h2>")
    out.append("<p>File <code>%s</code> (schema version %d). Runs: %s.</p>" % (
        e(os.path.abspath(sw.path)), SCHEMA_VERSION,
        e(", ".join("%s %d" % kv for kv in counts(sw).items()))))
    out.append("<table>%s</table>" % "".join(
        '<tr><th class="l">%s</th><td class="l">%s</td></tr>' % (e(k), e(v))
        for k, v in _provenance(sw)))
    drawn = [p for p in plots if p.fig is not None]
    skipped = [p for p in plots if p.fig is None]
    out.append("<h2>Figures</h2>")
    for p in drawn:
        out.append('<figure id="%s"><h3>%s</h3><img src="%s.png" alt="%s">'
                   "<figcaption>%s%s</figcaption></figure>" % (
                       e(p.name), e(p.title), e(p.name), e(p.title), e(p.caption),
                       "" if not p.note else ' <span class="note">%s</span>' % e(p.note)))
    if skipped:
        out.append("<h2>Figures not drawn</h2><ul>")
        out += ['<li class="note"><b>%s</b>: %s</li>' % (e(p.title), e(p.note)) for p in skipped]
        out.append("</ul>")
    out.append("<h2>Runs</h2><table><tr>%s</tr>" % "".join(
        '<th class="l">%s</th>' % e(h) if h in TEXT_COLUMNS
        else "<th>%s</th>" % e(h) for h in rows[0]))
    si = rows[0].index("status")
    for row in rows[1:]:
        tds = []
        for i, v in enumerate(row):
            cls = "l" if rows[0][i] in TEXT_COLUMNS else ""
            if i == si:
                cls += " s-" + "".join(c for c in v if c.isalnum())
            tds.append('<td class="%s">%s</td>' % (cls.strip(), e(v)))
        out.append("<tr>%s</tr>" % "".join(tds))
    out.append("</table>")
    out.append("<h2>Sweep spec</h2><pre>%s</pre>" % e(str(sw.attrs.get("spec_text", "(none)"))))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _md(sw, plots, title, rows, claims):
    out = ["# " + title, "", "## The paper's claims", "",
           "Verdicts on this file's runs; definitions (steps, medians, thresholds) in "
           "docs/experiments.md. Numbers: median over seeds [min-max].", ""]
    out += claims_mod.markdown(claims) + [""]
    out += ["File `%s` (schema version %d). Runs: %s." % (
        os.path.abspath(sw.path), SCHEMA_VERSION,
        ", ".join("%s %d" % kv for kv in counts(sw).items())), ""]
    out += ["- %s: %s" % kv for kv in _provenance(sw)] + ["", "## Figures", ""]
    for p in plots:
        if p.fig is not None:
            out += ["### " + p.title, "", "![%s](%s.png)" % (p.title, p.name), "",
                    p.caption + ((" " + p.note) if p.note else ""), ""]
    skipped = [p for p in plots if p.fig is None]
    if skipped:
        out += ["## Figures not drawn", ""] + ["- **%s**: %s" % (p.title, p.note)
                                               for p in skipped] + [""]
    esc = [[v.replace("|", "\\|") for v in row] for row in rows]
    out += ["## Runs", "", "| " + " | ".join(esc[0]) + " |",
            "|" + "|".join("---" for _ in esc[0]) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in esc[1:]]
    out += ["", "## Sweep spec", "", "```yaml", str(sw.attrs.get("spec_text", "")).rstrip(),
            "```", ""]
    return "\n".join(out)


def write_report(path, outdir, act_layers=None, ics_layers=None, unit=0, dpi=90):
    """Write outdir/{index.html, report.md, <figure>.png}. Returns the list of Plots
    (drawn and skipped), each with its data, for callers and tests."""
    sw = read_sweep(path)
    os.makedirs(outdir, exist_ok=True)
    plots = figures.all_figures(sw, act_layers=act_layers, ics_layers=ics_layers, unit=unit)
    for p in plots:
        if p.fig is not None:
            p.fig.savefig(os.path.join(outdir, p.name + ".png"), dpi=dpi)
    title = "normsweep report: %s" % sw.attrs.get("spec_name", os.path.basename(sw.path))
    rows = run_rows(sw)
    cl = claims_mod.evaluate(sw)
    for fname, text in (("index.html", _html(sw, plots, title, rows, cl)),
                        ("report.md", _md(sw, plots, title, rows, cl))):
        tmp = os.path.join(outdir, fname + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, os.path.join(outdir, fname))
    return plots
