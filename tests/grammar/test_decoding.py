"""Batched masked decoding against independent per-sample references.

The decoder's outputs are checked with machinery that shares no code with it: a leftmost derivation
replayed on nltk sentential forms, nltk's chart parser on the resulting string, and a plain Python
stack decoder written here from the Grammar VAE's description.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nltk import CFG, ChartParser
from nltk.grammar import Nonterminal

from lsbo.errors import GrammarError
from lsbo.grammar import decoding
from lsbo.grammar.decoding import MASKED_LOGIT, apply_mask, masked_decode, training_masks
from lsbo.grammar.tables import GrammarTables, min_derivation_lengths

# A small grammar with left recursion, a production pushing three non-terminals, a non-productive
# symbol F (it only derives itself), so `T -> F` and `F -> F 'z'` must never be chosen, and different
# numbers of usable productions per symbol (S has four, T three).
TOY_TEXT = """
S -> S '+' T | T | 'f' '(' S ',' S ',' S ')' | 'w'
T -> '(' S ')' | 'x' | 'y' | F
F -> F 'z'
"""
NON_PRODUCTIVE = {Nonterminal("F")}

TOY_CFG = CFG.fromstring(TOY_TEXT)
TOY = GrammarTables.from_cfg(TOY_CFG)
TOY_PARSER = ChartParser(TOY_CFG)
PRODUCTIONS = list(TOY_CFG.productions())
PAD = TOY.padding
P = TOY.n_productions

property_settings = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def index_of(text: str) -> int:
    """Production index of a production written like ``"S -> T"``."""
    matches = [i for i, prod in enumerate(PRODUCTIONS) if str(prod).replace("'", "") == text]
    assert len(matches) == 1, text
    return matches[0]


def replay(row: list[int], cfg: CFG = TOY_CFG) -> tuple[list[str], bool]:
    """Replay production indices as a leftmost derivation on sentential forms.

    Asserts that every production rewrites the leftmost non-terminal and that padding appears only
    after the derivation is finished. Returns the sentential form's terminal prefix (the whole
    string when complete) and whether the derivation finished.
    """
    productions = list(cfg.productions())
    form: list[object] = [cfg.start()]
    for step, p in enumerate(row):
        leftmost = next((i for i, s in enumerate(form) if isinstance(s, Nonterminal)), None)
        if p == len(productions):  # padding
            assert leftmost is None, f"padding at step {step} with {form[leftmost]} unexpanded"
            continue
        assert leftmost is not None, f"production {p} at step {step} after the derivation ended"
        prod = productions[p]
        assert form[leftmost] == prod.lhs(), f"step {step}: {prod} applied to {form[leftmost]}"
        form[leftmost : leftmost + 1] = list(prod.rhs())
    complete = not any(isinstance(s, Nonterminal) for s in form)
    prefix = []
    for s in form:
        if isinstance(s, Nonterminal):
            break
        prefix.append(s)
    return prefix, complete


def stack_decode(
    logits: np.ndarray, cfg: CFG, allowed: Callable[[list[Nonterminal], Nonterminal, int], list[int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample Python stack decoder (greedy), straight from the Grammar VAE's description.

    ``allowed(stack, top, t)`` is the masking rule under test: the production indices that may expand
    ``top`` at step ``t`` with ``stack`` left below it. Returns the productions (padding after the end)
    and whether each derivation finished.
    """
    productions = list(cfg.productions())
    n, steps, _ = logits.shape
    out = np.full((n, steps), len(productions), dtype=np.int64)
    complete = np.zeros(n, dtype=bool)
    for i in range(n):
        stack = [cfg.start()]
        for t in range(steps):
            if not stack:
                break
            top = stack.pop()
            choices = allowed(stack, top, t)
            assert choices, f"row {i}, step {t}: no production allowed for {top}"
            p = choices[int(np.argmax(logits[i, t, choices].astype(np.float64)))]
            out[i, t] = p
            stack.extend(s for s in reversed(productions[p].rhs()) if isinstance(s, Nonterminal))
        complete[i] = not stack
    return out, complete


def reference_decode(
    logits: np.ndarray, cfg: CFG = TOY_CFG, non_productive: frozenset = frozenset(NON_PRODUCTIVE)
) -> tuple[np.ndarray, np.ndarray]:
    """Plain grammar masking: any production of the top symbol that uses no non-productive symbol."""
    productions = list(cfg.productions())

    def allowed(stack: list[Nonterminal], top: Nonterminal, t: int) -> list[int]:
        return [
            p
            for p, prod in enumerate(productions)
            if prod.lhs() == top and not any(s in non_productive for s in prod.rhs())
        ]

    return stack_decode(logits, cfg, allowed)


def shortest_derivations_by_search(cfg: CFG) -> dict[Nonterminal, float]:
    """Fewest leftmost-derivation steps from each non-terminal to a terminal string, by breadth-first
    search over stacks of non-terminals (independent of the fixpoint in ``lsbo.grammar.tables``).

    Depth is capped at 12 (``inf`` beyond); a stack longer than the steps left cannot finish in time,
    since every symbol needs at least one step, and is pruned.
    """
    cap = 12
    nonterminals = {p.lhs() for p in cfg.productions()} | {
        s for p in cfg.productions() for s in p.rhs() if isinstance(s, Nonterminal)
    }
    found: dict[Nonterminal, float] = {}
    for symbol in nonterminals:
        level: set[tuple[Nonterminal, ...]] = {(symbol,)}
        found[symbol] = float("inf")
        for depth in range(1, cap + 1):
            following: set[tuple[Nonterminal, ...]] = set()
            for stack in level:
                for prod in cfg.productions(lhs=stack[-1]):
                    pushed = tuple(s for s in reversed(prod.rhs()) if isinstance(s, Nonterminal))
                    new = stack[:-1] + pushed
                    if len(new) <= cap - depth:
                        following.add(new)
            if () in following:
                found[symbol] = depth
                break
            level = following
    return found


def reference_decode_length_aware(logits: np.ndarray, cfg: CFG = TOY_CFG) -> np.ndarray:
    """Length-aware masking: only productions whose derivation can still finish.

    At step ``t`` the stack (after popping the top and pushing the production's right-hand side)
    must need at most ``T - t - 1`` more steps, the sum of its symbols' shortest derivation lengths.
    """
    productions = list(cfg.productions())
    shortest = min_derivation_lengths(cfg)
    steps = logits.shape[1]

    def allowed(stack: list[Nonterminal], top: Nonterminal, t: int) -> list[int]:
        rest = sum(shortest[s] for s in stack)
        return [
            p
            for p, prod in enumerate(productions)
            if prod.lhs() == top
            and rest + sum(shortest[s] for s in prod.rhs() if isinstance(s, Nonterminal)) <= steps - t - 1
        ]

    out, complete = stack_decode(logits, cfg, allowed)
    assert complete.all(), f"rows {np.flatnonzero(~complete).tolist()} unfinished"
    return out


def random_logits(seed: int, n: int, steps: int, scale: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, steps, P, generator=generator)


def assert_derivable(indices: torch.Tensor, complete: torch.Tensor) -> None:
    """Every row is a leftmost derivation prefix; complete rows parse with nltk; flags agree."""
    unusable = {p for p, prod in enumerate(PRODUCTIONS) if any(s in NON_PRODUCTIVE for s in prod.rhs())}
    for row, done in zip(indices.tolist(), complete.tolist()):
        assert not unusable.intersection(row)
        tokens, finished = replay(row)
        assert finished == done
        if done:
            assert any(True for _ in TOY_PARSER.parse(tokens)), tokens


def test_toy_tables_exclude_the_non_productive_productions() -> None:
    masks = TOY.masks()
    assert not masks[:, index_of("T -> F")].any()
    assert not masks[:, index_of("F -> F z")].any()


@property_settings
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 12),
    steps=st.integers(1, 30),
    scale=st.sampled_from([0.3, 1.0, 4.0]),
)
def test_greedy_matches_reference_and_is_derivable(seed: int, n: int, steps: int, scale: float) -> None:
    logits = random_logits(seed, n, steps, scale)
    indices, complete = masked_decode(logits, TOY, complete=False)
    assert indices.shape == (n, steps) and indices.dtype == torch.long
    assert complete.shape == (n,) and complete.dtype == torch.bool
    expected, expected_complete = reference_decode(logits.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected)
    np.testing.assert_array_equal(complete.numpy(), expected_complete)
    assert_derivable(indices, complete)


@property_settings
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 12), steps=st.integers(1, 30))
def test_samples_are_derivable(seed: int, n: int, steps: int) -> None:
    logits = random_logits(seed, n, steps, 1.0)
    for length_aware in (False, True):
        generator = torch.Generator().manual_seed(seed + 1)
        indices, complete = masked_decode(logits, TOY, sample=True, generator=generator, complete=length_aware)
        assert_derivable(indices, complete)
        if length_aware:
            assert complete.all()


def test_random_logits_give_both_complete_and_incomplete_outputs() -> None:
    """The property tests above exercise both outcomes, not only one of them."""
    indices, complete = masked_decode(random_logits(0, 200, 12, 1.0), TOY, complete=False)
    assert 0 < int(complete.sum()) < 200
    assert_derivable(indices, complete)


def test_deep_stacks_beyond_the_step_count_decode_like_the_reference() -> None:
    """Push the recursive productions for most steps (stacks far deeper than T), then close."""
    n, steps = 64, 40
    generator = torch.Generator().manual_seed(7)
    logits = torch.randn(n, steps, P, generator=generator)
    push_until = torch.randint(5, steps, (n,), generator=generator)
    early = torch.arange(steps)[None, :] < push_until[:, None]
    # Both recursive productions, so the stack holds a mix of S and T whose order matters.
    logits[:, :, index_of("S -> f ( S , S , S )")] += torch.where(early, 6.0, -6.0)
    logits[:, :, index_of("S -> S + T")] += torch.where(early, 6.0, -6.0)
    indices, complete = masked_decode(logits, TOY, complete=False)
    expected, expected_complete = reference_decode(logits.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected)
    np.testing.assert_array_equal(complete.numpy(), expected_complete)
    # The test is only meaningful if many stacks grew beyond T + 3 symbols.
    growth = torch.tensor([len(r) - 1 for r in TOY.rhs_nonterminals[:-1]] + [0])[indices]
    max_depth = (1 + growth.cumsum(dim=1)).max(dim=1).values
    assert (max_depth > steps + 3).sum() > n // 4
    assert_derivable(indices, complete)


def test_stacks_that_grow_fast_then_unwind_fully_decode_like_the_reference() -> None:
    """Grow the stack by two random symbols per step, then pop it one symbol per step to the bottom.

    This is the fastest way for a write near the top of the stack to be followed by reads far
    below it, where a stack too small for the steps (a too-small ring buffer, say) would have lost
    entries.
    """
    cfg = CFG.fromstring("S -> S X Y | S Y X | 's'\nX -> 'x'\nY -> 'y'")
    tables = GrammarTables.from_cfg(cfg)
    grow_xy, grow_yx, stop = 0, 1, 2
    n, steps = 48, 61
    generator = torch.Generator().manual_seed(13)
    logits = torch.randn(n, steps, tables.n_productions, generator=generator)
    grow_steps = torch.randint(5, 25, (n,), generator=generator)
    growing = torch.arange(steps)[None, :] < grow_steps[:, None]
    logits[:, :, grow_xy] += torch.where(growing, 5.0, -5.0)
    logits[:, :, grow_yx] += torch.where(growing, 5.0, -5.0)
    logits[:, :, stop] += torch.where(growing, -5.0, 5.0)
    indices, complete = masked_decode(logits, tables, complete=False)
    expected, expected_complete = reference_decode(logits.numpy(), cfg, frozenset())
    np.testing.assert_array_equal(indices.numpy(), expected)
    np.testing.assert_array_equal(complete.numpy(), expected_complete)
    # Rows that grew for k steps need k + 1 + 2k steps in all; both outcomes occur.
    np.testing.assert_array_equal(complete.numpy(), (3 * grow_steps.numpy() + 1) <= steps)
    for row, done in zip(indices.tolist(), complete.tolist()):
        tokens, finished = replay(row, cfg)
        assert finished == done


def test_row_copies_split_for_the_cpu_thread_pool_decode_like_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """With several CPU threads, live rows' logits are copied in pieces below ATen's parallel grain."""
    monkeypatch.setattr(decoding, "_CPU_PARALLEL_GRAIN", 3 * P)  # pieces of three rows
    monkeypatch.setattr(decoding, "_CPU_SINGLE_THREAD_NUMBERS", 0)  # keep the thread pool
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    logits = random_logits(23, 64, 30, 1.0)
    indices, complete = masked_decode(logits, TOY, complete=False)
    expected, expected_complete = reference_decode(logits.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected)
    np.testing.assert_array_equal(complete.numpy(), expected_complete)
    indices, complete = masked_decode(logits, TOY)
    np.testing.assert_array_equal(indices.numpy(), reference_decode_length_aware(logits.numpy()))
    assert complete.all()


def test_small_cpu_batches_run_single_threaded_and_restore_the_thread_count() -> None:
    threads_before = torch.get_num_threads()
    seen: list[int] = []
    original = decoding._run_stack_machine

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decoding, "_run_stack_machine", spy)
        masked_decode(random_logits(1, 8, 10, 1.0), TOY)
    assert seen == [1]
    assert torch.get_num_threads() == threads_before


def test_recursion_that_never_closes_is_incomplete_and_terminates() -> None:
    logits = torch.zeros(3, 25, P)
    logits[:, :, index_of("S -> S + T")] = 10.0
    indices, complete = masked_decode(logits, TOY, complete=False)
    assert not complete.any()
    assert (indices == index_of("S -> S + T")).all()
    assert all(replay(row) == ([], False) for row in indices.tolist())


def test_derivation_finishing_on_the_last_step_is_complete() -> None:
    logits = torch.zeros(1, 2, P)
    logits[0, 0, index_of("S -> T")] = 5.0
    logits[0, 1, index_of("T -> x")] = 5.0
    for length_aware in (False, True):
        indices, complete = masked_decode(logits, TOY, complete=length_aware)
        assert indices.tolist() == [[index_of("S -> T"), index_of("T -> x")]]
        assert complete.tolist() == [True]
    indices, complete = masked_decode(logits[:, :1], TOY, complete=False)
    assert complete.tolist() == [False]
    # With one step, length-aware decoding must take the only production that finishes at once.
    indices, complete = masked_decode(logits[:, :1], TOY)
    assert indices.tolist() == [[index_of("S -> w")]] and complete.tolist() == [True]


def test_disallowed_productions_lose_whatever_their_logits() -> None:
    logits = torch.randn(50, 20, P, generator=torch.Generator().manual_seed(3))
    logits[:, :, index_of("T -> F")] = 1e30
    logits[:, :, PAD] = float("inf")  # padding is not allowed while the stack is non-empty
    for sample in (False, True):
        for length_aware in (False, True):
            generator = torch.Generator().manual_seed(0)
            indices, complete = masked_decode(logits, TOY, sample=sample, generator=generator, complete=length_aware)
            assert not (indices == index_of("T -> F")).any()
            assert_derivable(indices, complete)
            assert complete.all() or not length_aware


def test_rows_with_every_allowed_logit_minus_infinity_still_decode_validly() -> None:
    logits = torch.full((4, 10, P), float("-inf"))
    logits[:, 0, index_of("S -> T")] = 0.0  # then T is on top, whose productions all score -inf
    for sample in (False, True):
        for length_aware in (False, True):
            generator = torch.Generator().manual_seed(0)
            indices, complete = masked_decode(logits, TOY, sample=sample, generator=generator, complete=length_aware)
            assert_derivable(indices, complete)
            assert complete.all() or not length_aware


def test_greedy_is_deterministic_and_sampling_reproducible_with_a_seed() -> None:
    logits = random_logits(11, 64, 20, 1.0)
    greedy = masked_decode(logits, TOY)
    assert torch.equal(greedy[0], masked_decode(logits.clone(), TOY)[0])
    first = masked_decode(logits, TOY, sample=True, generator=torch.Generator().manual_seed(5))
    again = masked_decode(logits, TOY, sample=True, generator=torch.Generator().manual_seed(5))
    other = masked_decode(logits, TOY, sample=True, generator=torch.Generator().manual_seed(6))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])
    assert not torch.equal(first[0], greedy[0])


@pytest.mark.parametrize("noise_block_numbers", [2**22, 1])
def test_sampling_follows_the_masked_softmax(noise_block_numbers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frequencies at each step match the softmax over the allowed productions only.

    Step 0 samples among S's four productions, step 1 among T's three usable ones (T's candidate
    list is padded to S's width, and the padding must not be drawn). With a budget of one noise
    number the noise is drawn step by step instead of for all steps at once.
    """
    monkeypatch.setattr(decoding, "_NOISE_BLOCK_NUMBERS", noise_block_numbers)
    n = 20000
    step_logits = torch.randn(2, P, generator=torch.Generator().manual_seed(2))
    step_logits[1, index_of("T -> F")] = 5.0  # large but masked: must get no probability
    logits = step_logits.expand(n, 2, P).clone()
    logits[n // 2 :, 0, index_of("S -> T")] = 100.0  # so that half the rows have T on top at step 1
    indices, _ = masked_decode(logits, TOY, sample=True, generator=torch.Generator().manual_seed(9), complete=False)
    s_rules = [index_of(r) for r in ("S -> S + T", "S -> T", "S -> f ( S , S , S )", "S -> w")]
    t_rules = [index_of(r) for r in ("T -> ( S )", "T -> x", "T -> y")]
    for step, rows, allowed in ((0, slice(0, n // 2), s_rules), (1, slice(n // 2, n), t_rules)):
        chosen = indices[rows, step]
        expected = torch.softmax(step_logits[step, allowed].double(), dim=0).numpy()
        counts = np.array([(chosen == p).sum().item() for p in allowed])
        assert counts.sum() == n // 2
        # Binomial standard error is at most 0.005 for 10000 draws; allow five of them.
        np.testing.assert_allclose(counts / (n // 2), expected, atol=0.025)


@pytest.mark.parametrize("noise_block_numbers", [2**22, 1])
def test_sampling_steps_are_independent(noise_block_numbers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With equal logits, S -> S + T at step 0 (S on top again) is followed by it at step 1 a quarter
    of the time, not always as it would be if a step reused another step's noise."""
    monkeypatch.setattr(decoding, "_NOISE_BLOCK_NUMBERS", noise_block_numbers)
    generator = torch.Generator().manual_seed(4)
    indices, _ = masked_decode(torch.zeros(8000, 2, P), TOY, sample=True, generator=generator, complete=False)
    again = indices[:, 0] == index_of("S -> S + T")
    assert again.sum() > 1500
    fraction = (indices[again, 1] == index_of("S -> S + T")).double().mean().item()
    assert abs(fraction - 0.25) < 0.05


@pytest.mark.parametrize("noise_block_numbers", [2**22, 1])
def test_sampling_after_finished_rows_are_dropped(noise_block_numbers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Half the rows finish at step 0 and are dropped from the batch at step 8; the others grow
    for ten steps and then sample among S's productions, with the softmax's frequencies."""
    monkeypatch.setattr(decoding, "_NOISE_BLOCK_NUMBERS", noise_block_numbers)
    n, steps = 8000, 12
    step_logits = torch.randn(P, generator=torch.Generator().manual_seed(8))
    logits = step_logits.expand(n, steps, P).clone()
    logits[: n // 2, 0, index_of("S -> w")] = 100.0
    logits[n // 2 :, :10, index_of("S -> S + T")] = 100.0
    generator = torch.Generator().manual_seed(12)
    indices, complete = masked_decode(logits, TOY, sample=True, generator=generator, complete=False)
    assert complete[: n // 2].all() and (indices[: n // 2, 1:] == PAD).all()
    assert not complete[n // 2 :].any()
    s_rules = [index_of(r) for r in ("S -> S + T", "S -> T", "S -> f ( S , S , S )", "S -> w")]
    chosen = indices[n // 2 :, 10]
    counts = np.array([(chosen == p).sum().item() for p in s_rules])
    assert counts.sum() == n // 2
    expected = torch.softmax(step_logits[s_rules].double(), dim=0).numpy()
    np.testing.assert_allclose(counts / (n // 2), expected, atol=0.04)  # 5 standard errors at most


def test_sampling_noise_drawn_in_blocks_is_reproducible_and_derivable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decoding, "_NOISE_BLOCK_NUMBERS", 50)  # blocks of a few steps
    logits = random_logits(17, 10, 30, 1.0)
    first = masked_decode(logits, TOY, sample=True, generator=torch.Generator().manual_seed(3))
    again = masked_decode(logits, TOY, sample=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first[0], again[0])
    assert_derivable(*first)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_logits(dtype: torch.dtype) -> None:
    logits = random_logits(4, 40, 20, 2.0).to(dtype)
    indices, complete = masked_decode(logits, TOY, complete=False)
    expected, expected_complete = reference_decode(logits.float().numpy())
    np.testing.assert_array_equal(indices.numpy(), expected)
    np.testing.assert_array_equal(complete.numpy(), expected_complete)
    indices, complete = masked_decode(logits, TOY)
    np.testing.assert_array_equal(indices.numpy(), reference_decode_length_aware(logits.float().numpy()))
    assert complete.all()
    for length_aware in (False, True):
        generator = torch.Generator().manual_seed(1)
        sampled, sampled_complete = masked_decode(logits, TOY, sample=True, generator=generator, complete=length_aware)
        assert_derivable(sampled, sampled_complete)


def test_empty_batch_and_zero_steps() -> None:
    for length_aware in (False, True):
        indices, complete = masked_decode(torch.zeros(0, 5, P), TOY, complete=length_aware)
        assert indices.shape == (0, 5) and complete.shape == (0,)
    indices, complete = masked_decode(torch.zeros(2, 0, P), TOY, complete=False)
    assert indices.shape == (2, 0) and complete.tolist() == [False, False]
    with pytest.raises(GrammarError, match="no derivation fits in 0 decoding steps"):
        masked_decode(torch.zeros(2, 0, P), TOY)


def test_bad_logits_and_grammars_raise_grammar_errors() -> None:
    with pytest.raises(GrammarError, match="production entries"):
        masked_decode(torch.zeros(2, 5, P + 1), TOY)
    with pytest.raises(GrammarError, match="shape"):
        masked_decode(torch.zeros(5, P), TOY)
    with pytest.raises(GrammarError, match="floating point"):
        masked_decode(torch.zeros(2, 5, P, dtype=torch.long), TOY)
    dead = GrammarTables.from_cfg(CFG.fromstring("S -> S 'a'\nS -> 'b' S"))
    with pytest.raises(GrammarError, match="start symbol"):
        masked_decode(torch.zeros(1, 3, dead.n_productions), dead)


def test_training_masks_are_the_masks_of_the_true_derivation() -> None:
    indices, complete = masked_decode(random_logits(21, 100, 25, 1.0), TOY)
    indices = indices[complete]
    assert len(indices) > 10
    masks = training_masks(indices, TOY)
    assert masks.shape == (*indices.shape, P) and masks.dtype == torch.bool
    for row, row_masks in zip(indices.tolist(), masks):
        form: list[object] = [TOY_CFG.start()]
        for t, p in enumerate(row):
            leftmost = next((i for i, s in enumerate(form) if isinstance(s, Nonterminal)), None)
            if leftmost is None:
                expected = {PAD}
            else:
                top = form[leftmost]
                expected = {
                    q
                    for q, prod in enumerate(PRODUCTIONS)
                    if prod.lhs() == top and not any(s in NON_PRODUCTIVE for s in prod.rhs())
                }
                form[leftmost : leftmost + 1] = list(PRODUCTIONS[p].rhs())
            assert p in expected
            assert set(torch.nonzero(row_masks[t]).flatten().tolist()) == expected


def test_training_masks_reject_out_of_range_indices() -> None:
    with pytest.raises(GrammarError, match=r"\[0, 9\]"):
        training_masks(torch.tensor([[0, P]]), TOY)
    with pytest.raises(GrammarError, match="integers"):
        training_masks(torch.zeros(1, 3), TOY)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_apply_mask_is_finite_and_removes_masked_probability(dtype: torch.dtype) -> None:
    logits = (10 * torch.randn(6, 4, P, generator=torch.Generator().manual_seed(0))).to(dtype).requires_grad_()
    mask = training_masks(torch.full((6, 4), index_of("S -> T")), TOY)
    mask[0, 0] = False  # a fully-masked row must not produce NaN
    masked = apply_mask(logits, mask)
    assert masked.dtype == dtype and torch.isfinite(masked).all()
    assert torch.equal(masked[mask], logits[mask])
    assert (masked[~mask].float() == torch.tensor(MASKED_LOGIT, dtype=dtype).float()).all()
    probs = torch.softmax(masked, dim=-1)
    assert (probs[~mask][P:] == 0).all()  # everything but the fully-masked row
    torch.testing.assert_close(probs[0, 0].float(), torch.full((P,), 1.0 / P), atol=1e-3, rtol=0)
    target = torch.full((6 * 4,), index_of("S -> T"))
    loss = torch.nn.functional.cross_entropy(masked.float().reshape(-1, P), target)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    assert (logits.grad[~mask] == 0).all()
    # Masked in float32 then cast to float16 (as autocast may do), the value stays finite.
    assert torch.isfinite(apply_mask(logits.detach().float(), mask).half()).all()


# ---------------------------------------------------------------------------------------------
# The built-in grammars (docs/protocols.md §2) on real data.


def first_strings(name: str, zinc_path, expr_path, count: int) -> list[str]:
    path = zinc_path if name == "zinc" else expr_path
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for _, line in zip(range(count), handle)]
    return [line.split()[0] if name == "zinc" else line for line in lines]


@pytest.mark.parametrize("name", ["zinc", "expr"])
def test_builtin_grammar_decodes_noisy_one_hot_logits_of_real_strings_exactly(
    name: str, zinc_subset_path, expr_dataset_path
) -> None:
    """Logits favouring each true production (plus noise) decode back to the true derivation."""
    from lsbo.grammar import Grammar

    grammar = Grammar.builtin(name)
    strings = first_strings(name, zinc_subset_path, expr_dataset_path, 150)
    encoded = grammar.encode(strings)
    assert encoded.ok.all()
    truth = torch.as_tensor(encoded.indices)
    noise = torch.randn(*truth.shape, grammar.n_productions, generator=torch.Generator().manual_seed(0))
    logits = 10.0 * torch.nn.functional.one_hot(truth, grammar.n_productions).float() + noise
    indices, complete = masked_decode(logits, grammar.tables)
    assert complete.all()
    assert torch.equal(indices, truth)
    assert grammar.decode(indices) == [grammar.join(grammar.tokenize(s)) for s in strings]
    masks = training_masks(truth, grammar.tables)
    assert masks.gather(2, truth.unsqueeze(2)).all()  # the true production is always allowed


@pytest.mark.parametrize("name", ["zinc", "expr"])
@pytest.mark.parametrize("sample", [False, True])
def test_builtin_grammar_random_logits_decode_to_derivable_strings(name: str, sample: bool) -> None:
    """Plain masking (complete=False): some derivations do not finish within T steps."""
    from lsbo.grammar import Grammar

    grammar = Grammar.builtin(name)
    assert grammar.tables.productions == tuple(grammar.cfg.productions())
    n = 48 if name == "zinc" else 200
    logits = torch.randn(n, grammar.max_length, grammar.n_productions, generator=torch.Generator().manual_seed(5))
    generator = torch.Generator().manual_seed(6)
    indices, complete = masked_decode(logits, grammar.tables, sample=sample, generator=generator, complete=False)
    assert not set(grammar.masked_productions).intersection(indices.flatten().tolist())
    assert 0 < int(complete.sum()) < n
    decoded = grammar.decode(indices)
    finished_strings = []
    for row, done, string in zip(indices.tolist(), complete.tolist(), decoded):
        tokens, finished = replay(row, grammar.cfg)
        assert finished == done
        assert (string is not None) == done
        if done:
            assert string == grammar.join(tokens)
            finished_strings.append(string)
    # The grammar's own parser accepts every complete output.
    assert grammar.encode(finished_strings).ok.all()


# ---------------------------------------------------------------------------------------------
# Length-aware decoding (complete=True, the default): every derivation finishes within T steps.

# Numbers in brackets: no derivation is shorter than four productions (S -> P -> N -> D -> digit), and
# the recursions (S -> S + P, P -> ( S ), N -> D N) all lengthen the shortest completion.
NUMBERS_TEXT = """
S -> S '+' P | P
P -> '(' S ')' | N
N -> D N | D
D -> '0' | '1'
"""
NUMBERS_CFG = CFG.fromstring(NUMBERS_TEXT)
NUMBERS = GrammarTables.from_cfg(NUMBERS_CFG)
NUMBERS_PARSER = ChartParser(NUMBERS_CFG)


def assert_complete_and_parses(indices: torch.Tensor, complete: torch.Tensor, cfg: CFG, parser: ChartParser) -> None:
    """Every row is a complete leftmost derivation whose string nltk's chart parser accepts."""
    assert complete.all()
    for row in indices.tolist():
        tokens, finished = replay(row, cfg)
        assert finished
        assert next(parser.parse(tokens), None) is not None, tokens


def test_min_derivation_lengths_by_hand_and_by_search() -> None:
    expected = {"S": 1, "T": 1, "F": float("inf")}
    assert {str(a): m for a, m in zip(TOY.nonterminals, TOY.min_derivation_length)} == expected
    assert {str(a): m for a, m in zip(NUMBERS.nonterminals, NUMBERS.min_derivation_length)} == {
        "S": 4, "P": 3, "N": 2, "D": 1,
    }
    # Per production: the sum over its right-hand side's non-terminals; 0 for the padding production.
    assert NUMBERS.rhs_min_length == (4 + 3, 3, 4, 2, 1 + 2, 1, 0, 0, 0)
    for cfg, tables in ((TOY_CFG, TOY), (NUMBERS_CFG, NUMBERS)):
        by_search = shortest_derivations_by_search(cfg)
        assert {tables.nonterminals[i]: m for i, m in enumerate(tables.min_derivation_length)} == by_search
        assert min_derivation_lengths(cfg) == by_search


@pytest.mark.parametrize("name", ["expr", "zinc"])
def test_min_derivation_lengths_of_the_builtin_grammars_match_a_search(name: str) -> None:
    from lsbo.grammar import Grammar

    grammar = Grammar.builtin(name)
    tables = grammar.tables
    by_search = shortest_derivations_by_search(grammar.cfg)
    assert {tables.nonterminals[i]: m for i, m in enumerate(tables.min_derivation_length)} == by_search
    assert all(np.isfinite(by_search[tables.nonterminals[a]]) == (a in tables.productive) for a in range(tables.n_nonterminals))


@property_settings
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 12), steps=st.integers(4, 14), scale=st.sampled_from([0.3, 1.0, 4.0]))
def test_length_aware_greedy_matches_reference_and_always_completes(seed: int, n: int, steps: int, scale: float) -> None:
    """On a recursive grammar whose shortest derivation takes 4 steps, with T from 4 (tight) to 14."""
    logits = scale * torch.randn(n, steps, NUMBERS.n_productions, generator=torch.Generator().manual_seed(seed))
    indices, complete = masked_decode(logits, NUMBERS)
    np.testing.assert_array_equal(indices.numpy(), reference_decode_length_aware(logits.numpy(), NUMBERS_CFG))
    assert_complete_and_parses(indices, complete, NUMBERS_CFG, NUMBERS_PARSER)
    # The toy grammar (shortest derivation 1 step, a non-productive symbol) with the same logits' seed.
    toy_logits = random_logits(seed, n, steps - 3, scale)
    indices, complete = masked_decode(toy_logits, TOY)
    np.testing.assert_array_equal(indices.numpy(), reference_decode_length_aware(toy_logits.numpy()))
    assert_complete_and_parses(indices, complete, TOY_CFG, TOY_PARSER)


@property_settings
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 12), steps=st.integers(4, 14))
def test_length_aware_samples_always_complete(seed: int, n: int, steps: int) -> None:
    logits = torch.randn(n, steps, NUMBERS.n_productions, generator=torch.Generator().manual_seed(seed))
    indices, complete = masked_decode(logits, NUMBERS, sample=True, generator=torch.Generator().manual_seed(seed + 1))
    assert_complete_and_parses(indices, complete, NUMBERS_CFG, NUMBERS_PARSER)


def test_plain_masking_leaves_rows_incomplete_where_length_aware_decoding_completes_them() -> None:
    logits = torch.randn(300, 8, NUMBERS.n_productions, generator=torch.Generator().manual_seed(0))
    _, plain_complete = masked_decode(logits, NUMBERS, complete=False)
    assert 0 < int(plain_complete.sum()) < 300
    indices, complete = masked_decode(logits, NUMBERS)
    assert_complete_and_parses(indices, complete, NUMBERS_CFG, NUMBERS_PARSER)
    # Rows the plain decoder finished within T were never constrained: the two decoders agree on them.
    plain_indices, _ = masked_decode(logits, NUMBERS, complete=False)
    assert torch.equal(indices[plain_complete], plain_indices[plain_complete])


def test_tight_step_count_forces_a_shortest_derivation() -> None:
    """With T equal to the shortest derivation's length, every row is one of the shortest derivations."""
    logits = 3.0 * torch.randn(200, 4, NUMBERS.n_productions, generator=torch.Generator().manual_seed(1))
    for sample in (False, True):
        indices, complete = masked_decode(logits, NUMBERS, sample=sample, generator=torch.Generator().manual_seed(2))
        assert_complete_and_parses(indices, complete, NUMBERS_CFG, NUMBERS_PARSER)
        strings = {" ".join(replay(row, NUMBERS_CFG)[0]) for row in indices.tolist()}
        assert strings == {"0", "1"}


def test_recursion_preferred_at_every_step_is_closed_in_time() -> None:
    """Logits that always prefer S -> S + T (plain masking never finishes) still give complete rows."""
    logits = torch.zeros(3, 25, P)
    logits[:, :, index_of("S -> S + T")] = 10.0
    indices, complete = masked_decode(logits, TOY)
    assert_complete_and_parses(indices, complete, TOY_CFG, TOY_PARSER)
    # Each S -> S + T needs two more steps to close (S and T take one each); as many as fit are taken.
    assert (indices == index_of("S -> S + T")).sum(dim=1).tolist() == [12, 12, 12]


def test_too_few_steps_for_any_derivation_is_a_grammar_error() -> None:
    with pytest.raises(GrammarError, match=r"no derivation fits in 3 decoding steps.*S takes 4 productions"):
        masked_decode(torch.zeros(2, 3, NUMBERS.n_productions), NUMBERS)
    indices, complete = masked_decode(torch.zeros(2, 3, NUMBERS.n_productions), NUMBERS, complete=False)
    assert not complete.any()


def test_length_test_skipped_while_it_cannot_bind_decodes_like_the_reference() -> None:
    """Long T: the length test is skipped on early steps (host-side bound) and applied near the end."""
    logits = torch.randn(40, 60, NUMBERS.n_productions, generator=torch.Generator().manual_seed(3))
    logits[:, :, 0] += 1.5  # S -> S + P: stacks grow, so the test binds for many rows
    indices, complete = masked_decode(logits, NUMBERS)
    np.testing.assert_array_equal(indices.numpy(), reference_decode_length_aware(logits.numpy(), NUMBERS_CFG))
    assert_complete_and_parses(indices, complete, NUMBERS_CFG, NUMBERS_PARSER)
    _, plain_complete = masked_decode(logits, NUMBERS, complete=False)
    assert int(plain_complete.sum()) < 20


@pytest.mark.parametrize("name", ["expr", "zinc"])
@pytest.mark.parametrize("sample", [False, True])
def test_builtin_grammar_length_aware_decoding_completes_every_row(name: str, sample: bool) -> None:
    """Random logits at the grammar's own T (expr 15, zinc 277): every row complete, strings parse."""
    from lsbo.grammar import Grammar

    grammar = Grammar.builtin(name)
    n = 48 if name == "zinc" else 200
    logits = torch.randn(n, grammar.max_length, grammar.n_productions, generator=torch.Generator().manual_seed(5))
    generator = torch.Generator().manual_seed(6)
    indices, complete = masked_decode(logits, grammar.tables, sample=sample, generator=generator)
    assert complete.all()
    assert not set(grammar.masked_productions).intersection(indices.flatten().tolist())
    if not sample:
        np.testing.assert_array_equal(indices.numpy(), reference_decode_length_aware(logits.numpy(), grammar.cfg))
    strings = grammar.decode(indices)
    for row, string in zip(indices.tolist(), strings):
        tokens, finished = replay(row, grammar.cfg)
        assert finished and string == grammar.join(tokens)
    assert grammar.encode(strings).ok.all()
    if name == "expr":  # nltk's chart parser is fast enough on the short expressions
        parser = ChartParser(grammar.cfg)
        assert all(next(parser.parse(grammar.tokenize(s)), None) is not None for s in strings)
