#!/usr/bin/python3
"""Python torchinit.init_ against torch.nn.init, side by side in one process (issue 15, item 6).

Each row fills the same preallocated N x N float32 tensor (touched before timing) with
torchinit.init_ (torchinit's Philox streams, the op library) and with the torch.nn.init
function of the same distribution, alternating, and reports the medians of --repeat runs after
one untimed run of each, and their ratio (torch.nn.init's time / torchinit's). The targets at
8192 x 8192 and 2 threads: at least 5x for uniform and normal, 10x for trunc_normal.

Run by `make bench` with the build tree's op library; by hand:
  PYTHONPATH=python TORCHINIT_OPS_LIBRARY=build/release/src/ops/libtorchinit_ops.so \\
    /usr/bin/python3 bench/python_init_bench.py --size 8192 --threads 2
"""
import argparse
import json
import math
import platform
import statistics
import sys
import time

import torch
from torch import nn

import torchinit

# (row, torchinit spec, torch.nn.init call, target ratio or None)
CASES = [
    ("uniform(-1, 1)", "uniform(a=-1, b=1)", lambda t: nn.init.uniform_(t, -1, 1), 5),
    ("normal(std=0.02)", "normal(std=0.02)", lambda t: nn.init.normal_(t, std=0.02), 5),
    ("trunc_normal(std=0.02, a=-0.04, b=0.04)", "trunc_normal(std=0.02, a=-0.04, b=0.04)",
     lambda t: nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04), 10),
    ("kaiming_uniform(a=sqrt(5)) (nn.Linear's default)", "kaiming_uniform(a=2.23606797749979)",
     lambda t: nn.init.kaiming_uniform_(t, a=math.sqrt(5)), None),
    ("xavier_normal", "xavier_normal", nn.init.xavier_normal_, None),
]


def median_ms(fn, tensor, repeat):
    fn(tensor)  # untimed
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(tensor)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=8192, help="N of the N x N float32 tensor")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per row (median)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    args = parser.parse_args()
    if args.size < 1 or args.threads < 1 or args.repeat < 1:
        parser.error("--size, --threads and --repeat must be >= 1")

    torch.set_num_threads(args.threads)
    t = torch.empty(args.size, args.size)
    t.fill_(0)  # first touch of the pages, outside the timings
    print(f"torch {torch.__version__}, {args.threads} threads, {args.size}x{args.size} float32, "
          f"medians of {args.repeat} runs, {platform.processor() or platform.machine()}",
          flush=True)
    print(f"{'operation':<48} {'torch.nn.init ms':>16} {'torchinit ms':>12} {'ratio':>7} target")
    rows = []
    for name, spec, reference, target in CASES:
        ours = median_ms(lambda x: torchinit.init_(x, spec, seed=1, key="w"), t, args.repeat)
        theirs = median_ms(reference, t, args.repeat)
        ratio = theirs / ours
        verdict = "" if target is None else f">= {target}x {'met' if ratio >= target else 'MISSED'}"
        print(f"{name:<48} {theirs:>16.1f} {ours:>12.1f} {ratio:>6.1f}x {verdict}", flush=True)
        rows.append({"operation": name, "spec": spec, "torch_ms": theirs, "torchinit_ms": ours,
                     "ratio": ratio, "target": target})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "threads": args.threads, "size": args.size,
                       "repeat": args.repeat, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
