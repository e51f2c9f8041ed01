"""Tokenizers derived from a grammar's terminals (issue 2, item 3)."""

from __future__ import annotations

import pytest

from lsbo.errors import GrammarError
from lsbo.grammar import Grammar
from lsbo.grammar.tokenizer import CallableTokenizer, LongestMatchTokenizer, WhitespaceTokenizer, make_tokenizer


def test_longest_match_prefers_two_character_terminals() -> None:
    g = Grammar.builtin("zinc")
    assert g.tokenize("ClC[C@@H](Br)c1ccc[nH]1") == [
        "Cl", "C", "[", "C", "@@", "H", "]", "(", "Br", ")", "c", "1", "c", "c", "c", "[", "n", "H", "]", "1",
    ]
    assert g.tokenize("C/C=C\\C") == ["C", "/", "C", "=", "C", "\\", "C"]
    assert g.join(g.tokenize("CC(=O)[O-]")) == "CC(=O)[O-]"


@pytest.mark.parametrize(("text", "char", "position"), [("CC%11", "%", 2), ("C1CC9", "9", 4), ("C C", " ", 1)])
def test_untokenizable_character_is_named_with_its_position(text: str, char: str, position: int) -> None:
    with pytest.raises(GrammarError, match=f"character {char!r} at position {position}"):
        Grammar.builtin("zinc").tokenize(text)


def test_whitespace_tokenizer_checks_every_piece() -> None:
    tokenizer = WhitespaceTokenizer(["x", "+", "sin("])
    assert tokenizer.tokenize("  sin( x  + x ") == ["sin(", "x", "+", "x"]
    assert tokenizer.join(["sin(", "x"]) == "sin( x"
    with pytest.raises(GrammarError, match="token 'y' at position 4"):
        tokenizer.tokenize("x + y")


def test_tokenizer_choice_by_name_object_or_function() -> None:
    terminals = ["ab", "a", "b"]
    assert isinstance(make_tokenizer(None, terminals), LongestMatchTokenizer)
    assert make_tokenizer(None, terminals).tokenize("aab") == ["a", "ab"]
    assert isinstance(make_tokenizer("whitespace", terminals), WhitespaceTokenizer)
    chars = make_tokenizer(list, terminals)
    assert isinstance(chars, CallableTokenizer) and chars.tokenize("aab") == ["a", "a", "b"]
    with pytest.raises(GrammarError, match="not a terminal"):
        chars.tokenize("abc")
    with pytest.raises(GrammarError, match="unknown tokenizer"):
        make_tokenizer("regex", terminals)
    with pytest.raises(GrammarError, match="whitespace"):
        make_tokenizer("whitespace", ["a b"])


def test_grammar_tokenizer_argument_overrides_the_file() -> None:
    g = Grammar.builtin("expr", tokenizer="longest-match")
    assert g.tokenize("sin(x)+1") == ["sin(", "x", ")", "+", "1"]
    assert g.encode(["sin(x)+1"]).ok.tolist() == [True]
    assert g.decode(g.encode(["sin(x)+1"]).indices) == ["sin(x)+1"]
