#!/usr/bin/env python3
"""Checks that two `phi-run eval --json` results agree.

usage: ppl_agree.py NAME REFERENCE.json OURS.json TOLERANCE

Prints "NAME: perplexity A vs B, relative gap G ok" (or "FAIL") and exits
non-zero when |B - A| / A exceeds TOLERANCE.
"""
import json
import sys


def main():
    name, reference, ours, tolerance = sys.argv[1:]
    a = json.load(open(reference))["perplexity"]
    b = json.load(open(ours))["perplexity"]
    gap = abs(b - a) / a
    ok = gap <= float(tolerance)
    print(f"{name}: perplexity {a:.6f} vs {b:.6f}, relative gap {gap:.2e} "
          f"{'ok' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
