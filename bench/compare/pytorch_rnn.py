#!/usr/bin/python3.11
# PyTorch's CPU timings for the same shapes, cells and statistic as FastRnn's `targets --tsv` bench, for bench/compare.
# PyTorch is only a measuring tool here, never a dependency of FastRnn or its tests.
import os

# Single-threaded BLAS/OpenMP before torch loads (run.sh sets these as well).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse
import statistics
import time

import torch

SHAPES = [(64, 16, 64, 128), (256, 32, 128, 256), (512, 64, 256, 512), (1024, 16, 128, 128), (100, 1, 32, 64), (25, 1, 65, 100)]
CELLS = [
    ("Elman", lambda i, h: torch.nn.RNN(i, h, num_layers=1, nonlinearity="tanh", batch_first=False)),
    ("Lstm", lambda i, h: torch.nn.LSTM(i, h, num_layers=1, batch_first=False)),
    ("Gru", lambda i, h: torch.nn.GRU(i, h, num_layers=1, batch_first=False)),
]


def median_seconds(action, warmup, budget):
    """Warm up for `warmup` seconds, then the median of enough runs for ~`budget` seconds (at least 5)."""
    start = time.perf_counter()
    while time.perf_counter() - start < warmup:
        action()
    start = time.perf_counter()
    action()
    once = max(time.perf_counter() - start, 1e-6)
    repetitions = min(max(int(budget / once), 5), 2000)
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shape", type=int, default=-1, help="only shape N (0-based)")
    parser.add_argument("--quick", action="store_true", help="shorter timing")
    args = parser.parse_args()
    warmup, budget = (0.1, 0.08) if args.quick else (0.3, 0.25)

    torch.set_num_threads(1)
    torch.manual_seed(1)
    print("T\tB\tI\tH\tcell\tfwd_ms\tstep_ms", flush=True)
    for index, (t, b, i, h) in enumerate(SHAPES):
        if args.shape >= 0 and index != args.shape:
            continue
        for name, make in CELLS:
            layer = make(i, h).float()
            # Training forward: autograd on, x requires grad (saves what backward needs, like FastRnn's forward).
            x = (torch.rand(t, b, i) * 2 - 1).requires_grad_(True)
            d_output = torch.rand(t, b, h) * 2 - 1

            def forward():
                layer(x)

            def step():
                for p in layer.parameters():
                    p.grad = None
                x.grad = None
                output, _ = layer(x)
                (output * d_output).sum().backward()

            fwd = median_seconds(forward, warmup, budget)
            stp = median_seconds(step, warmup, budget)
            print(f"{t}\t{b}\t{i}\t{h}\t{name}\t{fwd * 1e3:.4f}\t{stp * 1e3:.4f}", flush=True)


if __name__ == "__main__":
    main()
