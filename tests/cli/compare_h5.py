#!/usr/bin/env python3
"""compare_h5.py A.h5 B.h5: exit 0 if both files hold the same groups, datasets (shape, dtype,
values, bit for bit up to NaN == NaN) and attributes; else list the differences and exit 1.

Used where h5diff (package hdf5-tools) is not installed."""
import sys

import h5py
import numpy as np


def same_value(a, b):
    if isinstance(a, bytes):
        a = a.decode()
    if isinstance(b, bytes):
        b = b.decode()
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    return a == b


def compare(a_path, b_path):
    differences = []
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:

        def attributes(name, x, y):
            for key in sorted(set(x.attrs) | set(y.attrs)):
                if key not in x.attrs or key not in y.attrs:
                    differences.append(f"{name}: attribute {key!r} only in one file")
                elif not same_value(x.attrs[key], y.attrs[key]):
                    differences.append(f"{name}: attribute {key!r} differs: "
                                       f"{x.attrs[key]!r} vs {y.attrs[key]!r}")

        def walk(name, x, y):
            attributes(name, x, y)
            if isinstance(x, h5py.Group) != isinstance(y, h5py.Group):
                differences.append(f"{name}: a group in one file, a dataset in the other")
                return
            if isinstance(x, h5py.Group):
                for key in sorted(set(x) | set(y)):
                    child = f"{name.rstrip('/')}/{key}"
                    if key not in x or key not in y:
                        differences.append(f"{child}: only in one file")
                    else:
                        walk(child, x[key], y[key])
                return
            if x.shape != y.shape or x.dtype != y.dtype:
                differences.append(f"{name}: shape/dtype {x.shape} {x.dtype} vs {y.shape} {y.dtype}")
                return
            u, v = x[()], y[()]
            if not same_value(np.asarray(u), np.asarray(v)):
                u, v = np.asarray(u).ravel(), np.asarray(v).ravel()
                if u.dtype.kind in "fc":
                    unequal = ~((u == v) | (np.isnan(u) & np.isnan(v)))
                else:
                    unequal = u != v
                where = np.flatnonzero(unequal)
                first = where[0]
                differences.append(f"{name}: {where.size} of {u.size} values differ, first at "
                                   f"[{first}]: {u[first]!r} vs {v[first]!r}")

        walk("/", a, b)
    return differences


def main():
    if len(sys.argv) != 3:
        print("usage: compare_h5.py A.h5 B.h5", file=sys.stderr)
        return 2
    differences = compare(sys.argv[1], sys.argv[2])
    if differences:
        print(f"{sys.argv[1]} and {sys.argv[2]} differ:")
        for d in differences:
            print("  " + d)
        return 1
    print(f"identical: {sys.argv[1]} {sys.argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
