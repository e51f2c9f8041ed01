"""Index tables derived from an nltk CFG: the numeric view of a grammar used by the parser's
one-hot encoding, the training-time masks and the batched masked decoder.

Conventions (those of the Grammar VAE, Kusner et al. 2017):

- Production ``p`` is the ``p``-th production of ``cfg.productions()`` (file order); one extra
  *padding* production is appended at index ``n_productions - 1``. It fills a sequence after its
  derivation is complete and has no left-hand side (``lhs[padding] == -1``).
- A derivation is leftmost: a stack starts with the start symbol; each step pops the top
  non-terminal, which must equal the chosen production's left-hand side, and pushes the
  right-hand side's non-terminals in reverse, so the leftmost one is on top next.
- ``masks[a]`` marks the productions allowed when non-terminal ``a`` is on top of the stack; with an
  empty stack only the padding production is allowed (``empty_mask``).
- Productions that introduce a non-productive symbol (one that derives no terminal string, like the
  ``class`` symbol of the published SMILES grammar) are excluded from every mask, so a decoder can
  never choose a production it could not complete.
- ``min_derivation_length[a]`` is the fewest productions that derive a terminal string from
  non-terminal ``a`` (infinite when ``a`` is non-productive); the length-aware decoder uses it to keep
  every derivation completable within the decoder's ``T`` steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import torch
from nltk.grammar import CFG, Nonterminal, Production


def productive_nonterminals(cfg: CFG) -> set[Nonterminal]:
    """Non-terminals that derive at least one all-terminal string (least fixpoint)."""
    productive: set[Nonterminal] = set()
    changed = True
    while changed:
        changed = False
        for prod in cfg.productions():
            if prod.lhs() in productive:
                continue
            if all(not isinstance(s, Nonterminal) or s in productive for s in prod.rhs()):
                productive.add(prod.lhs())
                changed = True
    return productive


def min_derivation_lengths(cfg: CFG) -> dict[Nonterminal, float]:
    """Fewest productions that derive a terminal string from each non-terminal (``inf`` if none does).

    The least fixpoint of ``m(A) = min over productions A -> rhs of 1 + sum of m(B) over the
    non-terminals B of rhs``, reached from ``m = inf`` everywhere by Bellman-Ford relaxation: each
    pass can only lower values, every value is a non-negative integer or ``inf``, so the passes stop.
    A production with a non-productive right-hand-side symbol has an infinite sum and never counts.
    """
    symbols = {prod.lhs() for prod in cfg.productions()} | {
        s for prod in cfg.productions() for s in prod.rhs() if isinstance(s, Nonterminal)
    }
    length: dict[Nonterminal, float] = {a: math.inf for a in symbols | {cfg.start()}}
    changed = True
    while changed:
        changed = False
        for prod in cfg.productions():
            candidate = 1 + sum(length[s] for s in prod.rhs() if isinstance(s, Nonterminal))
            if candidate < length[prod.lhs()]:
                length[prod.lhs()] = candidate
                changed = True
    return length


def reachable_nonterminals(cfg: CFG, productive: set[Nonterminal] | None = None) -> set[Nonterminal]:
    """Non-terminals reachable from the start symbol (through usable productions if ``productive`` is given)."""
    reachable = {cfg.start()}
    frontier = [cfg.start()]
    while frontier:
        symbol = frontier.pop()
        for prod in cfg.productions(lhs=symbol):
            rhs_nts = [s for s in prod.rhs() if isinstance(s, Nonterminal)]
            if productive is not None and any(s not in productive for s in rhs_nts):
                continue
            for s in rhs_nts:
                if s not in reachable:
                    reachable.add(s)
                    frontier.append(s)
    return reachable


@dataclass(frozen=True)
class GrammarTables:
    """Numeric tables of a CFG with an appended padding production (see module docstring)."""

    productions: tuple[Production, ...]  # the CFG's productions, file order (padding not included)
    nonterminals: tuple[Nonterminal, ...]  # index -> non-terminal; LHS symbols first, in file order
    start: int  # index of the start symbol in `nonterminals`
    lhs: tuple[int, ...]  # per production (padding included): index of its LHS, -1 for padding
    rhs_nonterminals: tuple[tuple[int, ...], ...]  # per production (padding included): RHS non-terminals, left to right
    usable: tuple[bool, ...]  # per production (padding included): every RHS symbol productive
    productive: frozenset[int] = field(default_factory=frozenset)
    reachable: frozenset[int] = field(default_factory=frozenset)

    @property
    def n_productions(self) -> int:
        """Number of production indices, the padding production included."""
        return len(self.productions) + 1

    @property
    def padding(self) -> int:
        """Index of the padding production."""
        return len(self.productions)

    @property
    def n_nonterminals(self) -> int:
        return len(self.nonterminals)

    @cached_property
    def min_derivation_length(self) -> tuple[float, ...]:
        """Per non-terminal index: the fewest productions deriving a terminal string from it.

        Finite values are ``int``; non-productive symbols get ``math.inf``. Computed from the tables
        (usable productions only) with the same least fixpoint as :func:`min_derivation_lengths`.
        """
        length = [math.inf] * self.n_nonterminals
        changed = True
        while changed:
            changed = False
            for a, rhs in zip(self.lhs, self.rhs_nonterminals):
                if a < 0:
                    continue
                candidate = 1 + sum(length[b] for b in rhs)
                if candidate < length[a]:
                    length[a] = candidate
                    changed = True
        return tuple(length)

    @cached_property
    def rhs_min_length(self) -> tuple[float, ...]:
        """Per production (padding included, 0): the sum of ``min_derivation_length`` over its RHS non-terminals.

        ``1 + rhs_min_length[p]`` is the fewest productions of a complete derivation starting with ``p``.
        """
        length = self.min_derivation_length
        return tuple(sum((length[b] for b in rhs), 0) for rhs in self.rhs_nonterminals)

    def masks(self, device: torch.device | str | None = None) -> torch.Tensor:
        """Bool tensor ``(n_nonterminals, n_productions)``: usable productions per non-terminal on top."""
        out = torch.zeros(self.n_nonterminals, self.n_productions, dtype=torch.bool, device=device)
        for p, (a, ok) in enumerate(zip(self.lhs, self.usable)):
            if a >= 0 and ok:
                out[a, p] = True
        return out

    def empty_mask(self, device: torch.device | str | None = None) -> torch.Tensor:
        """Bool tensor ``(n_productions,)``: what may follow a complete derivation (padding only)."""
        out = torch.zeros(self.n_productions, dtype=torch.bool, device=device)
        out[self.padding] = True
        return out

    @classmethod
    def from_cfg(cls, cfg: CFG) -> "GrammarTables":
        productions = tuple(cfg.productions())
        order: dict[Nonterminal, int] = {}
        for prod in productions:
            order.setdefault(prod.lhs(), len(order))
        for prod in productions:
            for s in prod.rhs():
                if isinstance(s, Nonterminal):
                    order.setdefault(s, len(order))
        order.setdefault(cfg.start(), len(order))
        nonterminals = tuple(order)
        productive = productive_nonterminals(cfg)
        reachable = reachable_nonterminals(cfg, productive)
        lhs = tuple(order[p.lhs()] for p in productions) + (-1,)
        rhs_nts = tuple(
            tuple(order[s] for s in p.rhs() if isinstance(s, Nonterminal)) for p in productions
        ) + ((),)
        usable = tuple(
            all(not isinstance(s, Nonterminal) or s in productive for s in p.rhs()) for p in productions
        ) + (True,)
        return cls(
            productions=productions,
            nonterminals=nonterminals,
            start=order[cfg.start()],
            lhs=lhs,
            rhs_nonterminals=rhs_nts,
            usable=usable,
            productive=frozenset(order[a] for a in productive),
            reachable=frozenset(order[a] for a in reachable),
        )
