"""The step-wise decoder interface (lsbo.models.decoders) and decoding through it (lsbo.models.decoding).

Teacher-forced training logits must equal the logits of step-wise decoding fed the same symbols, for
every registered decoder; the repeated-latent decoder's precomputed fast path must agree with its
step-wise path; the stack machine must hand each row the production it chose at the step before,
also after finished rows are dropped; and decodings through the interface are strings of the
language, for the grammar and the character codecs.
"""

from __future__ import annotations

import pytest
import torch

from lsbo.data import CharVocabulary
from lsbo.errors import ConfigError
from lsbo.grammar import Grammar
from lsbo.grammar.decoding import masked_decode, masked_decode_steps
from lsbo.models import GrammarCodec, build_autoencoder, model_config
from lsbo.models.codecs import CharCodec
from lsbo.models.decoders import DECODERS, AutoregressiveDecoder, RepeatDecoder
from lsbo.models.decoding import DecoderScores, decode_codes
from lsbo.options import DECODER_NAMES

SIZES = dict(latent_dim=6, max_length=9, gru_hidden=16, gru_layers=2, n_symbols=7)


def _decoder(name: str, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return DECODERS.get(name)(**{**SIZES, **overrides}).eval()


def test_registry_holds_the_decoders_the_options_offer() -> None:
    assert set(DECODER_NAMES) <= set(DECODERS.names())
    assert DECODERS.get("Autoregressive") is AutoregressiveDecoder and DECODERS.get("repeat") is RepeatDecoder
    with pytest.raises(ConfigError, match="did you mean autoregressive"):
        DECODERS.get("autoregresive")


@pytest.mark.parametrize("name", DECODER_NAMES)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_teacher_forced_logits_equal_step_wise_logits(name: str, batch_norm: bool) -> None:
    decoder = _decoder(name, input_batch_norm=batch_norm)
    z = torch.randn(5, SIZES["latent_dim"])
    symbols = torch.randint(0, SIZES["n_symbols"], (5, SIZES["max_length"]))
    with torch.no_grad():
        forced = decoder.training_logits(z, symbols)
        state, previous, stepped = decoder.start(z), None, []
        for t in range(SIZES["max_length"]):
            logits, state = decoder.step(state, previous)
            stepped.append(logits)
            previous = symbols[:, t]
    assert forced.shape == (5, SIZES["max_length"], SIZES["n_symbols"])
    torch.testing.assert_close(torch.stack(stepped, dim=1), forced, rtol=1e-5, atol=1e-5)


def test_autoregressive_logits_depend_on_the_previous_symbols_and_repeat_ones_do_not() -> None:
    z = torch.randn(4, SIZES["latent_dim"])
    first = torch.zeros(4, SIZES["max_length"], dtype=torch.long)
    second = first.clone()
    second[:, 2] = 3  # changes what steps 3.. read
    for name, depends in (("autoregressive", True), ("repeat", False)):
        decoder = _decoder(name)
        with torch.no_grad():
            a, b = decoder.training_logits(z, first), decoder.training_logits(z, second)
        torch.testing.assert_close(a[:, :3], b[:, :3])  # causal: steps 0..2 read symbols before 2 only
        assert (not torch.allclose(a[:, 3:], b[:, 3:])) is depends


def test_fewer_teacher_forced_steps_change_nothing_in_the_first_ones() -> None:
    decoder = _decoder("autoregressive")
    z, symbols = torch.randn(3, SIZES["latent_dim"]), torch.randint(0, 7, (3, SIZES["max_length"]))
    with torch.no_grad():
        torch.testing.assert_close(decoder.training_logits(z, symbols[:, :4]), decoder.training_logits(z, symbols)[:, :4])


def test_select_state_keeps_and_repeats_rows() -> None:
    decoder = _decoder("autoregressive")
    z = torch.randn(3, SIZES["latent_dim"])
    with torch.no_grad():
        state = decoder.select_state(decoder.start(z), torch.tensor([2, 2, 0]))
        logits, _ = decoder.step(state, None)
        direct, _ = decoder.step(decoder.start(z[[2, 2, 0]]), None)
    torch.testing.assert_close(logits, direct)


class _RecordingScores:
    """Scores from fixed logits ``(N, T, P)`` that record which rows asked with which previous symbols."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits, self.t, self.live = logits, 0, torch.arange(logits.shape[0])
        self.calls: list[tuple[int, torch.Tensor, torch.Tensor | None]] = []

    def next(self, previous):
        self.calls.append((self.t, self.live.clone(), None if previous is None else previous.clone()))
        rows = self.logits[self.live, self.t]
        self.t += 1
        return rows

    def keep(self, rows):
        self.live = self.live[rows]


@pytest.mark.parametrize("sample", [False, True])
def test_step_wise_stack_machine_equals_the_precomputed_one_and_feeds_back_each_rows_choice(expr: Grammar, sample: bool) -> None:
    torch.manual_seed(1)
    n, steps = 64, expr.max_length
    logits = torch.randn(n, steps, expr.n_productions) * 3
    expected, expected_complete = masked_decode(logits, expr.tables, sample=sample, generator=torch.Generator().manual_seed(5))
    source = _RecordingScores(logits)
    indices, complete = masked_decode_steps(source, n, steps, expr.tables, sample=sample, generator=torch.Generator().manual_seed(5))
    assert torch.equal(indices, expected) and torch.equal(complete, expected_complete)
    assert source.calls[0][2] is None
    dropped = False
    for t, live, previous in source.calls[1:]:
        dropped = dropped or len(live) < n
        assert torch.equal(previous, indices[live, t - 1])  # each row gets its own last choice
    assert dropped  # finished rows were dropped on the way, so the bookkeeping after that was exercised


def _model(codec, decoder: str, regularizer: str = "ae"):
    config = model_config("cpu", "expressions", regularizer=regularizer, decoder=decoder, gru_hidden=16, dense_units=16)
    return build_autoencoder(codec, config, batch_size=32, rec_weight=1.0).eval()


def test_repeat_decoder_decodes_the_same_through_either_path(expr: Grammar) -> None:
    codec = GrammarCodec(expr)
    model = _model(codec, "repeat")
    z = torch.randn(40, model.latent_dim) * 2
    with torch.no_grad():
        fast = decode_codes(model.decoder, codec, z)
        stepped = codec.decode_steps(DecoderScores(model.decoder, z), len(z))
    assert fast == stepped
    assert all(text is not None for text in fast)


@pytest.mark.parametrize("sample", [False, True])
def test_autoregressive_grammar_decodings_are_in_the_language(expr: Grammar, sample: bool) -> None:
    codec = GrammarCodec(expr)
    model = _model(codec, "autoregressive")
    z = torch.randn(50, model.latent_dim)
    z[3] = float("nan")
    with torch.no_grad():
        strings = decode_codes(model.decoder, codec, z, sample=sample, generator=torch.Generator().manual_seed(0))
    assert strings[3] is None  # NaN scores give no string
    others = [text for i, text in enumerate(strings) if i != 3]
    assert all(text is not None for text in others)
    assert all(bool(expr.encode([text]).ok[0]) for text in others)  # every decoding parses back


def test_autoregressive_character_decoding_stops_at_padding() -> None:
    vocabulary = CharVocabulary.build(["x+1", "sin(x)", "x*x*x"], max_length=12)
    codec = CharCodec(vocabulary)
    model = _model(codec, "autoregressive")
    torch.manual_seed(0)
    # make padding likely after a few steps: its output bias large
    with torch.no_grad():
        model.decoder.output.bias[vocabulary.padding] = 2.0
        z = torch.randn(30, model.latent_dim)
        strings = decode_codes(model.decoder, codec, z)
        forced_rows = codec.decode_steps(DecoderScores(model.decoder, z), len(z), sample=True, generator=torch.Generator().manual_seed(0))
    assert len(strings) == len(forced_rows) == 30
    assert all(text is None or set(text) <= set("x+1sin()*") for text in strings + forced_rows)


def test_bo_decodes_an_autoregressive_model_greedily_and_the_paper_decoder_with_the_protocols_attempts(expr: Grammar) -> None:
    from types import SimpleNamespace

    from lsbo.bo.candidates import DEFAULT_ATTEMPTS, default_attempts
    from lsbo.bo.loop import _reads_previous

    codec = GrammarCodec(expr)
    autoregressive = SimpleNamespace(autoencoder=_model(codec, "autoregressive"), kind="expressions")
    repeat = SimpleNamespace(autoencoder=_model(codec, "repeat"), kind="molecules")
    assert _reads_previous(autoregressive) and not _reads_previous(repeat)
    assert default_attempts("molecules", _reads_previous(repeat)) == DEFAULT_ATTEMPTS["molecules"] == 500
    assert default_attempts("expressions", _reads_previous(autoregressive)) == 1
