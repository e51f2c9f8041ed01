"""Fast exact parsing of token sequences into leftmost derivations (production-index sequences).

The Grammar VAE (Kusner et al., 2017, Section 3; docs/protocols.md §2) represents a string by the
leftmost derivation of its parse tree: the productions in preorder. The reference implementation
obtains the tree from nltk's ``ChartParser``, which is general but slow (tens of milliseconds per
ZINC molecule). This module computes the same sequence with a table-driven LR automaton and
backtracking, and stays *exact* for every context-free grammar:

- An SLR(1) automaton is built from the grammar. Where the table has conflicts (grammars that are
  not SLR(1), such as the SMILES grammar, which needs two tokens of lookahead after an atom
  followed by a bond), every action is explored depth first over a persistent (shared) stack.
- Every complete parse found corresponds to a distinct parse tree. If exactly one exists, it is
  the only tree nltk can return, so the sequences agree. If a second complete parse is found
  (the input is ambiguous), or the search exceeds a step budget (e.g. cyclic unit productions),
  the input is handed to nltk's ``ChartParser`` and its first parse is used, so the result is
  always the one nltk gives.

Production indices are positions in ``cfg.productions()`` (file order), matching
:class:`lsbo.grammar.tables.GrammarTables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nltk.grammar import CFG, Nonterminal, Production
from nltk.parse.chart import Chart, ChartParser, LeafEdge
from nltk.tree import Tree

from lsbo.errors import GrammarError

# Sentinel outcomes of the LR search besides a derivation.
_AMBIGUOUS = "ambiguous"
_OVER_BUDGET = "over budget"
# Action encoding in the LR table: s >= 0 shifts to state s; a < 0 reduces production -a - 1;
# _ACCEPT accepts. An entry is None (error), one int, or a tuple of ints (a conflict).
_ACCEPT = -(10**9)


@dataclass(frozen=True)
class LRTables:
    """An SLR(1) automaton whose entries may hold several actions (conflicts are kept, not resolved)."""

    terminal_ids: dict[str, int]  # terminal string -> column; the end marker is column len(terminal_ids)
    action: tuple[tuple[int | tuple[int, ...] | None, ...], ...]  # [state][terminal] -> action(s)
    goto: tuple[dict[int, int], ...]  # [state] -> {lhs production-group id -> state}
    reduce_info: tuple[tuple[int, int, int], ...]  # per production: (lhs id, rhs length, n_nonterminals)
    n_conflicts: int  # number of (state, terminal) entries with more than one action

    @property
    def end(self) -> int:
        return len(self.terminal_ids)

    @property
    def n_states(self) -> int:
        return len(self.action)


def _nullable_and_first(
    productions: Sequence[Production], nonterminals: Sequence[Nonterminal]
) -> tuple[set[Nonterminal], dict[Nonterminal, set[str]]]:
    nullable: set[Nonterminal] = set()
    first: dict[Nonterminal, set[str]] = {a: set() for a in nonterminals}
    changed = True
    while changed:
        changed = False
        for prod in productions:
            lhs = prod.lhs()
            all_nullable = True
            for symbol in prod.rhs():
                if isinstance(symbol, Nonterminal):
                    added = first[symbol] - first[lhs]
                    if added:
                        first[lhs] |= added
                        changed = True
                    if symbol not in nullable:
                        all_nullable = False
                        break
                else:
                    if symbol not in first[lhs]:
                        first[lhs].add(symbol)
                        changed = True
                    all_nullable = False
                    break
            if all_nullable and lhs not in nullable:
                nullable.add(lhs)
                changed = True
    return nullable, first


def _follow(
    productions: Sequence[Production],
    nonterminals: Sequence[Nonterminal],
    start: Nonterminal,
    nullable: set[Nonterminal],
    first: dict[Nonterminal, set[str]],
    end_marker: object,
) -> dict[Nonterminal, set[object]]:
    follow: dict[Nonterminal, set[object]] = {a: set() for a in nonterminals}
    follow[start].add(end_marker)
    changed = True
    while changed:
        changed = False
        for prod in productions:
            rhs = prod.rhs()
            # Walk right to left carrying what can follow the current position.
            trailer: set[object] = set(follow[prod.lhs()])
            for symbol in reversed(rhs):
                if isinstance(symbol, Nonterminal):
                    added = trailer - follow[symbol]
                    if added:
                        follow[symbol] |= added
                        changed = True
                    if symbol in nullable:
                        trailer = trailer | first[symbol]
                    else:
                        trailer = set(first[symbol])
                else:
                    trailer = {symbol}
    return follow


#: The most action-table cells (LR states x terminal columns) :func:`build_lr_tables` builds. The
#: table is dense and its build time grows with its size: about 9 s for 4 million cells (a grammar of 2,000
#: terminals, benchmarks/grammar_limits.py) on the shared 2-core dev machine; the built-in SMILES grammar needs 3,096 cells
#: (grammars/README.md, "Limits").
MAX_TABLE_CELLS = 5_000_000


def build_lr_tables(cfg: CFG, max_cells: int = MAX_TABLE_CELLS) -> LRTables:
    """The SLR(1) automaton of ``cfg`` (LR(0) item sets, FOLLOW-set lookahead), conflicts kept.

    Raises GrammarError as soon as the table would exceed ``max_cells`` cells (states times terminal
    columns), before building it.
    """
    productions = list(cfg.productions())
    start = cfg.start()
    augmented = len(productions)  # index of the augmented production S' -> start
    rhs_of = [tuple(p.rhs()) for p in productions] + [(start,)]
    lhs_of: list[Nonterminal | None] = [p.lhs() for p in productions] + [None]
    by_lhs: dict[Nonterminal, list[int]] = {}
    for i, prod in enumerate(productions):
        by_lhs.setdefault(prod.lhs(), []).append(i)

    nonterminals = list(dict.fromkeys([p.lhs() for p in productions] + [start] + [
        s for p in productions for s in p.rhs() if isinstance(s, Nonterminal)
    ]))
    nt_id = {a: i for i, a in enumerate(nonterminals)}
    terminals = list(dict.fromkeys(s for p in productions for s in p.rhs() if not isinstance(s, Nonterminal)))
    terminal_ids = {t: i for i, t in enumerate(terminals)}
    end = len(terminals)

    def closure(kernel: frozenset[tuple[int, int]]) -> set[tuple[int, int]]:
        items = set(kernel)
        frontier = list(kernel)
        while frontier:
            prod, dot = frontier.pop()
            rhs = rhs_of[prod]
            if dot < len(rhs) and isinstance(rhs[dot], Nonterminal):
                for q in by_lhs.get(rhs[dot], ()):
                    if (q, 0) not in items:
                        items.add((q, 0))
                        frontier.append((q, 0))
        return items

    initial = frozenset({(augmented, 0)})
    state_of: dict[frozenset[tuple[int, int]], int] = {initial: 0}
    kernels = [initial]
    transitions: list[dict[object, int]] = []
    i = 0
    while i < len(kernels):
        items = closure(kernels[i])
        moves: dict[object, set[tuple[int, int]]] = {}
        for prod, dot in items:
            rhs = rhs_of[prod]
            if dot < len(rhs):
                moves.setdefault(rhs[dot], set()).add((prod, dot + 1))
        row: dict[object, int] = {}
        for symbol, kernel_items in moves.items():
            kernel = frozenset(kernel_items)
            if kernel not in state_of:
                state_of[kernel] = len(kernels)
                kernels.append(kernel)
            row[symbol] = state_of[kernel]
        transitions.append(row)
        i += 1
        if len(kernels) * (end + 1) > max_cells:
            raise GrammarError(
                f"too large for the parser: {len(terminals)} terminals and at least {len(kernels)} LR states "
                f"make a table of over {len(kernels) * (end + 1):,} cells, more than the {max_cells:,} lsbo builds; "
                "write the language over fewer terminals (e.g. one per character, words as non-terminals)"
            )

    nullable, first = _nullable_and_first(productions, nonterminals)
    end_marker = object()
    follow = _follow(productions, nonterminals, start, nullable, first, end_marker)

    action: list[tuple[int | tuple[int, ...] | None, ...]] = []
    goto: list[dict[int, int]] = []
    n_conflicts = 0
    for index, kernel in enumerate(kernels):
        # Only the non-empty cells are built as lists: one list per (state, terminal) would make the
        # garbage collector's passes, and so the whole build, grow with the cube of the terminal count.
        cells: dict[int, list[int]] = {}
        for symbol, target in transitions[index].items():
            if not isinstance(symbol, Nonterminal):
                cells.setdefault(terminal_ids[symbol], []).append(target)
        for prod, dot in closure(kernel):
            if dot != len(rhs_of[prod]):
                continue
            if prod == augmented:
                cells.setdefault(end, []).append(_ACCEPT)
                continue
            for lookahead in follow[lhs_of[prod]]:  # type: ignore[index]
                column = end if lookahead is end_marker else terminal_ids[lookahead]  # type: ignore[index]
                cells.setdefault(column, []).append(-prod - 1)
        row_actions: list[int | tuple[int, ...] | None] = [None] * (end + 1)
        for column, cell in cells.items():
            if len(cell) == 1:
                row_actions[column] = cell[0]
            else:
                n_conflicts += 1
                # Shifts first: on the conflicts of typical grammars the shift is the surviving path.
                row_actions[column] = tuple(sorted(cell, reverse=True))
        action.append(tuple(row_actions))
        goto.append({nt_id[s]: t for s, t in transitions[index].items() if isinstance(s, Nonterminal)})

    reduce_info = tuple(
        (nt_id[p.lhs()], len(p.rhs()), sum(isinstance(s, Nonterminal) for s in p.rhs())) for p in productions
    )
    return LRTables(
        terminal_ids=terminal_ids,
        action=tuple(action),
        goto=tuple(goto),
        reduce_info=reduce_info,
        n_conflicts=n_conflicts,
    )


#: Chart insertions (one per edge derived, each a step of the chart parser) the nltk fallback may make for one
#: input before it is refused as too ambiguous: ``S -> S S | S '+' S | 'a'`` needs 1.8e4 on 24 tokens,
#: 1.2e5 on 40 and 6e5 on 60 (6.5 s on a loaded 2-core machine, growing with the cube of the length);
#: a 78-token SMILES 3.6e3.
MAX_CHART_STEPS = 250_000


class TooAmbiguousError(GrammarError):
    """An input whose chart parse passes :data:`MAX_CHART_STEPS` (a highly ambiguous grammar on a long input)."""


class _BoundedChart(Chart):
    """nltk's ``Chart``, refusing to go on past :data:`MAX_CHART_STEPS` insertions."""

    def __init__(self, tokens: Sequence[str]) -> None:
        super().__init__(tokens)
        self.steps = 0

    def insert(self, edge: Any, *child_pointer_lists: Any) -> Any:
        self.steps += 1
        if self.steps > MAX_CHART_STEPS:
            raise TooAmbiguousError(
                f"too ambiguous: parsing these {self.num_leaves()} tokens takes more than {MAX_CHART_STEPS:,} chart-parser "
                "steps (the grammar derives them in very many ways); shorten the input or make the grammar less ambiguous")
        return super().insert(edge, *child_pointer_lists)


def _first_tree(chart: Any, edge: Any, memo: dict[Any, Any]) -> Any:
    """The first tree nltk's ``Chart.trees`` lists for ``edge``, built without listing the others.

    ``Chart.trees`` materialises every tree (the Catalan number of them for ``S -> S S``), so even the
    first parse of a 16-token input is refused by nltk's node budget. Its order is the child-pointer
    lists in insertion order, each giving the product of its children's trees, so its first tree is
    the first list whose children all have a tree, each child's first tree. The memo follows its
    cycle rule: an edge being built has no trees (``None`` here), which filters trees containing
    themselves, as nltk does.
    """
    if edge in memo:
        return memo[edge]
    if edge.is_incomplete():
        return None
    if isinstance(edge, LeafEdge):
        memo[edge] = chart.leaf(edge.start())
        return memo[edge]
    memo[edge] = None
    tree = None
    for pointers in chart.child_pointer_lists(edge):
        children = []
        for child in pointers:
            subtree = _first_tree(chart, child, memo)
            if subtree is None:
                break
            children.append(subtree)
        else:
            tree = Tree(edge.lhs().symbol(), children)
            break
    memo[edge] = tree
    return tree


def nltk_derivation(parser: ChartParser, production_index: dict[Production, int], tokens: Sequence[str]) -> list[int] | None:
    """The preorder production indices of the first tree nltk's ``ChartParser`` yields (None: no parse).

    Raises :class:`TooAmbiguousError` when the chart parse would pass :data:`MAX_CHART_STEPS`.
    """
    tokens = list(tokens)
    grammar = parser._grammar
    if not parser._use_agenda or parser._chart_class is not Chart:  # not the parser FastParser makes: nltk's own loop
        return _derivation(parser.chart_parse(tokens), grammar, production_index)
    grammar.check_coverage(tokens)
    chart = _BoundedChart(tokens)
    # nltk's ChartParser.chart_parse (its default, agenda-based algorithm, step for step, so the chart
    # and the order of its child pointers are nltk's), on a chart that bounds the steps
    for axiom in parser._axioms:
        list(axiom.apply(chart, grammar))
    agenda = chart.edges()
    agenda.reverse()  # a stack, while chart.edges() is a queue
    while agenda:
        edge = agenda.pop()
        for rule in parser._inference_rules:
            agenda += list(rule.apply(chart, grammar, edge))
    return _derivation(chart, grammar, production_index)


def _derivation(chart: Any, grammar: CFG, production_index: dict[Production, int]) -> list[int] | None:
    """The production indices of the chart's first complete parse, in nltk's order (None: no parse)."""
    memo: dict[Any, Any] = {}
    for edge in chart.select(start=0, end=chart.num_leaves(), lhs=grammar.start()):
        tree = _first_tree(chart, edge, memo)
        if tree is not None:
            return [production_index[p] for p in tree.productions()]
    return None


@dataclass
class ParserStats:
    """How inputs were answered: by the LR search alone, or handed to nltk (and why)."""

    lr: int = 0
    ambiguous: int = 0
    over_budget: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"lr": self.lr, "ambiguous_to_nltk": self.ambiguous, "over_budget_to_nltk": self.over_budget}


@dataclass
class FastParser:
    """Leftmost derivations equal to nltk ``ChartParser``'s, computed by an LR search (see module doc).

    ``parse(tokens)`` returns the production indices in preorder, or None when the tokens have no
    parse. Tokens that are not terminals of the grammar simply have no parse.
    """

    cfg: CFG
    step_budget_per_token: int = 200
    tables: LRTables = field(init=False)
    stats: ParserStats = field(init=False, default_factory=ParserStats)
    _production_index: dict[Production, int] = field(init=False)
    _nltk: ChartParser | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.tables = build_lr_tables(self.cfg)
        self._production_index = {p: i for i, p in enumerate(self.cfg.productions())}

    def parse(self, tokens: Sequence[str]) -> list[int] | None:
        ids = self.tables.terminal_ids
        try:
            columns = [ids[t] for t in tokens]
        except KeyError:
            return None
        columns.append(self.tables.end)
        outcome = self._search(columns, self.step_budget_per_token * len(columns) + 1000)
        if outcome is _AMBIGUOUS or outcome is _OVER_BUDGET:
            if outcome is _AMBIGUOUS:
                self.stats.ambiguous += 1
            else:
                self.stats.over_budget += 1
            return self.nltk_parse(tokens)
        self.stats.lr += 1
        return outcome  # type: ignore[return-value]

    def nltk_parse(self, tokens: Sequence[str]) -> list[int] | None:
        """The reference: nltk ``ChartParser``'s first parse (slow; used for ambiguous inputs and tests)."""
        if self._nltk is None:
            self._nltk = ChartParser(self.cfg)
        if any(t not in self.tables.terminal_ids for t in tokens):
            return None
        return nltk_derivation(self._nltk, self._production_index, tokens)

    def _search(self, columns: list[int], budget: int) -> list[int] | str | None:
        """Depth-first LR search over all actions; the unique derivation, None, or a sentinel.

        A stack entry is ``(state, derivation, below)``: persistent, so alternatives share it.
        ``derivation`` is the preorder production list of the subtree on that entry (None for a
        terminal); a reduction concatenates its children's lists after its own index, which is the
        preorder of the new subtree.
        """
        action = self.tables.action
        goto = self.tables.goto
        reduce_info = self.tables.reduce_info
        pending: list[tuple[int, tuple, int]] = []  # (position, stack, action) still to explore
        found: list[int] | None = None
        stack: tuple = (0, None, None)
        position = 0
        steps = 0
        forced: int | None = None
        while True:
            if forced is None:
                act = action[stack[0]][columns[position]]
                if act.__class__ is tuple:  # a conflict: follow the first action, keep the others
                    for alternative in act[1:]:
                        pending.append((position, stack, alternative))
                    act = act[0]
            else:
                act, forced = forced, None
            steps += 1
            if steps > budget:
                return _OVER_BUDGET
            if act is None:  # dead end: resume the most recent alternative
                if not pending:
                    return found
                position, stack, forced = pending.pop()
                continue
            if act >= 0:
                stack = (act, None, stack)
                position += 1
                continue
            if act == _ACCEPT:
                if found is not None:
                    return _AMBIGUOUS
                found = stack[1]
                if not pending:
                    return found
                position, stack, forced = pending.pop()
                continue
            prod = -act - 1
            lhs, length, n_nt = reduce_info[prod]
            if n_nt == 0:
                derivation = [prod]
                for _ in range(length):
                    stack = stack[2]
            elif length == 1:
                derivation = [prod] + stack[1]
                stack = stack[2]
            else:
                parts = []
                for _ in range(length):
                    if stack[1] is not None:
                        parts.append(stack[1])
                    stack = stack[2]
                derivation = [prod]
                for part in reversed(parts):
                    derivation += part
            stack = (goto[stack[0]][lhs], derivation, stack)
