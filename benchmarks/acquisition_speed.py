"""Time of the protocol's batch acquisition on a sparse GP: the cached posterior against GPyTorch's.

The protocol maximises batch (log-)EI for q points by sequential greedy L-BFGS over a sparse
variational GP with 500 inducing points (docs/protocols.md §4). GPyTorch evaluates that GP's posterior
by refactorising the inducing covariance for every batch element of every call;
``lsbo.bo.cached_posterior.CachedVariationalGP`` computes the inducing-point algebra once per fit
(the same posterior, to rounding). This script fits one sparse GP to synthetic latents of the given
shape (a smooth function of standard-normal points, as ``bo_iteration_speed.py`` uses), then runs
``propose_batch`` with each posterior from the same seed in one process and prints both times, their
ratio, and the joint qLogEI of each proposed batch under the same acquisition (the sequential
optimisation is path-dependent, so the batches differ after the first point; their values say
whether either is worse)::

    python benchmarks/acquisition_speed.py --points 22000 --dim 56 --q 50
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=22000, help="training latents of the GP")
    parser.add_argument("--dim", type=int, default=56, help="latent dimension")
    parser.add_argument("--q", type=int, default=50, help="batch size")
    parser.add_argument("--inducing", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for flag, value in (("--points", args.points), ("--dim", args.dim), ("--q", args.q), ("--inducing", args.inducing), ("--threads", args.threads)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    from lsbo.bo.acquisition import AcquisitionOptions, build_acquisition, propose_batch
    from lsbo.bo.surrogates import box_bounds, fit_surrogate

    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.points, args.dim, generator=generator, dtype=torch.float64)
    y = torch.sin(x[:, :5]).sum(1) + 0.1 * torch.randn(args.points, generator=generator, dtype=torch.float64)
    started = time.perf_counter()
    fit = fit_surrogate(x, y, "sparse", bounds=box_bounds(x), n_inducing=args.inducing, seed=args.seed)
    print(f"sparse GP on {args.points} x {args.dim}, {args.inducing} inducing points: fit {time.perf_counter() - started:.1f} s")
    options = AcquisitionOptions()
    best = float(y.max())
    # the GPyTorch posterior: for its run, build_acquisition's acquisition_model() is replaced by the
    # identity, so the acquisition evaluates the fitted variational GP itself (the code before the cache)
    import lsbo.bo.acquisition as acquisition_module

    batches, seconds = {}, {}
    for name in ("gpytorch", "cached"):
        original = acquisition_module.acquisition_model
        if name == "gpytorch":
            acquisition_module.acquisition_model = lambda model: model  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            batches[name] = propose_batch(fit, best, args.q, options, seed=args.seed)
            seconds[name] = time.perf_counter() - started
        finally:
            acquisition_module.acquisition_model = original
        print(f"{name}: acquisition of q = {args.q}: {seconds[name]:.1f} s", flush=True)
    reference = build_acquisition(fit, float(fit.scaling.standardize(torch.tensor(best))), options, args.seed)
    with torch.no_grad():
        values = {name: float(reference(fit.scaling.to_unit(batch).unsqueeze(0))) for name, batch in batches.items()}  # type: ignore[operator]
    first_point = float((batches["gpytorch"][0] - batches["cached"][0]).abs().max())
    print(f"ratio gpytorch / cached: {seconds['gpytorch'] / seconds['cached']:.1f}x")
    print(f"joint qLogEI of the batch: gpytorch {values['gpytorch']:.4f}, cached {values['cached']:.4f}; first point differs by {first_point:.2e}")


if __name__ == "__main__":
    main()
