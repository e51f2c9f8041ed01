"""A trained model loaded from its directory: prior samples are in the language, encode/decode, evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from nltk.parse import ChartParser

from lsbo.errors import ConfigError
from lsbo.evaluate import evaluate_model
from lsbo.models import TrainedModel, load_model


@pytest.fixture(scope="module")
def model(tiny_expr_model_dir: Path) -> TrainedModel:
    return load_model(tiny_expr_model_dir, device="cpu")


def test_every_prior_sample_is_grammar_valid(model: TrainedModel) -> None:
    grammar = model.grammar
    parser = ChartParser(grammar.cfg)
    generator = torch.Generator().manual_seed(0)
    z = model.sample_latents(300, generator=generator) * 3.0  # far from the data as well
    for sample in (False, True):
        logits = model.decode_logits(z)
        decoded = grammar.decode_logits(logits, sample=sample, generator=generator)
        for string, complete in zip(decoded.strings, decoded.complete.tolist()):
            assert (string is not None) == complete
            if string is not None:
                assert next(parser.parse(grammar.tokenize(string)), None) is not None, string
        assert int(decoded.complete.sum()) > 0


def test_encode_decode_and_metadata(model: TrainedModel, tiny_expr_model_dir: Path) -> None:
    strings = model.training_strings()
    assert len(strings) == 200 and model.kind == "expressions" and model.latent_dim == 4
    assert len(model.validation_strings()) == 20
    codes, ok = model.encode(strings[:5] + ["x x x"])
    assert codes.shape == (6, 4) and ok.tolist() == [True] * 5 + [False]
    assert torch.isfinite(codes[:5]).all() and torch.isnan(codes[5]).all()
    again, _ = model.encode(strings[:5])
    assert torch.equal(codes[:5], again)  # encoding uses the mean: deterministic
    assert len(model.decode(codes[:5])) == 5
    assert model.data_stats == {}


def test_truncated_training_strings_file_is_a_checkpoint_error(tiny_expr_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    from lsbo.errors import CheckpointError
    from lsbo.models.trained import TRAIN_STRINGS_NAME

    copy = tmp_path / "model"
    shutil.copytree(tiny_expr_model_dir, copy)
    strings_file = copy / TRAIN_STRINGS_NAME
    strings_file.write_text("\n".join(strings_file.read_text().splitlines()[:10]) + "\n")
    with pytest.raises(CheckpointError, match="has 10 lines but the checkpoint's validation split"):
        load_model(copy, device="cpu").validation_strings()


def test_length_aware_decoding_completes_every_point_and_plain_masking_may_not(model: TrainedModel) -> None:
    z = model.sample_latents(300, generator=torch.Generator().manual_seed(0)) * 3.0  # far from the data
    plain_missing = 0
    for sample in (False, True):
        complete = model.decode(z, sample=sample, generator=torch.Generator().manual_seed(1))
        assert len(complete) == 300 and all(text is not None for text in complete)
        assert all(model.grammar.encode([text]).ok[0] for text in complete)  # complete derivations of the grammar
        plain = model.decode(z, sample=sample, generator=torch.Generator().manual_seed(1), complete=False)
        reference = model.grammar.decode_logits(
            model.decode_logits(z), sample=sample, generator=torch.Generator().manual_seed(1), complete=False
        ).strings
        assert plain == reference  # the option reaches the grammar's plain masking
        plain_missing += sum(text is None for text in plain)
    assert plain_missing > 0  # two-epoch model, points 3 prior scales out: some derivations do not finish
    assert all(text is not None for text in model.sample(50, generator=torch.Generator().manual_seed(2)))
    assert model.masking() == "length-aware" and model.masking(False) == "plain"


def test_evaluation_records_its_masking(tiny_expr_model_dir: Path) -> None:
    plain = evaluate_model(tiny_expr_model_dir, n_samples=50, device="cpu", max_reconstruct=5, complete=False, write=False)
    assert plain["complete"] is False and plain["masking"] == "plain"
    aware = evaluate_model(tiny_expr_model_dir, n_samples=50, device="cpu", max_reconstruct=5, write=False)
    assert aware["complete"] is True and aware["masking"] == "length-aware"
    assert all(text is not None for text in aware["example_samples"])


def test_component_sampling(model: TrainedModel) -> None:
    prior = model.prior
    z = model.sample_latents(2000, component=1, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), prior.means[1], atol=0.15)
    with pytest.raises(ConfigError, match="^component 10: the prior has components 0..9$") as caught:
        model.sample(1, component=10)
    assert caught.value.parameter == "component"


def test_evaluate_writes_every_metric(model: TrainedModel, tiny_expr_model_dir: Path) -> None:
    result = evaluate_model(tiny_expr_model_dir, n_samples=100, device="cpu")
    stored = json.loads((tiny_expr_model_dir / "evaluation.json").read_text())
    assert stored["validity"] == result["validity"]
    for key in ("reconstruction_accuracy", "validity", "uniqueness", "novelty"):
        assert 0.0 <= result[key] <= 1.0, key
    assert result["n_samples"] == 100 and result["n_reconstructed"] == 20
    assert len(result["ks_per_dimension"]) == 4 and 0.0 <= result["ks_mean"] <= result["ks_max"] <= 1.0
    assert np.isfinite(result["covariance_error"])


def test_character_baseline_trains_and_loads(tmp_path: Path, expr_dataset_path: Path) -> None:
    from lsbo.models import TrainOptions, train_sequence_model

    result = train_sequence_model(
        TrainOptions(
            source="expr", data=expr_dataset_path, limit=100, out_dir=tmp_path, model="char", preset="cpu",
            latent_dim=3, gru_hidden=8, batch_size=32, epochs=1, device="cpu", progress=False,
        ),
    )
    assert len(result.history) == 1
    model = load_model(tmp_path, device="cpu")
    assert model.grammar is None and model.config.model == "char"
    strings = model.training_strings()
    codes, ok = model.encode(strings[:4])
    assert ok.all() and codes.shape == (4, 3)
    assert all(s is None or isinstance(s, str) for s in model.sample(5))
    z = model.sample_latents(5, generator=torch.Generator().manual_seed(0))
    assert model.decode(z, complete=False) == model.decode(z) and model.masking(False) == "none"  # no mask to change


def test_rec_weight_auto_inverts_the_best_plain_autoencoder_loss(tmp_path: Path, expr_dataset_path: Path) -> None:
    import csv

    from lsbo.checkpoint import load_checkpoint
    from lsbo.models import TrainOptions, train_sequence_model

    train_sequence_model(
        TrainOptions(
            source="expr", data=expr_dataset_path, limit=100, out_dir=tmp_path, preset="cpu", latent_dim=3,
            gru_hidden=8, batch_size=32, epochs=1, rec_weight="auto", rec_weight_epochs=2, device="cpu", progress=False,
        ),
    )
    with open(tmp_path / "rec_weight_ae" / "metrics.csv", newline="") as handle:
        ae_rows = list(csv.DictReader(handle))
    assert len(ae_rows) == 2  # the plain autoencoder trained first, for --rec-weight-epochs epochs
    best = min(float(row["val_rec_ce"]) for row in ae_rows)
    stored = load_checkpoint(tmp_path)["rec_weight"]
    assert stored == pytest.approx(1.0 / best, rel=1e-4)  # metrics.csv keeps 6 significant digits
