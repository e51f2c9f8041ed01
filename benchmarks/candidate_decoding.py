"""Time of one BO batch's stochastic decoding: the decoder network once per point against once per attempt.

The protocol decodes each of q latent points A times by sampling (500 attempts for molecules) and
keeps the most frequent valid string. The decoder network's logits depend on the point alone, so
``TrainedModel.decode(z, sample=True, repeats=A)`` runs the network on the q points and repeats only
the sampling, where the baseline sends all q x A repeated points through the network. This script decodes
the same q prior samples both ways with the same sampling seed, in one run, checks that the strings
are identical, and prints both times and their ratio::

    python benchmarks/candidate_decoding.py runs/zinc/models/GMM-KS/seed_0 --points 50 --attempts 500
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from lsbo.errors import LsboError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="a trained model directory")
    parser.add_argument("--points", type=int, default=50, help="latent points (the batch q)")
    parser.add_argument("--attempts", type=int, default=500, help="decodings per point")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for flag, value in (("--points", args.points), ("--attempts", args.attempts), ("--threads", args.threads)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    from lsbo.models import load_model

    torch.set_num_threads(args.threads)
    try:
        model = load_model(args.model, device="cpu")
    except LsboError as error:
        raise SystemExit(f"candidate_decoding.py: {error}") from None
    z = model.sample_latents(args.points, generator=torch.Generator().manual_seed(args.seed))
    timings, outputs = {}, {}
    for label in ("once per attempt (repeated points)", "once per point (repeats)"):
        generator = torch.Generator().manual_seed(args.seed + 1)
        started = time.perf_counter()
        if label.startswith("once per attempt"):
            outputs[label] = model.decode(z.repeat_interleave(args.attempts, 0), sample=True, generator=generator)
        else:
            outputs[label] = model.decode(z, sample=True, generator=generator, repeats=args.attempts)
        timings[label] = time.perf_counter() - started
    before, after = timings.values()
    same = len(set(map(tuple, outputs.values()))) == 1
    print(f"{args.model}: {args.points} points x {args.attempts} attempts, {args.threads} thread(s)")
    for label, seconds in timings.items():
        print(f"  network {label}: {seconds:.2f} s")
    print(f"  ratio {before / after:.1f}x; strings identical: {same}")


if __name__ == "__main__":
    main()
