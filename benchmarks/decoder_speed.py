"""How long BO's candidate decoding takes with each decoder: points x attempts through ``TrainedModel.decode``.

A BO iteration decodes ``q`` latent points, each ``A`` times by sampling (the protocol's most frequent
valid string) or once greedily. The paper's repeated-latent decoder computes its logits once per point
and repeats only the masked sampling; the autoregressive decoder reads the symbols it chose, so its
network runs once per attempt and step. This script times both on the same grammar and sizes, with
freshly initialised weights (the time of a decoding depends on the network's size and the lengths of
what it decodes, not on what it has learnt; an untrained network decodes long, so the times are an
upper bound for trained ones), in one run so the ratios compare like with like.

    python benchmarks/decoder_speed.py --grammar zinc --points 50 --attempts 500 --threads 1

Prints one row per (decoder, mode): CPU seconds, wall seconds, strings per second.
"""

from __future__ import annotations

import argparse
import time

import torch

from lsbo.grammar import Grammar
from lsbo.models import GrammarCodec, build_autoencoder, model_config
from lsbo.models.config import family_for
from lsbo.models.trained import TrainedModel


def _model(grammar: Grammar, decoder: str, preset: str) -> TrainedModel:
    config = model_config(preset, family_for(grammar.name, grammar.max_length), decoder=decoder)
    autoencoder = build_autoencoder(GrammarCodec(grammar), config, batch_size=config.batch_size, rec_weight=1.0)
    payload = {"data_kind": "molecules" if grammar.name == "zinc" else "expressions", "split": {}}
    return TrainedModel(autoencoder, payload, model_dir=".", device=torch.device("cpu"))


def _time(model: TrainedModel, z: torch.Tensor, attempts: int) -> tuple[float, float, int]:
    generator = torch.Generator().manual_seed(0)
    wall, cpu = time.perf_counter(), time.process_time()
    strings = model.decode(z, sample=attempts > 1, generator=generator, repeats=attempts)
    return time.process_time() - cpu, time.perf_counter() - wall, len(strings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grammar", default="zinc", help="built-in grammar (zinc, expr)")
    parser.add_argument("--preset", default="cpu", help="model sizes (cpu, paper)")
    parser.add_argument("--points", type=int, default=50, help="latent points, as one BO batch")
    parser.add_argument("--attempts", type=int, default=500, help="sampled decodings per point (the protocol's)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    if args.points < 1 or args.attempts < 1 or args.threads < 1:
        parser.error("--points, --attempts and --threads must be at least 1")
    torch.set_num_threads(args.threads)
    grammar = Grammar.builtin(args.grammar)
    torch.manual_seed(0)
    print(f"{args.grammar} grammar (T={grammar.max_length}), {args.preset} preset sizes, {args.points} points, "
          f"{args.threads} thread(s)")
    print("| decoder | mode | strings | CPU s | wall s | strings / CPU s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for decoder in ("repeat", "autoregressive"):
        model = _model(grammar, decoder, args.preset)
        z = model.sample_latents(args.points, generator=torch.Generator().manual_seed(1))
        for mode, attempts in (("greedy", 1), (f"{args.attempts} sampled attempts", args.attempts)):
            cpu, wall, n = _time(model, z, attempts)
            print(f"| {decoder} | {mode} | {n} | {cpu:.2f} | {wall:.2f} | {n / max(cpu, 1e-9):.0f} |")


if __name__ == "__main__":
    main()
