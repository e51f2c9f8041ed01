"""Training speed of the sequence models on this CPU: the paper's full-length loss against the
length-following one (``lsbo.models.batching``), measured in one run.

For the ZINC Grammar VAE at the ``cpu`` and ``paper`` presets (GMM-KS regularizer), times epochs of
``--limit`` real molecules (``--paper-limit`` for the paper preset) through full training steps
(encoder, regularizer, decoder, grammar-masked cross-entropy, backward, gradient clipping, Adam) with the batches ``lsbo train``
builds, twice: ``--full-length`` (decoder over all 277 steps, uniformly random batches: the
baseline, the paper's computation) and the default (length-bucketed batches, decoder run to the longest
derivation of each batch, a second random batch for the KS/CV terms). Reports sequences per second
of each and their ratio, the mean number of decoder steps run per batch, and the process's peak
resident memory. Timing a whole epoch, not a few batches, matters: bucketed batches differ in cost.

``--ae`` adds the plain autoencoder (no regularizer, so no second batch) in length-following mode:
the cost of the GMM-KS terms and their random batch. ``--variants`` adds, for the ``cpu`` preset,
two torch threads and ``torch.compile`` of the loss (compiling takes minutes). ``--expr`` adds the
expression model (``paper`` preset; derivations of at most 15 steps).

Times are CPU seconds of this process (``time.process_time``), so that other jobs on a shared
machine do not enter the figures (with one thread, the single-core cost of a step); wall-clock
seconds are printed beside them. With two threads CPU time sums over both threads, so only the
wall-clock figure says whether the second thread helps, and only on an otherwise idle machine.

    nice -n 10 python benchmarks/train_speed.py [--limit 2048] [--paper-limit 512] [--paper-batch-size 64]
        [--repeats 2] [--threads 1] [--ae] [--variants] [--expr] [--markdown]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from lsbo.data import load_strings
from lsbo.grammar import Grammar
from lsbo.models import GrammarCodec, build_autoencoder, model_config
from lsbo.models.pipeline import training_batches
from lsbo.settings import shared_data_dir

DATASETS = {"zinc": "zinc250k_subset.smi", "expr": "equation2_15_dataset.txt"}


@dataclasses.dataclass
class Measurement:
    dataset: str
    preset: str
    mode: str  # "full-length" | "length-following" | a variant of the latter
    batch_size: int
    batches: int
    rows: int
    cpu_s: float
    wall_s: float
    mean_steps: float

    @property
    def per_second(self) -> float:
        return self.rows / self.cpu_s

    @property
    def per_wall_second(self) -> float:
        return self.rows / self.wall_s


def encoded_rows(name: str, grammar: Grammar, limit: int) -> np.ndarray:
    source = load_strings(name, data=shared_data_dir() / DATASETS[name], limit=limit)
    encoded = grammar.encode(source.strings)
    return encoded.indices[encoded.ok]


@dataclasses.dataclass
class Setup:
    """One model and its epoch of batches, ready to be timed."""

    dataset: str
    preset: str
    mode: str
    model: Any
    optimizer: Any
    batches: list
    loss: Any
    threads: int | None
    cpu_s: list[float] = dataclasses.field(default_factory=list)
    wall_s: list[float] = dataclasses.field(default_factory=list)

    def step(self, batch: Any) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.loss(batch).total.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizer.step()

    def time_epoch(self) -> None:
        previous = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            for batch in self.batches:
                self.step(batch)
            self.cpu_s.append(time.process_time() - cpu)
            self.wall_s.append(time.perf_counter() - wall)
        finally:
            torch.set_num_threads(previous)

    def measurement(self) -> Measurement:
        steps = [self.model.loss_steps(batch[0]) for batch in self.batches]
        rows = sum(len(batch[0]) for batch in self.batches)
        return Measurement(
            self.dataset, self.preset, self.mode, len(self.batches[0][0]), len(self.batches), rows,
            float(np.median(self.cpu_s)), float(np.median(self.wall_s)), float(np.mean(steps)),
        )


def make_setup(
    name: str, preset: str, indices: np.ndarray, batch_size: int, *, full_length: bool, mode: str,
    compile_loss: bool = False, threads: int | None = None, regularizer: str = "gmm",
) -> Setup:
    """Build the model and the batches ``lsbo train`` would use, and run the warm-up step(s)."""
    grammar = Grammar.builtin(name)
    family = "molecules" if name == "zinc" else "expressions"
    config = model_config(preset, family, regularizer=regularizer, batch_size=batch_size, full_length=full_length)
    model = build_autoencoder(GrammarCodec(grammar), config, batch_size=batch_size, rec_weight=1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = list(training_batches(indices, model, config))
    loss = torch.compile(model.compute_losses, dynamic=True) if compile_loss else model.compute_losses
    setup = Setup(name, preset, mode, model, optimizer, batches, loss, threads)
    setup.step(batches[0])  # warm-up (allocations, lazy initialisation; compilation for `compile`)
    if compile_loss:  # the other batch lengths, so that no timed step compiles
        for batch in batches[1:]:
            setup.step(batch)
    return setup


def measure(setups: list[Setup], repeats: int) -> list[Measurement]:
    """Time every setup's epoch ``repeats`` times, interleaved (so that a change of load on a shared
    machine affects every mode alike); the median epoch of each counts."""
    for _ in range(repeats):
        for setup in setups:
            setup.time_epoch()
    return [setup.measurement() for setup in setups]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2048, help="molecules of the ZINC subset in a timed epoch (cpu preset)")
    parser.add_argument("--paper-limit", type=int, default=512, help="molecules in a timed epoch of the paper preset")
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs per mode, interleaved; the median counts")
    parser.add_argument("--cpu-batch-size", type=int, default=None, help="default: the cpu preset's (128)")
    parser.add_argument("--paper-batch-size", type=int, default=64, help="the paper preset's is 500; smaller keeps the run short")
    parser.add_argument("--presets", default="cpu,paper")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (CPU time then sums over threads)")
    parser.add_argument("--variants", action="store_true", help="also torch.compile and 2 threads (cpu preset)")
    parser.add_argument("--expr", action="store_true", help="also the expression model (paper preset)")
    parser.add_argument("--ae", action="store_true", help="also the plain autoencoder (length-following): the cost of GMM-KS")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results: list[Measurement] = []
    zinc = encoded_rows("zinc", Grammar.builtin("zinc"), max(args.limit, args.paper_limit))
    for preset in args.presets.split(","):
        rows = zinc[: args.paper_limit if preset == "paper" else args.limit]
        batch_size = args.paper_batch_size if preset == "paper" else (args.cpu_batch_size or model_config("cpu", "molecules").batch_size)
        setups = [
            make_setup("zinc", preset, rows, batch_size, full_length=True, mode="full-length"),
            make_setup("zinc", preset, rows, batch_size, full_length=False, mode="length-following"),
        ]
        if args.ae:
            setups.append(make_setup("zinc", preset, rows, batch_size, full_length=False, mode="length-following, ae regularizer", regularizer="ae"))
        if args.variants and preset == "cpu":
            setups.append(make_setup("zinc", preset, rows, batch_size, full_length=False, mode="length-following, 2 threads", threads=2))
            setups.append(make_setup("zinc", preset, rows, batch_size, full_length=False, mode="length-following + torch.compile", compile_loss=True))
        results += measure(setups, args.repeats)
    if args.expr:
        expr = encoded_rows("expr", Grammar.builtin("expr"), 4 * args.limit)
        batch_size = model_config("paper", "expressions").batch_size
        setups = [
            make_setup("expr", "paper", expr, batch_size, full_length=True, mode="full-length"),
            make_setup("expr", "paper", expr, batch_size, full_length=False, mode="length-following"),
        ]
        results += measure(setups, args.repeats)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    baselines = {(m.dataset, m.preset): m for m in results if m.mode == "full-length"}
    if args.markdown:
        print(f"median of {args.repeats} interleaved epochs per row over the first {args.limit} (cpu preset) or "
              f"{args.paper_limit} (paper preset) ZINC-subset molecules, after one warm-up step; GMM-KS unless the "
              f"mode says otherwise; {args.threads} torch thread(s) unless the mode says otherwise; CPU time "
              f"(wall-clock beside it)\n")
        print("| data, preset | mode | batch | batches | mean decoder steps | seq/s (CPU) | seq/s (wall) | speed-up vs full-length (CPU) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for m in results:
            base = baselines[(m.dataset, m.preset)]
            print(f"| {m.dataset}, {m.preset} | {m.mode} | {m.batch_size} | {m.batches} | {m.mean_steps:.0f} | "
                  f"{m.per_second:.1f} | {m.per_wall_second:.1f} | {m.per_second / base.per_second:.2f}x |")
        print(f"\npeak resident memory of the process: {peak_mib:.0f} MiB")
    else:
        for m in results:
            base = baselines[(m.dataset, m.preset)]
            print(f"{m.dataset} {m.preset} {m.mode}: batch {m.batch_size}, {m.batches} batches, {m.mean_steps:.0f} steps, "
                  f"{m.per_second:.1f} seq/s CPU ({m.per_wall_second:.1f} wall), x{m.per_second / base.per_second:.2f}", flush=True)
        print(f"threads {torch.get_num_threads()}, peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
