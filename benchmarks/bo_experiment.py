"""The expression (or molecule) BO experiment of the paper's Tables 2 and 3, for several trained models.

Runs ``lsbo.bo.run_optimization`` for each ``--model LABEL=DIR`` with the protocol's settings
(default 5 trials x 5 iterations x 50 points, docs/protocols.md §4) into ``--out/LABEL`` (resumable: rerun
the same command to continue an interrupted experiment), then prints one markdown table with the
paper's rows and ours, ready for ``benchmarks/RESULTS.md``.

    nice -n 10 python benchmarks/bo_experiment.py --target expr --out runs/bo-expr \\
        --model GMM-KS=models/expr-gmm --model VAE=models/expr-vae --model RAE=models/expr-rae

``--strategy``, ``--budget`` and ``--retrain-every`` run the modern engine instead (``lsbo optimize``'s
flags of the same names); a second table then gives the budget metrics (mean +- std over trials of
the best score, the top-10 mean and the AUC top-10; the first-best string and whether it is a
training string).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

from lsbo.bo import BOConfig, run_optimization
from lsbo.bo.acquisition import AcquisitionOptions
from lsbo.bo.retraining import RetrainOptions
from lsbo.logs import LineFormatter, log_context
from lsbo.models import load_model
from lsbo.objectives import build_objective
from lsbo.report import PAPER_TABLE2, PAPER_TABLE3, PAPER_TASK_OF_TARGET


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="expr")
    parser.add_argument("--model", action="append", required=True, help="LABEL=DIR (repeatable)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--surrogate", default=None, help="default: the strategy's")
    parser.add_argument("--strategy", default="protocol")
    parser.add_argument("--acquisition", default=None, help="default: the strategy's")
    parser.add_argument("--budget", type=int, default=None, help="oracle calls per trial (default iterations x batch)")
    parser.add_argument("--retrain-every", type=int, default=None)
    parser.add_argument("--rank-k", type=float, default=1e-3)
    parser.add_argument("--retrain-epochs", type=int, default=1)
    parser.add_argument("--retrain-samples", type=int, default=None)
    parser.add_argument("--max-train-points", type=int, default=None)
    parser.add_argument("--attempts", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    handler = logging.StreamHandler(sys.stdout)  # the library's progress lines, each after its model's label
    handler.setFormatter(LineFormatter())
    logging.getLogger("lsbo").addHandler(handler)
    logging.getLogger("lsbo").setLevel(logging.INFO)

    rows = []
    for spec in args.model:
        label, _, directory = spec.partition("=")
        model = load_model(directory, device=args.device)
        objective = build_objective(args.target, model=model)
        retrain = None if args.retrain_every is None else RetrainOptions(
            every=args.retrain_every, rank_k=args.rank_k, epochs=args.retrain_epochs, samples_per_epoch=args.retrain_samples)
        config = BOConfig(trials=args.trials, iterations=args.iterations, batch_size=args.batch, surrogate=args.surrogate,
                          max_train_points=args.max_train_points, attempts=args.attempts, strategy=args.strategy,
                          acquisition=AcquisitionOptions(name=args.acquisition), budget=args.budget, retrain=retrain)
        started = time.perf_counter()
        with log_context(label):
            results = run_optimization(model, objective, args.out / label, config, target=args.target, resume=True)
        rows.append((label, results, time.perf_counter() - started))
        (args.out / label / "wall_seconds.json").write_text(json.dumps({"seconds_this_invocation": rows[-1][2]}))

    task = PAPER_TASK_OF_TARGET.get(args.target)
    print("\n| model | 1st | 2nd | 3rd | frac. valid | avg score | trials x iterations x batch | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    if task:
        for name in PAPER_TABLE2:
            t2, t3 = PAPER_TABLE2[name][task], PAPER_TABLE3[name][task]
            print(f"| {name} | {' | '.join(_fmt(v) for v in t2)} | {t3['valid'][0]:.2f} +- {t3['valid'][1]:.2f} | "
                  f"{t3['score'][0]:.2f} +- {t3['score'][1]:.2f} | 5 x 5 x 50 (paper) | |")
    shape = (f"{args.trials} x {args.iterations} x {args.batch}" if args.budget is None
             else f"{args.trials} x {args.budget} calls (batch {args.batch})")
    for label, results, seconds in rows:
        agg = results["aggregate"]
        top = [e["score"] for e in agg["top3"]] + [None] * 3
        print(f"| {label} (ours) | {' | '.join(_fmt(v) for v in top[:3])} | {_fmt(agg['fraction_valid_mean'])} +- "
              f"{_fmt(agg['fraction_valid_std'])} | {_fmt(agg['average_score_mean'])} +- {_fmt(agg['average_score_std'])} | "
              f"{shape} | {seconds:.0f} |")
    if args.strategy != "protocol" or args.budget is not None or args.retrain_every is not None:
        print("\n| model | strategy | retrain every | calls per trial | best (mean +- std) | best not a training string (mean +- std) | "
              "top-10 mean | AUC top-10 | duplicates | first best | first best is a training string? | first best not a training string |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, results, _ in rows:
            agg = results["aggregate"]
            first = agg["top3"][0] if agg["top3"] else {}
            first_novel = agg.get("top3_novel", [{}])[0] if agg.get("top3_novel") else {}
            pm = {n: f"{_fmt(agg.get(n + '_mean'))} +- {_fmt(agg.get(n + '_std'))}"
                  for n in ("best", "best_novel", "top10_mean", "auc_top10", "n_duplicates")}
            print(f"| {label} | {args.strategy} | {args.retrain_every or '-'} | {agg['budget']} | {pm['best']} | {pm['best_novel']} | "
                  f"{pm['top10_mean']} | {pm['auc_top10']} | {pm['n_duplicates']} | {_fmt(first.get('score'))} `{first.get('string')}` | "
                  f"{'yes' if first.get('rediscovery') else 'no'} | {_fmt(first_novel.get('score'))} `{first_novel.get('string')}` |")


if __name__ == "__main__":
    main()
