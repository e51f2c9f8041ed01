"""The one training-options schema (lsbo.options) through the real entry point: normalised choices,
strictly parsed regularizer options, bounds refused before any work, flags named in CLI messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lsbo.errors import ConfigError
from lsbo.options import OPTIONS, TRAIN_OPTIONS, check_value, flag_for
from tests.conftest import run_cli

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
NO_CUDA = not torch.cuda.is_available()


def tiny(expr_dataset_path: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train", "expr", "--data", str(expr_dataset_path), "--limit", "120", "--preset", "cpu", "--latent-dim", "3",
        "--gru-hidden", "8", "--batch-size", "32", "--epochs", "1", "--threads", "1", "--device", "cpu",
        "--out", str(out), *extra,
    ]


TRAIN_BAD_VALUES = [
    (["--threads", "0"], "--threads must be between 1 and 1024 (got 0)"),
    (["--seed", "-1"], "--seed must be between 0 and 4294967295 (got -1)"),
    (["--rec-weight-epochs", "0"], "--rec-weight-epochs must be between 1 and 10000 (got 0)"),
    (["--lr", "1e300"], "--lr must be greater than 0 and at most 1 (got 1e+300)"),
    (["--components", "1000000"], "--components must be between 1 and 1024 (got 1000000)"),
    (["--gru-hidden", "1000000"], "--gru-hidden must be between 1 and 4096 (got 1000000)"),
    (["--batch-size", "1000000000"], "--batch-size must be between 1 and 16384 (got 1000000000)"),
    (["--rec-weight", "-1"], "--rec-weight must be a positive finite number or auto (got -1.0)"),
    (["--regularizer-option", "use_cv=maybe"], "regularizer 'gmm' option use_cv must be true or false (got 'maybe')"),
]
if NO_CUDA:
    TRAIN_BAD_VALUES.append((["--device", "cuda"], "--device cuda: no CUDA device is available here (use cpu or auto)"))


@pytest.mark.parametrize("flags, message", TRAIN_BAD_VALUES)
def test_train_refuses_bad_values_in_one_line_before_any_work(flags: list[str], message: str, tmp_path: Path) -> None:
    # A source that would have to be generated (100k expressions): refused first, so nothing is read.
    out = tmp_path / "model"
    result = run_cli("train", "expr", "--out", str(out), *flags)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"error: {message}"
    assert not out.exists()


def test_quickstart_images_and_prepare_share_the_bounds(tmp_path: Path) -> None:
    cases = [
        (["quickstart", "--out", str(tmp_path / "q"), "--threads", "0"], "--threads must be between 1 and 1024"),
        (["quickstart", "--out", str(tmp_path / "q"), "--epochs", "0"], "--epochs must be between 1 and 100000"),
        (["quickstart", "--out", str(tmp_path / "q"), "--seed", "-1"], "--seed must be between 0 and"),
        (["images", "train", "mnist", "--out", str(tmp_path / "i"), "--batch-size", "1000000000"], "--batch-size must be between"),
        (["images", "train", "mnist", "--out", str(tmp_path / "i"), "--lr", "1e300"], "--lr must be greater than 0"),
        (["images", "train", "mnist", "--out", str(tmp_path / "i"), "--components", "1000000"], "--components must be between"),
        (["data", "prepare", "expr", "--out", str(tmp_path / "p"), "--workers", "0"], "--workers must be between 1 and 256"),
        (["data", "prepare", "expr", "--out", str(tmp_path / "p"), "--seed", "-1"], "--seed must be between 0 and"),
    ]
    if NO_CUDA:
        cases.append((["quickstart", "--out", str(tmp_path / "q"), "--device", "cuda"], "--device cuda: no CUDA device"))
        cases.append((["images", "train", "mnist", "--out", str(tmp_path / "i"), "--device", "cuda"], "--device cuda: no CUDA device"))
    for command, message in cases:
        result = run_cli(*command)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.startswith(f"error: {message}") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not any(tmp_path.iterdir())
    a_file = tmp_path / "taken"
    a_file.write_text("")
    for command in (["train", "expr", "--out", str(a_file)], ["quickstart", "--out", str(a_file)]):
        result = run_cli(*command)
        assert result.returncode == 1 and result.stderr.strip() == f"error: --out {a_file} is a file, not a directory"


def test_choice_flags_list_their_values_and_are_refused_up_front(tmp_path: Path) -> None:
    shown = run_cli("train", "--help", env={"COLUMNS": "250"})
    assert shown.returncode == 0
    assert "gmm|vae|cvvae|rae|wae|ae" in shown.stdout and "grammar|char" in shown.stdout and "paper|cpu" in shown.stdout
    assert "molecules|expressions|strings" in shown.stdout and "loss|rec" in shown.stdout and "<bool>" not in shown.stdout
    for command in (["data", "prepare", "--help"], ["images", "train", "--help"], ["quickstart", "--help"]):
        assert "<bool>" not in run_cli(*command, env={"COLUMNS": "250"}).stdout
    refused = run_cli("train", "expr", "--out", str(tmp_path / "m"), "--regularizer", "gmmx")
    assert refused.returncode == 2 and "'gmmx' is not one of" in refused.stderr
    refused = run_cli("train", "expr", "--out", str(tmp_path / "m"), "--monitor", "kl")
    assert refused.returncode == 2 and "'kl' is not one of" in refused.stderr
    assert not (tmp_path / "m").exists()


def test_monitor_rec_is_stored_reported_and_kept_on_resume(expr_dataset_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    first = run_cli(*tiny(expr_dataset_path, out, "--monitor", "REC"), env=ONE_THREAD)
    assert first.returncode == 0, first.stderr
    assert json.loads((out / "config.json").read_text())["config"]["monitor"] == "rec"
    assert "best validation rec " in first.stdout
    switched = run_cli(*tiny(expr_dataset_path, out, "--monitor", "loss", "--resume"), "--epochs", "2", env=ONE_THREAD)
    assert switched.returncode == 1 and "monitor='rec' (now 'loss')" in switched.stderr, switched.stderr
    kept = run_cli(*tiny(expr_dataset_path, out, "--resume"), "--epochs", "2", env=ONE_THREAD)
    assert kept.returncode == 0, kept.stderr
    assert "best validation rec " in kept.stdout


def test_gmm_in_any_case_is_one_regularizer_and_use_cv_no_is_false(
    expr_dataset_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "model"
    first = run_cli(*tiny(expr_dataset_path, out, "--regularizer", "GMM", "--regularizer-option", "use_cv=no"), env=ONE_THREAD)
    assert first.returncode == 0, first.stderr
    stored = json.loads((out / "config.json").read_text())
    assert stored["config"]["regularizer"] == "gmm" and stored["config"]["regularizer_options"] == {"use_cv": False}
    assert stored["regularizer_config"]["use_cv"] is False
    # resumable with the other spelling (the comparison sees one regularizer)
    again = run_cli(*tiny(expr_dataset_path, out, "--regularizer", "gmm", "--resume"), "--epochs", "2", env=ONE_THREAD)
    assert again.returncode == 0, again.stderr
    # loading reuses the stored eq. 10 weights instead of estimating them again
    import lsbo.regularizers.gmm as gmm_module
    from lsbo.models import load_model

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("eq. 10 weights were re-estimated at load")

    monkeypatch.setattr(gmm_module, "estimate_weights", refuse)
    model = load_model(out, device="cpu")
    assert model.autoencoder.regularizer.use_cv is False


def test_legacy_upper_case_names_in_a_stored_config_are_normalised() -> None:
    from lsbo.models.config import SequenceModelConfig

    config = SequenceModelConfig.from_dict({"regularizer": "GMM", "model": "Grammar"})
    assert (config.regularizer, config.model) == ("gmm", "grammar")


def test_regularizer_options_are_read_by_their_type() -> None:
    from lsbo.regularizers import normalize_regularizer_options

    assert normalize_regularizer_options("GMM", {"use_cv": "no", "use_ks": "YES", "min_distance": "4"}) == {
        "use_cv": False, "use_ks": True, "min_distance": 4.0,
    }
    assert normalize_regularizer_options("wae", {"scales": "0.5,1"}) == {"scales": [0.5, 1.0]}
    for options, message in (({"use_cv": "maybe"}, "use_cv must be true or false"),
                             ({"n_weight_batches": "2.5"}, r"n_weight_batches has a value of the wrong type \(expected an integer"),
                             ({"std": "inf"}, r"std has a value of the wrong type \(expected a finite number")):
        with pytest.raises(ConfigError, match=message):
            normalize_regularizer_options("gmm", options)


def test_the_schema_is_the_train_command_and_the_train_options() -> None:
    import dataclasses

    import typer.main

    from lsbo.models import TrainOptions
    from lsbo.models.config import SequenceModelConfig
    from lsbo_cli.main import app

    option_fields = {f.name for f in dataclasses.fields(TrainOptions)}
    config_fields = {f.name for f in dataclasses.fields(SequenceModelConfig)}
    assert {option.name for option in TRAIN_OPTIONS} <= option_fields
    assert {option.config_field for option in TRAIN_OPTIONS if option.config_field} <= config_fields
    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    flags = {opt for param in command.params for opt in param.opts}
    assert {option.flag for option in TRAIN_OPTIONS if option.name != "workers"} <= flags
    assert flag_for("learning_rate") == "--lr" and flag_for("n_components") == "--components"
    assert check_value("regularizer", " GMM ") == "gmm" and check_value("threads", 4) == 4
    with pytest.raises(ConfigError) as caught:
        check_value("threads", 0)
    assert str(caught.value).startswith("threads must be") and caught.value.parameter == "threads"
    assert OPTIONS["gru_hidden"].architecture and not OPTIONS["epochs"].architecture
