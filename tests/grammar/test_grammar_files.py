"""The shipped grammar files (issue 2, item 2) and loading grammars from text and files (item 3)."""

from __future__ import annotations

import pickle
import re
from importlib import resources
from pathlib import Path

import pytest
from nltk.grammar import Nonterminal

from lsbo.errors import GrammarError
from lsbo.grammar import DEFAULT_MAX_LENGTH, Grammar


def test_builtin_files_ship_in_the_grammar_package() -> None:
    names = {p.name for p in resources.files("lsbo_grammars").iterdir()}
    assert {"zinc.cfg", "expr.cfg", "README.md"} <= names
    assert Grammar.builtin_names() == ["expr", "zinc"]


def test_zinc_grammar_matches_the_published_facts() -> None:
    g = Grammar.builtin("zinc")
    assert len(g.productions) == 75
    assert g.n_productions == 76 and g.padding == 75
    assert g.max_length == 277 and g.max_length_source == "file"
    assert g.tokenizer.name == "longest-match"
    assert g.cfg.start() == Nonterminal("smiles")
    # `class` is named but has no production: non-productive, and both productions using it are masked.
    assert g.nonproductive == [Nonterminal("class")]
    assert [str(g.productions[p]) for p in g.masked_productions] == ["BACH -> charge class", "BACH -> class"]
    assert any("class" in w for w in g.warnings)
    # A single backslash terminal, written '\' in the file, is one one-character terminal.
    assert "\\" in g.terminals and all(len(t) == 1 for t in g.terminals if t not in ("Cl", "Br", "@@"))
    assert {"Cl", "Br", "@@"} <= set(g.terminals)


def test_expr_grammar_matches_the_published_facts() -> None:
    g = Grammar.builtin("expr")
    assert len(g.productions) == 11 and g.n_productions == 12
    assert g.max_length == 15
    assert g.tokenizer.name == "optional-spaces"
    assert g.warnings == []
    assert {"sin(", "exp(", "x", "1", "2", "3", "+", "*", "/", "(", ")"} == set(g.terminals)


def test_masks_follow_left_hand_sides_and_exclude_non_productive_productions() -> None:
    g = Grammar.builtin("zinc")
    masks = g.masks
    assert masks.shape == (len(g.nonterminals), 76) and masks.dtype.is_floating_point is False
    for p, prod in enumerate(g.productions):
        row = g.nonterminals.index(prod.lhs())
        assert bool(masks[row, p]) == (p not in g.masked_productions)
    assert masks.sum().item() == 75 - 2
    assert not masks[:, g.padding].any()
    assert masks[g.nonterminals.index(Nonterminal("class"))].sum() == 0


def test_unknown_builtin_lists_the_known_ones() -> None:
    with pytest.raises(GrammarError, match="expr, zinc"):
        Grammar.builtin("nope")


def test_from_string_round_trips_through_the_stored_text() -> None:
    g = Grammar.builtin("zinc")
    again = Grammar.from_string(g.text, name="zinc")
    assert again.productions == g.productions and again.max_length == 277
    assert again.encode(["CC(=O)Nc1ccccc1"]).indices.tolist() == g.encode(["CC(=O)Nc1ccccc1"]).indices.tolist()


def test_grammar_pickles_for_worker_processes() -> None:
    g = Grammar.builtin("expr")
    clone = pickle.loads(pickle.dumps(g))
    assert clone.productions == g.productions and clone.max_length == g.max_length
    assert clone.tokenizer.name == "optional-spaces" and clone.max_length_source == "file"
    assert clone.encode(["sin( x ) + 1"]).indices.tolist() == g.encode(["sin( x ) + 1"]).indices.tolist()


def _write(tmp_path: Path, text: str, name: str = "g.cfg") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("S -> 'a' S\nS -> 'b\n", 2, "Unterminated string"),
        ("# max_length: 9\nS -> 'a'\nS => 'b'\n", 3, "Expected an arrow"),
        ("S -> 'a'\n\nS -> 'b'\nS -> 'a'\n", 4, "duplicate production"),
        ("S -> 'a' ''\n", 1, "empty terminal"),
        ("# max_length: many\nS -> 'a'\n", 1, "max_length must be a positive integer"),
        ("# tokenizer: regex\nS -> 'a'\n", 1, "tokenizer must be"),
        ("# max_length: 3\nS -> 'a'\n# max_length: 4\n", 3, "set twice"),
    ],
)
def test_malformed_files_name_the_file_and_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(GrammarError) as info:
        Grammar.from_file(path)
    message = str(info.value)
    assert str(path) in message and f"line {line}" in message and what in message
    assert "\n" not in message


def test_unusable_grammars_are_rejected_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(GrammarError, match="derives no terminal string"):
        Grammar.from_file(_write(tmp_path, "S -> 'a' S\n"))
    with pytest.raises(GrammarError, match="No productions"):
        Grammar.from_file(_write(tmp_path, "# only a comment\n"))
    with pytest.raises(GrammarError, match="cannot read grammar file"):
        Grammar.from_file(tmp_path / "missing.cfg")


def test_tokenizer_errors_name_the_grammar_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "S -> 'a b'\n")  # a terminal with a space cannot come out of a whitespace tokenizer
    with pytest.raises(GrammarError, match=f"^{re.escape(str(path))}: a whitespace tokenizer"):
        Grammar.from_file(path, tokenizer="whitespace")


def test_max_length_comes_from_argument_then_file_then_default(tmp_path: Path) -> None:
    with_directive = _write(tmp_path, "# max_length: 7\nS -> 'a' S | 'a'\n", "a.cfg")
    without = _write(tmp_path, "S -> 'a' S | 'a'\n", "b.cfg")
    assert Grammar.from_file(with_directive).max_length == 7
    assert Grammar.from_file(with_directive, max_length=3).max_length == 3
    g = Grammar.from_file(without)
    assert (g.max_length, g.max_length_source) == (DEFAULT_MAX_LENGTH, "default")
    assert g.name == "b"


def test_unreachable_and_non_productive_symbols_are_reported_not_fatal(tmp_path: Path) -> None:
    g = Grammar.from_file(_write(tmp_path, "S -> 'a' | 'b' D\nU -> 'c'\nD -> D 'd'\n"))
    assert g.nonproductive == [Nonterminal("D")]
    assert g.unreachable == [Nonterminal("U")]
    assert len(g.warnings) == 2
    assert g.encode(["a"]).ok.tolist() == [True]
    assert g.encode(["bd"]).reasons == ["no parse"]
