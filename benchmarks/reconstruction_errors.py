"""Which tokens a trained model gets wrong when it fails to reconstruct, and whether its encoder can tell them apart.

For each validation string whose greedy decoding (as ``lsbo evaluate``) differs from it, the script compares
the two token by token (the canonical forms split on whitespace) and counts, over all misses, the token pairs
(expected, decoded) that differ and the first position where they do. It then encodes each wrong decoding and
measures its code's distance to the code of the string it should have been: a distance of zero means the
encoder maps both strings to the same point, so no decoder could tell them apart (the information was lost in
the encoder), while a distance comparable to that between different strings puts the miss on the decoder. The
count of such "merged" misses is ``lsbo evaluate``'s ``n_merged_misses`` (the rule is
:func:`lsbo.evaluate.same_codes`); this script adds the token pairs and the distances.

    python benchmarks/reconstruction_errors.py runs/expr-paper/models/GAE/seed_0 [MODEL_DIR ...]

Distances are reported beside the median distance from each validation code to its nearest other validation
code (the scale at which the encoder separates different strings).
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch


def token_differences(expected: Sequence[str], decoded: Sequence[str]) -> list[tuple[int, str, str]]:
    """The positions where two token sequences differ, with both tokens (``"<end>"`` past a sequence's end)."""
    length = max(len(expected), len(decoded))
    padded = [list(expected) + ["<end>"] * (length - len(expected)), list(decoded) + ["<end>"] * (length - len(decoded))]
    return [(k, a, b) for k, (a, b) in enumerate(zip(*padded)) if a != b]


def nearest_other_distance(codes: torch.Tensor) -> torch.Tensor:
    """For codes ``(N, d)``: each row's distance to its nearest *other* row ``(N,)`` (duplicates count as 0)."""
    distances = torch.cdist(codes, codes)
    distances.fill_diagonal_(float("inf"))
    return distances.min(dim=1).values


def describe(model_dir: Path, n_validation: int) -> None:
    from lsbo.evaluate import MERGE_RTOL, same_codes
    from lsbo.models import load_model

    trained = load_model(model_dir, device="cpu")
    validation = trained.validation_strings()[:n_validation]
    codes, ok = trained.encode(validation)
    decoded = trained.decode(codes[torch.from_numpy(np.flatnonzero(ok))], complete=True) if ok.any() else []
    by_row = dict(zip(np.flatnonzero(ok).tolist(), decoded))
    misses: list[tuple[int, str, str | None]] = []
    for row, original in enumerate(validation):
        text = by_row.get(row)
        if text != trained.codec.canonical(original):
            misses.append((row, trained.codec.canonical(original), text))
    pairs: collections.Counter[tuple[str, str]] = collections.Counter()
    first: collections.Counter[int] = collections.Counter()
    wrong_tokens: collections.Counter[int] = collections.Counter()
    for _, expected, text in misses:
        if text is None:
            continue
        found = token_differences(expected.split(), text.split())
        pairs.update((a, b) for _, a, b in found)
        first[found[0][0]] += 1
        wrong_tokens[len(found)] += 1
    print(f"{model_dir}: {len(validation)} validation strings, reconstructed {1 - len(misses) / len(validation):.3f} "
          f"({len(misses)} misses, {sum(1 for m in misses if m[2] is None)} with nothing decoded)")
    print("  wrong tokens per miss: " + ", ".join(f"{k}: {n}" for k, n in sorted(wrong_tokens.items())))
    print("  first wrong token position: " + ", ".join(f"{k}: {n}" for k, n in sorted(first.items())))
    print("  (expected, decoded) token pairs: " + ", ".join(f"{a} -> {b}: {n}" for (a, b), n in pairs.most_common(10)))

    scale = float(nearest_other_distance(codes[torch.from_numpy(np.flatnonzero(ok))].float()).median())
    wrong = [(row, text) for row, _, text in misses if text is not None]
    if not wrong:
        return
    wrong_codes, wrong_ok = trained.encode([text for _, text in wrong])
    rows = torch.tensor([row for row, _ in wrong])
    encodable = torch.from_numpy(wrong_ok)
    distance = (codes[rows] - wrong_codes).norm(dim=1)[encodable]
    same = int(same_codes(codes[rows][encodable], wrong_codes[encodable]).sum())
    print(f"  code distance between a string and its wrong decoding: median {float(distance.median()):.4g}, "
          f"max {float(distance.max()):.4g}; nearest other validation code, median {scale:.4g}")
    print(f"  misses whose wrong decoding has the string's own code (distance <= {MERGE_RTOL:g} x its norm): "
          f"{same} of {len(distance)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dirs", nargs="+", type=Path)
    parser.add_argument("--validation", type=int, default=3000, help="validation strings to reconstruct")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.validation < 1:
        parser.error(f"--validation: {args.validation} is not a positive count")
    if args.threads < 1:
        parser.error(f"--threads: {args.threads} is not a positive count")
    from lsbo.checkpoint import CHECKPOINT_NAME

    missing = [str(d) for d in args.model_dirs if not (d / CHECKPOINT_NAME).is_file()]
    if missing:
        parser.error(f"not a model directory (no {CHECKPOINT_NAME}): {', '.join(missing)}")
    torch.set_num_threads(args.threads)
    for model_dir in args.model_dirs:
        describe(model_dir, args.validation)


if __name__ == "__main__":
    main()
