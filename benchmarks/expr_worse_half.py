"""Write the expressions of weighted retraining's setting: the worse half of the 100k by score.

Weighted retraining (Tripp et al., 2020) runs its expression experiments on the expressions whose
score is at or above the dataset's median (``ignore_percentile=50`` in its paper script
``scripts/opt/expr-paper.sh``), so neither the model nor the BO ever sees the target
``1 / 3 + x + sin(x * x)`` or its close neighbours, which the 100k expressions contain. Its published
best-found score (0.480 +- 0.122 at 500 queries) belongs to that setting. This script writes the
same subset, scored with lsbo's own objective (:mod:`lsbo.objectives.expressions`), to a file
outside the repository; train on it and optimise with ``--max-train-points 5000`` (its ``n_data``):

    python benchmarks/expr_worse_half.py --out runs/wr-setting/expr_worse_half.txt
    lsbo train expr --data runs/wr-setting/expr_worse_half.txt --preset paper --seed 0 --threads 1 \\
        --device cpu --regularizer gmm --rec-weight auto --rec-weight-epochs 10 --out runs/wr-setting/GMM-KS
    python benchmarks/bo_experiment.py --target expr --model GMM-KS=runs/wr-setting/GMM-KS \\
        --out runs/wr-setting/turbo --trials 5 --batch 50 --budget 500 --strategy turbo --max-train-points 5000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lsbo.objectives.expressions import expression_score
from lsbo.persistence import atomic_write_text
from lsbo.settings import shared_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir() / "equation2_15_dataset.txt")
    parser.add_argument("--out", type=Path, required=True, help="the file to write (outside the repository)")
    parser.add_argument("--percentile", type=float, default=50.0,
                        help="keep the expressions scoring at or above this percentile (weighted retraining: 50)")
    args = parser.parse_args()
    if not args.data.is_file():
        parser.error(f"--data: {args.data} is not a file (the 100k expressions; see LSBO_SHARED_DATA)")
    if not 0.0 <= args.percentile <= 100.0:
        parser.error(f"--percentile: {args.percentile:g} is not in [0, 100]")
    lines = [line.strip() for line in args.data.read_text().splitlines() if line.strip()]
    scores = np.array([expression_score(line) for line in lines])
    threshold = float(np.percentile(scores, args.percentile))
    kept = [line for line, score in zip(lines, scores) if score >= threshold]
    atomic_write_text(args.out, "\n".join(kept) + "\n")
    print(f"{len(kept)} of {len(lines)} expressions with score >= {threshold:.4f} (percentile {args.percentile:g}) -> {args.out}; "
          f"best kept {scores[scores >= threshold].min():.4f}, best overall {scores.min():.4f}")


if __name__ == "__main__":
    main()
