"""Regularizers side by side on the string datasets (paper, Section 4.2 setting, ``cpu`` preset).

For each dataset (the 100k expressions and the ZINC subset of the shared data directory) and each
regularizer (gmm = the paper's GMM-KS, vae, rae, wae, ae), trains a grammar autoencoder with the
same preset, epochs, seed and reconstruction weight, evaluates it (``lsbo.evaluate``: validation
reconstruction accuracy, prior-sample validity / uniqueness / novelty, per-dimension KS statistic
and covariance error against the prior), and prints a markdown table. Every run is its own model
directory under ``--out`` and is resumed if it exists, so an interrupted table continues where it
stopped; ``results.json`` is rewritten after each model.

    nice -n 15 python benchmarks/regularizer_table.py --out runs/regtable [--datasets expr zinc]
        [--regularizers gmm vae rae wae ae] [--epochs N] [--limit N] [--samples 1000] [--threads 1]
        [--rec-weight-for vae=204] [--option-for vae:epsilon_std=0.01]

``--rec-weight-for`` and ``--option-for`` set one regularizer's reconstruction weight or option (e.g.
the VAE in the Grammar VAE reference weighting, docs/training.md, "The VAE baseline"); the settings
of every model are stored in ``results.json`` beside its figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lsbo.errors import ConfigError
from lsbo.evaluate import evaluate_model
from lsbo.models import TrainOptions, train_sequence_model
from lsbo.settings import shared_data_dir
from lsbo_cli.train import parse_regularizer_options

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
    rec_weight = args.rec_weight_for.get(regularizer, args.rec_weight)
    options = args.option_for.get(regularizer, {})
    started = time.time()
    train_sequence_model(
        TrainOptions(
            source=dataset, data=shared_data_dir() / DATASETS[dataset], out_dir=model_dir, regularizer=regularizer,
            preset=args.preset, epochs=args.epochs, limit=args.limit, seed=args.seed, device=args.device,
            rec_weight=rec_weight, regularizer_options=options, resume=True, threads=args.threads, progress=False,
        )
    )
    result = evaluate_model(model_dir, n_samples=args.samples, device=args.device, seed=args.seed)
    result["train_and_eval_wall_s"] = time.time() - started
    result["settings"] = {"rec_weight": rec_weight, "regularizer_options": options, "epochs": args.epochs,
                          "preset": args.preset, "limit": args.limit, "seed": args.seed}
    return result


def per_regularizer_weights(parser: argparse.ArgumentParser, pairs: list[str]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            parser.error(f"--rec-weight-for {pair!r}: expected REG=NUMBER, e.g. vae=204")
    return weights


def per_regularizer_options(parser: argparse.ArgumentParser, pairs: list[str]) -> dict[str, dict]:
    options: dict[str, dict] = {}
    for pair in pairs:
        name, sep, option = pair.partition(":")
        if not sep:
            parser.error(f"--option-for {pair!r}: expected REG:KEY=VALUE, e.g. vae:epsilon_std=0.01")
        try:
            options.setdefault(name.strip(), {}).update(parse_regularizer_options([option]))
        except ConfigError as error:
            parser.error(f"--option-for {pair!r}: {error}")
    return options


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
    parser.add_argument("--rec-weight-for", action="append", default=[], metavar="REG=W",
                        help="reconstruction weight of one regularizer (repeatable)")
    parser.add_argument("--option-for", action="append", default=[], metavar="REG:KEY=VALUE",
                        help="an option of one regularizer (repeatable)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.rec_weight is not None and args.rec_weight != "auto":
        args.rec_weight = float(args.rec_weight)
    args.rec_weight_for = per_regularizer_weights(parser, args.rec_weight_for)
    args.option_for = per_regularizer_options(parser, args.option_for)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results: dict[str, dict] = json.loads(results_path.read_text()) if results_path.exists() else {}
    for dataset in args.datasets:
        for regularizer in args.regularizers:
            key = f"{dataset}_{regularizer}"
            result = run_one(dataset, regularizer, args)
            # re-read before writing: several invocations may fill one table (one model each, in parallel)
            results = json.loads(results_path.read_text()) if results_path.exists() else {}
            results[key] = result
            results_path.write_text(json.dumps(results, indent=2) + "\n")
            print(f"{key}: done", flush=True)
    print(f"\nsettings: {vars(args)}\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
