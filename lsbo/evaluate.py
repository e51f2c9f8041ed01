"""Evaluation of a trained sequence model (``lsbo evaluate DIR``).

- Reconstruction accuracy on the validation split: the fraction of held-out strings that come back
  exactly (same string after the grammar's tokenize/join normalisation) when encoded to their latent
  mean and decoded greedily through the grammar's stack machine (Kusner et al., 2017).
- Merged misses: the validation strings that decode to another string which the encoder maps to the same
  code (within ``MERGE_RTOL`` of the code's norm). No decoder can tell such a pair apart; the paper-preset
  expression encoder produces them when its 2-filter first convolution sets every window holding either of two
  tokens to zero (``benchmarks/RESULTS.md``, "Why the character VAE and the plain autoencoder miss 80%").
- First-symbol misses: the validation strings whose decoding is wrong from the model's first symbol (the first
  character, or the first production) on. An encoder of unpadded convolutions reads that symbol through a single
  window per layer, and the paper's character VAE misses mostly there (the same RESULTS section).
- Prior samples: validity (molecules: RDKit parses and sanitizes the SMILES; expressions: the
  whitelisted evaluator gives finite values on the objective's 1000 points; other strings: the
  grammar derivation completed), uniqueness (distinct valid / valid) and novelty (distinct valid not
  among the training strings / distinct valid).

Both use one of two decodings of grammar models, recorded as ``masking`` in ``evaluation.json``:
``complete=True`` (the default, ``length-aware``) only allows productions whose derivation can still
finish within the maximum length, so every decoding is a complete string and validity measures the
strings themselves; ``complete=False`` (``plain``, ``lsbo evaluate --plain-masking``) is the masking of
Kusner et al. (2017) that the paper's tables use, where a derivation that does not finish in time
decodes to nothing and counts as invalid (and as a reconstruction miss). Character models have no
mask (``none``).
- Latent-to-prior fit, the quantities the GMM-KS regularizer targets (paper, eqs. 7 and 8): per
  dimension the Kolmogorov-Smirnov statistic sup |F_n(z) - F_prior(z)| of the validation codes
  against the prior's marginal CDF, and the covariance error, the mean over all d x d entries of the
  squared difference between the codes' covariance and the prior covariance.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lsbo.diagnostics import model_warnings
from lsbo.persistence import write_json

EVALUATION_NAME = "evaluation.json"
TRAINING_CURVES_NAME = "training_curves.png"
#: A miss is merged when its wrong decoding's code lies within this fraction of the string's own code's norm.
#: Merged pairs come out bit-identical in practice (the activations that would separate them are all zero);
#: the tolerance only absorbs float rounding that differs between batch sizes.
MERGE_RTOL = 1e-5


# ----------------------------------------------------------------------------------------------
# pure metrics


def ks_statistics(codes: torch.Tensor, marginal_cdf: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Per-dimension two-sided KS statistic of ``codes (N, d)`` against a marginal CDF ``(N, d) -> (N, d)``."""
    n = codes.shape[0]
    sorted_codes, _ = torch.sort(codes, dim=0)
    cdf = marginal_cdf(sorted_codes).to(torch.float64)
    ranks = torch.arange(1, n + 1, dtype=torch.float64, device=codes.device).unsqueeze(1)
    above = (ranks / n - cdf).amax(dim=0)
    below = (cdf - (ranks - 1) / n).amax(dim=0)
    return torch.maximum(above, below)


def covariance_error(codes: torch.Tensor, prior_covariance: torch.Tensor) -> float:
    """Mean over the d x d entries of (empirical covariance - prior covariance)^2 (the eq. 8 form)."""
    codes = codes.to(torch.float64)
    centred = codes - codes.mean(dim=0, keepdim=True)
    empirical = centred.T @ centred / max(codes.shape[0] - 1, 1)
    return float((empirical - prior_covariance.to(torch.float64)).square().mean())


def sample_statistics(
    samples: Sequence[str | None], is_valid: Callable[[str], bool], canonical: Callable[[str], str], training: set[str]
) -> dict[str, float]:
    """Validity, uniqueness and novelty of decoded prior samples (``None`` = invalid)."""
    valid = [canonical(s) for s in samples if s is not None and is_valid(s)]
    distinct = set(valid)
    novel = distinct - training
    n = len(samples)
    return {
        "n_samples": n,
        "validity": len(valid) / n if n else math.nan,
        "uniqueness": len(distinct) / len(valid) if valid else math.nan,
        "novelty": len(novel) / len(distinct) if distinct else math.nan,
        "n_valid": len(valid),
        "n_unique": len(distinct),
        "n_novel": len(novel),
    }


@functools.lru_cache(maxsize=1 << 16)
def canonical_smiles(smiles: str) -> str | None:
    """RDKit's canonical SMILES of a sanitizable molecule, else None.

    Cached: validity and uniqueness/novelty both ask about the same samples, and a SMILES is parsed once.
    """
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")  # invalid samples are expected; do not flood the terminal
    mol = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else None


def validity_check(kind: str) -> Callable[[str], bool]:
    """What "valid" means for a data kind (see the module docstring)."""
    if kind == "molecules":
        return lambda smiles: canonical_smiles(smiles) is not None
    if kind == "expressions":
        from lsbo.objectives.expressions import is_evaluable

        return lambda text: is_evaluable(text)
    return lambda text: True


def canonical_form(kind: str, codec_canonical: Callable[[str], str]) -> Callable[[str], str]:
    """Canonical strings for uniqueness/novelty (RDKit canonical SMILES for molecules)."""
    if kind == "molecules":
        return lambda smiles: canonical_smiles(smiles) or smiles

    def normalised(text: str) -> str:
        try:
            return codec_canonical(text)
        except Exception:  # a string outside the grammar's tokens keeps its own form
            return text

    return normalised


# ----------------------------------------------------------------------------------------------
# the evaluation of a model directory


def same_codes(codes: torch.Tensor, other_codes: torch.Tensor, rtol: float = MERGE_RTOL) -> torch.Tensor:
    """Row by row, whether two code batches ``(M, d)`` hold the same point: ``|a - b| <= rtol * |a|``,
    ``(M,)`` bool (a NaN row, e.g. an unencodable string's, is never the same)."""
    if codes.shape != other_codes.shape:
        raise ValueError(f"codes {tuple(codes.shape)} and other_codes {tuple(other_codes.shape)} differ in shape")
    distance = (codes - other_codes).norm(dim=1)
    return distance <= rtol * codes.norm(dim=1)  # NaN compares False


def reconstruction_accuracy(model: Any, strings: Sequence[str], complete: bool = True) -> dict[str, Any]:
    """Exact-match rate of greedy encode→decode on ``strings`` (unencodable strings count as misses;
    ``complete`` selects the decoding, see the module docstring), and the merged misses: how many strings
    decode to another string that has their own code (``n_merged_misses``), with one such pair
    (``merged_example``: ``[string, decoding]``, None when there is none), and how many strings decode wrong
    from their first symbol on (``n_first_symbol_misses``; a wrong decoding the codec cannot encode is not
    counted)."""
    if not strings:
        return {"reconstruction_accuracy": math.nan, "n_reconstructed": 0, "n_merged_misses": 0, "merged_example": None,
                "n_first_symbol_misses": 0}
    codes, ok = model.encode(strings)
    decoded: list[str | None] = [None] * len(strings)
    rows = np.flatnonzero(ok)
    if len(rows):
        for row, text in zip(rows, model.decode(codes[torch.from_numpy(rows).to(codes.device)], complete=complete)):
            decoded[row] = text
    hits = 0
    wrong: list[tuple[int, str]] = []
    for row, (original, text) in enumerate(zip(strings, decoded)):
        if text is not None and model.codec.canonical(original) == text:
            hits += 1
        elif text is not None:
            wrong.append((row, text))
    merged: list[int] = []
    first_symbol = 0
    if wrong:
        wrong_codes, _ = model.encode([text for _, text in wrong])
        own = codes[torch.tensor([row for row, _ in wrong], device=codes.device)]
        merged = np.flatnonzero(same_codes(own, wrong_codes.to(own.device)).cpu().numpy()).tolist()
        first_symbol = first_symbol_misses(model.codec, [strings[row] for row, _ in wrong], [text for _, text in wrong])
    example = [strings[wrong[merged[0]][0]], wrong[merged[0]][1]] if merged else None
    return {"reconstruction_accuracy": hits / len(strings), "n_reconstructed": len(strings),
            "n_merged_misses": len(merged), "merged_example": example, "n_first_symbol_misses": first_symbol}


def first_symbol_misses(codec: Any, strings: Sequence[str], decodings: Sequence[str]) -> int:
    """How many of the pairs (string, its wrong decoding) differ in the first symbol of their index sequences
    (pairs that the codec cannot both encode are not counted)."""
    expected, expected_ok = codec.encode(list(strings))
    found, found_ok = codec.encode(list(decodings))
    both = np.asarray(expected_ok, dtype=bool) & np.asarray(found_ok, dtype=bool)
    return int(np.sum(both & (np.asarray(expected)[:, 0] != np.asarray(found)[:, 0])))


def latent_fit(model: Any, strings: Sequence[str]) -> dict[str, Any]:
    """KS statistic per dimension and covariance error of the validation codes against the prior."""
    codes, ok = model.encode(strings)
    codes = codes[torch.from_numpy(ok).to(codes.device)].float()
    if codes.shape[0] < 2:
        return {"ks_mean": math.nan, "ks_max": math.nan, "ks_per_dimension": [], "covariance_error": math.nan}
    prior = model.prior
    codes = codes.to(prior.means.device, prior.means.dtype)
    ks = ks_statistics(codes, prior.marginal_cdf)
    return {
        "ks_mean": float(ks.mean()),
        "ks_max": float(ks.max()),
        "ks_per_dimension": [round(float(v), 6) for v in ks],
        "covariance_error": covariance_error(codes, prior.covariance()),
        "n_codes": int(codes.shape[0]),
    }


def evaluate_model(
    model_dir: Path | str, *, n_samples: int = 1000, device: str = "auto", seed: int = 0,
    max_reconstruct: int | None = None, write: bool = True, complete: bool = True,
) -> dict[str, Any]:
    """Every metric of the module docstring for a model directory; written to ``evaluation.json``.

    ``complete=False`` decodes with the plain Grammar VAE masking (the paper's protocol) instead of
    the length-aware default; the choice is recorded as ``complete`` and ``masking``.
    """
    from lsbo.models import load_model

    model = load_model(model_dir, device=device)
    validation = model.validation_strings()
    if max_reconstruct is not None:
        validation = validation[:max_reconstruct]
    training = model.training_strings()
    canonical = canonical_form(model.kind, model.codec.canonical)
    generator = torch.Generator(device=model.prior.means.device).manual_seed(seed)
    samples = model.sample(n_samples, generator=generator, complete=complete)
    result: dict[str, Any] = {
        "model_dir": str(Path(model_dir)),
        "kind": model.kind,
        "model": model.config.model,
        "regularizer": model.config.regularizer,
        "conv_padding": model.config.conv_padding,
        "latent_dim": model.latent_dim,
        "seed": seed,
        "complete": complete,
        "masking": model.masking(complete),
        "validity_rule": {
            "molecules": "RDKit MolFromSmiles (sanitized)",
            "expressions": "finite on the 1000 objective points (whitelisted evaluator)",
        }.get(model.kind, "complete grammar derivation"),
    }
    result.update(reconstruction_accuracy(model, validation, complete=complete))
    result.update(sample_statistics(samples, validity_check(model.kind), canonical, {canonical(s) for s in training}))
    result.update(latent_fit(model, validation))
    result["example_samples"] = [s for s in samples[:10]]
    result["warnings"] = model_warnings(result)
    if write:
        write_json(Path(model.model_dir) / EVALUATION_NAME, _json_safe(result))
        from lsbo.train import METRICS_NAME

        metrics = Path(model.model_dir) / METRICS_NAME
        if metrics.is_file():
            from lsbo.report import model_description, plot_training_curves

            title = f"training of {model_description(model)}"
            plot_training_curves(metrics, Path(model.model_dir) / TRAINING_CURVES_NAME, title=title)
    return result


def _json_safe(value: Any) -> Any:
    """NaN (an undefined metric, e.g. uniqueness with no valid sample) becomes JSON null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


SUMMARY_ROWS = (
    ("reconstruction accuracy (validation)", "reconstruction_accuracy"),
    ("prior samples: validity", "validity"),
    ("prior samples: uniqueness", "uniqueness"),
    ("prior samples: novelty", "novelty"),
    ("latent KS statistic (mean over dims)", "ks_mean"),
    ("latent KS statistic (max over dims)", "ks_max"),
    ("covariance error (eq. 8 form)", "covariance_error"),
)
