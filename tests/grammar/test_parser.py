"""The fast parser returns exactly nltk ChartParser's leftmost derivation (issue 2, item 4)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk import CFG

from lsbo.grammar import FastParser, Grammar
from lsbo.grammar.parser import build_lr_tables


def _sample_lines(path: Path, n: int, seed: int) -> list[str]:
    lines = [line for line in path.read_text().split("\n") if line]
    return random.Random(seed).sample(lines, n)


def test_equals_nltk_on_zinc_molecules(zinc_subset_path: Path) -> None:
    g = Grammar.builtin("zinc")
    sample = _sample_lines(zinc_subset_path, 100, seed=0)
    for smiles in sample:
        tokens = g.tokenize(smiles)
        fast = g.parser.parse(tokens)
        assert fast is not None, smiles
        assert fast == g.parser.nltk_parse(tokens), smiles
    # SMILES is not SLR(1) (an atom then a bond needs two tokens of lookahead): the search is exercised.
    assert g.parser.tables.n_conflicts > 0
    assert g.parser.stats.lr == len(sample) and g.parser.stats.ambiguous == 0


def test_equals_nltk_on_expressions(expr_dataset_path: Path) -> None:
    g = Grammar.builtin("expr")
    for expression in _sample_lines(expr_dataset_path, 400, seed=1):
        tokens = g.tokenize(expression)
        assert g.parser.parse(tokens) == g.parser.nltk_parse(tokens), expression
    assert g.parser.tables.n_conflicts == 0


def test_ambiguous_inputs_get_nltks_first_parse() -> None:
    g = Grammar.from_string("S -> S '+' S | S '*' S | 'a'\n", tokenizer="whitespace", max_length=50)
    for text in ["a", "a + a", "a + a * a", "a * a + a * a + a"]:
        tokens = g.tokenize(text)
        assert g.parse(tokens) == g.parser.nltk_parse(tokens), text
    # "a" and "a + a" have one parse each; the other two have several and go to nltk.
    assert g.parser.stats.ambiguous == 2 and g.parser.stats.lr == 2


def test_epsilon_productions_and_empty_input() -> None:
    g = Grammar.from_string("S -> A B\nA -> 'a' A |\nB -> 'b' |\n")
    for text in ["", "a", "b", "aab", "aaaa"]:
        tokens = g.tokenize(text)
        assert g.parse(tokens) == g.parser.nltk_parse(tokens) is not None, text
    assert g.parse(["b", "a"]) is None
    assert g.encode([""]).ok.tolist() == [True]


def test_cyclic_grammar_falls_back_to_nltk() -> None:
    g = Grammar.from_string("S -> S | 'a'\n")
    assert g.parse(["a"]) == g.parser.nltk_parse(["a"]) == [1]
    assert g.parser.stats.over_budget == 1


def test_unknown_tokens_have_no_parse() -> None:
    parser = FastParser(CFG.fromstring("S -> 'a' S | 'a'"))
    assert parser.parse(["a", "b"]) is None
    assert parser.parse([]) is None


def test_lr_table_of_an_lr_grammar_is_conflict_free() -> None:
    tables = build_lr_tables(CFG.fromstring("E -> E '+' T | T\nT -> T '*' F | F\nF -> '(' E ')' | 'x'"))
    assert tables.n_conflicts == 0
    assert tables.end == 5


# Random strings of a small grammar with nesting, left recursion, a non-SLR(1) choice and ambiguity.
_TOY = Grammar.from_string(
    "S -> S ',' I | I\nI -> 'a' | 'a' '-' 'b' | '[' S ']' | 'a' '-' | I I\n", tokenizer=list, max_length=200
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(list("ab-,[]")), max_size=12))
def test_random_token_strings_agree_with_nltk(tokens: list[str]) -> None:
    assert _TOY.parse(tokens) == _TOY.parser.nltk_parse(tokens)


def _random_derivation(g: Grammar, rng: random.Random, free_steps: int) -> list[int]:
    """A random leftmost derivation: uniform usable choices for ``free_steps`` steps, then the
    choice that finishes soonest (shortest completion), so every derivation terminates."""
    cost = {a: float("inf") for a in range(len(g.nonterminals))}
    changed = True
    while changed:  # least number of productions each non-terminal needs to finish
        changed = False
        for p, a in enumerate(g.tables.lhs[:-1]):
            c = 1 + sum(cost[b] for b in g.tables.rhs_nonterminals[p])
            if c < cost[a]:
                cost[a], changed = c, True
    choices = {a: [p for p in range(g.padding) if g.tables.lhs[p] == a and g.tables.usable[p]] for a in cost}
    stack, derivation = [g.tables.start], []
    while stack:
        top = stack.pop()
        if len(derivation) < free_steps:
            p = rng.choice(choices[top])
        else:
            p = min(choices[top], key=lambda q: sum(cost[b] for b in g.tables.rhs_nonterminals[q]))
        derivation.append(p)
        stack.extend(reversed(g.tables.rhs_nonterminals[p]))
    return derivation


@pytest.mark.parametrize(("name", "free_steps"), [("zinc", 60), ("expr", 8)])
def test_generated_strings_parse_back_to_their_derivation(name: str, free_steps: int) -> None:
    # Both built-in grammars are unambiguous, so a generated string's only parse is its derivation.
    g = Grammar.builtin(name)
    rng = random.Random(7)
    for trial in range(120):
        derivation = _random_derivation(g, rng, free_steps)
        tokens = g.derive(derivation)
        assert tokens is not None
        assert g.parse(tokens) == derivation
        if trial < 10:
            assert g.parser.nltk_parse(tokens) == derivation
    assert g.parser.stats.ambiguous == 0
