"""Length-following training: the same loss as the paper's full-length computation, bucketed batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lsbo.data import load_strings
from lsbo.errors import CheckpointError
from lsbo.grammar import Grammar
from lsbo.grammar.decoding import apply_mask, training_masks
from lsbo.models import GrammarCodec, build_autoencoder, model_config
from lsbo.models.batching import LengthBucketedBatches, bucketed_order, sequence_lengths


@pytest.fixture(scope="module")
def zinc_indices(zinc_subset_path: Path) -> tuple[Grammar, torch.Tensor]:
    grammar = Grammar.builtin("zinc")
    strings = load_strings("zinc", data=zinc_subset_path, limit=12).strings
    encoded = grammar.encode(strings)
    return grammar, torch.from_numpy(encoded.indices[encoded.ok])


def _tiny_zinc(grammar: Grammar, regularizer: str, full_length: bool, batch_size: int, decoder: str = "repeat"):
    config = model_config(
        "cpu", "molecules", latent_dim=4, gru_hidden=16, dense_units=16, regularizer=regularizer, full_length=full_length,
        seed=3, decoder=decoder,
    )
    return build_autoencoder(GrammarCodec(grammar), config, batch_size=batch_size, rec_weight=1.0)


def _full_length_reference(model, indices: torch.Tensor, statistics_rows: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """The paper's computation written out: decoder over all T steps, masked, mean cross-entropy over N*T
    (the code's batch norm on the statistics of ``statistics_rows``' codes when given, else of ``indices``')."""
    z = model.regularizer.code(model.encoder_output(indices))
    reference = None if statistics_rows is None else model.regularizer.code(model.encoder_output(statistics_rows))
    logits = apply_mask(model.decoder.training_logits(z, indices, reference=reference), training_masks(indices, model.codec.grammar.tables))
    assert logits.shape[1] == model.codec.max_length
    cross_entropy = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), indices.reshape(-1))
    correct = logits.argmax(-1) == indices
    return cross_entropy, {"rec_acc": float(correct.all(1).float().mean()), "symbol_acc": float(correct.float().mean())}


def _gradients(model, loss: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]


@pytest.mark.parametrize("regularizer", ["ae", "gmm"])
@pytest.mark.parametrize("decoder", ["repeat", "autoregressive"])
def test_length_following_loss_equals_the_full_length_loss(zinc_indices, single_torch_thread, regularizer, decoder) -> None:
    grammar, indices = zinc_indices
    model = _tiny_zinc(grammar, regularizer, full_length=False, batch_size=len(indices), decoder=decoder)
    steps = model.loss_steps(indices)
    lengths = sequence_lengths(indices, grammar.padding)
    assert steps == lengths.max() < grammar.max_length  # the GRU really runs fewer steps

    losses = model.compute_losses(indices)
    reference, reference_metrics = _full_length_reference(model, indices)
    assert float(losses.metrics["rec_ce"]) == pytest.approx(float(reference.detach()), rel=1e-5)
    for name in ("rec_acc", "symbol_acc"):
        assert float(losses.metrics[name]) == pytest.approx(reference_metrics[name], abs=1e-6)
    for fast, slow in zip(_gradients(model, losses.terms["rec"]), _gradients(model, reference)):
        assert torch.allclose(fast, slow, rtol=1e-4, atol=1e-7)

    # ... and it is the cross-entropy of the real steps only, averaged over N*T: padding adds nothing
    z = model.regularizer.code(model.encoder_output(indices))
    logits = apply_mask(model.decoder.training_logits(z, indices), training_masks(indices, grammar.tables))
    per_step = F.cross_entropy(logits.transpose(1, 2), indices, reduction="none")
    real = indices != grammar.padding
    assert float(per_step.detach()[~real].abs().max()) == 0.0
    assert float(per_step.detach()[real].sum() / indices.numel()) == pytest.approx(float(reference.detach()), rel=1e-5)


def test_full_length_runs_every_step(zinc_indices) -> None:
    grammar, indices = zinc_indices
    model = _tiny_zinc(grammar, "ae", full_length=True, batch_size=len(indices))
    assert model.loss_steps(indices) == grammar.max_length


def test_batch_level_terms_come_from_the_random_batch(zinc_indices, single_torch_thread) -> None:
    grammar, indices = zinc_indices
    half = len(indices) // 2
    rec_rows, reg_rows = indices[:half], indices[half : 2 * half]
    model = _tiny_zinc(grammar, "gmm", full_length=False, batch_size=half)
    losses = model.compute_losses((rec_rows, reg_rows))
    expected_terms = model.regularizer(model.encoder_output(reg_rows)).terms
    for name, value in expected_terms.items():
        assert float(losses.terms[name].detach()) == pytest.approx(float(value.detach()), rel=1e-5)
    reference, _ = _full_length_reference(model, rec_rows, reg_rows)  # the code's batch norm follows the random batch
    assert float(losses.metrics["rec_ce"]) == pytest.approx(float(reference.detach()), rel=1e-5)
    # a per-row regularizer uses the reconstruction rows themselves
    rae = _tiny_zinc(grammar, "rae", full_length=False, batch_size=half)
    own = rae.regularizer(rae.encoder_output(rec_rows)).terms["code_l2"].detach()
    assert float(rae.compute_losses((rec_rows, reg_rows)).terms["code_l2"].detach()) == pytest.approx(float(own), rel=1e-5)


def test_the_code_batch_norm_takes_the_random_batch_statistics(zinc_indices, single_torch_thread) -> None:
    grammar, indices = zinc_indices
    half = len(indices) // 2
    rec_rows, reg_rows = indices[:half], indices[half : 2 * half]
    model = _tiny_zinc(grammar, "gmm", full_length=False, batch_size=half)  # the repeated-latent decoder's layers below
    norm = model.decoder.code_norm
    assert norm is not None  # decoder_batch_norm is on by default
    losses = model.compute_losses((rec_rows, reg_rows))
    # by hand: the bucketed codes standardised with the random batch's mean and (biased) variance
    z, reference = model.encoder_output(rec_rows), model.encoder_output(reg_rows)
    normalised = (z - reference.mean(0)) / torch.sqrt(reference.var(0, unbiased=False) + norm.eps) * norm.weight + norm.bias
    decoder = model.decoder
    hidden, _ = decoder.gru(decoder.dense(normalised).unsqueeze(1).expand(-1, grammar.max_length, -1).contiguous())
    logits = apply_mask(decoder.output(hidden), training_masks(rec_rows, grammar.tables))
    expected = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), rec_rows.reshape(-1))
    assert float(losses.metrics["rec_ce"]) == pytest.approx(float(expected.detach()), rel=1e-5)
    # the running statistics moved towards the random batch's, not the bucketed one's
    assert int(norm.num_batches_tracked) == 1


def test_bucketed_epochs_use_every_row_once_in_batches_of_similar_length() -> None:
    lengths = np.random.default_rng(0).integers(20, 250, size=1000)
    generator = torch.Generator().manual_seed(0)
    batches = bucketed_order(lengths, 32, generator, bucket_batches=10)
    assert len(batches) == 1000 // 32 and all(len(b) == 32 for b in batches)
    rows = torch.cat(batches)
    assert len(set(rows.tolist())) == len(rows)  # no row twice; the 1000 mod 32 left over are dropped
    bucketed_max = np.mean([lengths[b.numpy()].max() for b in batches])
    random_max = np.mean([lengths[b.numpy()].max() for b in torch.randperm(992, generator=generator).split(32)])
    assert bucketed_max < random_max - 30
    # the next epoch draws other batches; fewer rows than a batch give one batch of all of them
    assert not torch.equal(torch.cat(bucketed_order(lengths, 32, generator, bucket_batches=10)), rows)
    assert sorted(bucketed_order(lengths[:5], 32, generator)[0].tolist()) == [0, 1, 2, 3, 4]


def test_bucketed_batches_are_seeded_and_resume_from_the_generator_state() -> None:
    indices = torch.arange(200 * 3).view(200, 3) % 7
    lengths = np.random.default_rng(1).integers(1, 4, size=200)
    batches = LengthBucketedBatches(indices, lengths, 16, seed=5, regularizer_batches=True)
    first = [tuple(t.clone() for t in batch) for batch in batches]
    assert len(first) == len(batches) == 12 and all(len(batch) == 2 for batch in first)
    # the random regularizer batches are a permutation's first 12 x 16 rows, independent of the buckets
    assert all(rec.shape == reg.shape == (16, 3) for rec, reg in first)
    state = batches.generator.get_state()
    second = [batch[0].clone() for batch in batches]
    again = LengthBucketedBatches(indices, lengths, 16, seed=5, regularizer_batches=True)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, again))
    again.generator.set_state(state)
    assert all(torch.equal(a, b[0]) for a, b in zip(second, again))


def test_full_length_is_stored_and_a_resume_keeps_it(tmp_path: Path, expr_dataset_path: Path, single_torch_thread) -> None:
    from lsbo.checkpoint import load_checkpoint
    from lsbo.models import TrainOptions, train_sequence_model

    options = dict(
        source="expr", data=expr_dataset_path, limit=80, out_dir=tmp_path, progress=False, preset="cpu", device="cpu",
        latent_dim=3, gru_hidden=8, dense_units=8, batch_size=32, epochs=1,
    )
    train_sequence_model(TrainOptions(full_length=True, **options))
    assert load_checkpoint(tmp_path / "checkpoint.pt")["config"]["full_length"] is True
    with pytest.raises(CheckpointError, match="full_length"):
        train_sequence_model(TrainOptions(full_length=False, resume=True, **{**options, "epochs": 2}))
    result = train_sequence_model(TrainOptions(resume=True, **{**options, "epochs": 2}))
    assert len(result.history) == 2
    assert load_checkpoint(tmp_path / "checkpoint.pt")["config"]["full_length"] is True
