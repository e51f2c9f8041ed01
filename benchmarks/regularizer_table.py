"""Regularizers side by side on the string datasets (paper, Section 4.2 setting, ``cpu`` preset).

For each dataset (the 100k expressions and the ZINC subset of the shared data directory) and each
regularizer (gmm = the paper's GMM-KS, vae, rae, wae, ae), trains a grammar autoencoder with the
same preset, epochs, seed and reconstruction weight, evaluates it (``lsbo.evaluate``: validation
reconstruction accuracy, prior-sample validity / uniqueness / novelty, per-dimension KS statistic
and covariance error against the prior), and prints a markdown table. Every run is its own model
directory under ``--out`` and is resumed if it exists, so an interrupted table continues where it
stopped; ``results.json`` is rewritten after each model.

    nice -n 15 python benchmarks/regularizer_table.py --out /tmp/regtable [--datasets expr zinc]
        [--regularizers gmm vae rae wae ae] [--epochs N] [--limit N] [--samples 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lsbo.evaluate import evaluate_model
from lsbo.models import TrainOptions, train_sequence_model
from lsbo.settings import shared_data_dir

DATASETS = {"expr": "equation2_15_dataset.txt", "zinc": "zinc250k_subset.smi"}
COLUMNS = (
    ("rec. acc.", "reconstruction_accuracy"),
    ("validity", "validity"),
    ("uniqueness", "uniqueness"),
    ("novelty", "novelty"),
    ("KS mean", "ks_mean"),
    ("KS max", "ks_max"),
    ("cov. error", "covariance_error"),
)


def run_one(dataset: str, regularizer: str, args: argparse.Namespace) -> dict:
    model_dir = args.out / f"{dataset}_{regularizer}"
    started = time.time()
    train_sequence_model(
        TrainOptions(
            source=dataset, data=shared_data_dir() / DATASETS[dataset], out_dir=model_dir, regularizer=regularizer,
            preset=args.preset, epochs=args.epochs, limit=args.limit, seed=args.seed, device=args.device,
            rec_weight=args.rec_weight, resume=True, threads=args.threads, progress=False,
        )
    )
    result = evaluate_model(model_dir, n_samples=args.samples, device=args.device, seed=args.seed)
    result["train_and_eval_wall_s"] = time.time() - started
    return result


def markdown(results: dict[str, dict]) -> str:
    lines = ["| dataset | regularizer | " + " | ".join(label for label, _ in COLUMNS) + " |"]
    lines.append("| --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |")
    for key, result in results.items():
        dataset, regularizer = key.split("_", 1)
        lines.append(f"| {dataset} | {regularizer} | " + " | ".join(f"{result[k]:.3f}" for _, k in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--regularizers", nargs="+", default=["gmm", "vae", "rae", "wae", "ae"])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--limit", type=int, default=None, help="default: the whole dataset")
    parser.add_argument("--rec-weight", default=None, help="a number or auto (default: the model's default, 1)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.rec_weight is not None and args.rec_weight != "auto":
        args.rec_weight = float(args.rec_weight)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results: dict[str, dict] = json.loads(results_path.read_text()) if results_path.exists() else {}
    for dataset in args.datasets:
        for regularizer in args.regularizers:
            key = f"{dataset}_{regularizer}"
            results[key] = run_one(dataset, regularizer, args)
            results_path.write_text(json.dumps(results, indent=2) + "\n")
            print(f"{key}: done", flush=True)
    print(f"\nsettings: {vars(args)}\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
