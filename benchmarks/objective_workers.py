"""Bounded objective calls (lsbo.objectives.isolation): throughput against in-process scoring, and the cost per call.

An expensive objective is modelled by one that waits (as for an external docking program or a remote
service): ``--seconds`` per string, no CPU. The same strings are scored in this process (the baseline)
and then with ``--objective-workers`` 1, 2, 4, ... child processes; a cheap objective (string length)
gives the fixed cost of one isolated call (a fork, a pipe, a reap). Ratios are against the baseline of
the same run.

    nice -n 10 python benchmarks/objective_workers.py --strings 16 --seconds 0.25 --workers 1,2,4,8
"""

from __future__ import annotations

import argparse
import time

from lsbo.objectives import evaluate_safely
from lsbo.objectives.isolation import evaluate_isolated
from lsbo.objectives.user import objective_from_callable


def make_waiting(seconds: float):
    def waiting(string: str) -> float:
        time.sleep(seconds)  # stands for an external program: wall time, no CPU in this process
        return float(len(string))

    return waiting


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strings", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=0.25)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--cheap-strings", type=int, default=200)
    args = parser.parse_args()
    strings = [f"s{i}" for i in range(args.strings)]
    waiting = objective_from_callable(make_waiting(args.seconds))
    baseline = _timed(lambda: evaluate_safely(waiting, strings))
    print("| scoring | wall s | speed vs in-process |\n| --- | --- | --- |")
    print(f"| in process (baseline) | {baseline:.2f} | 1.00x |")
    for workers in (int(w) for w in args.workers.split(",")):
        seconds = _timed(lambda workers=workers: evaluate_isolated(waiting, strings, workers=workers, timeout=60.0))
        print(f"| {workers} child process(es) | {seconds:.2f} | {baseline / seconds:.2f}x |")
    cheap = objective_from_callable(len)
    many = [f"s{i}" for i in range(args.cheap_strings)]
    in_process = _timed(lambda: evaluate_safely(cheap, many)) / len(many)
    isolated = _timed(lambda: evaluate_isolated(cheap, many, workers=1, timeout=60.0)) / len(many)
    print(f"\ncost of one call of a cheap objective: in process {in_process * 1e6:.1f} µs, "
          f"isolated {isolated * 1e3:.2f} ms ({len(many)} calls, 1 worker)")


if __name__ == "__main__":
    main()
