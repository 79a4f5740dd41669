#!/usr/bin/env python3
"""make_bad_clip.py POINTS.h5 OUT.h5 CLIP: copies a point file and sets the magnitude of one
point of clip CLIP (an index into /clips) to NaN, as a corrupt disk or a buggy writer might.
`innmf train` must then fail on the rank that owns that clip alone, yet end every rank alike."""
import os
import shutil
import sys

import h5py
import numpy as np

points, out, clip = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
shutil.copyfile(points, out)
with h5py.File(out, "r+") as f:
    offset, count = int(f["clips/offset"][clip]), int(f["clips/count"][clip])
    f["points/m"][offset + count // 2] = np.nan
print(f"{out}: clip {clip} point {count // 2} set to NaN")
