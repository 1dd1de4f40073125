"""Max |a - b| of two phi-run --logits-out files; prints 'same logits' when
it is below TOL, else the difference (and exits 1).

usage: compare_logits.py A.f32 B.f32 TOL
"""
import sys

import numpy as np

a = np.fromfile(sys.argv[1], dtype=np.float32)
b = np.fromfile(sys.argv[2], dtype=np.float32)
tol = float(sys.argv[3])
if a.shape != b.shape or a.size == 0:
    sys.exit(f"shapes differ: {a.shape} vs {b.shape}")
diff = float(np.abs(a.astype(np.float64) - b).max())
if diff < tol:
    print(f"same logits (max |diff| below {tol})")
else:
    print(f"logits differ by {diff}")
    sys.exit(1)
