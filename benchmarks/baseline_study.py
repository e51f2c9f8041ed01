"""Controlled runs behind "Why the baselines did not learn" (benchmarks/RESULTS.md).

Each *variant* changes one thing of the expression model or its training against a fixed baseline
configuration (``ae``: plain autoencoder, PyTorch initialisation, no batch norm, per-step
mean cross-entropy, plateau reduction to 1e-5, gradient clipping at 5) and is trained on the same
strings, split and seed. Reported per variant: the validation per-step cross-entropy after each epoch,
the exact greedy reconstruction of the validation strings at the end (``lsbo.evaluate``), and the
spread of the validation codes (mean over dimensions of their standard deviation).

    nice -n 10 python benchmarks/baseline_study.py --out runs/study --limit 20000 \\
        --epochs 12 --threads 1 --variants ae ae-bn-code ...

``--preset paper --limit 100000 --epochs 50`` runs a variant at the paper's scale (about 25 CPU-minutes each).

Every variant is its own directory under ``--out`` (checkpoint every epoch; an interrupted variant is
resumed) and adds its figures to ``results.json``; ``--markdown`` prints the table of every finished
variant.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from lsbo.checkpoint import atomic_write_text
from lsbo.evaluate import latent_fit, reconstruction_accuracy
from lsbo.grammar import Grammar
from lsbo.models.config import model_config
from lsbo.models.pipeline import TrainOptions, index_loader, prepare_strings, trainer_config, validation_split
from lsbo.models.trained import TrainedModel, build_autoencoder
from lsbo.settings import shared_data_dir
from lsbo.train import Trainer

# The defaults the study started from, so that each variant below changes one thing against them.
BEFORE = dict(encoder_batch_norm=False, decoder_batch_norm=False, init="torch")
REFERENCE_NETWORK = dict(encoder_batch_norm=True, decoder_batch_norm=True, init="glorot")
REFERENCE_SCHEDULE = dict(lr_patience=1, min_learning_rate=1e-4)
VAE_REFERENCE = dict(rec_weight=31.0, options={"epsilon_std": 0.01})  # README: d*T/C for expressions

# name -> regularizer, network fields, trainer fields, rec weight, regularizer options
VARIANTS: dict[str, dict[str, Any]] = {
    "ae": dict(regularizer="ae"),
    "ae-glorot": dict(regularizer="ae", network=dict(init="glorot")),
    "ae-bn-code": dict(regularizer="ae", network=dict(decoder_batch_norm=True)),
    "ae-bn-encoder": dict(regularizer="ae", network=dict(encoder_batch_norm=True)),
    "ae-bn-all": dict(regularizer="ae", network=dict(encoder_batch_norm=True, decoder_batch_norm=True)),
    "ae-reference-net": dict(regularizer="ae", network=REFERENCE_NETWORK),
    "ae-reference-schedule": dict(regularizer="ae", trainer=REFERENCE_SCHEDULE),
    "ae-sum": dict(regularizer="ae", rec_weight=15.0),  # sum over the T = 15 steps instead of the mean
    "ae-no-clip": dict(regularizer="ae", network=dict(grad_clip=None)),
    "ae-lr3e-3": dict(regularizer="ae", network=dict(learning_rate=3e-3)),
    "gmm": dict(regularizer="gmm"),
    "gmm-reference-net": dict(regularizer="gmm", network=REFERENCE_NETWORK),
    "gmm-bn-code": dict(regularizer="gmm", network=dict(decoder_batch_norm=True)),
    # Section 3.3's rec weight from the fixed plain AE of this study: 1 / its best val. CE 0.0292
    "gmm-bn-code-rec34": dict(regularizer="gmm", network=dict(decoder_batch_norm=True), rec_weight=34.2),
    # Without the decoder's batch norm, the plain AE behind Section 3.3's weight does not learn and gives
    # 1/0.5186 = 1.928 at the paper preset; with it, 1/0.2267 = 4.411. These separate the weight from the norm.
    "gmm-rec1.93": dict(regularizer="gmm", rec_weight=1.928),
    "gmm-bn-code-rec1.93": dict(regularizer="gmm", network=dict(decoder_batch_norm=True), rec_weight=1.928),
    "gmm-rec4.41": dict(regularizer="gmm", rec_weight=4.411),
    "gmm-bn-code-rec4.41": dict(regularizer="gmm", network=dict(decoder_batch_norm=True), rec_weight=4.411),
    "rae": dict(regularizer="rae"),
    "rae-bn-code": dict(regularizer="rae", network=dict(decoder_batch_norm=True)),
    "rae-reference-net": dict(regularizer="rae", network=REFERENCE_NETWORK),
    "wae": dict(regularizer="wae"),
    "wae-reference-net": dict(regularizer="wae", network=REFERENCE_NETWORK),
    "vae31": dict(regularizer="vae", **VAE_REFERENCE),
    "vae31-bn-code": dict(regularizer="vae", network=dict(decoder_batch_norm=True), **VAE_REFERENCE),
    "vae31-reference-net": dict(regularizer="vae", network=REFERENCE_NETWORK, **VAE_REFERENCE),
    "vae1-reference-net": dict(regularizer="vae", network=REFERENCE_NETWORK),
    "vae1-bn-code": dict(regularizer="vae", network=dict(decoder_batch_norm=True)),
    "vae1-eps001-bn-code": dict(regularizer="vae", network=dict(decoder_batch_norm=True), options={"epsilon_std": 0.01}),
    "cvvae-bn-code": dict(regularizer="cvvae", network=dict(decoder_batch_norm=True)),
    "cvvae31-bn-code": dict(regularizer="cvvae", network=dict(decoder_batch_norm=True), rec_weight=31.0, options={"std": 0.01}),
    "vae-sum-bn-code": dict(regularizer="vae", network=dict(decoder_batch_norm=True), rec_weight=15.0),
    "wae-bn-code": dict(regularizer="wae", network=dict(decoder_batch_norm=True)),
    "vae1-eps001-reference-net": dict(regularizer="vae", network=REFERENCE_NETWORK, options={"epsilon_std": 0.01}),
    "cvvae-reference-net": dict(regularizer="cvvae", network=REFERENCE_NETWORK),
    "cvvae": dict(regularizer="cvvae"),
}


def run_variant(name: str, args: argparse.Namespace, data: Any) -> dict[str, Any]:
    spec = VARIANTS[name]
    out_dir = Path(args.out) / name
    network = {**BEFORE, **spec.get("network", {})}
    config = model_config(
        args.preset, "expressions", regularizer=spec["regularizer"], epochs=args.epochs, seed=args.seed,
        regularizer_options=dict(spec.get("options", {})) or None, **network,
    )
    if "grad_clip" in network:  # model_config ignores None overrides
        config = replace(config, grad_clip=network["grad_clip"])
    options = TrainOptions(source="expr", out_dir=out_dir, progress=False, threads=args.threads, device="cpu")
    trainer_settings = replace(trainer_config(config, options), **spec.get("trainer", {}))
    rec_weight = float(spec.get("rec_weight", 1.0))
    autoencoder = build_autoencoder(data.codec, config, batch_size=config.batch_size, rec_weight=rec_weight)
    _VariantPrefix.current = name  # the trainer's log lines (logging, lsbo.train) carry the variant
    trainer = Trainer(autoencoder, trainer_settings, out_dir)
    started = time.process_time()
    trainer.fit(
        index_loader(data.indices[data.train], config.batch_size, True, config.seed),
        index_loader(data.indices[data.val], config.batch_size, False, 0),
        resume=True,
    )
    cpu_s = time.process_time() - started
    # Evaluate the last weights (not the best-validation ones): the study compares learning curves.
    payload = {"data_kind": "expressions", "split": {"validation_indices": torch.from_numpy(data.val)}}
    model = TrainedModel(trainer.model, payload, out_dir, torch.device("cpu"))
    val_strings = [data.strings[i] for i in data.val]
    rec = reconstruction_accuracy(model, val_strings)
    fit = latent_fit(model, val_strings)
    codes, ok = model.encode(val_strings)
    history = trainer.history
    return {
        "variant": name, "regularizer": spec["regularizer"], "network": network, "trainer": spec.get("trainer", {}),
        "rec_weight": rec_weight, "options": spec.get("options", {}), "epochs": len(history),
        "val_rec_ce": [round(row["val_rec_ce"], 4) for row in history],
        "lr": [row["lr"] for row in history],
        "reconstruction": rec["reconstruction_accuracy"], "ks_mean": fit["ks_mean"],
        "code_std": float(codes[torch.from_numpy(ok)].float().std(dim=0).mean()),
        "n_train": int(len(data.train)), "n_val": int(len(data.val)), "cpu_s_this_call": round(cpu_s, 1),
    }


def load_data(args: argparse.Namespace) -> Any:
    options = TrainOptions(
        source="expr", data=Path(args.data), out_dir=Path(args.out) / "_data", limit=args.limit, progress=False,
    )
    prepared = prepare_strings(options, Grammar.builtin("expr"), "expressions")
    prepared.train, prepared.val = validation_split(len(prepared.strings), 0.1, args.seed)
    return prepared


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| variant | regularizer | changed | val. per-step CE by epoch (1, 3, 6, last) | exact rec. | code std | KS mean |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in results.items():
        changed = {k: v for k, v in row["network"].items() if BEFORE.get(k, "unset") != v}
        changed.update(row["trainer"])
        if row["rec_weight"] != 1.0:
            changed["rec_weight"] = row["rec_weight"]
        changed.update(row["options"])
        curve = row["val_rec_ce"]
        picks = [curve[i] for i in (0, 2, 5) if i < len(curve)] + [curve[-1]]
        described = ", ".join(f"{k}={v}" for k, v in changed.items()) or "-"
        lines.append(
            f"| {name} | {row['regularizer']} | {described} | {' / '.join(f'{v:.3f}' for v in picks)} | "
            f"{row['reconstruction']:.3f} | {row['code_std']:.3f} | {row['ks_mean']:.3f} |"
        )
    return "\n".join(lines)


class _VariantPrefix(logging.Filter):
    """Prefix each library log line with the variant being trained."""

    current = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.variant = self.current
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default=str(shared_data_dir() / "equation2_15_dataset.txt"))
    parser.add_argument("--limit", type=int, default=20000, help="the first N expressions (100000: all)")
    parser.add_argument("--preset", choices=("cpu", "paper"), default="cpu", help="the architecture and batch size")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", nargs="*", default=[], choices=sorted(VARIANTS))
    parser.add_argument("--markdown", action="store_true", help="print the table of the finished variants")
    args = parser.parse_args()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_VariantPrefix())
    handler.setFormatter(logging.Formatter("[%(variant)s] %(message)s"))
    logging.getLogger("lsbo").addHandler(handler)
    logging.getLogger("lsbo").setLevel(logging.INFO)
    torch.set_num_threads(args.threads)
    results_path = Path(args.out) / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    if args.variants:
        data = load_data(args)
        for name in args.variants:
            results[name] = run_variant(name, args, data)
            Path(args.out).mkdir(parents=True, exist_ok=True)
            atomic_write_text(results_path, json.dumps(results, indent=1) + "\n")
            print(json.dumps({k: results[name][k] for k in ("variant", "reconstruction", "code_std")}), flush=True)
    if args.markdown:
        print(markdown(results))


if __name__ == "__main__":
    main()
