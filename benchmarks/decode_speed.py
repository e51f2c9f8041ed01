"""Speed of the batched masked decoder against a per-sample Python stack decoder.

Both decode the same random logits ``(N, T, P)`` greedily with the grammar's stack machine (the
Grammar VAE's decoding; :mod:`lsbo.grammar.decoding`), in both modes of ``masked_decode``: plain
masking (``complete=False``, Kusner et al.) and length-aware masking (``complete=True``, the default,
which only allows productions whose derivation can still finish within ``T`` steps). The baseline of
each mode is the straightforward implementation: for every sample, for every step, pop the top
non-terminal, mask that step's logits with its row of allowed productions (and, length-aware, drop
the productions whose stack would need more steps than are left), take numpy's argmax, push the
production's right-hand-side non-terminals. The script checks that each mode gives production indices
and completeness flags identical to its baseline and prints the speed ratios (baseline time /
vectorised time, measured in the same run), both by wall clock and by CPU time of the process; on a
shared machine the CPU-time ratio is the steadier one (on CUDA only the wall-clock ratio means
anything). The last column compares the length-aware decoder's time with the plain one's.

Usage::

    python benchmarks/decode_speed.py                     # batch 1,000, zinc grammar, CPU (+ CUDA if present)
    python benchmarks/decode_speed.py --grammar expr --batch 5000 --device cpu
    python benchmarks/decode_speed.py --logits data      # logits like a trained decoder's (real molecules)
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass

import numpy as np
import torch

from lsbo.grammar import Grammar, GrammarTables
from lsbo.grammar.decoding import masked_decode


@dataclass
class Timing:
    label: str
    seconds: float  # wall clock, best of the repeats
    cpu_seconds: float  # CPU time of this process (all its threads), best of the repeats
    matches: bool  # identical indices and completeness to the baseline


def per_sample_decode(
    logits: np.ndarray, tables: GrammarTables, length_aware: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The straightforward decoder: a Python list as the stack, one numpy argmax per sample and step.

    ``length_aware``: at step ``t`` also mask the productions after which the stack's total minimum
    derivation length would exceed the ``T - t - 1`` steps left.
    """
    masks = tables.masks().numpy()
    pushes = [list(reversed(rhs)) for rhs in tables.rhs_nonterminals]
    shortest = tables.min_derivation_length
    # Change of the stack's total minimum derivation length per production (its LHS is the top).
    delta = np.array(
        [tables.rhs_min_length[p] - shortest[a] if a >= 0 and ok else 0 for p, (a, ok) in enumerate(zip(tables.lhs, tables.usable))]
    )
    n, steps, _ = logits.shape
    indices = np.full((n, steps), tables.padding, dtype=np.int64)
    complete = np.zeros(n, dtype=bool)
    for i in range(n):
        stack = [tables.start]
        pending = shortest[tables.start]
        for t in range(steps):
            if not stack:
                break
            top = stack.pop()
            allowed = masks[top] & (pending + delta <= steps - t - 1) if length_aware else masks[top]
            production = int(np.argmax(np.where(allowed, logits[i, t], -np.inf)))
            indices[i, t] = production
            stack.extend(pushes[production])
            pending += delta[production]
        complete[i] = not stack
    return indices, complete


def dataset_derivations(grammar: Grammar, count: int) -> torch.Tensor:
    """Production indices ``(count, T)`` of the first strings of the grammar's dataset in the shared data."""
    from lsbo.settings import shared_data_dir

    name = {"zinc": "zinc250k_subset.smi", "expr": "equation2_15_dataset.txt"}.get(grammar.name)
    if name is None:
        raise SystemExit(f"--logits data needs the zinc or expr grammar, not {grammar.name}")
    with open(shared_data_dir() / name, encoding="utf-8") as handle:
        lines = [line.strip() for _, line in zip(range(count), handle)]
    strings = [line.split()[0] for line in lines] if grammar.name == "zinc" else lines
    encoded = grammar.encode(strings)
    if len(strings) < count or not encoded.ok.all():
        raise SystemExit(f"{name}: fewer than {count} parseable strings")
    return torch.as_tensor(encoded.indices)


def time_masked_decode(
    logits: torch.Tensor, tables: GrammarTables, repeats: int, sample: bool, length_aware: bool
) -> tuple[float, float, torch.Tensor, torch.Tensor]:
    """Best wall-clock and CPU times of ``repeats`` runs (after a warm-up run that builds the device tables)."""
    generator = torch.Generator(device=logits.device).manual_seed(0) if sample else None
    indices, complete = masked_decode(logits, tables, sample=sample, generator=generator, complete=length_aware)
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        if logits.is_cuda:
            torch.cuda.synchronize(logits.device)
        wall, cpu = time.perf_counter(), time.process_time()
        indices, complete = masked_decode(logits, tables, sample=sample, generator=generator, complete=length_aware)
        if logits.is_cuda:
            torch.cuda.synchronize(logits.device)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, indices, complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grammar", default="zinc", help="built-in grammar name or grammar file (default zinc)")
    parser.add_argument("--batch", type=int, default=1000, help="number of logit sequences (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of the vectorised decoder (best kept)")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all", help="where to run masked_decode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument(
        "--logits",
        choices=["random", "data"],
        default="random",
        help="random: standard normal logits (most derivations never finish); data: logits favouring the "
        "derivations of the dataset's first N strings (4 x one-hot + standard normal noise), like a trained decoder's",
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    grammar = Grammar.resolve(args.grammar)
    tables = grammar.tables
    generator = torch.Generator().manual_seed(args.seed)
    logits = torch.randn(args.batch, grammar.max_length, grammar.n_productions, generator=generator)
    if args.logits == "data":
        logits += 4.0 * torch.nn.functional.one_hot(dataset_derivations(grammar, args.batch), grammar.n_productions)
    print(
        f"grammar {grammar.name}: N={args.batch}, T={grammar.max_length}, P={grammar.n_productions}, "
        f"{args.logits} logits; "
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {platform.processor() or platform.machine()}"
    )

    devices = ["cpu"] if args.device in ("all", "cpu") else []
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            devices.append("cuda")
        elif args.device == "cuda":
            raise SystemExit("--device cuda: CUDA is not available")

    modes = {"plain": False, "length-aware": True}
    baselines: dict[str, tuple[float, float]] = {}
    timings: dict[tuple[str, str], Timing] = {}  # (mode, decoder label) -> timing
    for mode, length_aware in modes.items():
        wall, cpu = time.perf_counter(), time.process_time()
        expected, expected_complete = per_sample_decode(logits.numpy(), tables, length_aware=length_aware)
        baselines[mode] = (time.perf_counter() - wall, time.process_time() - cpu)
        print(
            f"{mode}: per-sample Python decoder (numpy argmax): {baselines[mode][0]:.3f} s wall, "
            f"{baselines[mode][1]:.3f} s CPU ({int(expected_complete.sum())}/{args.batch} complete)"
        )
        for device in devices:
            on_device = logits.to(device)
            seconds, cpu_seconds, indices, complete = time_masked_decode(
                on_device, tables, args.repeats, sample=False, length_aware=length_aware
            )
            matches = bool(
                np.array_equal(indices.cpu().numpy(), expected)
                and np.array_equal(complete.cpu().numpy(), expected_complete)
            )
            label = f"masked_decode greedy ({device})"
            timings[mode, label] = Timing(label, seconds, cpu_seconds, matches)
            sample_seconds, sample_cpu, _, sampled_complete = time_masked_decode(
                on_device, tables, args.repeats, sample=True, length_aware=length_aware
            )
            label = f"masked_decode sampling ({device})"
            timings[mode, label] = Timing(label, sample_seconds, sample_cpu, True)
            print(f"  {mode} sampling on {device}: {int(sampled_complete.sum())}/{args.batch} complete")

    print()
    print(
        "| mode | decoder | wall s | ratio (wall) | CPU s | ratio (CPU) | identical to per-sample "
        "| time vs plain (wall / CPU) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode in modes:
        baseline, baseline_cpu = baselines[mode]
        plain_baseline, plain_baseline_cpu = baselines["plain"]
        print(
            f"| {mode} | per-sample Python stack decoder | {baseline:.3f} | 1x | {baseline_cpu:.3f} | 1x | - | "
            f"{baseline / plain_baseline:.2f} / {baseline_cpu / plain_baseline_cpu:.2f} |"
        )
        for (timing_mode, label), timing in timings.items():
            if timing_mode != mode:
                continue
            plain = timings["plain", label]
            identical = "n/a (sampled)" if "sampling" in label else ("yes" if timing.matches else "NO")
            cpu_ratio = f"{baseline_cpu / timing.cpu_seconds:.1f}x" if "(cpu)" in label else "-"
            print(
                f"| {mode} | {label} | {timing.seconds:.4f} | {baseline / timing.seconds:.1f}x | "
                f"{timing.cpu_seconds:.4f} | {cpu_ratio} | {identical} | "
                f"{timing.seconds / plain.seconds:.2f} / {timing.cpu_seconds / plain.cpu_seconds:.2f} |"
            )
    if not all(t.matches for t in timings.values()):
        raise SystemExit("vectorised and per-sample decoders disagree")

if __name__ == "__main__":
    main()
