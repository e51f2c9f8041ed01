"""Warnings about degenerate results: numbers that are well-formed but say the run did not work.

A run whose every candidate is the same string, prior samples that are nearly all one string, a model
that reconstructs none of its validation strings, or an encoder that gives different strings the same code
all produce tables that look like results.
These rules put one plain sentence beside such numbers (on the terminal and in the written
summaries), so nobody reads them as a finding. The thresholds are deliberately loose: they flag a
collapse, not a merely mediocre result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

#: Below this fraction of distinct strings among valid ones, a set of strings counts as collapsed.
MIN_UNIQUENESS = 0.1
#: At or above this fraction of the validation strings decoding to another string with the same code, the
#: encoder is merging inputs (lsbo.evaluate's merged misses).
MAX_MERGED_FRACTION = 0.01
#: At or above this fraction of the validation strings going wrong from their first symbol on, and this share of the
#: misses, the encoder fails to read the first symbol (lsbo.evaluate's first-symbol misses).
MIN_FIRST_SYMBOL_FRACTION = 0.01
MIN_FIRST_SYMBOL_SHARE = 0.5


#: Below this fraction of validation strings reconstructed exactly, a trained sequence model has not learnt.
MIN_LEARNT_RECONSTRUCTION = 0.5


def reconstruction_summary(history: Sequence[Mapping[str, Any]], best_epoch: int) -> tuple[float | None, list[str]]:
    """The validation reconstruction at ``best_epoch`` of a training history (``val_rec_acc``: strings
    whose greedy decoding is exact) and the warnings it calls for. For an autoregressive decoder the
    teacher-forced exact match is the greedy decoding's: if every step's choice given the true prefix
    is right, greedy decoding follows the true prefix to the end."""
    rows = [row for row in history if int(row.get("epoch", -1)) == int(best_epoch)] or list(history[-1:])
    accuracy = rows[0].get("val_rec_acc") if rows else None
    if not _is_number(accuracy):
        return None, []
    warnings = []
    if accuracy < MIN_LEARNT_RECONSTRUCTION:
        warnings.append(
            f"the model reconstructs only {accuracy:.1%} of its validation strings: it has not learnt them (more epochs, "
            "a larger --rec-weight or the cpu preset's autoregressive decoder help; benchmarks/RESULTS.md, Decoders)"
        )
    return float(accuracy), warnings


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def candidate_warnings(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Warnings about the evaluated BO candidates of a run (all trials together)."""
    if not records:
        return []
    valid = [r["string"] for r in records if r.get("valid")]
    if not valid:
        return [f"none of the {len(records)} evaluated candidates was valid (each failed to decode or to score)"]
    distinct = set(valid)
    if len(distinct) == 1 and len(valid) > 1:
        (only,) = distinct
        return [f"every valid candidate ({len(valid)} of {len(records)}) is the same string {only!r}: the search collapsed "
                "to one point of the latent space"]
    uniqueness = len(distinct) / len(valid)
    if uniqueness < MIN_UNIQUENESS:
        return [f"only {len(distinct)} distinct strings among {len(valid)} valid candidates (uniqueness {uniqueness:.3g}): "
                "the search keeps proposing the same few points"]
    return []


def model_warnings(evaluation: Mapping[str, Any]) -> list[str]:
    """Warnings about a model's ``evaluation.json`` (reconstruction and prior-sample statistics)."""
    warnings = []
    accuracy, n_reconstructed = evaluation.get("reconstruction_accuracy"), evaluation.get("n_reconstructed") or 0
    if _is_number(accuracy) and accuracy == 0 and n_reconstructed > 0:
        warnings.append(f"the model reconstructs none of its {n_reconstructed} validation strings")
    merged = evaluation.get("n_merged_misses")
    if _is_number(merged) and n_reconstructed > 0 and merged > 0 and merged / n_reconstructed >= MAX_MERGED_FRACTION:
        example = evaluation.get("merged_example")
        instance = f" (e.g. {example[0]!r} comes back as {example[1]!r})" if example else ""
        warnings.append(f"{merged} of the {n_reconstructed} validation strings decode to another string with the same "
                        f"latent code{instance}: the encoder cannot tell them apart, so no decoder can")
    first = evaluation.get("n_first_symbol_misses")
    if _is_number(accuracy) and _is_number(first) and n_reconstructed > 0 and first > 0:
        misses = round((1.0 - accuracy) * n_reconstructed)
        if first / n_reconstructed >= MIN_FIRST_SYMBOL_FRACTION and first >= MIN_FIRST_SYMBOL_SHARE * misses:
            hint = ("; the encoder's unpadded convolutions read that symbol through a single window per layer, and "
                    "--conv-padding full gives it as many windows as the others" if evaluation.get("conv_padding") == "valid" else "")
            warnings.append(f"{first} of the {misses} validation strings that do not come back are wrong from their "
                            f"first symbol on{hint}")
    validity, uniqueness = evaluation.get("validity"), evaluation.get("uniqueness")
    n_samples = evaluation.get("n_samples")
    if _is_number(validity) and validity == 0:
        warnings.append(f"none of the {n_samples or 'decoded'} prior samples is valid")
    elif _is_number(uniqueness) and uniqueness < MIN_UNIQUENESS:
        n_unique = evaluation.get("n_unique")
        distinct = f" ({n_unique} distinct)" if n_unique is not None else ""
        warnings.append(f"prior samples are nearly all the same string: uniqueness {uniqueness:.3g}{distinct}")
    return warnings
