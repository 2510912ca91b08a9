#!/usr/bin/env python3
"""Combines FastRnn's and PyTorch's TSV timings (T B I H cell fwd_ms step_ms) into one table.
Usage: combine.py FASTRNN.tsv PYTORCH.tsv. Lines before the header (build noise) are skipped."""
import sys

GATES = {"Elman": 1, "Lstm": 4, "Gru": 3}
HEADER = ["T", "B", "I", "H", "cell", "fwd_ms", "step_ms"]


def read(path):
    rows, started = {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\r\n").split("\t")
            if not started:
                started = fields == HEADER
                continue
            if len(fields) != len(HEADER) or fields == HEADER:
                continue
            t, b, i, h = (int(v) for v in fields[:4])
            rows[(t, b, i, h, fields[4])] = (float(fields[5]), float(fields[6]))
    return rows


def main():
    ours, theirs = read(sys.argv[1]), read(sys.argv[2])
    head = (f"{'shape (T, B, I, H)':<22} {'cell':<6} | {'FastRnn fwd ms':>14} {'step ms':>9} {'fwd GF/s':>9} {'step GF/s':>9}"
            f" | {'PyTorch fwd ms':>14} {'step ms':>9} {'fwd GF/s':>9} {'step GF/s':>9} | {'fwd ratio':>9} {'step ratio':>10}")
    print(head)
    print("-" * len(head))
    missing = 0
    for key in list(ours) + [k for k in theirs if k not in ours]:
        t, b, i, h, cell = key
        flops = 2.0 * t * b * GATES[cell] * h * (i + h)
        cols = []
        for rows in (ours, theirs):
            if key in rows:
                f, s = rows[key]
                cols.append(f"{f:14.3f} {s:9.3f} {flops / f * 1e-6:9.1f} {3 * flops / s * 1e-6:9.1f}")
            else:
                missing += 1
                cols.append(f"{'n/a':>14} {'n/a':>9} {'n/a':>9} {'n/a':>9}")
        if key in ours and key in theirs:
            ratio = f"{ours[key][0] / theirs[key][0]:9.2f} {ours[key][1] / theirs[key][1]:10.2f}"
        else:
            ratio = f"{'n/a':>9} {'n/a':>10}"
        print(f"{f'({t}, {b}, {i}, {h})':<22} {cell:<6} | {cols[0]} | {cols[1]} | {ratio}")
    print("ratio = FastRnn time / PyTorch time (lower is better for FastRnn); GFLOP/s: forward 2*T*B*G*H*(I+H), step 3x")
    return 1 if missing or not ours else 0


if __name__ == "__main__":
    sys.exit(main())
