"""python3 -m analysis {report,status} - the command line.

Exit codes (as normsweep's, docs/cli.md): 0 success; 1 runtime failure (I/O);
2 bad command line or a file that is not a normsweep schema-1 results file.
"""
import argparse
import sys

from .load import ResultsFileError


def _ints(text):
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, got %r" % text)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m analysis",
                                 description="Figures, report and status of a normsweep "
                                             "results file (docs/analysis.md).")
    sub = ap.add_subparsers(dest="cmd", metavar="{report,status}")
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
    args = ap.parse_args(argv)

    try:
        if args.cmd == "status":
            from .load import read_sweep
            from .status import summary
            print("\n".join(summary(read_sweep(args.file), show_all=args.all)))
        else:
            import os
            from .report import write_report
            plots = write_report(args.file, args.out, act_layers=args.act_layers,
                                 ics_layers=args.ics_layers, unit=args.unit, dpi=args.dpi)
            drawn = sum(p.fig is not None for p in plots)
            print("%s: %d figures, %d not drawn (no data)" % (
                os.path.join(args.out, "index.html"), drawn, len(plots) - drawn))
    except ResultsFileError as e:
        print("analysis: error: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("analysis: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
