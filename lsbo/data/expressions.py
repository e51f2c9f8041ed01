"""Random expressions from a context-free grammar: the ``expr`` dataset of the paper's string
experiments (Section 4.2; the Grammar VAE's set of univariate expressions of at most 15 productions).

Sampling is exact and fast for any CFG. :func:`derivation_counts` counts, for every non-terminal and
every size ``n``, the leftmost derivations using exactly ``n`` productions (dynamic programming over
sizes: a production of ``A`` followed by a split of the remaining budget among its right-hand-side
non-terminals). A derivation of a chosen size is then drawn uniformly among all derivations of that
size by choosing each production and each budget split with probability proportional to the number
of completions it leaves. Sizes are drawn in proportion to the number of derivations of each size up
to ``max_productions``, so every derivation within the budget is equally likely; duplicates are
redrawn until ``n`` distinct strings are found.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from nltk.grammar import CFG, Nonterminal

from lsbo.errors import DataError

Counts = dict[Nonterminal, list[int]]


class _HasCfg(Protocol):
    cfg: CFG


def _cfg_of(grammar: CFG | _HasCfg) -> CFG:
    return grammar if isinstance(grammar, CFG) else grammar.cfg


def _join_of(grammar: CFG | _HasCfg):
    join = getattr(grammar, "join", None)
    return join if callable(join) else (lambda tokens: " ".join(tokens))


def _sequence_counts(symbols: Sequence[Nonterminal], counts: Counts, budget: int) -> list[int]:
    """``out[m]``: ways for the non-terminal sequence ``symbols`` to use exactly ``m`` productions."""
    out = [1] + [0] * budget  # the empty sequence derives with zero productions
    for symbol in symbols:
        per_symbol = counts[symbol]
        nxt = [0] * (budget + 1)
        for used, ways in enumerate(out):
            if ways:
                for extra in range(budget + 1 - used):
                    if per_symbol[extra]:
                        nxt[used + extra] += ways * per_symbol[extra]
        out = nxt
    return out


def derivation_counts(grammar: CFG | _HasCfg, max_productions: int) -> Counts:
    """``counts[A][n]``: the number of leftmost derivations from ``A`` with exactly ``n`` productions,
    for ``n = 0..max_productions`` (exact integers)."""
    cfg = _cfg_of(grammar)
    symbols = {p.lhs() for p in cfg.productions()} | {
        s for p in cfg.productions() for s in p.rhs() if isinstance(s, Nonterminal)
    }
    counts: Counts = {a: [0] * (max_productions + 1) for a in symbols}
    rhs_nts = {p: [s for s in p.rhs() if isinstance(s, Nonterminal)] for p in cfg.productions()}
    for size in range(1, max_productions + 1):
        # A derivation of `size` is one production plus derivations totalling size-1 for its RHS,
        # which only involve counts of sizes < size, already final.
        for prod in cfg.productions():
            counts[prod.lhs()][size] += _sequence_counts(rhs_nts[prod], counts, size - 1)[size - 1]
    return counts


def _weighted_choice(rng: random.Random, weights: Sequence[int]) -> int:
    """Index ``i`` with probability ``weights[i] / sum(weights)`` (exact for big integers)."""
    total = sum(weights)
    pick = rng.randrange(total)
    for index, weight in enumerate(weights):
        if pick < weight:
            return index
        pick -= weight
    raise AssertionError("unreachable: pick < total")


class _DerivationSampler:
    """Draws derivations uniformly by size; memoises the per-sequence counts it reuses at every draw."""

    def __init__(self, cfg: CFG, counts: Counts) -> None:
        self.cfg = cfg
        self.counts = counts
        self._productions = {a: cfg.productions(lhs=a) for a in counts}
        self._rhs_nts = {
            p: tuple(s for s in p.rhs() if isinstance(s, Nonterminal)) for p in cfg.productions()
        }
        self._memo: dict[tuple[tuple[Nonterminal, ...], int], list[int]] = {}

    def sequence_counts(self, symbols: tuple[Nonterminal, ...], budget: int) -> list[int]:
        key = (symbols, budget)
        if key not in self._memo:
            self._memo[key] = _sequence_counts(symbols, self.counts, budget)
        return self._memo[key]

    def derive(self, symbol: Nonterminal, size: int, rng: random.Random, out: list[str]) -> None:
        """Append the terminals of a uniformly drawn derivation of ``symbol`` with ``size`` productions."""
        productions = self._productions[symbol]
        weights = [self.sequence_counts(self._rhs_nts[p], size - 1)[size - 1] for p in productions]
        chosen = productions[_weighted_choice(rng, weights)]
        nts = self._rhs_nts[chosen]
        # Split the remaining budget among the RHS non-terminals, left to right, each split weighted
        # by the number of ways the rest of the sequence can use what is left.
        budgets: list[int] = []
        remaining = size - 1
        for position, nt in enumerate(nts):
            rest_counts = self.sequence_counts(nts[position + 1 :], remaining)
            split_weights = [self.counts[nt][k] * rest_counts[remaining - k] for k in range(remaining + 1)]
            k = _weighted_choice(rng, split_weights)
            budgets.append(k)
            remaining -= k
        budget_iter = iter(budgets)
        for item in chosen.rhs():
            if isinstance(item, Nonterminal):
                self.derive(item, next(budget_iter), rng, out)
            else:
                out.append(item)

    def sample(self, rng: random.Random, size_weights: Sequence[float] | None = None) -> list[str]:
        """One derivation: its size drawn by ``size_weights`` (index = size) or, by default, in
        proportion to the number of derivations of each size; then uniform within that size."""
        per_size = self.counts[self.cfg.start()]
        if size_weights is None:
            size = _weighted_choice(rng, per_size)
        else:
            size = rng.choices(range(len(size_weights)), weights=size_weights)[0]
        tokens: list[str] = []
        self.derive(self.cfg.start(), size, rng, tokens)
        return tokens


def sample_tokens(
    grammar: CFG | _HasCfg, max_productions: int, rng: random.Random, counts: Counts | None = None
) -> list[str]:
    """Terminals of one derivation from the start symbol, uniform over all derivations of at most
    ``max_productions`` productions."""
    cfg = _cfg_of(grammar)
    counts = derivation_counts(cfg, max_productions) if counts is None else counts
    if not any(counts[cfg.start()]):
        raise DataError(f"the grammar derives no string within {max_productions} productions")
    return _DerivationSampler(cfg, counts).sample(rng)


def count_strings_within(grammar: CFG | _HasCfg, max_productions: int) -> int:
    """Number of derivations of at most ``max_productions`` productions (= distinct strings for an
    unambiguous grammar such as the expression grammar)."""
    cfg = _cfg_of(grammar)
    return sum(derivation_counts(cfg, max_productions)[cfg.start()])


def _size_weights(counts: list[int], wanted: Mapping[int, float] | None, max_productions: int) -> list[float] | None:
    """Per-size weights from a user histogram ``{size: weight}``, checked against the sizes that exist."""
    if wanted is None:
        return None
    weights = [0.0] * (max_productions + 1)
    for size, weight in wanted.items():
        if weight < 0:
            raise DataError(f"size weight for {size} productions is negative ({weight})")
        if weight > 0 and not (0 <= size <= max_productions and counts[size] > 0):
            raise DataError(f"the grammar has no derivation of exactly {size} productions (max_productions={max_productions})")
        if weight > 0:
            weights[size] = float(weight)
    if sum(weights) <= 0:
        raise DataError("size weights must give at least one size a positive weight")
    return weights


def generate_expressions(
    grammar: CFG | _HasCfg,
    n: int = 100_000,
    max_productions: int = 15,
    seed: int = 0,
    size_weights: Mapping[int, float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """``n`` distinct strings of the grammar, each derived with at most ``max_productions`` productions,
    drawn with a seeded generator (same seed, same list).

    By default every derivation within the budget is equally likely, which puts most strings at the
    largest size (for the expression grammar, about 95% have 14 productions, where the paper's file has
    about 68%; see benchmarks/RESULTS.md). ``size_weights`` (``{size: weight}``) sets the histogram of
    derivation sizes instead; strings are uniform within each size either way.

    ``grammar`` is a :class:`lsbo.grammar.Grammar` (tokens joined by its ``join``) or an nltk CFG (tokens
    joined by spaces, the format of the paper's expression file). ``progress`` is called with the
    number of strings found so far, every 1,000 strings and at the end.
    """
    if n < 0:
        raise DataError(f"number of expressions must be non-negative, got {n}")
    cfg = _cfg_of(grammar)
    join = _join_of(grammar)
    counts = derivation_counts(cfg, max_productions)
    available = sum(counts[cfg.start()])
    weights = _size_weights(counts[cfg.start()], size_weights, max_productions)
    if weights is not None:
        available = sum(c for c, w in zip(counts[cfg.start()], weights) if w > 0)
    if n > available:
        raise DataError(
            f"asked for {n} distinct strings but the grammar has only {available} derivations of at most "
            f"{max_productions} productions"
        )
    rng = random.Random(seed)
    sampler = _DerivationSampler(cfg, counts)
    seen: set[str] = set()
    out: list[str] = []
    # Ambiguous grammars can map several derivations to one string; cap redraws so this terminates.
    max_draws = 50 * n + 1000
    draws = 0
    while len(out) < n:
        if draws >= max_draws:
            raise DataError(
                f"found only {len(out)} distinct strings of at most {max_productions} productions after "
                f"{draws} draws; ask for fewer or raise max_productions"
            )
        draws += 1
        text = join(sampler.sample(rng, weights))
        if text not in seen:
            seen.add(text)
            out.append(text)
            if progress is not None and (len(out) % 1000 == 0 or len(out) == n):
                progress(len(out))
    return out


__all__ = ["count_strings_within", "derivation_counts", "generate_expressions", "sample_tokens"]
