"""Time of one regularizer loss evaluation relative to one forward pass of the zinc encoder.

For a batch of 500 codes in d = 56 (the zinc setting of docs/protocols.md §2) and K in {1, 10, 100}
prior components, measure the GMM-KS loss (eq. 7 + eq. 8, weighted; forward and backward to the
codes) and, for comparison, the baselines' terms; the baseline of every ratio is one forward pass of
the zinc Grammar-VAE encoder (conv 9x9, 9x9, 10x11 over one-hot (500, 277, 76), dense 435, latent 56:
:class:`lsbo.models.networks.SequenceEncoder`) on the same batch, measured in the same run.

    python benchmarks/regularizer_speed.py [--device auto] [--repeats 20] [--threads N] [--append benchmarks/SPEED.md]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch

from lsbo.device import resolve_device
from lsbo.models.networks import SequenceEncoder
from lsbo.regularizers import build_regularizer, sum_terms

ZINC_LENGTH, ZINC_PRODUCTIONS = 277, 76


def interleaved_minimum_seconds(
    steps: dict[str, Callable[[], object]], device: torch.device, repeats: int, warmup: int = 3
) -> dict[str, float]:
    """Minimum wall time of every step over ``repeats`` rounds, the steps interleaved in each round.

    On a machine shared with other jobs, interleaving exposes baseline and losses to the same load,
    and the minimum (as in :mod:`timeit`) is the least disturbed estimate of each step's own cost.
    """

    def synchronise() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for step in steps.values():
        for _ in range(warmup):
            step()
    synchronise()
    best = {label: float("inf") for label in steps}
    for _ in range(repeats):
        for label, step in steps.items():
            start = time.perf_counter()
            step()
            synchronise()
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--latent-dim", type=int, default=56)
    parser.add_argument("--components", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 avoids oversubscription on a shared machine).")
    parser.add_argument("--machine", default=None, help="Machine description for the results table.")
    parser.add_argument("--append", type=Path, default=None, help="Append the markdown block to this file.")
    args = parser.parse_args()

    device = resolve_device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n, d = args.batch_size, args.latent_dim

    encoder = SequenceEncoder(ZINC_PRODUCTIONS, ZINC_LENGTH, (9, 9, 10), (9, 9, 11), 435, d).to(device).eval()
    symbols = torch.randint(0, ZINC_PRODUCTIONS, (n, ZINC_LENGTH), device=device)
    one_hot = torch.nn.functional.one_hot(symbols, ZINC_PRODUCTIONS).float()

    def encoder_forward() -> object:
        with torch.no_grad():
            return encoder(one_hot)

    steps: dict[str, Callable[[], object]] = {"encoder": encoder_forward}

    def add_regularizer(label: str, name: str, **options: object) -> None:
        if name == "gmm":
            options = {"n_weight_batches": 10, **options}  # the weights' accuracy does not change the timing
        reg = build_regularizer(name, d, batch_size=n, **options).to(device).train()
        width = reg.n_encoder_outputs * d
        codes = torch.randn(n, width, device=device, requires_grad=True)

        def step() -> object:
            codes.grad = None
            out = reg(codes)
            sum_terms(out.terms, like=out.z).backward()
            return out

        steps[label] = step

    for k in args.components:
        add_regularizer(f"gmm (KS + CV), K = {k}", "gmm", n_components=k)
    for k in args.components:
        add_regularizer(f"gmm, KS term only, K = {k}", "gmm", n_components=k, use_cv=False)
    for name in ("vae", "rae", "wae"):
        add_regularizer(name, name)

    seconds = interleaved_minimum_seconds(steps, device, args.repeats)
    encoder_seconds = seconds.pop("encoder")
    rows = list(seconds.items())

    machine = args.machine or f"{platform.processor() or platform.machine()}, {device}"
    if device.type == "cuda":
        machine = args.machine or f"{torch.cuda.get_device_name(device)}"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### Regularizer loss time vs. zinc encoder forward ({device.type})",
        "",
        f"Command: `python benchmarks/regularizer_speed.py --device {args.device} --repeats {args.repeats}"
        f"{'' if args.threads is None else f' --threads {args.threads}'}`; "
        f"date {stamp}; machine: {machine}; torch {torch.__version__}.",
        f"Batch {n}, d = {d}; loss = forward + backward to the codes; minimum of {args.repeats} interleaved rounds.",
        f"Baseline: zinc encoder forward (one-hot ({n}, {ZINC_LENGTH}, {ZINC_PRODUCTIONS})), {encoder_seconds * 1e3:.2f} ms in this run.",
        "",
        "| loss | time / encoder forward |",
        "| --- | --- |",
    ]
    lines += [f"| {label} | {value / encoder_seconds:.3f} |" for label, value in rows]
    block = "\n".join(lines) + "\n"
    print(block)
    if args.append is not None:
        with args.append.open("a", encoding="utf-8") as handle:
            handle.write("\n" + block)


if __name__ == "__main__":
    main()
