"""Where a character model's reconstructions go wrong, and whether its code still holds the symbol there.

The paper-preset expression encoder (lsbo.models.networks) is three *valid* 1-D convolutions with 2, 3
and 4 filters (kernels 2, 3, 4). A symbol in the middle of a string enters several windows of each
layer; the first symbol enters exactly one window of the first layer (window 0), which feeds exactly one
window of the next, and so on. This script measures what that does to a trained character model:

- reconstruction on the validation strings (greedy decoding, as ``lsbo evaluate``), and for each failed
  string the first position where the decoding differs and whether the rest of the string is right;
- probes of the symbol at ``--position`` (default 0, the first symbol): a k-nearest-neighbour classifier
  on window ``--position``'s output of each convolution (is the symbol still separable there?) and an MLP
  on the codes (does the code carry it?), both trained on training-split strings and scored on validation
  strings; beside them, how often the decoder itself emits the right symbol there, and the majority rate.

    python benchmarks/char_first_symbol.py runs/expr-paper/models/CVAE/seed_0 [MODEL_DIR ...]

It reads character-model directories (positions are characters of the canonical string, which are the
encoder's positions only for a character model) and trains nothing but the small probes (scikit-learn).
For a model with ``conv_padding = "full"`` window ``w`` of a layer ends at position ``w`` (it starts
``kernel - 1`` earlier, in the zeros for the first positions), so window ``--position`` still holds the symbol.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path
from typing import Any

import numpy as np
import torch


def first_difference(expected: str, decoded: str | None) -> int | None:
    """The first position where ``decoded`` differs from ``expected`` (None when equal; -1 when nothing was decoded)."""
    if decoded is None:
        return -1
    if decoded == expected:
        return None
    return next((k for k, (a, b) in enumerate(zip(expected, decoded)) if a != b), min(len(expected), len(decoded)))


def window_outputs(autoencoder: torch.nn.Module, indices: torch.Tensor, window: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """For the index batch ``(N, T)``: the codes ``(N, d)`` (the encoder's mean) and, per ReLU of the encoder's
    convolutions, its output at position ``window``, ``(N, filters)``."""
    outputs: list[torch.Tensor] = []
    relus = [m for m in autoencoder.encoder.convolutions if isinstance(m, torch.nn.ReLU)]
    hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach())) for m in relus]
    try:
        with torch.no_grad():
            codes = autoencoder.encode_mean(indices)
    finally:
        for hook in hooks:
            hook.remove()
    return codes.cpu().numpy(), [out[:, :, window].cpu().numpy() for out in outputs]


def index_batch(trained: Any, strings: list[str]) -> torch.Tensor:
    """``strings`` as the model's index batch ``(N, T)``; a string it cannot encode is an error naming it."""
    indices, ok = trained.codec.encode(strings)
    if not ok.all():
        bad = strings[int(np.flatnonzero(~ok)[0])]
        raise ValueError(f"{int((~ok).sum())} strings cannot be encoded by {trained.model_dir}, e.g. {bad!r}")
    return torch.from_numpy(indices)


def describe(model_dir: Path, n_validation: int, n_probe: int, position: int, seed: int) -> None:
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from lsbo.models import load_model

    trained = load_model(model_dir, device="cpu")
    everything = trained.training_strings()
    validation_rows = set(trained.split["validation_indices"].tolist())
    training = [s for k, s in enumerate(everything) if k not in validation_rows]
    rng = np.random.default_rng(seed)
    # The training file is sorted in places (the 100k expressions are), so the probe's strings are a random draw.
    probe_strings = [training[k] for k in rng.choice(len(training), size=min(n_probe, len(training)), replace=False)]
    validation = trained.validation_strings()[:n_validation]
    canonical = [trained.codec.canonical(s) for s in validation]

    codes, _ = trained.encode(validation)
    decoded = trained.decode(codes, complete=True)
    misses = [(c, d) for c, d in zip(canonical, decoded) if d != c]
    where = collections.Counter(first_difference(c, d) for c, d in misses)
    rest_right = sum(1 for c, d in misses if d is not None and len(d) == len(c) and d[position + 1:] == c[position + 1:]
                     and d[:position] == c[:position])
    print(f"{model_dir}: {len(validation)} validation strings, reconstructed {1 - len(misses) / len(validation):.3f}")
    print(f"  first wrong position of the {len(misses)} misses: "
          + ", ".join(f"{'none decoded' if k == -1 else k}: {n}" for k, n in sorted(where.items())))
    print(f"  misses wrong at position {position} alone (the rest of the string right): {rest_right} of {len(misses)}")

    def symbol_at(strings: list[str]) -> np.ndarray:
        return np.array([trained.codec.canonical(s)[position] if len(trained.codec.canonical(s)) > position else "" for s in strings])

    y_probe, y_validation = symbol_at(probe_strings), symbol_at(validation)
    majority = max(collections.Counter(y_validation.tolist()).values()) / len(y_validation)
    decoder_right = float(np.mean([d is not None and len(d) > position and d[position] == y for d, y in zip(decoded, y_validation)]))
    autoencoder = trained.autoencoder.eval()
    probe_codes, probe_windows = window_outputs(autoencoder, index_batch(trained, probe_strings), position)
    val_codes, val_windows = window_outputs(autoencoder, index_batch(trained, validation), position)
    print(f"  symbol at position {position} on the validation strings: majority rate {majority:.3f}, "
          f"decoder right {decoder_right:.3f}")
    for layer, (x_probe, x_val) in enumerate(zip(probe_windows, val_windows), start=1):
        knn = KNeighborsClassifier(n_neighbors=15).fit(x_probe, y_probe)
        print(f"  convolution {layer} ({x_probe.shape[1]} filters), window {position}: kNN probe {knn.score(x_val, y_validation):.3f}")
    scaler = StandardScaler().fit(probe_codes)
    mlp = MLPClassifier(hidden_layer_sizes=(256, 256), max_iter=300, random_state=seed)
    mlp.fit(scaler.transform(probe_codes), y_probe)
    print(f"  code ({probe_codes.shape[1]} dims): MLP probe {mlp.score(scaler.transform(val_codes), y_validation):.3f} "
          f"(trained on {len(probe_strings)} training-split strings)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dirs", nargs="+", type=Path)
    parser.add_argument("--validation", type=int, default=3000, help="validation strings to reconstruct and probe")
    parser.add_argument("--probe-strings", type=int, default=10_000, help="training-split strings the probes learn from")
    parser.add_argument("--position", type=int, default=0, help="the symbol position the probes read")
    parser.add_argument("--seed", type=int, default=0, help="seed of the probes' strings and of the MLP")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for flag, value in (("--validation", args.validation), ("--probe-strings", args.probe_strings), ("--threads", args.threads)):
        if value < 1:
            parser.error(f"{flag}: {value} is not a positive count")
    if args.position < 0:
        parser.error(f"--position: {args.position} is negative")
    from lsbo.checkpoint import CHECKPOINT_NAME

    missing = [str(d) for d in args.model_dirs if not (d / CHECKPOINT_NAME).is_file()]
    if missing:
        parser.error(f"not a model directory (no {CHECKPOINT_NAME}): {', '.join(missing)}")
    torch.set_num_threads(args.threads)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # the probe's score is what is reported
    for model_dir in args.model_dirs:
        describe(model_dir, args.validation, args.probe_strings, args.position, args.seed)


if __name__ == "__main__":
    main()
