"""Text of a normsweep results file as plain h5py reads it, for the inline checks
of the shell tests and benchmarks (PYTHONPATH=<source>/tests/tools).

The store writes text as netCDF char arrays: 1-byte chars (S1) along a last
strlen<N> dim, NUL-padded (docs/hdf5-store.md). Files written before that hold
fixed-length strings, and settings are variable-length strings. analysis.load
has its own reader (read_values); the tests keep this one so that they check
that reader instead of using it."""
import numpy as np


def cells(a):
    """An array of chars (a char array or a row of one) as N-byte strings, one per
    cell of the leading dims; any other array as it is."""
    a = np.ascontiguousarray(a)
    return a.view("S%d" % a.shape[-1])[..., 0] if a.dtype == "S1" else a


def text(d):
    """Dataset d as a list over its first dim: str where it holds text (any of the
    three forms), the values otherwise."""
    a = d[()]
    if d.dtype == "S1" and d.ndim >= 2:
        a = cells(a)
    return [bytes(x).split(b"\0")[0].decode() if isinstance(x, bytes) else x for x in a]
