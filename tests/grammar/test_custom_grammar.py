"""A user's grammar file, not a built-in, works end to end (issue 2, "done when")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lsbo.grammar import Grammar

# A tiny query language with its own multi-character terminals, tokens separated by spaces.
QUERY_GRAMMAR = """\
# A toy boolean query language.
# max_length: 40
# tokenizer: whitespace
query -> query 'OR' term | term
term -> term 'AND' factor | factor
factor -> 'NOT' factor | '(' query ')' | field
field -> 'title' | 'author' | 'year>2000'
"""


@pytest.fixture
def query_grammar(tmp_path: Path) -> Grammar:
    path = tmp_path / "query.cfg"
    path.write_text(QUERY_GRAMMAR, encoding="utf-8")
    return Grammar.from_file(path)


def test_user_grammar_end_to_end(query_grammar: Grammar) -> None:
    g = query_grammar
    assert g.name == "query" and g.max_length == 40 and g.tokenizer.name == "whitespace"
    assert g.n_productions == 11 and g.padding == 10
    assert set(g.terminals) == {"OR", "AND", "NOT", "(", ")", "title", "author", "year>2000"}
    strings = ["title", "NOT ( title OR author ) AND year>2000", "author AND AND", "title XOR author"]
    result = g.encode(strings)
    assert result.ok.tolist() == [True, True, False, False]
    assert result.reasons[2] == "no parse"
    assert result.reasons[3] == "untokenizable: token 'XOR' at position 6"
    # title: query -> term, term -> factor, factor -> field, field -> 'title'
    assert result.indices[0, :5].tolist() == [1, 3, 6, 7, g.padding]
    for text in strings[:2]:
        tokens = g.tokenize(text)
        assert g.parse(tokens) == g.parser.nltk_parse(tokens)
    assert g.decode(result.indices[result.ok]) == strings[:2]
    one_hot = g.one_hot(result.indices)
    assert one_hot.shape == (4, 40, 11)
    # The masked decoder reproduces a derivation from logits peaked on it.
    decoded = g.decode_logits(one_hot[:2] * 10.0)
    assert decoded.strings == strings[:2]
    masks = g.masks
    assert masks.shape == (len(g.nonterminals), 11)
    assert masks.sum(dim=1).tolist() == [2, 2, 3, 3]


def test_user_grammar_with_a_callable_tokenizer(tmp_path: Path) -> None:
    path = tmp_path / "binary.cfg"
    path.write_text("N -> N D | D\nD -> '0' | '1'\n", encoding="utf-8")
    g = Grammar.from_file(path, tokenizer=list, max_length=30)
    result = g.encode(["1011", "12"])
    assert result.ok.tolist() == [True, False]
    assert result.reasons[1] == "untokenizable: token '2' at index 1 is not a terminal"
    assert g.decode(result.indices[:1]) == ["1011"]
    assert torch.equal(g.one_hot(result.indices).argmax(-1), torch.as_tensor(result.indices))
    assert np.all(result.indices[1] == g.padding)
