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
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
