"""How often a paired interval over (training seed, trial) pairs covers the true difference.

``lsbo experiment`` compares two models over matched (training seed, trial) pairs. A seed's trials share one
trained model, so the pairs of one seed are not independent: the seed moves all of them together. This
simulates paired differences with a known mean of zero,

    difference[seed, trial] = seed_effect[seed] + trial_noise[seed, trial],
    seed_effect ~ N(0, seed_sd^2),  trial_noise ~ N(0, trial_sd^2 = 1),

and counts how often a 95% interval contains zero, for three intervals:

- a percentile bootstrap of the pooled pairs (as if every pair were independent);
- a two-stage percentile bootstrap: the seeds drawn with replacement, then the trials within each drawn seed;
- the tables' interval (:func:`lsbo.experiment.tables.paired_differences`): Student's t over the per-seed
  mean differences.

A correct 95% interval covers zero in 95% of the experiments; one that covers it less often declares a
difference where there is none more often than 5% of the time. The script also prints the intervals' median
width, the price of covering.

    python benchmarks/bootstrap_coverage.py --seeds 2 3 5 --seed-sd 0 0.5 1 2 --experiments 2000
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from lsbo.experiment.tables import paired_differences


def pooled_bootstrap(differences: np.ndarray, resamples: int, confidence: float, rng: np.random.Generator) -> np.ndarray:
    """Percentile bootstrap of the mean of all pairs, each drawn independently: ``(2,)`` low and high."""
    flat = differences.ravel()
    means = flat[rng.integers(len(flat), size=(resamples, len(flat)))].mean(axis=1)
    return np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])


def seeds_then_trials_bootstrap(differences: np.ndarray, resamples: int, confidence: float,
                                rng: np.random.Generator) -> np.ndarray:
    """Percentile bootstrap that draws the seeds (rows of ``differences``, (seeds, trials)) with replacement,
    then each drawn seed's trials with replacement: ``(2,)`` low and high."""
    n_seeds, n_trials = differences.shape
    rows = rng.integers(n_seeds, size=(resamples, n_seeds, 1))  # each slot's seed
    columns = rng.integers(n_trials, size=(resamples, n_seeds, n_trials))  # each slot's own draw of trials
    means = differences[rows, columns].mean(axis=(1, 2))
    return np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])


def tables_interval(differences: np.ndarray, resamples: int, confidence: float) -> np.ndarray:
    """The experiment tables' interval for these pairs (model B - model A): ``(2,)`` low and high."""
    n_seeds, n_trials = differences.shape
    seeds, trials = np.meshgrid(np.arange(n_seeds), np.arange(1, n_trials + 1), indexing="ij")
    frame = pd.DataFrame({"seed": np.tile(seeds.ravel(), 2), "trial": np.tile(trials.ravel(), 2),
                          "model": ["A"] * differences.size + ["B"] * differences.size,
                          "value": np.concatenate([np.zeros(differences.size), differences.ravel()])})
    result = paired_differences(frame, "A", "B", ["seed", "trial"], confidence=confidence, resamples=resamples)
    return np.array([result["ci_low"], result["ci_high"]])


def coverage(seeds: int, trials: int, seed_sd: float, *, experiments: int, resamples: int, confidence: float,
             rng: np.random.Generator) -> list[tuple[float, float]]:
    """(coverage of 0, median width) of the three intervals over ``experiments`` simulated experiments."""
    intervals = np.zeros((3, experiments, 2))
    for experiment in range(experiments):
        differences = rng.normal(0.0, seed_sd, (seeds, 1)) + rng.normal(0.0, 1.0, (seeds, trials))
        intervals[0, experiment] = pooled_bootstrap(differences, resamples, confidence, rng)
        intervals[1, experiment] = seeds_then_trials_bootstrap(differences, resamples, confidence, rng)
        intervals[2, experiment] = tables_interval(differences, resamples, confidence)
    covered = (intervals[..., 0] <= 0.0) & (intervals[..., 1] >= 0.0)
    widths = intervals[..., 1] - intervals[..., 0]
    return [(float(covered[k].mean()), float(np.median(widths[k]))) for k in range(3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 5], help="training seeds per experiment")
    parser.add_argument("--trials", type=int, default=5, help="trials per seed")
    parser.add_argument("--seed-sd", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0],
                        help="standard deviations of the seed effect, in units of the trial noise's")
    parser.add_argument("--experiments", type=int, default=2000, help="simulated experiments per setting")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples per interval")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--random-seed", type=int, default=0)
    args = parser.parse_args()
    for flag, values in (("--seeds", args.seeds), ("--trials", [args.trials]), ("--experiments", [args.experiments]),
                         ("--resamples", [args.resamples])):
        if min(values) < 1:
            parser.error(f"{flag} must be at least 1, got {min(values)}")
    if min(args.seed_sd) < 0:
        parser.error(f"--seed-sd must not be negative, got {min(args.seed_sd)}")
    if not 0.0 < args.confidence < 1.0:
        parser.error(f"--confidence must be in (0, 1), got {args.confidence}")
    rng = np.random.default_rng(args.random_seed)
    print(f"coverage of the true difference (0) by {args.confidence:.0%} intervals [median width in trial-noise sds], "
          f"{args.trials} trials per seed, {args.experiments} experiments, {args.resamples} bootstrap resamples")
    print("| seeds | seed effect sd / trial noise sd | bootstrap of pooled pairs | bootstrap of seeds, then trials "
          "| t over seed means (the tables') |")
    print("| --- | --- | --- | --- | --- |")
    for seeds in args.seeds:
        for seed_sd in args.seed_sd:
            found = coverage(seeds, args.trials, seed_sd, experiments=args.experiments, resamples=args.resamples,
                             confidence=args.confidence, rng=rng)
            cells = " | ".join(f"{covered:.3f} [{width:.2f}]" for covered, width in found)
            print(f"| {seeds} | {seed_sd:g} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
