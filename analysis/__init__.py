"""normsweep analysis: read a results file, draw the paper's figures, check its claims,
write a report, load a run into PyTorch.

Importable as `analysis` from the repository root, or as `normsweep` once installed
(pip install --no-build-isolation --no-index ./analysis; docs/analysis.md):

    import normsweep                                   # or: import analysis
    runs, traces = normsweep.load("results.h5")       # pandas DataFrame, xarray Dataset
    idx = normsweep.select(runs, lr=0.1, norm=["batch", "none"])
    runs_b, traces_b = normsweep.subset(runs, traces, idx)
    sd = normsweep.state_dict("results.h5", run=3)    # {"features.0.weight": array, ...}
    m = normsweep.torch_module("results.h5", run=3)   # torch nn.Module, eval mode, with
    logits = m(m.standardize(uint8_images))           # the file's input preprocessing
    table = normsweep.claims.evaluate(normsweep.read_sweep("results.h5"))

    python3 -m normsweep report results.h5 -o report/   (python3 -m analysis in the repo)
    python3 -m normsweep claims results.h5
    python3 -m normsweep status results.h5

File format: docs/hdf5-schema.md; this package: docs/analysis.md.
"""
from . import claims, groups
from .load import (ResultsFileError, Sweep, Traces, load, read_sweep, select, state_dict,
                   subset, SCHEMA_VERSION)
from .torch_model import torch_module

__all__ = ["ResultsFileError", "Sweep", "Traces", "load", "read_sweep", "select", "state_dict",
           "subset", "SCHEMA_VERSION", "torch_module", "claims", "groups"]
