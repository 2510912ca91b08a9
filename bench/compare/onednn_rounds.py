#!/usr/bin/env python3
"""FastRnn against oneDNN, alternating rounds, the same statistic on both sides.

Usage: onednn_rounds.py ONEDNN_BENCH [--threads N] [--rounds R] [--seconds S] [--statistic median|best] [--per-shape]
       [--shapes 0,4,5]

ONEDNN_BENCH is the binary that ../shared/anchors/onednn/run.sh builds (a measuring tool, not part of FastRnn). Each
round runs it (OMP_NUM_THREADS=N) and then FastRnn's `targets --tsv --threads N`, back to back (--per-shape: one shape
at a time). Both report the same statistic per shape and cell (--statistic: medians, or the best of 5 repetitions'
mean); this script keeps, per side, the best of those figures over the rounds. On a
shared VM a neighbour can slow one side's whole run (two-thread runs most: every barrier waits for a descheduled
vCPU), and best-of-rounds for both sides compares the two at their undisturbed speed.

Cells: oneDNN's rnn (tanh), lstm and lbr_gru (PyTorch's GRU) against Elman, Lstm and Gru.
Prints ratios of throughput, FastRnn / oneDNN: above 1, FastRnn is faster.
"""
import argparse
import os
import subprocess
import sys

GATES = {"Elman": 1, "Lstm": 4, "Gru": 3}
ONEDNN_CELLS = {"rnn": "Elman", "lstm": "Lstm", "lbr_gru": "Gru"}
HEADER = ["T", "B", "I", "H", "cell", "fwd_ms", "step_ms"]
# The performance issue's shapes (T, B, I, H) in FastRnn's order (QuickTable.TargetShapes: `targets --shape N`) and in
# the order of the oneDNN benchmark's shape argument (rnn_bench.cpp), which differs. Until this mapping, --per-shape
# passed the same index to both, so for indices 2-5 the two sides of a round ran different shapes (every row still got
# both sides' figures, from rounds a few shapes apart).
SHAPES = [(64, 16, 64, 128), (256, 32, 128, 256), (512, 64, 256, 512), (1024, 16, 128, 128), (100, 1, 32, 64), (25, 1, 65, 100)]
ONEDNN_SHAPES = [(64, 16, 64, 128), (256, 32, 128, 256), (100, 1, 32, 64), (25, 1, 65, 100), (512, 64, 256, 512), (1024, 16, 128, 128)]


def onednn_round(binary, threads, seconds, statistic, shape=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [binary, str(seconds)] + ([] if shape is None else [str(ONEDNN_SHAPES.index(SHAPES[shape]))])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        if not line.startswith("("):
            continue
        f = line.split()
        if f[1] not in ONEDNN_CELLS:
            continue
        t, b, i, h = (int(v) for v in f[0].strip("()").split(","))
        # Columns: shape cell fwd_ms fwd_GF/s fwdbwd_ms fb_GF/s fwd_med fb_med ...: fwd_ms and fwdbwd_ms are the best of
        # 5 repetitions' mean call times, *_med the median repetition.
        rows[(t, b, i, h, ONEDNN_CELLS[f[1]])] = (float(f[2]), float(f[4])) if statistic == "best" else (float(f[6]), float(f[7]))
    if shape is not None and {key[:4] for key in rows} != {SHAPES[shape]}:
        raise SystemExit(f"oneDNN's benchmark ran {sorted({key[:4] for key in rows})} for shape {SHAPES[shape]}: "
                         "its shape order changed; update ONEDNN_SHAPES")
    return rows


def fastrnn_round(repo, threads, seconds, statistic, shape=None):
    cmd = ["dotnet", "run", "-c", "Release", "--no-build", "--project", os.path.join(repo, "bench", "FastRnn.Bench"), "--",
           "targets", "--tsv", "--threads", str(threads)]
    if shape is not None:
        cmd += ["--shape", str(shape)]
    if statistic == "best":
        cmd += ["--best", "--seconds", str(seconds)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows, started = {}, False
    for line in out.splitlines():
        fields = line.split("\t")
        if not started:
            started = fields == HEADER
            continue
        if len(fields) == len(HEADER):
            t, b, i, h = (int(v) for v in fields[:4])
            rows[(t, b, i, h, fields[4])] = (float(fields[5]), float(fields[6]))
    if shape is not None and {key[:4] for key in rows} != {SHAPES[shape]}:
        raise SystemExit(f"FastRnn's targets ran {sorted({key[:4] for key in rows})} for shape {SHAPES[shape]}: update SHAPES")
    return rows


def keep_best(best, rows):
    for key, (fwd, step) in rows.items():
        old = best.get(key)
        best[key] = (fwd, step) if old is None else (min(old[0], fwd), min(old[1], step))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("onednn_bench")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--statistic", choices=["median", "best"], default="median",
                        help="median: both sides' median (FastRnn: median call; oneDNN: median of 5 repetitions); "
                             "best: both sides' best of 5 repetitions of --seconds / 5 each (oneDNN's own statistic)")
    parser.add_argument("--per-shape", action="store_true",
                        help="alternate the two sides shape by shape (R rounds of one shape, then the next) instead of "
                             "whole runs: the two sides of a row are then measured minutes apart at most, not tens of minutes")
    parser.add_argument("--shapes", type=lambda text: [int(x) for x in text.split(",")],
                        help="only these shapes (0-based, comma-separated), shape by shape as with --per-shape")
    args = parser.parse_args()
    if args.shapes is not None and any(not 0 <= shape < len(SHAPES) for shape in args.shapes):
        parser.error(f"--shapes: each shape must be in 0..{len(SHAPES) - 1}")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run(["dotnet", "build", "-c", "Release", os.path.join(repo, "bench", "FastRnn.Bench"), "-nologo", "-v", "q"],
                   check=True, stdout=sys.stderr)
    # Build servers left running would share the cores with the measurement.
    subprocess.run(["dotnet", "build-server", "shutdown"], check=False, capture_output=True)
    ours, theirs = {}, {}
    shapes = args.shapes if args.shapes is not None else range(len(SHAPES)) if args.per_shape else [None]
    for shape in shapes:
        for r in range(args.rounds):
            where = "" if shape is None else f" shape {shape}"
            print(f"round {r + 1}/{args.rounds}{where}: oneDNN...", file=sys.stderr)
            keep_best(theirs, onednn_round(args.onednn_bench, args.threads, args.seconds, args.statistic, shape))
            print(f"round {r + 1}/{args.rounds}{where}: FastRnn...", file=sys.stderr)
            keep_best(ours, fastrnn_round(repo, args.threads, args.seconds, args.statistic, shape))

    what = "medians" if args.statistic == "median" else "best-of-5-repetitions"
    order = "shape by shape" if args.per_shape or args.shapes is not None else "whole runs"
    print(f"FastRnn vs oneDNN, {args.threads} thread(s), best of {args.rounds} alternating rounds ({order}) of {what}; "
          "GFLOP/s: forward 2*T*B*G*H*(I+H), step (forward + BPTT incl. dX) 3x; ratio = FastRnn / oneDNN throughput")
    print("\t".join(["T", "B", "I", "H", "cell", "fwd_GF/s", "onednn_fwd_GF/s", "fwd_ratio", "step_GF/s", "onednn_step_GF/s", "step_ratio"]))
    for key in ours:
        if key not in theirs:
            continue
        t, b, i, h, cell = key
        flops = 2.0 * t * b * GATES[cell] * h * (i + h) * 1e-6
        (f, s), (of, os_) = ours[key], theirs[key]
        print("\t".join([str(t), str(b), str(i), str(h), cell, f"{flops / f:.1f}", f"{flops / of:.1f}", f"{of / f:.2f}",
                         f"{3 * flops / s:.1f}", f"{3 * flops / os_:.1f}", f"{os_ / s:.2f}"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
