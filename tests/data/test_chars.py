"""Character vocabularies of the character-level baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lsbo.data.chars import PADDING_INDEX, CharVocabulary
from lsbo.errors import DataError

STRINGS = ["CCO", "c1ccccc1", "Cl"]


def test_build_sorted_characters_and_longest_length() -> None:
    vocab = CharVocabulary.build(STRINGS)
    assert vocab.characters == ("1", "C", "O", "c", "l")
    assert vocab.size == 6 and vocab.max_length == 8 and vocab.padding == PADDING_INDEX == 0
    assert CharVocabulary.build(STRINGS, max_length=20).max_length == 20


def test_encode_decode_round_trip_with_padding() -> None:
    vocab = CharVocabulary.build(STRINGS)
    indices, ok = vocab.encode(STRINGS)
    assert indices.shape == (3, 8) and indices.dtype == np.int64 and ok.all()
    assert indices[0].tolist() == [2, 2, 3, 0, 0, 0, 0, 0]
    assert vocab.decode(indices) == STRINGS
    assert vocab.decode(torch.as_tensor(indices)) == STRINGS


def test_unknown_or_too_long_strings_are_not_ok() -> None:
    vocab = CharVocabulary.build(STRINGS)
    indices, ok = vocab.encode(["CCN", "C" * 9, "CO", ""])
    assert ok.tolist() == [False, False, True, False]
    assert (indices[0] == 0).all() and (indices[1] == 0).all()
    reasons = vocab.reasons(["CCN", "C" * 9, "CO", ""])
    assert reasons[0] == "untokenizable: character 'N' at position 2"
    assert reasons[1] == "too long: 9 > 8" and reasons[2] is None and reasons[3] == "empty"


def test_decode_stops_at_padding_and_flags_bad_rows() -> None:
    vocab = CharVocabulary.build(STRINGS)
    rows = np.array([[2, 3, 0, 2, 2], [0, 2, 2, 2, 2], [2, 99, 0, 0, 0]])
    assert vocab.decode(rows) == ["CO", None, None]


def test_one_hot_matches_indices() -> None:
    vocab = CharVocabulary.build(STRINGS)
    indices, _ = vocab.encode(STRINGS)
    one_hot = vocab.one_hot(indices)
    assert one_hot.shape == (3, 8, vocab.size) and one_hot.dtype == torch.float32
    assert torch.equal(one_hot.argmax(-1), torch.as_tensor(indices))
    assert torch.all(one_hot.sum(-1) == 1)


def test_dict_round_trip_through_json() -> None:
    vocab = CharVocabulary.build(STRINGS + ["a b"])
    restored = CharVocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored == vocab
    with pytest.raises(DataError, match="malformed character vocabulary"):
        CharVocabulary.from_dict({"characters": "ab"})
    with pytest.raises(DataError):
        CharVocabulary.build(["", ""])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="CNOc1()=#[]@+- ", min_size=1, max_size=12), min_size=1, max_size=20))
def test_round_trip_for_any_strings(strings: list[str]) -> None:
    vocab = CharVocabulary.build(strings)
    indices, ok = vocab.encode(strings)
    assert ok.all()
    assert vocab.decode(indices) == strings
    assert vocab.size == len(set("".join(strings))) + 1
