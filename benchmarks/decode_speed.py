"""Speed of the batched masked decoder against a per-sample Python stack decoder.

Both decode the same random logits ``(N, T, P)`` greedily with the grammar's stack machine (the
Grammar VAE's decoding; :mod:`lsbo.grammar.decoding`). The baseline is the straightforward
implementation: for every sample, for every step, pop the top non-terminal, mask that step's logits
with its row of allowed productions, take numpy's argmax, push the production's right-hand-side
non-terminals. The script checks that both give identical production indices and completeness flags
and prints the speed ratios (baseline time / vectorised time, measured in the same run), both by wall
clock and by CPU time of the process; on a shared machine the CPU-time ratio is the steadier one (on
CUDA only the wall-clock ratio means anything).

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


def per_sample_decode(logits: np.ndarray, tables: GrammarTables) -> tuple[np.ndarray, np.ndarray]:
    """The straightforward decoder: a Python list as the stack, one numpy argmax per sample and step."""
    masks = tables.masks().numpy()
    pushes = [list(reversed(rhs)) for rhs in tables.rhs_nonterminals]
    n, steps, _ = logits.shape
    indices = np.full((n, steps), tables.padding, dtype=np.int64)
    complete = np.zeros(n, dtype=bool)
    for i in range(n):
        stack = [tables.start]
        for t in range(steps):
            if not stack:
                break
            top = stack.pop()
            production = int(np.argmax(np.where(masks[top], logits[i, t], -np.inf)))
            indices[i, t] = production
            stack.extend(pushes[production])
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
    logits: torch.Tensor, tables: GrammarTables, repeats: int, sample: bool = False
) -> tuple[float, float, torch.Tensor, torch.Tensor]:
    """Best wall-clock and CPU times of ``repeats`` runs (after a warm-up run that builds the device tables)."""
    generator = torch.Generator(device=logits.device).manual_seed(0) if sample else None
    indices, complete = masked_decode(logits, tables, sample=sample, generator=generator)
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        if logits.is_cuda:
            torch.cuda.synchronize(logits.device)
        wall, cpu = time.perf_counter(), time.process_time()
        indices, complete = masked_decode(logits, tables, sample=sample, generator=generator)
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

    wall, cpu = time.perf_counter(), time.process_time()
    expected, expected_complete = per_sample_decode(logits.numpy(), tables)
    baseline, baseline_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"per-sample Python decoder (numpy argmax): {baseline:.3f} s wall, {baseline_cpu:.3f} s CPU "
        f"({int(expected_complete.sum())}/{args.batch} complete)"
    )

    devices = ["cpu"] if args.device in ("all", "cpu") else []
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            devices.append("cuda")
        elif args.device == "cuda":
            raise SystemExit("--device cuda: CUDA is not available")
    timings: list[Timing] = []
    for device in devices:
        on_device = logits.to(device)
        seconds, cpu_seconds, indices, complete = time_masked_decode(on_device, tables, args.repeats)
        matches = bool(
            np.array_equal(indices.cpu().numpy(), expected) and np.array_equal(complete.cpu().numpy(), expected_complete)
        )
        timings.append(Timing(f"masked_decode greedy ({device})", seconds, cpu_seconds, matches))
        sample_seconds, sample_cpu, _, sampled_complete = time_masked_decode(on_device, tables, args.repeats, sample=True)
        timings.append(Timing(f"masked_decode sampling ({device})", sample_seconds, sample_cpu, True))
        print(f"  sampling on {device}: {int(sampled_complete.sum())}/{args.batch} complete")

    print()
    print("| decoder | wall s | ratio (wall) | CPU s | ratio (CPU) | identical to per-sample |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| per-sample Python stack decoder | {baseline:.3f} | 1x | {baseline_cpu:.3f} | 1x | - |")
    for timing in timings:
        identical = "n/a (sampled)" if "sampling" in timing.label else ("yes" if timing.matches else "NO")
        cpu_ratio = f"{baseline_cpu / timing.cpu_seconds:.1f}x" if "(cpu)" in timing.label else "-"
        print(
            f"| {timing.label} | {timing.seconds:.4f} | {baseline / timing.seconds:.1f}x | "
            f"{timing.cpu_seconds:.4f} | {cpu_ratio} | {identical} |"
        )
    if not all(t.matches for t in timings):
        raise SystemExit("vectorised and per-sample decoders disagree")


if __name__ == "__main__":
    main()
