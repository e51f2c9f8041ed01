"""Issue 16, item 10, for the character baseline: NaN or +inf decoder logits give no string (the
grammar codec's behaviour, tested in tests/grammar/test_input_bounds.py), not the characters an
argmax over NaN would pick, nor a sampling error."""

from __future__ import annotations

import torch


def test_character_codec_gives_no_string_for_non_finite_logits() -> None:
    from lsbo.data import CharVocabulary
    from lsbo.models.codecs import CharCodec

    codec = CharCodec(CharVocabulary.build(["ab", "ba"]))
    logits = torch.zeros(3, codec.max_length, codec.n_symbols)
    logits[:, :, 1] = 5.0  # every row spells "aa"
    logits[1, 0, 2] = float("nan")
    logits[2, 1, 0] = float("inf")
    assert codec.decode_logits(logits) == ["aa", None, None]
    sampled = codec.decode_logits(logits, sample=True, generator=torch.Generator().manual_seed(0))
    assert sampled[1:] == [None, None] and isinstance(sampled[0], str)
