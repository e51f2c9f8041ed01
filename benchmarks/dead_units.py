"""How many ReLU units of a trained sequence model are dead, at its start and at its end.

A unit (a channel of a convolution, a unit of a dense layer) that is zero on every input passes nothing on.
The paper-preset expression encoder has only 2, 3 and 4 convolution filters, and the decoder reads the code
only through ``BatchNorm -> Linear(d, d) -> ReLU`` (lsbo.models.networks), so one dead unit there narrows
what the rest of the network sees. For each model directory and each ReLU of the encoder (convolutions,
dense) and of the decoder's dense layer, this script counts the dead units:

- at the start: the network with the model's initial weights (rebuilt from its stored configuration and
  weight seed) on the model's validation strings, batch norms on the statistics of that batch, as the first
  training step has them;
- at the end: the trained network on the same strings (batch norms in evaluation mode).

A unit counts as dead when it is zero on every input and position; "weak" when it is positive on under 1%.

    python benchmarks/dead_units.py runs/expr-paper/models/GVAE/seed_* runs/expr-paper/models/GVAE_w0/seed_*

With ``--initial N`` it trains nothing and reads no trained weights: for weight seeds 0..N-1 it builds the first
model's network afresh (optionally with ``--init`` / ``--encoder-batch-norm`` changed) and counts the units
that are dead before the first step, on that model's validation strings.

    python benchmarks/dead_units.py runs/expr-paper/models/GVAE/seed_0 --initial 20 --init glorot
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from lsbo.options import INITIALISATIONS


def relu_activity(autoencoder: torch.nn.Module, batch: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per ReLU module of the encoder and the decoder's dense layer: the fraction of (string, position)
    on which each unit is positive, ``(units,)``, for the index batch ``(N, T)``."""
    found: dict[str, torch.Tensor] = {}
    hooks = []
    modules = [("encoder." + name, m) for name, m in autoencoder.encoder.named_modules()]
    dense = getattr(autoencoder.decoder, "dense", None)  # the repeated-latent decoder's; the autoregressive one has none
    if dense is not None:
        modules += [("decoder.dense." + name, m) for name, m in dense.named_modules()]
    for name, module in modules:
        if isinstance(module, torch.nn.ReLU):
            def record(_module: torch.nn.Module, _inputs: object, output: torch.Tensor, name: str = name) -> None:
                positive = (output > 0).float()
                found[name] = positive.transpose(0, 1).reshape(positive.shape[1], -1).mean(dim=1)  # units first
            hooks.append(module.register_forward_hook(record))
    try:
        with torch.no_grad():
            codes = autoencoder.encode_mean(batch)
            if dense is not None:
                dense(autoencoder.decoder.normalise(codes))
    finally:
        for hook in hooks:
            hook.remove()
    return found


def stored_model(model_dir: Path, max_strings: int) -> tuple[Any, Any, torch.Tensor]:
    """A model directory's stored configuration, its trained model (CPU) and an index batch ``(N, T)`` of
    its first ``max_strings`` validation strings."""
    from lsbo.checkpoint import load_checkpoint
    from lsbo.models import load_model
    from lsbo.models.config import SequenceModelConfig

    config = SequenceModelConfig.from_dict(load_checkpoint(model_dir)["config"])
    trained = load_model(model_dir, device="cpu")
    indices, ok = trained.codec.encode(trained.validation_strings()[:max_strings])
    return config, trained, torch.from_numpy(indices[ok])


def fresh_network(codec: Any, config: Any) -> torch.nn.Module:
    """The network ``config`` starts from (its initial weights), batch norms on batch statistics as at the
    first training step. The loss weight does not change the network, so it is 1."""
    from lsbo.models import build_autoencoder

    return build_autoencoder(codec, config, batch_size=config.batch_size, rec_weight=1.0).train()


def describe(model_dir: Path, max_strings: int) -> str:
    config, trained, batch = stored_model(model_dir, max_strings)
    fresh = fresh_network(trained.codec, config)
    start, end = relu_activity(fresh, batch), relu_activity(trained.autoencoder, batch)

    def counts(active: torch.Tensor) -> str:
        dead, weak = int((active == 0).sum()), int(((active > 0) & (active < 0.01)).sum())
        return f"{dead}" + (f"+{weak} weak" if weak else "")

    layers = "; ".join(f"{name} ({len(start[name])}): {counts(start[name])} -> {counts(end[name])}" for name in start)
    return (f"{model_dir}: seed {config.seed}, weight seed {config.initial_weights_seed}, init {config.init}; "
            f"dead units at the start -> trained, on {len(batch)} validation strings: {layers}")


def initial_dead_units(model_dir: Path, n_seeds: int, max_strings: int, changes: dict[str, object]) -> None:
    """Per weight seed, the dead units of the freshly built network (with ``changes`` to its configuration)."""
    from dataclasses import replace

    stored, trained, batch = stored_model(model_dir, max_strings)
    config = replace(stored, **changes)
    totals: dict[str, list[int]] = {}
    for seed in range(n_seeds):
        found = relu_activity(fresh_network(trained.codec, replace(config, weight_seed=seed)), batch)
        for name, active in found.items():
            if name.startswith("encoder."):
                totals.setdefault(name, []).append(int((active == 0).sum()))
    print(f"{model_dir} rebuilt with init {config.init}, encoder batch norm {config.encoder_batch_norm}, "
          f"weight seeds 0..{n_seeds - 1}, on {len(batch)} validation strings:")
    for name, dead in totals.items():
        width = len(found[name])
        histogram = ", ".join(f"{k} dead: {dead.count(k)}" for k in range(width + 1) if dead.count(k))
        print(f"  {name} ({width} units): dead per seed {dead}; {histogram}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dirs", nargs="+", type=Path)
    parser.add_argument("--strings", type=int, default=10_000, help="validation strings to run through the encoder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--initial", type=int, default=0, metavar="N", help="only fresh networks of weight seeds 0..N-1")
    parser.add_argument("--init", choices=INITIALISATIONS, help="with --initial: this initialisation")
    parser.add_argument("--encoder-batch-norm", action="store_true", help="with --initial: batch norms after the convolutions")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.initial:
        changes: dict[str, object] = {"encoder_batch_norm": True} if args.encoder_batch_norm else {}
        if args.init:
            changes["init"] = args.init
        initial_dead_units(args.model_dirs[0], args.initial, args.strings, changes)
        return
    for model_dir in args.model_dirs:
        print(describe(model_dir, args.strings), flush=True)


if __name__ == "__main__":
    main()
