"""Batched masked decoding: the grammar stack machine of the Grammar VAE, vectorised in torch.

A grammar decoder emits, at every one of ``T`` steps, logits over the ``P`` production indices. The
Grammar VAE (Kusner et al., 2017; the architecture that "Shape your Space", Section 4.3, extends)
turns them into a derivation with a stack machine: the stack starts with the start symbol; at each
step the softmax is restricted to the productions whose left-hand side is the non-terminal on top of
the stack (only the padding production once the stack is empty); the chosen production's left-hand
side is popped and its right-hand side's non-terminals are pushed in reverse, so the leftmost one is
expanded next. The result is a leftmost derivation, hence always a string of the grammar, *if* the
stack empties within ``T`` steps; otherwise the output is incomplete.

Length-aware decoding (``complete=True``, the default) closes that gap, so that every decoded output is
a complete derivation: with ``min[A]`` the fewest productions that derive a terminal string from ``A``
(:attr:`GrammarTables.min_derivation_length`) and ``pending`` the sum of ``min`` over a row's stack, a
production ``p`` for top ``A`` is allowed at step ``t`` only if ``pending - min[A] + rhs_min[p]`` (the
stack's ``pending`` after the step) is at most the ``T - t - 1`` steps left after it. The productions
that remain form the same masked softmax, restricted further; ``complete=False`` is the plain masking of
Kusner et al. (2017), for paper-faithful comparisons.

This module runs that machine for a whole batch at once: the stacks are one integer tensor (with an
"empty" sentinel at the bottom, so finished rows need no special case), every per-step operation is
a gather/scatter over the batch that scores only the few productions allowed for each row's top
symbol, rows whose derivation has finished are dropped from the batch as decoding goes on, and the
only Python loop is over the ``T`` steps, so the same code runs unchanged on a GPU. Stochastic
decoding (used by the Bayesian-optimisation protocol, which decodes each latent point many times) is
Gumbel-max sampling from the masked softmax. The module also provides the training-time view of the
same masks (:func:`training_masks`, where the top of the stack is known from the true derivation)
and a mixed-precision-safe way to apply them to logits (:func:`apply_mask`).

Conventions (padding production, masks, non-productive productions excluded) are those of
:class:`lsbo.grammar.tables.GrammarTables`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import torch
from torch import Tensor

from lsbo.errors import GrammarError
from lsbo.grammar.tables import GrammarTables

__all__ = ["MASKED_LOGIT", "StepScores", "masked_decode", "masked_decode_steps", "training_masks", "apply_mask", "DecoderTables", "decoder_tables"]

#: Value written into disallowed logits by :func:`apply_mask`. It is finite in every floating dtype
#: (float16's largest magnitude is 65504), so it survives casts between dtypes under automatic mixed
#: precision and a fully-masked row gives a uniform softmax rather than NaN; its exponential relative
#: to any realistic logit underflows to exactly zero in every dtype (float64 underflows below -745).
MASKED_LOGIT: float = -30000.0

# How often (in steps) the decoder checks whether every derivation of the batch has finished. The
# check synchronises a GPU with the host, so it is not done at every step.
_FINISHED_CHECK_INTERVAL = 8

# Finished rows are dropped from the batch once at least 1 / _COMPACT_FRACTION of the live ones
# have finished (checked every _FINISHED_CHECK_INTERVAL steps).
_COMPACT_FRACTION = 4

# ATen's parallelisation threshold (elements) for CPU kernels (at::internal::GRAIN_SIZE).
_CPU_PARALLEL_GRAIN = 32768

# On a CPU, batches with at most this many logits per step (rows x productions) are decoded on one
# thread (see _single_cpu_thread); larger ones keep torch's thread pool, whose threads then have
# enough work per operation.
_CPU_SINGLE_THREAD_NUMBERS = 2**20

# Upper bound on the Gumbel noise numbers drawn at once when sampling (16 MiB of float32).
_NOISE_BLOCK_NUMBERS = 2**22
_NOISE_BLOCK_STEPS = 64


@dataclass(frozen=True)
class DecoderTables:
    """The tensors the batched stack machine needs, on one device.

    Non-terminal index ``n_nonterminals`` stands for "empty stack": its only allowed production is
    the padding production, and ``lhs[padding]`` maps to it, so that padding steps index it too.

    ``choices[a]`` lists the productions allowed with ``a`` on top of the stack in increasing order,
    padded to a common width by repeating the first one; ``choice_bias[a]`` is 0 on real entries and
    ``-inf`` on the repeats. A decoding step scores only these few candidates instead of all ``P``
    productions, and whatever the scores (all ``-inf``, NaN) the winner is an allowed production.
    """

    masks: Tensor  # bool (n_nonterminals + 1, P): allowed productions per top-of-stack symbol
    choices: Tensor  # long (n_nonterminals + 1, max_choices): allowed productions, padded
    choice_bias: Tensor  # float32 (n_nonterminals + 1, max_choices): 0 real entry, -inf repeat
    lhs: Tensor  # long (P,): left-hand side per production, the padding production -> empty symbol
    # long (P, max_rhs + 2): symbols each production pushes, then the height change, then the change of
    # the stack's total minimum derivation length (`pending`; 0 for unusable productions, never chosen)
    transitions: Tensor
    choice_delta: Tensor  # long (n_nonterminals + 1, max_choices): `pending` change per entry of `choices`
    start: int  # index of the start symbol
    empty: int  # index of the "empty stack" symbol (= n_nonterminals)
    padding: int  # index of the padding production (= P - 1)
    max_rhs: int  # the most symbols any production pushes (at least 1)
    min_start: int  # fewest productions of a complete derivation (min_derivation_length of the start symbol)
    max_delta: int  # the largest `pending` change of any allowed production, at least 0


def _build_decoder_tables(tables: GrammarTables, device: torch.device) -> DecoderTables:
    if tables.start not in tables.productive:
        name = tables.nonterminals[tables.start]
        raise GrammarError(f"the start symbol {name} derives no terminal string, so nothing can be decoded")
    n_nt, n_prod = tables.n_nonterminals, tables.n_productions
    masks = torch.cat([tables.masks(), tables.empty_mask()[None, :]], dim=0)
    allowed = [torch.nonzero(row).flatten().tolist() for row in masks]
    width = max(len(a) for a in allowed)
    choices = torch.full((n_nt + 1, width), tables.padding, dtype=torch.long)
    choice_bias = torch.full((n_nt + 1, width), float("-inf"), dtype=torch.float32)
    for a, productions in enumerate(allowed):
        # Non-productive symbols have no allowed production; no allowed production ever pushes
        # one, so their (padding) row is never used.
        if productions:
            choices[a] = productions[0]
            choices[a, : len(productions)] = torch.tensor(productions)
            choice_bias[a, : len(productions)] = 0.0
    lhs = torch.tensor([n_nt if a < 0 else a for a in tables.lhs], dtype=torch.long)
    # Choosing p with its left-hand side A on top changes the stack's total minimum derivation length
    # by rhs_min[p] - min[A] (a function of p alone, since A = lhs[p]); the padding production by 0.
    min_length, rhs_min = tables.min_derivation_length, tables.rhs_min_length
    delta = [
        int(rhs_min[p] - min_length[a]) if a >= 0 and ok else 0
        for p, (a, ok) in enumerate(zip(tables.lhs, tables.usable))
    ]
    delta_table = torch.tensor(delta, dtype=torch.long)
    choice_delta = delta_table[choices]
    # The stack machine keeps the "empty" symbol at the bottom of every stack, as a sentinel: with
    # it on top only padding is allowed, and padding pops it and pushes it back. So every step is
    # "pop one, push the production's symbols" with no special case for finished derivations.
    pushes = [list(rhs[::-1]) for rhs in tables.rhs_nonterminals]
    pushes[tables.padding] = [n_nt]
    max_rhs = max(len(push) for push in pushes)
    # Row p: the symbols production p pushes (right-hand side reversed, so the leftmost non-terminal
    # ends on top; unused columns hold the sentinel and land above the new top, where they are
    # overwritten before anything reads them), then the change of the stack height (symbols pushed
    # minus the one popped), then the change of `pending` (length-aware decoding). One table, so that
    # a step looks them all up with one operation.
    transitions = torch.full((n_prod, max_rhs + 2), n_nt, dtype=torch.long)
    for p, push in enumerate(pushes):
        if push:
            transitions[p, : len(push)] = torch.tensor(push, dtype=torch.long)
        transitions[p, max_rhs] = len(push) - 1
    transitions[:, max_rhs + 1] = delta_table
    return DecoderTables(
        masks=masks.to(device),
        choices=choices.to(device),
        choice_bias=choice_bias.to(device),
        lhs=lhs.to(device),
        transitions=transitions.to(device),
        choice_delta=choice_delta.to(device),
        start=tables.start,
        empty=n_nt,
        padding=tables.padding,
        max_rhs=max_rhs,
        min_start=int(min_length[tables.start]),
        max_delta=max(0, int(choice_delta.max())),
    )


@lru_cache(maxsize=64)
def _cached_decoder_tables(tables: GrammarTables, device: torch.device) -> DecoderTables:
    return _build_decoder_tables(tables, device)


def decoder_tables(tables: GrammarTables, device: torch.device | str | None = None) -> DecoderTables:
    """The stack machine's tensors for ``tables`` on ``device``, built once per (grammar, device)."""
    return _cached_decoder_tables(tables, torch.device(device if device is not None else "cpu"))


def _same_device(generator: torch.Generator, device: torch.device) -> bool:
    gen_device = torch.device(generator.device)
    if gen_device.type != device.type:
        return False
    # "cuda" and "cuda:0" name the same device when the current device is 0.
    return gen_device.index is None or device.index is None or gen_device.index == device.index


def _check_logits(logits: Tensor, tables: GrammarTables) -> None:
    if logits.dim() != 3:
        raise GrammarError(f"decoder logits must have shape (N, T, P); got shape {tuple(logits.shape)}")
    if logits.shape[2] != tables.n_productions:
        raise GrammarError(
            f"decoder logits have {logits.shape[2]} production entries but the grammar has "
            f"{tables.n_productions} (padding included); was the model trained with another grammar?"
        )
    if not logits.is_floating_point():
        raise GrammarError(f"decoder logits must be floating point; got dtype {logits.dtype}")


def _write_segment(indices: Tensor, live: Tensor | None, chosen: list[Tensor], start: int) -> None:
    """Copy the choices of the live rows for steps ``start, start + 1, ...`` into ``indices``."""
    if not chosen:
        return
    block = torch.cat(chosen, dim=1)
    if live is None:
        indices[:, start : start + block.shape[1]] = block
    else:
        indices[:, start : start + block.shape[1]].index_copy_(0, live, block)


def _select_rows(step_logits: Tensor, rows: Tensor) -> Tensor:
    """``step_logits.index_select(0, rows)``; on a CPU, in copies small enough to stay single-threaded.

    ATen hands a copy of more than ``_CPU_PARALLEL_GRAIN`` elements to its thread pool. For a copy
    this small, waking the pool costs more than it saves, and on a busy machine a copy can wait a
    whole scheduler time slice for a descheduled worker; at one copy per decoding step that made the
    decoder a hundred times slower on a shared two-core machine.
    """
    if step_logits.device.type == "cpu" and torch.get_num_threads() > 1:
        rows_per_copy = max(1, _CPU_PARALLEL_GRAIN // step_logits.shape[1])
        if rows.numel() > rows_per_copy:
            return torch.cat([step_logits.index_select(0, part) for part in rows.split(rows_per_copy)])
    return step_logits.index_select(0, rows)


@contextmanager
def _single_cpu_thread() -> Iterator[None]:
    """Run torch's CPU kernels on one thread for the duration of the block (then restore the count).

    The stack machine's per-step operations touch a few thousand numbers each; handing them to the
    thread pool costs more than it saves, and on a busy machine an operation can wait a whole
    scheduler time slice for a descheduled worker (measured: 0.1 s instead of 0.04 s for a
    1,000-row ZINC decode on a shared two-core machine). The thread count is process-wide, so torch
    work running concurrently in another Python thread is single-threaded meanwhile too.
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def masked_decode(
    logits: Tensor,
    tables: GrammarTables,
    sample: bool = False,
    generator: torch.Generator | None = None,
    complete: bool = True,
) -> tuple[Tensor, Tensor]:
    """Decode a batch of production logits into leftmost derivations with the grammar's stack machine.

    Args:
        logits: ``(N, T, P)`` unnormalised scores per step and production (any floating dtype).
        tables: the grammar's index tables; ``P`` must equal ``tables.n_productions``.
        sample: ``False`` takes the most likely allowed production at each step (deterministic; ties
            go to the lowest index); ``True`` samples from the softmax restricted to the allowed
            productions (Gumbel-max: argmax of logits plus Gumbel noise). Only allowed productions
            can be chosen, whatever the logits hold (``inf``, ``-inf`` or NaN included).
        generator: source of the sampling noise; must live on the logits' device. ``None`` uses
            torch's global generator for that device.
        complete: length-aware decoding (see the module docstring): a production is allowed only if
            the derivation can still be completed within the ``T`` steps, so every row is complete.
            Greedy decoding then takes the most likely of those productions and sampling draws from
            the softmax restricted to them; a logit of ``-inf`` counts as the lowest finite value, so
            that some completable production always wins. ``False`` gives the plain Grammar VAE
            masking, whose derivations may not finish within ``T`` steps.

    Returns:
        ``(indices, complete)``: ``indices`` is a long tensor ``(N, T)`` of production indices, padded
        with ``tables.padding`` after a derivation ends; ``complete`` is a bool tensor ``(N,)``, false
        where non-terminals were still on the stack after ``T`` steps (the derivation is unfinished
        and yields no string; never with ``complete=True``). Both are on the logits' device. Every
        complete row is a leftmost derivation of the grammar; an incomplete row is a valid prefix of one.

    Raises:
        GrammarError: malformed logits, a sampling generator on another device, a start symbol that
            derives no terminal string, or (with ``complete=True``) ``T`` smaller than the fewest
            productions of any derivation.
    """
    _check_logits(logits, tables)
    device = logits.device
    if generator is not None and not _same_device(generator, device):
        raise GrammarError(
            f"the sampling generator is on {generator.device} but the logits are on {device}; "
            f"create it with torch.Generator(device={str(device)!r})"
        )
    dt = decoder_tables(tables, device)
    if complete and dt.min_start > logits.shape[1]:
        raise GrammarError(
            f"no derivation fits in {logits.shape[1]} decoding steps: the shortest derivation of "
            f"{tables.nonterminals[tables.start]} takes {dt.min_start} productions; decode with more steps "
            f"or with complete=False"
        )
    n, steps, _ = logits.shape
    if device.type == "cpu" and n * logits.shape[2] <= _CPU_SINGLE_THREAD_NUMBERS:
        with _single_cpu_thread():
            return _run_stack_machine(_PrecomputedScores(logits), n, steps, device, dt, sample, generator, complete)
    return _run_stack_machine(_PrecomputedScores(logits), n, steps, device, dt, sample, generator, complete)


class StepScores(Protocol):
    """Scores of the next production, one step at a time, for the rows still being decoded.

    The stack machine calls :meth:`next` once per step and :meth:`keep` when it drops finished rows;
    a neural decoder that reads the productions chosen so far (:mod:`lsbo.models.decoders`) is
    driven through this interface.
    """

    def next(self, previous: Tensor | None) -> Tensor:
        """Scores ``(rows, P)`` of the next step; ``previous`` ``(rows,)`` holds the productions chosen
        at the step before (``None`` at the first step), for the current rows in order."""
        ...

    def keep(self, rows: Tensor) -> None:
        """From now on only rows ``rows`` (long indices into the current rows, increasing) are decoded."""
        ...


class _PrecomputedScores:
    """:class:`StepScores` over finished logits ``(N, T, P)``: step ``t`` reads ``logits[:, t]``."""

    def __init__(self, logits: Tensor) -> None:
        self._steps = logits.unbind(dim=1)
        self._t = 0
        self._live: Tensor | None = None  # rows of `logits` still decoded (None: all)

    def next(self, previous: Tensor | None) -> Tensor:
        step_logits = self._steps[self._t]
        self._t += 1
        return step_logits if self._live is None else _select_rows(step_logits, self._live)

    def keep(self, rows: Tensor) -> None:
        self._live = rows if self._live is None else self._live.index_select(0, rows)


def masked_decode_steps(
    scores: StepScores,
    n: int,
    steps: int,
    tables: GrammarTables,
    sample: bool = False,
    generator: torch.Generator | None = None,
    complete: bool = True,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    """:func:`masked_decode` with the scores of each step asked for when that step comes.

    Args:
        scores: gives the ``(rows, P)`` scores of each step given the productions chosen at the step
            before (:class:`StepScores`); it is told which rows remain when finished ones are dropped.
        n: the number of rows ``N``.
        steps: the number of steps ``T``.
        device: where the scores (and the returned tensors) live.
        tables: as for :func:`masked_decode`.
        sample: as for :func:`masked_decode`.
        generator: as for :func:`masked_decode`.
        complete: as for :func:`masked_decode`.

    Returns:
        ``(indices (N, T), complete (N,))`` as :func:`masked_decode`.
    """
    device = torch.device(device if device is not None else "cpu")
    if generator is not None and not _same_device(generator, device):
        raise GrammarError(
            f"the sampling generator is on {generator.device} but the scores are on {device}; "
            f"create it with torch.Generator(device={str(device)!r})"
        )
    dt = decoder_tables(tables, device)
    if complete and dt.min_start > steps:
        raise GrammarError(
            f"no derivation fits in {steps} decoding steps: the shortest derivation of "
            f"{tables.nonterminals[tables.start]} takes {dt.min_start} productions; decode with more steps "
            f"or with complete=False"
        )
    checked = _CheckedScores(scores, tables)
    if device.type == "cpu" and n * tables.n_productions <= _CPU_SINGLE_THREAD_NUMBERS:
        with _single_cpu_thread():
            return _run_stack_machine(checked, n, steps, device, dt, sample, generator, complete)
    return _run_stack_machine(checked, n, steps, device, dt, sample, generator, complete)


class _CheckedScores:
    """A :class:`StepScores` whose every step is checked to be floating point with ``P`` columns."""

    def __init__(self, scores: StepScores, tables: GrammarTables) -> None:
        self._scores = scores
        self._n_productions = tables.n_productions

    def next(self, previous: Tensor | None) -> Tensor:
        step_scores = self._scores.next(previous)
        if step_scores.dim() != 2 or step_scores.shape[1] != self._n_productions:
            raise GrammarError(
                f"decoder scores have shape {tuple(step_scores.shape)} but the grammar has {self._n_productions} "
                f"productions (padding included); was the model trained with another grammar?"
            )
        if not step_scores.is_floating_point():
            raise GrammarError(f"decoder scores must be floating point; got dtype {step_scores.dtype}")
        return step_scores

    def keep(self, rows: Tensor) -> None:
        self._scores.keep(rows)


def _run_stack_machine(
    source: StepScores, n: int, steps: int, device: torch.device, dt: DecoderTables, sample: bool,
    generator: torch.Generator | None, length_aware: bool,
) -> tuple[Tensor, Tensor]:
    """The body of :func:`masked_decode` and :func:`masked_decode_steps`, on checked inputs."""

    # Every production pops one symbol and pushes at most `max_rhs`, so in `steps` steps a stack
    # never holds more than 1 + steps * (max_rhs - 1) symbols above the sentinel: with that many
    # slots (plus room for the padded pushes) overflow is impossible. That is N * T * (max_rhs - 1)
    # integers, small beside the N * T * P logits. `height` (N, 1) is the slot of each row's top; 0
    # means only the sentinel is left, i.e. the derivation is complete.
    capacity = 2 + steps * (dt.max_rhs - 1) + dt.max_rhs
    # Only the sentinel and the start symbol need initialising: every other slot is written by a
    # push before anything reads it.
    stack = torch.empty((n, capacity), dtype=torch.long, device=device)
    stack[:, 0] = dt.empty
    stack[:, 1] = dt.start
    height = torch.ones(n, 1, dtype=torch.long, device=device)
    push_offsets = torch.arange(dt.max_rhs, device=device)
    n_choices = dt.choices.shape[1]
    # Sampling noise is drawn for blocks of steps at once (bounded to about 2**22 numbers): one
    # large elementwise operation costs far less than many small ones, on a CPU and a GPU alike.
    # Blocks of at most _NOISE_BLOCK_STEPS steps, so that little noise is drawn for rows that finish.
    noise_block = max(1, min(steps, _NOISE_BLOCK_STEPS, _NOISE_BLOCK_NUMBERS // max(1, n * n_choices)))
    gumbel = torch.empty(0, device=device)

    # Length-aware decoding. `pending` (N, 1) is the sum of the minimum derivation lengths of the
    # symbols on each row's stack (the sentinel counts 0): the fewest steps that can complete it.
    # Why every row completes when min[start] <= T (checked by the caller): call a row *on time* at
    # step t if pending <= T - t. Every row is on time at t = 0 (pending = min[start]). If a row is on
    # time at step t with A on top, the production p* of A achieving the minimum has
    # rhs_min[p*] = min[A] - 1, so pending - min[A] + rhs_min[p*] = pending - 1 <= T - t - 1: p* passes
    # the length test, hence the row always has an allowed production (for the empty stack, padding
    # leaves pending = 0 <= T - t - 1 as t < T). Every allowed production keeps the row on time at
    # t + 1 by definition of the test. So after the last step (t = T) pending <= 0, and since every
    # non-terminal a decoder can push is productive (min >= 1), the stack is empty: the derivation is
    # complete. (The winner is always an allowed production: disallowed candidates score -inf and
    # allowed ones at least the lowest finite value.)
    pending = torch.full((n, 1), dt.min_start, dtype=torch.long, device=device) if length_aware else None
    # A host-side upper bound on every row's `pending`; while it plus the largest change of one step
    # fits in the steps left, no production can fail the length test, and the test is skipped. It is
    # refreshed with the true maximum at the finished-rows checks (one host synchronisation for both).
    pending_bound = dt.min_start

    indices = torch.full((n, steps), dt.padding, dtype=torch.long, device=device)
    complete = torch.ones(n, dtype=torch.bool, device=device)
    # Rows still being decoded: all of them (None) until enough have finished to be worth dropping;
    # finished rows need nothing more (their remaining steps are padding), so real decodes, which
    # finish well before T, do less and less work per step.
    live: Tensor | None = None
    chosen: list[Tensor] = []  # choices of the live rows since `segment_start`
    segment_start = 0
    previous: Tensor | None = None  # (rows,) the productions chosen at the step before
    for t in range(steps):
        if t % _FINISHED_CHECK_INTERVAL == 0 and t > 0:
            finished = height.view(-1) == 0
            if pending is None or pending.numel() == 0:
                n_finished = int(finished.sum())  # one host synchronisation every few steps
            else:
                n_finished, pending_bound = torch.stack((finished.sum(), pending.max())).tolist()
            if n_finished * _COMPACT_FRACTION >= finished.numel():
                _write_segment(indices, live, chosen, segment_start)
                chosen, segment_start = [], t
                if n_finished == finished.numel():
                    break  # every derivation has finished: the remaining steps stay padding
                keep = torch.nonzero(~finished).view(-1)
                live = keep if live is None else live.index_select(0, keep)
                stack, height = stack.index_select(0, keep), height.index_select(0, keep)
                if pending is not None:
                    pending = pending.index_select(0, keep)
                if sample:
                    gumbel = gumbel.index_select(0, keep)
                source.keep(keep)
                if previous is not None:
                    previous = previous.index_select(0, keep)
        rows = source.next(previous)
        top = stack.gather(1, height).view(-1)
        candidates = dt.choices.index_select(0, top)  # (rows, max_choices) allowed productions
        scores = rows.gather(1, candidates)
        if sample:
            # Gumbel-max: the argmax of logits plus Gumbel noise is a draw from their softmax. The
            # repeated (padding) candidates get -inf so that no production is counted twice.
            if t % noise_block == 0:
                uniform = torch.rand(height.shape[0], noise_block, n_choices, device=device, generator=generator)
                gumbel = uniform.log_().neg_().log_().neg_()  # -log(-log(u)), in place
            scores = scores.float() + gumbel[:, t % noise_block] + dt.choice_bias.index_select(0, top)
        if pending is not None:
            remaining = steps - t - 1  # steps left after this one
            if pending_bound + dt.max_delta > remaining:
                completable = dt.choice_delta.index_select(0, top) <= remaining - pending
                scores = scores.clamp_min(torch.finfo(scores.dtype).min).masked_fill_(~completable, float("-inf"))
            pending_bound += dt.max_delta
        # Ties go to the first maximum, which is the lowest production index.
        choice = candidates.gather(1, scores.argmax(dim=1, keepdim=True))  # (rows, 1)
        chosen.append(choice)
        previous = choice.view(-1)
        # Pop the top and push the production's symbols from the popped slot upwards.
        transition = dt.transitions.index_select(0, choice.view(-1))
        stack.scatter_(1, height + push_offsets, transition[:, : dt.max_rhs])
        height = height + transition[:, dt.max_rhs : dt.max_rhs + 1]
        if pending is not None:
            pending = pending + transition[:, dt.max_rhs + 1 :]

    _write_segment(indices, live, chosen, segment_start)
    unfinished = height.view(-1) != 0
    if live is None:
        complete = ~unfinished
    else:
        complete.index_copy_(0, live, ~unfinished)
    return indices, complete


def training_masks(indices: Tensor, tables: GrammarTables) -> Tensor:
    """Masks ``(N, T, P)`` of the productions allowed at each step of the *true* derivations ``indices``.

    In a leftmost derivation the non-terminal on top of the stack at step ``t`` is the left-hand side
    of the production taken at ``t``, so the decoder's stack need not be simulated: the mask is the
    row of that left-hand side (padding steps get the padding-only row). This is the mask the Grammar
    VAE applies to the decoder's softmax during training. ``indices`` may have any shape; the mask
    has one more trailing dimension of size ``P``, on the same device.
    """
    indices = torch.as_tensor(indices)
    if indices.is_floating_point() or indices.dtype == torch.bool:
        raise GrammarError(f"production indices must be integers; got dtype {indices.dtype}")
    if indices.numel() > 0:
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= tables.n_productions:
            raise GrammarError(
                f"production indices must lie in [0, {tables.n_productions - 1}]; found values in [{low}, {high}]"
            )
    dt = decoder_tables(tables, indices.device)
    return dt.masks[dt.lhs[indices.long()]]


def apply_mask(logits: Tensor, mask: Tensor) -> Tensor:
    """Return ``logits`` with the entries where ``mask`` is false replaced by :data:`MASKED_LOGIT`.

    The result keeps the logits' dtype and device; ``mask`` must broadcast to the logits' shape.
    A large negative *finite* value is used instead of ``-inf`` so that the masked softmax and its
    cross-entropy stay NaN-free under float16/bfloat16 autocast and for fully-masked rows; gradients
    do not flow into the replaced entries.
    """
    if not logits.is_floating_point():
        raise GrammarError(f"logits must be floating point to be masked; got dtype {logits.dtype}")
    if mask.dtype != torch.bool:
        mask = mask.bool()
    return logits.masked_fill(~mask, MASKED_LOGIT)
