"""Data preparation measurements: acceptance on the shared datasets, worker and cache speed-ups,
and the expression generator (speed, and its derivation-size histogram beside the paper's set).

Run from the repository root:  nice -n 10 python benchmarks/prepare_data.py [--workers 2]
Speeds are ratios against the single-process run measured in the same invocation.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter

import numpy as np

from lsbo.data.expressions import generate_expressions
from lsbo.data.prepare import prepare_dataset
from lsbo.data.sources import load_strings, read_file
from lsbo.grammar import Grammar
from lsbo.settings import shared_data_dir


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def size_histogram(indices: np.ndarray, padding: int) -> dict[int, float]:
    sizes = Counter((indices != padding).sum(axis=1).tolist())
    total = sum(sizes.values())
    return {size: round(count / total, 4) for size, count in sorted(sizes.items())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ["LSBO_CACHE_DIR"] = tempfile.mkdtemp(prefix="lsbo-bench-cache-")
    zinc, expr = Grammar.builtin("zinc"), Grammar.builtin("expr")

    molecules = read_file(shared_data_dir() / "zinc250k_subset.smi")
    serial, t_serial = timed(prepare_dataset, molecules, zinc, kind="molecules", workers=1, cache=False, progress=False)
    forked, t_fork = timed(prepare_dataset, molecules, zinc, kind="molecules", workers=args.workers, cache=True, progress=False)
    os.environ["LSBO_WORKER_START"] = "spawn"
    spawned, t_spawn = timed(prepare_dataset, molecules, zinc, kind="molecules", workers=args.workers, cache=False, progress=False)
    del os.environ["LSBO_WORKER_START"]
    cached, t_cache = timed(prepare_dataset, molecules, zinc, kind="molecules", workers=args.workers, cache=True, progress=False)
    assert cached.from_cache
    for other in (forked, spawned, cached):
        assert other.strings == serial.strings and np.array_equal(other.indices, serial.indices)
    print(f"zinc250k_subset.smi: {serial.summary['total']} rows, {serial.summary['accepted']} accepted "
          f"({100 * serial.summary['acceptance']:.2f}%), rejected {serial.summary['rejected']}")
    print(f"  1 process {t_serial:.2f}s; {args.workers} fork workers {t_fork:.2f}s (x{t_serial / t_fork:.2f}); "
          f"{args.workers} spawn workers {t_spawn:.2f}s (x{t_serial / t_spawn:.2f}); cache hit {t_cache:.2f}s (x{t_serial / t_cache:.1f})")

    expressions = load_strings("expr", data=shared_data_dir() / "equation2_15_dataset.txt")
    paper, t_expr = timed(prepare_dataset, expressions, expr, kind="expressions", workers=args.workers, cache=False, progress=False)
    print(f"equation2_15_dataset.txt: {paper.summary['total']} rows, {paper.summary['accepted']} accepted "
          f"({100 * paper.summary['acceptance']:.2f}%), rejected {paper.summary['rejected']}; {t_expr:.2f}s")

    generated, t_gen = timed(generate_expressions, expr, n=100_000, max_productions=15, seed=0)
    encoded = expr.encode(generated)
    assert encoded.ok.all() and len(set(generated)) == len(generated)
    print(f"generate_expressions(n=100000, max_productions=15): {t_gen:.2f}s, all distinct and parsed")
    print(f"  derivation sizes, generated: {size_histogram(encoded.indices, expr.padding)}")
    print(f"  derivation sizes, paper set: {size_histogram(paper.indices, expr.padding)}")


if __name__ == "__main__":
    main()
