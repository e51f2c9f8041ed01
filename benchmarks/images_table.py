"""Fashion-MNIST side by side (paper Table 1 and the clustering table, Section 4.1-4.2).

Trains the six regularizers (gmm, vae, cvvae, rae, wae, ae) and the paper's ablation of the gmm
regularizer (without the KS term, without the covariance term) on the same setup, evaluates each
(four FIDs named by their feature extractor, clustering accuracy, test reconstruction MSE) and
prints a markdown table beside the paper's numbers. Each model lives in ``--out/<name>/``; a model
whose ``metrics.json`` exists is reused and a partly trained one resumes, so the script can be
stopped and rerun.

    python benchmarks/images_table.py --epochs 2 --out runs/images_table [--limit N] [--append-results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

from lsbo.images.evaluate import METRICS_JSON, PAPER_CLUSTERING, evaluate_image_model, fid_values, paper_fid
from lsbo.images.training import train_image_model

RUNS: dict[str, tuple[str, dict]] = {
    "gmm": ("gmm", {}),
    "vae": ("vae", {}),
    "cvvae": ("cvvae", {}),
    "rae": ("rae", {}),
    "wae": ("wae", {}),
    "ae": ("ae", {}),
    "gmm-no-ks": ("gmm", {"use_ks": False}),
    "gmm-no-cv": ("gmm", {"use_cv": False}),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/lsbo_images_table"))
    parser.add_argument("--data", type=Path, default=None, help="Fashion-MNIST IDX directory (default: found automatically)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all 60,000)")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"subset of {','.join(RUNS)}")
    parser.add_argument("--n-samples", type=int, default=10000, help="images per FID")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: the preset's, 2e-4)")
    parser.add_argument("--report-only", action="store_true", help="only tabulate the runs already evaluated in --out")
    parser.add_argument("--append-results", action="store_true", help="append the table to benchmarks/RESULTS.md")
    return parser.parse_args(argv)


def run_one(name: str, args: argparse.Namespace) -> dict:
    regularizer, options = RUNS[name]
    model_dir = args.out / name
    if not (model_dir / METRICS_JSON).is_file():
        started = time.perf_counter()
        train_image_model(
            "fashion-mnist", model_dir, data_dir=args.data, preset=args.preset, regularizer=regularizer,
            epochs=args.epochs, limit=args.limit, device=args.device, resume=(model_dir / "checkpoint.pt").exists(),
            seed=args.seed, regularizer_options=options or None, progress=False, learning_rate=args.lr,
        )
        trained = time.perf_counter() - started
        evaluate_image_model(model_dir, data_dir=args.data, device=args.device, n_samples=args.n_samples, seed=args.seed, progress=False)
        print(f"{name}: trained in {trained:.0f} s, evaluated in {time.perf_counter() - started - trained:.0f} s", file=sys.stderr)
    return json.loads((model_dir / METRICS_JSON).read_text())


def markdown_table(rows: dict[str, dict]) -> str:
    extractors = sorted({m["feature_extractor"]["name"] for m in rows.values()})
    lines = [
        f"FIDs computed with feature extractor(s): {', '.join(f'`fid[{e}]`' for e in extractors)}; "
        "the paper's (in parentheses) use Inception-v3 and are not comparable in absolute value.",
        "",
        "| model | Samp. | GMM | Rec. | Inter. | clustering acc. % | test MSE | epochs | train images |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, metrics in rows.items():
        fids = fid_values(metrics)
        paper = paper_fid("fashion-mnist", metrics["regularizer"]) if not metrics["regularizer_options"] else None
        cells = [f"{fids[k]:.2f}" + (f" ({paper[k]:.2f})" if paper else "") for k in ("samples", "gmm", "reconstructions", "interpolations")]
        accuracy = metrics.get("clustering_accuracy")
        acc_text = "n/a" if accuracy is None else f"{100 * accuracy:.2f}"
        if name == "gmm" and accuracy is not None:
            acc_text += f" ({PAPER_CLUSTERING['fashion-mnist']:.2f})"
        lines.append(
            f"| {name} | {' | '.join(cells)} | {acc_text} | {metrics['test_reconstruction_mse']:.4f} | "
            f"{metrics['epochs_trained']} | {metrics['n_train']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    names = [n.strip() for n in args.runs.split(",") if n.strip()]
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        raise SystemExit(f"unknown run(s): {', '.join(unknown)}")
    if args.report_only:
        names = [n for n in names if (args.out / n / METRICS_JSON).is_file()]
    rows = {name: run_one(name, args) for name in names}
    table = markdown_table(rows)
    command = "python benchmarks/images_table.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = (
        f"Command: `{command}`; date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: 2-core CPU dev "
        f"machine, shared with other jobs ({platform.machine()}); Fashion-MNIST, preset {args.preset}, "
        f"{args.epochs} epoch(s), learning rate {args.lr or 'of the preset (2e-4)'}, {args.n_samples} images per FID, "
        "10% of the training images held out for validation."
    )
    print(header + "\n\n" + table)
    if args.append_results:
        results = Path(__file__).resolve().parent / "RESULTS.md"
        with open(results, "a") as handle:
            handle.write(f"\n## Images: Fashion-MNIST regularizers side by side\n\n{header}\n\n{table}\n")


if __name__ == "__main__":
    main()
