"""python3 -m normsweep {report,status,claims} - the command line (python3 -m analysis
from the repository root: the same code under its in-tree name).

Exit codes (as normsweep's, docs/cli.md): 0 success; 1 runtime failure (I/O), or with
`claims --check` a claim that does not hold; 2 bad command line or a file that is not a
readable normsweep schema-1 results file (missing, not HDF5, damaged, wrong schema).
Output cut short by a closed pipe (`... | head`) ends quietly with status 0.
"""
import argparse
import os
import sys

from .load import ResultsFileError

PROG = "python3 -m %s" % (__package__ or "analysis")


def _ints(text):
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, got %r" % text)


def _parser(prog):
    ap = argparse.ArgumentParser(prog=prog,
                                 description="Figures, report, claims and status of a "
                                             "normsweep results file (docs/analysis.md).")
    sub = ap.add_subparsers(dest="cmd", metavar="{report,status,claims}")
    sub.required = True
    rp = sub.add_parser("report", help="write PNG figures, index.html and report.md")
    rp.add_argument("file", help="results file (.h5)")
    rp.add_argument("-o", "--out", default="report", help="output directory (default: report)")
    rp.add_argument("--act-layers", type=_ints, default=None, metavar="M,M",
                    help="activation layers (numbers 1..M, the file's act_layer coordinate) "
                         "for the activation figures (default: at 2/12 and 10/12 of depth)")
    rp.add_argument("--ics-layers", type=_ints, default=None, metavar="L,L",
                    help="measured layers (numbers 1..L as the paper's 'layer #5') for the "
                         "ICS figure (default: at 1/3 and 3/4 of depth)")
    rp.add_argument("--unit", type=int, default=0,
                    help="tracked unit (0-based) for the activation figures (default 0)")
    rp.add_argument("--dpi", type=int, default=90, help="PNG resolution (default 90)")
    sp = sub.add_parser("status", help="print a short summary for a terminal")
    sp.add_argument("file", help="results file (.h5)")
    sp.add_argument("--all", action="store_true", help="list every run, even in big sweeps")
    cp = sub.add_parser("claims", help="check the paper's four claims (verdicts and numbers)")
    cp.add_argument("file", help="results file (.h5)")
    cp.add_argument("--check", action="store_true",
                    help="exit 1 unless every claim holds (for scripts and CI)")
    return ap


def _run(args):
    if args.cmd == "status":
        from .load import read_sweep
        from .status import summary
        print("\n".join(summary(read_sweep(args.file), show_all=args.all)))
        return 0
    if args.cmd == "claims":
        from . import claims
        from .load import read_sweep
        sw = read_sweep(args.file)
        cl = claims.evaluate(sw)
        print("\n".join(claims.text(cl, sw.path)))
        return 1 if args.check and any(c.verdict != claims.HOLDS for c in cl) else 0
    from .report import write_report
    plots = write_report(args.file, args.out, act_layers=args.act_layers,
                         ics_layers=args.ics_layers, unit=args.unit, dpi=args.dpi)
    drawn = sum(p.fig is not None for p in plots)
    print("%s: %d figures, %d not drawn (no data)" % (
        os.path.join(args.out, "index.html"), drawn, len(plots) - drawn))
    return 0


_LOADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "load.py")


def _from_reader(e):
    """Whether exception e was raised while reading the file: inside h5py, or in the
    loader (analysis/load.py) itself looking at what h5py returned - not by a figure
    or table (a bug there must show as one)."""
    frames = []
    tb = e.__traceback__
    while tb is not None:
        frames.append(os.path.abspath(tb.tb_frame.f_code.co_filename))
        tb = tb.tb_next
    h5 = "%sh5py%s" % (os.sep, os.sep)
    return any(h5 in f for f in frames) or (bool(frames) and frames[-1] == _LOADER)


def _in_process(args, prog):
    """Run the command here; map every failure to one 'error:' line and an exit code."""
    try:
        return _run(args)
    except BrokenPipeError:
        # the reader (head, less) left: not an error; keep Python from complaining again
        # when it flushes stdout at exit
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except ResultsFileError as e:
        print("%s: error: %s" % (prog, e), file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - classified below, never a traceback
        path = getattr(args, "file", "")
        if _from_reader(e) and not isinstance(e, PermissionError):
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            print("%s: error: %s: cannot read the results file (%s: %s); expected an intact "
                  "normsweep results file" % (prog, path, type(e).__name__, first),
                  file=sys.stderr)
            return 2
        if isinstance(e, OSError):
            print("%s: error: %s" % (prog, e), file=sys.stderr)
            return 1
        raise


def _guarded(args, prog):
    """Run the command in a child process: HDF5 can crash (abort, segfault) on a damaged
    file's metadata, which no Python handler can catch. The parent turns a crash into
    one 'error:' line and exit 2. The child's stdout is the caller's (pipes, head);
    its stderr is relayed, or replaced by that line after a crash (libc's own abort
    text says nothing useful)."""
    rfd, wfd = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        os.dup2(wfd, sys.stderr.fileno())
        os.close(wfd)
        code = 1
        try:
            code = _in_process(args, prog)
            sys.stdout.flush()
        except BrokenPipeError:
            code = 0
        except BaseException:  # a bug: show it as Python would, then leave
            import traceback
            traceback.print_exc()
        finally:
            try:
                sys.stderr.flush()
            finally:
                os._exit(code)
    os.close(wfd)
    err = b""
    with os.fdopen(rfd, "rb") as f:
        err = f.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        print("%s: error: %s: reading it crashed the HDF5 library (signal %d): the file is "
              "damaged; expected an intact normsweep results file" % (
                  prog, getattr(args, "file", ""), sig), file=sys.stderr)
        return 2
    if err:
        sys.stderr.buffer.write(err)
        sys.stderr.flush()
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") \
        else os.WEXITSTATUS(status)


def main(argv=None, prog=PROG):
    args = _parser(prog).parse_args(argv)
    if hasattr(os, "fork") and os.environ.get("NS_ANALYSIS_NO_FORK") != "1":
        return _guarded(args, prog)
    return _in_process(args, prog)


if __name__ == "__main__":
    sys.exit(main())
