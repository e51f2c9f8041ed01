"""Encoding strings to padded derivations and back, on the real datasets (issue 2, "done when")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lsbo.grammar import Grammar


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().split("\n") if line]


def test_zinc_subset_is_accepted_and_round_trips(zinc: Grammar, zinc_subset_path: Path) -> None:
    smiles = _lines(zinc_subset_path)
    result = zinc.encode(smiles)
    assert result.indices.shape == (len(smiles), 277) and result.indices.dtype == np.int64
    assert result.ok.dtype == np.bool_
    assert result.ok.mean() >= 0.97
    assert all((reason is None) == ok for reason, ok in zip(result.reasons, result.ok))
    assert result.lengths.max() <= 277
    # Rows are the derivation followed by padding only.
    for row, length in zip(result.indices[:500], result.lengths[:500]):
        assert (row[length:] == zinc.padding).all() and (row[:length] != zinc.padding).all()
    accepted = [s for s, ok in zip(smiles, result.ok) if ok]
    decoded = zinc.decode(result.indices[result.ok])
    assert decoded == accepted  # token round trip; for SMILES the joined tokens are the string itself
    assert all(zinc.tokenize(d) == zinc.tokenize(s) for d, s in zip(decoded[:200], accepted[:200]))


def test_expression_dataset_is_accepted_and_round_trips(expr: Grammar, expr_dataset_path: Path) -> None:
    expressions = _lines(expr_dataset_path)
    result = expr.encode(expressions)
    assert result.ok.all() and result.reasons == [None] * len(expressions)
    assert result.lengths.max() <= 15 and result.indices.shape == (len(expressions), 15)
    assert expr.decode(result.indices) == expressions


def test_rejects_are_explained_and_never_raise(zinc: Grammar) -> None:
    inputs = ["CCO", "CC%11CC%11", "C1CC(", "C" * 80, "", None, 3.5, "c1ccccc1", "CC9"]
    result = zinc.encode(inputs)  # type: ignore[arg-type]
    assert result.ok.tolist() == [True, False, False, False, False, False, False, True, False]
    reasons = result.reasons
    assert reasons[1] == "untokenizable: character '%' at position 2"
    assert reasons[2] == "no parse"
    assert reasons[3] is not None and reasons[3].startswith("too long: ") and reasons[3].endswith("> 277")
    assert int(reasons[3].split()[2]) > 277
    assert reasons[4] == "no parse: empty string"
    assert reasons[5] == "not a string: NoneType" and reasons[6] == "not a string: float"
    assert reasons[8] == "untokenizable: character '9' at position 2"
    assert (result.indices[~result.ok] == zinc.padding).all()
    assert result.reason_counts() == {"untokenizable": 2, "no parse": 2, "too long": 1, "not a string": 2}


def test_duplicates_encode_identically(expr: Grammar) -> None:
    result = expr.encode(["x + 1", "sin( x )", "x + 1"])
    assert (result.indices[0] == result.indices[2]).all()
    assert result.indices[0, :4].tolist() == [0, 3, 7, 8]  # S -> S + T, S -> T, T -> x, T -> 1


def test_decode_rejects_incomplete_and_invalid_sequences(expr: Grammar) -> None:
    pad = expr.padding
    complete = [0, 3, 7, 8] + [pad] * 11
    assert expr.decode(np.array([complete])) == ["x + 1"]
    unfinished = [0, 3, 7] + [pad] * 12  # S -> S + T still needs its T
    wrong_lhs = [7] + [pad] * 14  # T -> x while S is on top
    after_end = [3, 7, 8] + [pad] * 12  # a production after the derivation finished
    padding_first = [pad] * 15
    out_of_range = [0, 3, 7, 99] + [pad] * 11
    never_ends = [0] * 15  # S -> S + T forever
    batch = [unfinished, wrong_lhs, after_end, padding_first, out_of_range, never_ends]
    assert expr.decode(torch.tensor(batch)) == [None] * len(batch)
    with pytest.raises(ValueError, match="2-D"):
        expr.decode(np.array(complete))


def test_one_hot_matches_indices(zinc: Grammar) -> None:
    result = zinc.encode(["CC(=O)Nc1ccc(O)cc1", "C"])
    one_hot = zinc.one_hot(result.indices)
    assert one_hot.shape == (2, 277, 76) and one_hot.dtype == torch.float32
    assert torch.equal(one_hot.argmax(-1), torch.as_tensor(result.indices))
    assert torch.equal(one_hot.sum(-1), torch.ones(2, 277))
    as_tensor = zinc.one_hot(torch.as_tensor(result.indices))
    assert as_tensor.device == torch.as_tensor(result.indices).device and torch.equal(as_tensor, one_hot)
    with pytest.raises(ValueError, match="integers"):
        zinc.one_hot(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"\[0, 75\]"):
        zinc.one_hot(np.array([[76]]))


def test_decode_logits_through_the_masked_decoder(zinc: Grammar) -> None:
    smiles = ["CC(=O)Nc1ccc(O)cc1", "c1ccc2[nH]ccc2c1", "C[C@@H](N)C(=O)[O-]"]
    result = zinc.encode(smiles)
    assert result.ok.all()
    # Logits peaked at the true derivation decode to the original strings.
    logits = zinc.one_hot(result.indices) * 10.0
    decoded = zinc.decode_logits(logits)
    assert decoded.strings == smiles
    assert decoded.complete.tolist() == [True] * 3
    assert torch.equal(decoded.indices.cpu(), torch.as_tensor(result.indices))
    # Sampling around those logits yields other derivations; every complete one decodes to a string
    # that parses back to exactly the sampled derivation (the grammar is unambiguous on them).
    generator = torch.Generator().manual_seed(0)
    noisy = zinc.one_hot(np.repeat(result.indices, 4, axis=0)) * 5.0 + torch.randn(12, 277, 76, generator=generator)
    sampled = zinc.decode_logits(noisy, sample=True, generator=generator)
    assert [s is not None for s in sampled.strings] == sampled.complete.tolist()
    finished = [i for i, s in enumerate(sampled.strings) if s is not None]
    assert finished and set(sampled.strings[i] for i in finished) - set(smiles)
    again = zinc.encode([sampled.strings[i] for i in finished])
    assert again.ok.all()
    assert np.array_equal(again.indices, sampled.indices[finished].cpu().numpy())


_ZINC = Grammar.builtin("zinc")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="CNOcnos()[]=#@+-123H%9 \\/lB", max_size=30) | st.text(max_size=10))
def test_encode_never_raises_and_accepted_strings_round_trip(text: str) -> None:
    result = _ZINC.encode([text])
    if result.ok[0]:
        assert result.reasons == [None]
        assert _ZINC.decode(result.indices) == [text]
    else:
        category = result.reasons[0].split(":", 1)[0]
        assert category in {"untokenizable", "no parse", "too long"}
        assert (result.indices == _ZINC.padding).all()
