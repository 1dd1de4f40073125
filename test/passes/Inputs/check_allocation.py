"""Checks a target-bpw allocation against brute force over measured errors.

usage: check_allocation.py TARGET_BPW MIXED_REPORT_DIR REPORT_DIR_PER_FORMAT...

Each REPORT_DIR_PER_FORMAT is a `report=` folder of the same model quantized
with one format everywhere: its report.json gives every tensor's measured
error and bytes at that format. Every combination of those formats over the
tensors the mixed report chose for is tried; the mixed report's choice must
fit the budget and reach the least summed error (relative or output, as
the mixed report says it minimized) among those that fit.
Prints one line per tensor and a verdict for FileCheck.
"""
import itertools
import json
import os
import sys


def load(folder):
    with open(os.path.join(folder, "report.json")) as f:
        return json.load(f)


def main():
    target = float(sys.argv[1])
    mixed = load(sys.argv[2])
    per_format = [load(d) for d in sys.argv[3:]]
    # What the allocation minimized (report.json's "sensitivity").
    key = ("relative_error" if mixed["sensitivity"] == "relative"
           else "weighted_error")
    chosen = [t for t in mixed["tensors"] if t["weighted_error"] is not None]
    fixed = mixed["tensor_bytes"] - sum(t["bytes"] for t in chosen)
    budget = int(target * mixed["parameters"] / 8) - fixed
    options = []
    for t in chosen:
        row = []
        for report in per_format:
            other = next(o for o in report["tensors"] if o["tensor"] == t["tensor"])
            row.append((other["format"], other["bytes"], other[key]))
        options.append(row)
    best = None
    for combo in itertools.product(*options):
        size = sum(c[1] for c in combo)
        cost = sum(c[2] for c in combo)
        if size <= budget and (best is None or cost < best[0] - 1e-12):
            best = (cost, combo)
    got = sum(t[key] for t in chosen)
    size = sum(t["bytes"] for t in chosen)
    for t in chosen:
        print(f"{t['tensor']} {t['format']}")
    bpw = 8 * mixed["tensor_bytes"] / mixed["parameters"]
    print(f"within budget: {size <= budget and bpw <= target}")
    ok = best is not None and abs(got - best[0]) <= 1e-6 * max(1.0, best[0])
    print("optimal" if ok else f"not optimal: {got} vs brute force {best}")


if __name__ == "__main__":
    main()
