#!/usr/bin/env python3
"""compare_f32.py A B TOL: max |A - B| of two float32 files, fails above TOL."""
import sys

import numpy as np

a = np.fromfile(sys.argv[1], dtype=np.float32)
b = np.fromfile(sys.argv[2], dtype=np.float32)
if a.shape != b.shape:
    sys.exit(f"shape mismatch: {a.shape} vs {b.shape}")
diff = float(np.abs(a - b).max())
print(f"max_abs_diff {diff:.3g} over {a.size} values")
sys.exit(0 if diff <= float(sys.argv[3]) else 1)
