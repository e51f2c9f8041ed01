"""Time per BO iteration of the search strategies on one model's real latents, in one run.

For each configuration (``STRATEGY[:SURROGATE[:ACQUISITION]]``, e.g. ``protocol``,
``turbo:local:ts``, ``turbo:sparse:ts``) the same encoded, scored training set seeds a short
optimisation of ``--iterations`` batches of ``--q`` points: the strategy proposes (surrogate fit,
then acquisition), the batch is decoded (``--attempts`` stochastic decodings per point) and scored,
and the strategy observes it. Per configuration the table shows the median fit, acquisition,
decoding and iteration seconds over its iterations (the first, cold, fit is also shown alone) and
the ratio of the protocol's median iteration time to this configuration's.

``--accuracy`` adds the comparison behind the ``local`` surrogate: around the best training point,
``--accuracy-heldout`` of the ``--accuracy-near`` nearest points are held out; a local exact GP (on
the nearest ``--local-points`` of the rest plus the best ``--local-best``) and a global sparse GP
(on all the rest) are fitted cold, and their RMSE on the held-out points is printed with their fit
time.

    nice -n 10 python benchmarks/bo_strategy_speed.py --model MODEL --points 20000 --q 50 --iterations 3 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lsbo.bo.candidates import decode_candidates
from lsbo.bo.strategies import Observations, build_strategy, local_subset
from lsbo.bo.surrogates import WarmSurrogate, prediction_rmse


def parse_config(text: str) -> dict[str, str]:
    parts = text.split(":")
    options = {"strategy": parts[0]}
    if len(parts) > 1 and parts[1]:
        options["surrogate"] = parts[1]
    if len(parts) > 2 and parts[2]:
        options["acquisition"] = parts[2]
    return options


def run_config(config: str, model, objective, x, y, bounds, args) -> list[dict[str, float]]:
    options = parse_config(config)
    name = options.pop("strategy")
    if name == "turbo":
        options.update(batch_size=args.q, local_points=args.local_points, local_best=args.local_best)
    strategy = build_strategy(name, **options)
    strategy.start(Observations(x, y, bounds))
    rows = []
    iterations = dict(spec.split("=", 1) for spec in args.iterations_of).get(config, args.iterations)
    for iteration in range(1, int(iterations) + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        proposal = strategy.propose(Observations(x, y, bounds), args.q, seed=iteration)
        proposed = time.perf_counter()
        decoded = decode_candidates(model, proposal.latents.float(), attempts=args.attempts, is_valid=objective.is_valid,
                                    generator=torch.Generator(device=model.device).manual_seed(iteration))
        decoded_at, cpu_seconds = time.perf_counter(), time.process_time() - cpu_started
        strings = [c.string for c in decoded]
        scores = objective([s for s in strings if s is not None]) if any(strings) else []
        valid_rows, valid_scores = [], []
        it = iter(scores)
        for row, string in enumerate(strings):
            if string is None:
                continue
            score = next(it)
            if score is not None:
                valid_rows.append(row)
                valid_scores.append(score if objective.maximize else -score)
        new_x = proposal.latents[valid_rows].to(x)
        new_y = torch.tensor(valid_scores, dtype=torch.float64)
        strategy.observe(new_x, new_y)
        x, y = torch.cat([x, new_x]), torch.cat([y, new_y])
        metrics = proposal.metrics
        rows.append({
            "fit": metrics["fit_seconds"], "acquisition": metrics["acquisition_seconds"], "decode": decoded_at - proposed,
            "iteration": decoded_at - started, "cpu": cpu_seconds, "best": float(y.max()), "n_train": metrics["n_train"],
        })
        print(f"  {config} iteration {iteration}: fit {rows[-1]['fit']:.1f}s acquisition {rows[-1]['acquisition']:.1f}s "
              f"decode {rows[-1]['decode']:.1f}s (CPU {cpu_seconds:.1f}s), GP on {metrics['n_train']} points", flush=True)
    return rows


def accuracy(x, y, bounds, args) -> None:
    generator = torch.Generator().manual_seed(0)
    u = (x - bounds[0]) / (bounds[1] - bounds[0])
    center = u[torch.argmax(y)]
    near = torch.topk((u - center).abs().amax(dim=-1), min(args.accuracy_near, len(y)), largest=False).indices
    heldout = near[torch.randperm(len(near), generator=generator)[: args.accuracy_heldout]]
    keep = torch.ones(len(y), dtype=torch.bool)
    keep[heldout] = False
    train_x, train_y = x[keep], y[keep]
    train_u = u[keep]
    chosen = local_subset(train_u, train_y, center, torch.ones_like(center), args.local_points, args.local_best)
    print(f"\nheld-out accuracy near the best training point: {len(heldout)} of its {len(near)} nearest points held out\n")
    print("| surrogate | training points | fit s (cold) | held-out RMSE |")
    print("| --- | --- | --- | --- |")
    for label, kind, fx, fy in (("local exact", "exact", train_x[chosen], train_y[chosen]),
                                ("global sparse", "sparse", train_x, train_y)):
        started = time.perf_counter()
        model, _ = WarmSurrogate(kind, n_inducing=args.inducing).fit(fx, fy, bounds, seed=0)
        seconds = time.perf_counter() - started
        print(f"| {label} | {len(fy)} | {seconds:.1f} | {prediction_rmse(model, x[heldout], y[heldout]):.4f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a trained model directory")
    parser.add_argument("--target", default="expr")
    parser.add_argument("--points", type=int, default=20000, help="encoded training strings (a random subset)")
    parser.add_argument("--configs", nargs="*", default=["protocol", "turbo:local:ts", "turbo:sparse:ts"],
                        help="none: only the --accuracy comparison")
    parser.add_argument("--q", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--iterations-of", nargs="*", default=[], metavar="CONFIG=N",
                        help="another number of iterations for one configuration, e.g. protocol=1 (it refits from scratch "
                        "every iteration, so one iteration is its typical cost)")
    parser.add_argument("--baseline", default="protocol", help="the configuration the ratios are taken against")
    parser.add_argument("--attempts", type=int, default=25)
    parser.add_argument("--inducing", type=int, default=500)
    parser.add_argument("--local-points", type=int, default=1000)
    parser.add_argument("--local-best", type=int, default=100)
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--accuracy-near", type=int, default=2000)
    parser.add_argument("--accuracy-heldout", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from lsbo.bo.loop import prepare_initial_data, search_box
    from lsbo.models import load_model
    from lsbo.objectives import build_objective

    model = load_model(args.model, device=args.device)
    objective = build_objective(args.target, model=model)
    initial = prepare_initial_data(model, objective, max_points=args.points, seed=0)
    x = initial.latents.double()
    y = initial.scores if objective.maximize else -initial.scores
    bounds = search_box(model, initial.latents, "data")
    print(f"{len(y)} encoded, scored training strings; d = {x.shape[1]}; q = {args.q}; {args.attempts} decoding attempts; "
          f"{torch.get_num_threads()} torch thread(s)", flush=True)
    results = {config: run_config(config, model, objective, x, y, bounds, args) for config in args.configs}
    if results:
        timing_table(results, args)
    if args.accuracy:
        accuracy(x, y, bounds, args)


def timing_table(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    baseline = {key: statistics.median(r[key] for r in results[args.baseline]) for key in ("iteration", "cpu")}
    print(f"\n| configuration | iterations | first fit s | median fit s | median acquisition s | median decode s | median iteration s | "
          f"median iteration CPU s | {args.baseline} / this (wall) | {args.baseline} / this (CPU) | best target at the end |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for config, rows in results.items():
        median = {key: statistics.median(r[key] for r in rows) for key in ("fit", "acquisition", "decode", "iteration", "cpu")}
        print(f"| {config} | {len(rows)} | {rows[0]['fit']:.1f} | {median['fit']:.2f} | {median['acquisition']:.2f} | {median['decode']:.2f} | "
              f"{median['iteration']:.2f} | {median['cpu']:.2f} | {baseline['iteration'] / median['iteration']:.1f} | "
              f"{baseline['cpu'] / median['cpu']:.1f} | {rows[-1]['best']:.4g} |", flush=True)


if __name__ == "__main__":
    main()
