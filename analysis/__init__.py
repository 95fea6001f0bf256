"""normsweep analysis: read a results file, draw the paper's figures, write a report.

    import analysis
    runs, traces = analysis.load("results.h5")        # pandas DataFrame, xarray Dataset
    idx = analysis.select(runs, lr=0.1, norm=["batch", "none"])
    runs_b, traces_b = analysis.subset(runs, traces, idx)
    sd = analysis.state_dict("results.h5", run=3)    # {"features.0.weight": array, ...}

    /usr/bin/python3 -m analysis report results.h5 -o report/
    /usr/bin/python3 -m analysis status results.h5

File format: docs/hdf5-schema.md; this package: docs/analysis.md.
"""
from .load import (ResultsFileError, Sweep, Traces, load, read_sweep, select, state_dict,
                   subset, SCHEMA_VERSION)

__all__ = ["ResultsFileError", "Sweep", "Traces", "load", "read_sweep", "select", "state_dict",
           "subset", "SCHEMA_VERSION"]
