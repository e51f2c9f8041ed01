"""The expression generator against direct enumeration of the expression grammar."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from nltk.grammar import CFG, Nonterminal
from scipy import stats

from lsbo.data.expressions import count_strings_within, derivation_counts, generate_expressions, sample_tokens
from lsbo.errors import DataError
from lsbo.grammar import Grammar


def enumerate_derivations(cfg: CFG, symbol: Nonterminal, budget: int) -> list[tuple[tuple[str, ...], int]]:
    """Every (terminals, size) derivable from ``symbol`` with at most ``budget`` productions, by brute force."""
    out: list[tuple[tuple[str, ...], int]] = []
    if budget < 1:
        return out
    for prod in cfg.productions(lhs=symbol):
        partial: list[tuple[tuple[str, ...], int]] = [((), 1)]
        for item in prod.rhs():
            grown = []
            for tokens, used in partial:
                if isinstance(item, Nonterminal):
                    for sub, size in enumerate_derivations(cfg, item, budget - used):
                        grown.append((tokens + sub, used + size))
                else:
                    grown.append((tokens + (item,), used))
            partial = [(t, u) for t, u in grown if u <= budget]
        out.extend(partial)
    return out


def test_counts_match_brute_force_enumeration(expr: Grammar) -> None:
    budget = 8
    derivations = enumerate_derivations(expr.cfg, expr.cfg.start(), budget)
    by_size = Counter(size for _, size in derivations)
    counts = derivation_counts(expr, budget)[expr.cfg.start()]
    assert counts == [by_size.get(n, 0) for n in range(budget + 1)]
    # The expression grammar is unambiguous: distinct derivations are distinct strings.
    assert len({tokens for tokens, _ in derivations}) == len(derivations) == count_strings_within(expr, budget)


def test_sampling_is_uniform_over_derivations(expr: Grammar) -> None:
    budget = 4  # 64 derivations: 4 of size 2, 60 of size 4
    support = {" ".join(t) for t, _ in enumerate_derivations(expr.cfg, expr.cfg.start(), budget)}
    assert len(support) == 64
    rng = random.Random(123)
    draws = Counter(" ".join(sample_tokens(expr, budget, rng)) for _ in range(6400))
    assert set(draws) == support
    observed = [draws[s] for s in sorted(support)]
    assert stats.chisquare(observed).pvalue > 1e-3


def test_generated_expressions_are_distinct_parse_and_respect_budget(expr: Grammar) -> None:
    strings = generate_expressions(expr, n=500, max_productions=15, seed=7)
    assert len(strings) == len(set(strings)) == 500
    encoded = expr.encode(strings)
    assert encoded.ok.all()
    assert (encoded.indices != expr.padding).sum(axis=1).max() <= 15


def test_generation_is_seeded(expr: Grammar) -> None:
    first = generate_expressions(expr, n=100, seed=1)
    assert generate_expressions(expr, n=100, seed=1) == first
    assert generate_expressions(expr, n=100, seed=2) != first
    assert generate_expressions(expr.cfg, n=100, seed=1) == first  # nltk CFG joins tokens with spaces too


def test_asking_for_more_than_exist_is_an_error(expr: Grammar) -> None:
    assert count_strings_within(expr, 4) == 64
    assert len(generate_expressions(expr, n=64, max_productions=4)) == 64
    with pytest.raises(DataError, match="only 64 derivations"):
        generate_expressions(expr, n=65, max_productions=4)


def test_size_weights_set_the_size_histogram(expr: Grammar) -> None:
    strings = generate_expressions(expr, n=400, max_productions=15, seed=3, size_weights={10: 1.0, 14: 1.0})
    sizes = Counter(int(n) for n in (expr.encode(strings).indices != expr.padding).sum(axis=1))
    assert set(sizes) == {10, 14}
    assert stats.binomtest(sizes[10], 400, 0.5).pvalue > 1e-3
    with pytest.raises(DataError, match="no derivation of exactly 3 productions"):
        generate_expressions(expr, n=10, size_weights={3: 1.0})
    with pytest.raises(DataError, match="only 4 derivations"):
        generate_expressions(expr, n=5, size_weights={2: 1.0})
