"""Training speed of the paper-sized sequence models (docs/protocols.md §2) on this CPU.

For the ZINC and expression Grammar VAEs at the ``paper`` preset, measures sequences per second of a
full training step (one-hot, encoder, regularizer, decoder, grammar-masked cross-entropy, backward,
Adam update) on real data, with the GMM-KS regularizer and, as the baseline measured in the same
run, the plain autoencoder (``ae``: the same network without a regularizer). Reports the ratio
(GMM-KS speed relative to the baseline), the torch thread count, and the process's peak resident memory.

Times are CPU seconds of this process (``time.process_time``), not wall-clock, so that other jobs
on a shared machine do not enter the figures; with ``--threads 1`` (the default here) CPU time is
the single-core cost of a step.

    nice -n 10 python benchmarks/train_speed.py [--batch-size 64] [--steps 5] [--threads 1] [--markdown]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from lsbo.data import load_strings
from lsbo.grammar import Grammar
from lsbo.models import GrammarCodec, build_autoencoder, model_config
from lsbo.settings import shared_data_dir

DATASETS = {"zinc": "zinc250k_subset.smi", "expr": "equation2_15_dataset.txt"}


def batch_indices(name: str, grammar: Grammar, batch_size: int) -> torch.Tensor:
    source = load_strings(name, data=shared_data_dir() / DATASETS[name], limit=4 * batch_size)
    encoded = grammar.encode(source.strings)
    rows = np.flatnonzero(encoded.ok)[:batch_size]
    return torch.from_numpy(encoded.indices[rows])


def steps_per_second(name: str, regularizer: str, batch_size: int, steps: int) -> float:
    grammar = Grammar.builtin(name)
    config = model_config("paper", "molecules" if name == "zinc" else "expressions", regularizer=regularizer)
    torch.manual_seed(0)
    model = build_autoencoder(GrammarCodec(grammar), config, batch_size=batch_size, rec_weight=1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    indices = batch_indices(name, grammar, batch_size)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        model.compute_losses(indices).total.backward()
        optimizer.step()

    step()  # warm-up (allocations, lazy initialisation)
    started = time.process_time()
    for _ in range(steps):
        step()
    return steps * len(indices) / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (CPU time then sums over threads)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in ("expr", "zinc"):
        gmm = steps_per_second(name, "gmm", args.batch_size, args.steps)
        ae = steps_per_second(name, "ae", args.batch_size, args.steps)
        rows.append((name, gmm, ae))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.markdown:
        print(f"batch {args.batch_size}, {args.steps} timed steps after one warm-up, {torch.get_num_threads()} torch thread(s), CPU time\n")
        print("| model (paper preset) | GMM-KS seq/s | AE baseline seq/s | GMM-KS / AE |")
        print("| --- | --- | --- | --- |")
        for name, gmm, ae in rows:
            print(f"| {name} | {gmm:.1f} | {ae:.1f} | {gmm / ae:.2f} |")
        print(f"\npeak resident memory of the process: {peak_mib:.0f} MiB")
    else:
        for name, gmm, ae in rows:
            print(f"{name}: gmm {gmm:.1f} seq/s, ae {ae:.1f} seq/s, ratio {gmm / ae:.2f}")
        print(f"threads {torch.get_num_threads()}, peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
