"""The eq. 9 loss of the sequence autoencoder and the grammar masks it trains with."""

from __future__ import annotations

import pytest
import torch

from lsbo.data import CharVocabulary
from lsbo.grammar import Grammar
from lsbo.models import CharCodec, GrammarCodec, build_autoencoder, model_config

EXPRESSIONS = ["x + 1", "sin( x ) * 2", "exp( x / 3 )", "( x + x ) * x", "1 / x", "sin( exp( x ) )"]


@pytest.fixture(scope="module")
def expr_grammar() -> Grammar:
    return Grammar.builtin("expr")


def _tiny(codec, regularizer: str = "gmm"):
    config = model_config("cpu", "expressions", latent_dim=3, gru_hidden=8, dense_units=8, regularizer=regularizer)
    torch.manual_seed(0)
    return build_autoencoder(codec, config, batch_size=6, rec_weight=2.0)


def test_masked_logits_put_no_mass_on_disallowed_productions(expr_grammar: Grammar) -> None:
    model = _tiny(GrammarCodec(expr_grammar))
    indices = torch.from_numpy(expr_grammar.encode(EXPRESSIONS).indices)
    logits = model.masked_logits(model.decoder.training_logits(torch.randn(len(EXPRESSIONS), 3), indices), indices)
    probabilities = torch.softmax(logits, dim=-1)
    # allowed at step t: the productions whose left-hand side is the true production's left-hand side
    lhs = torch.tensor(expr_grammar.tables.lhs)
    allowed = lhs[None, None, :] == lhs[indices][..., None]
    allowed &= torch.tensor(expr_grammar.tables.usable)[None, None, :]
    padding_steps = indices == expr_grammar.padding
    allowed[padding_steps] = torch.nn.functional.one_hot(torch.tensor(expr_grammar.padding), expr_grammar.n_productions).bool()
    assert float(probabilities.detach()[~allowed].max()) == 0.0
    assert torch.allclose(probabilities.sum(-1), torch.ones(indices.shape))


def test_losses_are_the_weighted_sum_of_named_terms(expr_grammar: Grammar) -> None:
    model = _tiny(GrammarCodec(expr_grammar))
    indices = torch.from_numpy(expr_grammar.encode(EXPRESSIONS).indices)
    losses = model.compute_losses(indices)
    assert set(losses.terms) == {"rec", "ks", "cv"}
    assert torch.allclose(losses.total, sum(losses.terms.values()))
    # rec is rec_weight x the mean cross-entropy over steps and batch of the masked logits
    metrics = {name: float(value) for name, value in losses.metrics.items()}
    assert float(losses.terms["rec"].detach()) == pytest.approx(2.0 * metrics["rec_ce"], rel=1e-5)
    assert 0.0 <= metrics["rec_acc"] <= metrics["symbol_acc"] <= 1.0


def test_rae_adds_its_decoder_term(expr_grammar: Grammar) -> None:
    model = _tiny(GrammarCodec(expr_grammar), regularizer="rae")
    losses = model.compute_losses(torch.from_numpy(expr_grammar.encode(EXPRESSIONS).indices))
    decoder_terms = model.regularizer.decoder_terms(model.decoder)
    assert decoder_terms and set(decoder_terms) <= set(losses.terms)
    assert torch.allclose(losses.total, sum(losses.terms.values()))


def test_a_few_steps_fit_a_small_batch(expr_grammar: Grammar) -> None:
    model = _tiny(GrammarCodec(expr_grammar), regularizer="ae")
    indices = torch.from_numpy(expr_grammar.encode(EXPRESSIONS).indices)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    first = float(model.compute_losses(indices).total.detach())
    for _ in range(100):
        optimizer.zero_grad()
        model.compute_losses(indices).total.backward()
        optimizer.step()
    assert float(model.compute_losses(indices).total.detach()) < 0.5 * first


def test_character_model_round_trip_shapes() -> None:
    vocabulary = CharVocabulary.build(["CCO", "c1ccccc1", "CC(=O)N"])
    model = _tiny(CharCodec(vocabulary))
    indices, ok = vocabulary.encode(["CCO", "CC(=O)N"])
    assert ok.all()
    losses = model.compute_losses(torch.from_numpy(indices))
    assert torch.isfinite(losses.total)
    logits = model.decoder.training_logits(torch.zeros(2, 3), torch.from_numpy(indices))
    assert logits.shape == (2, vocabulary.max_length, vocabulary.size)
