"""Time of one BO iteration (surrogate fit + batch acquisition [+ candidate decoding]) against the
number of training points, exact vs sparse GP (docs/protocols.md §4).

Inputs are synthetic latents (a smooth function of standard-normal points, the shape of the encoded
data) unless ``--model DIR`` is given, in which case the model's training strings are encoded and
scored by ``--target`` and decoding time (``--attempts`` per point) is included. Prints a markdown
table; ratios are against the smallest sparse run of the same invocation.

    python benchmarks/bo_iteration_speed.py --sizes 1000 10000 24000 --kinds exact sparse --dim 56
"""

from __future__ import annotations

import argparse
import time

import torch

from lsbo.bo.acquisition import AcquisitionOptions, propose_batch
from lsbo.bo.candidates import decode_candidates
from lsbo.bo.surrogates import SparseTraining, fit_surrogate


def synthetic(n: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    y = torch.sin(x[:, 0]) + 0.5 * x[:, 1] - 0.3 * (x[:, 2] ** 2) + 0.1 * torch.randn(n, generator=g)
    return x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 24000])
    parser.add_argument("--kinds", nargs="+", default=["exact", "sparse"])
    parser.add_argument("--dim", type=int, default=56)
    parser.add_argument("--q", type=int, default=50)
    parser.add_argument("--inducing", type=int, default=500)
    parser.add_argument("--exact-max", type=int, default=10000, help="skip exact GPs above this size (memory/time)")
    parser.add_argument("--model", default=None, help="a trained model directory: real latents and decoding")
    parser.add_argument("--target", default="expr")
    parser.add_argument("--attempts", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = objective = None
    if args.model:
        from lsbo.models import load_model
        from lsbo.objectives import build_objective

        model = load_model(args.model, device=args.device)
        objective = build_objective(args.target, model=model)

    print("| points | surrogate | fit s | acquisition s | decode s | iteration s | ratio vs first sparse | held-out RMSE |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    baseline = None
    for n in args.sizes:
        if model is not None:
            from lsbo.bo.loop import prepare_initial_data

            initial = prepare_initial_data(model, objective, max_points=n, seed=0)
            x, y = initial.latents.double(), initial.scores if objective.maximize else -initial.scores
        else:
            x, y = synthetic(n, args.dim, seed=0)
        x, y = x.to(args.device), y.to(args.device)
        for kind in args.kinds:
            if kind == "exact" and n > args.exact_max:
                print(f"| {n} | exact | not run (above --exact-max {args.exact_max}) | | | | | |", flush=True)
                continue
            start = time.perf_counter()
            fit = fit_surrogate(x, y, kind, n_inducing=args.inducing, seed=0, sparse_training=SparseTraining())
            fitted = time.perf_counter()
            batch = propose_batch(fit, float(y.max()), args.q, AcquisitionOptions(), seed=0)
            proposed = time.perf_counter()
            if model is not None:
                decode_candidates(model, batch.float(), attempts=args.attempts, is_valid=objective.is_valid,
                                  generator=torch.Generator(device=model.device).manual_seed(0))
            done = time.perf_counter()
            total = done - start
            if kind == "sparse" and baseline is None:
                baseline = total
            ratio = f"{total / baseline:.2f}" if baseline else "-"
            decode = f"{done - proposed:.1f}" if model is not None else "not timed"
            print(f"| {len(x)} | {fit.kind} | {fitted - start:.1f} | {proposed - fitted:.1f} | {decode} | {total:.1f} | {ratio} | {fit.test_rmse:.4f} |", flush=True)


if __name__ == "__main__":
    main()
