#!/usr/bin/python3
"""h5same.py A.h5 B.h5 - are two normsweep results files the same sweep result?

Compares every dataset bitwise (NaN equals NaN) except the ones that measure
time or placement, which legitimately differ between executions:
wall_s, train_s, probe_s, probe_s_total, eval_s (timings), rank (who ran it),
and the root attributes created_utc, blas_threads, mpi_version and history
(the CF audit trail: `run --extend` records there what it kept).
Prints the differences and exits 1 if there are any, 0 if the files agree.
"""
import sys

import h5py
import numpy as np

SKIP = {"wall_s", "train_s", "probe_s", "probe_s_total", "eval_s", "rank"}


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def same(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":  # bitwise: NaN payloads and -0.0 count
        u = f"u{a.dtype.itemsize}"
        return np.array_equal(np.ascontiguousarray(a).view(u), np.ascontiguousarray(b).view(u))
    return np.array_equal(a, b)


def main(pa, pb):
    diffs = []
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        da, db = datasets(fa), datasets(fb)
        for name in sorted(set(da) | set(db)):
            if name.split("/")[-1] in SKIP:
                continue
            if name not in da or name not in db:
                diffs.append(f"{name}: only in {'A' if name in da else 'B'}")
                continue
            a, b = da[name][()], db[name][()]
            if not same(np.asarray(a), np.asarray(b)):
                diffs.append(f"{name}: values differ")
        for k in sorted(set(fa.attrs) | set(fb.attrs)):
            if k in ("created_utc", "blas_threads", "mpi_version", "history"):
                continue
            if k not in fa.attrs or k not in fb.attrs or str(fa.attrs[k]) != str(fb.attrs[k]):
                diffs.append(f"attribute {k} differs")
    for d in diffs:
        print(d)
    print(f"h5same: {pa} vs {pb}: {'same' if not diffs else f'{len(diffs)} difference(s)'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
