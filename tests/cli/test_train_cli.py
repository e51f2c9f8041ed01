"""`lsbo train / sample / encode / decode / evaluate` through the real entry point, on a tiny model."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from lsbo.checkpoint import load_checkpoint
from tests.conftest import lsbo_executable, run_cli

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def tiny_train_args(expr_dataset_path: Path, out: Path, epochs: int) -> list[str]:
    return [
        "train", "expr", "--data", str(expr_dataset_path), "--limit", "200", "--preset", "cpu",
        "--latent-dim", "4", "--gru-hidden", "16", "--batch-size", "32", "--epochs", str(epochs),
        "--threads", "1", "--device", "cpu", "--out", str(out),
    ]


def metrics_epochs(model_dir: Path) -> list[int]:
    with open(model_dir / "metrics.csv", newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, expr_dataset_path: Path) -> Path:
    out = tmp_path_factory.mktemp("cli-model") / "model"
    result = run_cli(*tiny_train_args(expr_dataset_path, out, epochs=1), env=ONE_THREAD)
    assert result.returncode == 0, result.stderr
    assert "epoch 1 " in result.stderr and "train_rec=" in result.stderr  # progress with live loss terms
    assert "done: 1 epochs" in result.stdout
    return out


def test_train_writes_a_loadable_model_directory(trained_dir: Path) -> None:
    for name in ("checkpoint.pt", "metrics.csv", "config.json", "train_strings.txt"):
        assert (trained_dir / name).is_file(), name
    assert metrics_epochs(trained_dir) == [1]
    payload = load_checkpoint(trained_dir)
    assert payload["grammar_name"] == "expr" and payload["config"]["latent_dim"] == 4
    assert len((trained_dir / "train_strings.txt").read_text().splitlines()) == payload["split"]["n_strings"]


def test_sample_encode_decode(trained_dir: Path, tmp_path: Path) -> None:
    from lsbo.grammar import Grammar

    grammar = Grammar.builtin("expr")
    sampled = run_cli("sample", str(trained_dir), "-n", "5", "--seed", "1", "--device", "cpu", env=ONE_THREAD)
    assert sampled.returncode == 0, sampled.stderr
    lines = sampled.stdout.splitlines()
    assert len(lines) == 5
    assert all(grammar.encode([line]).ok[0] for line in lines if line)

    strings = tmp_path / "strings.txt"
    strings.write_text("x + 1\nsin( x ) * 2\nx ++\n")
    codes = tmp_path / "codes.csv"
    encoded = run_cli("encode", str(trained_dir), str(strings), "--out", str(codes), "--device", "cpu", env=ONE_THREAD)
    assert encoded.returncode == 0, encoded.stderr
    assert f"{strings}:3: cannot be encoded" in encoded.stderr
    rows = codes.read_text().splitlines()
    assert len(rows) == 3 and len(rows[0].split(",")) == 4 and "nan" in rows[2].lower()

    decoded = run_cli("decode", str(trained_dir), str(codes), "--device", "cpu", env=ONE_THREAD)
    assert decoded.returncode == 0, decoded.stderr
    assert len(decoded.stdout.splitlines()) == 3

    gappy = tmp_path / "gappy.txt"  # messages count blank lines: the bad string is on line 4 of the file
    gappy.write_text("x + 1\n\nsin( x )\nx ++\n")
    in_new_folder = tmp_path / "new" / "codes.npy"
    encoded = run_cli("encode", str(trained_dir), str(gappy), "--out", str(in_new_folder), "--device", "cpu", env=ONE_THREAD)
    assert encoded.returncode == 0, encoded.stderr
    assert f"{gappy}:4: cannot be encoded" in encoded.stderr and f"{gappy}:3:" not in encoded.stderr
    import numpy as np

    assert np.load(in_new_folder).shape == (3, 4)


def test_plain_masking_flag_is_used_and_recorded(trained_dir: Path, tmp_path: Path) -> None:
    import json

    import numpy as np

    far = tmp_path / "far.csv"  # points 3 prior scales out, where a 1-epoch decoder rambles
    np.savetxt(far, 3.0 * np.random.default_rng(0).standard_normal((100, 4)), delimiter=",")
    aware = run_cli("decode", str(trained_dir), str(far), "--sample", "--device", "cpu", env=ONE_THREAD)
    plain = run_cli("decode", str(trained_dir), str(far), "--sample", "--plain-masking", "--device", "cpu", env=ONE_THREAD)
    assert aware.returncode == 0 and plain.returncode == 0, aware.stderr + plain.stderr
    assert len(aware.stdout.splitlines()) == len(plain.stdout.splitlines()) == 100
    assert "" not in aware.stdout.splitlines() and "did not decode" not in aware.stderr
    assert "" in plain.stdout.splitlines() and "did not decode to a complete string" in plain.stderr

    sampled = run_cli("sample", str(trained_dir), "-n", "5", "--plain-masking", "--device", "cpu", env=ONE_THREAD)
    assert sampled.returncode == 0 and len(sampled.stdout.splitlines()) == 5, sampled.stderr

    evaluated = run_cli(
        "evaluate", str(trained_dir), "-n", "20", "--max-reconstruct", "5", "--plain-masking", "--threads", "1",
        "--device", "cpu", env=ONE_THREAD,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "decoding mask: plain" in evaluated.stdout
    stored = json.loads((trained_dir / "evaluation.json").read_text())
    assert stored["complete"] is False and stored["masking"] == "plain" and stored["n_samples"] == 20


def test_corrupt_checkpoint_is_one_line_error(trained_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(trained_dir, broken)
    checkpoint = broken / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    result = run_cli("sample", str(broken), "-n", "2")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: checkpoint {checkpoint} is corrupt or truncated: " + result.stderr.strip().split(": ", 2)[2]
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_non_positive_counts_are_refused_before_any_work(trained_dir: Path) -> None:
    # --max-reconstruct -1 used to slice off the last validation string silently
    for command in (("evaluate", "--max-reconstruct", "-1"), ("evaluate", "-n", "0"), ("sample", "-n", "-3")):
        result = run_cli(command[0], str(trained_dir), *command[1:], "--device", "cpu")
        assert result.returncode == 2, result.stderr
        assert "Invalid value for" in result.stderr and command[1] in result.stderr, result.stderr


def test_resume_with_another_grammar_is_one_line_error(trained_dir: Path, tmp_path: Path, expr_dataset_path: Path) -> None:
    from lsbo.grammar import Grammar

    other = tmp_path / "other.cfg"
    other.write_text(Grammar.builtin("expr").text + "\nT -> '4'\n")
    result = run_cli(
        "train", "expr", "--data", str(expr_dataset_path), "--grammar", str(other), "--out", str(trained_dir), "--resume",
    )
    assert result.returncode == 1
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "trained with grammar 'expr'" in message and "'other'" in message


def test_full_length_is_recorded_and_a_resume_cannot_switch_it(trained_dir: Path, expr_dataset_path: Path) -> None:
    assert load_checkpoint(trained_dir)["config"]["full_length"] is False  # the default: length-following
    result = run_cli(*tiny_train_args(expr_dataset_path, trained_dir, epochs=2), "--resume", "--full-length")
    assert result.returncode == 1
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "full_length=False (now True)" in message
    assert metrics_epochs(trained_dir) == [1]  # nothing was trained


def test_training_into_an_existing_model_needs_resume(trained_dir: Path, expr_dataset_path: Path) -> None:
    result = run_cli(*tiny_train_args(expr_dataset_path, trained_dir, epochs=1))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {trained_dir} already holds a trained model; pass --resume to continue it or choose another --out"


def test_kill_and_resume_continues_at_the_next_epoch(tmp_path: Path, expr_dataset_path: Path) -> None:
    out = tmp_path / "model"
    env = {**os.environ, **ONE_THREAD, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*lsbo_executable(), *tiny_train_args(expr_dataset_path, out, epochs=500)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        # The summary line of an epoch is printed after its checkpoint is written: wait for the first.
        for line in process.stderr:
            if line.startswith("epoch 1 "):
                break
        else:
            pytest.fail(f"training ended without finishing an epoch (exit code {process.wait()})")
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    done = load_checkpoint(out)["trainer"]["epoch"]
    assert done >= 1 and metrics_epochs(out) == list(range(1, done + 1))

    resumed = run_cli(*tiny_train_args(expr_dataset_path, out, epochs=done + 1), "--resume", env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {out / 'checkpoint.pt'} after epoch {done}" in resumed.stderr
    assert metrics_epochs(out) == list(range(1, done + 2))
    assert load_checkpoint(out)["trainer"]["epoch"] == done + 1


def test_regularizer_options_reach_the_checkpoint(tmp_path: Path, expr_dataset_path: Path) -> None:
    out = tmp_path / "vae"
    args = tiny_train_args(expr_dataset_path, out, epochs=1)
    args[args.index("--out"):args.index("--out")] = [
        "--regularizer", "vae", "--regularizer-option", "epsilon_std=0.01", "--regularizer-option", "beta=0.5",
    ]
    result = run_cli(*args, env=ONE_THREAD)
    assert result.returncode == 0, result.stderr
    stored = load_checkpoint(out / "checkpoint.pt")["regularizer_config"]
    assert (stored["name"], stored["epsilon_std"], stored["beta"]) == ("vae", 0.01, 0.5)
    for bad, message in (("beta", "expected KEY=VALUE"), ("code_weight=1", "has no option 'code_weight'")):
        refused = run_cli(*tiny_train_args(expr_dataset_path, tmp_path / "x", epochs=1), "--regularizer", "vae",
                          "--regularizer-option", bad)
        assert refused.returncode != 0 and message in refused.stderr and "Traceback" not in refused.stderr


def test_weight_seed_draws_the_initial_weights_and_seed_keeps_the_split(tmp_path: Path, expr_dataset_path: Path) -> None:
    from dataclasses import replace

    import torch

    from lsbo.models import build_autoencoder, load_model
    from lsbo.models.config import SequenceModelConfig
    from lsbo.models.pipeline import validation_split

    out = tmp_path / "model"
    # at a learning rate of 1e-12 one epoch leaves the parameters where the initialisation put them
    result = run_cli(*tiny_train_args(expr_dataset_path, out, epochs=1), "--seed", "1", "--weight-seed", "0", "--lr", "1e-12",
                     env=ONE_THREAD)
    assert result.returncode == 0, result.stderr
    payload = load_checkpoint(out)
    assert (payload["config"]["seed"], payload["config"]["weight_seed"]) == (1, 0)
    _, seed_1_validation = validation_split(payload["split"]["n_strings"], 0.1, 1)
    assert payload["split"]["validation_indices"].tolist() == seed_1_validation.tolist()

    trained = load_model(out, device="cpu")
    config = SequenceModelConfig.from_dict(payload["config"])
    def initial(seed: int) -> dict[str, torch.Tensor]:
        fresh = build_autoencoder(trained.codec, replace(config, seed=seed, weight_seed=None), batch_size=32, rec_weight=1.0)
        return dict(fresh.named_parameters())
    drawn_with_0, drawn_with_1 = initial(0), initial(1)
    parameters = dict(trained.autoencoder.named_parameters())
    assert parameters.keys() == drawn_with_0.keys()
    assert all(torch.allclose(parameters[name], drawn_with_0[name], atol=1e-6) for name in parameters)
    assert not all(torch.allclose(parameters[name], drawn_with_1[name], atol=1e-6) for name in parameters)


def test_glorot_init_is_drawn_recorded_and_kept_by_a_resume(tmp_path: Path, expr_dataset_path: Path) -> None:
    import torch

    from lsbo.models import load_model

    out = tmp_path / "glorot"
    result = run_cli(*tiny_train_args(expr_dataset_path, out, epochs=1), "--init", "GLOROT", "--lr", "1e-12", env=ONE_THREAD)
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(out)["config"]["init"] == "glorot"
    # Keras' start: zero biases in every dense and convolution layer (PyTorch's are uniform, never all zero)
    autoencoder = load_model(out, device="cpu").autoencoder
    layers = [m for m in autoencoder.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d))]
    assert layers and all(float(layer.bias.detach().abs().max()) < 1e-6 for layer in layers if layer.bias is not None)
    refused = run_cli(*tiny_train_args(expr_dataset_path, out, epochs=2), "--resume", "--init", "torch")
    assert refused.returncode == 1 and "init='glorot' (now 'torch')" in refused.stderr, refused.stderr
    assert metrics_epochs(out) == [1]
    bad = run_cli(*tiny_train_args(expr_dataset_path, tmp_path / "x", epochs=1), "--init", "keras")
    assert bad.returncode != 0 and "--init" in bad.stderr and "Traceback" not in bad.stderr


def test_char_model_with_padded_convolutions_is_trained_recorded_and_kept_by_a_resume(
    tmp_path: Path, expr_dataset_path: Path
) -> None:
    import torch

    from lsbo.models import load_model

    out = tmp_path / "padded"
    result = run_cli(*tiny_train_args(expr_dataset_path, out, epochs=1), "--model", "char", "--conv-padding", "FULL",
                     env=ONE_THREAD)
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(out)["config"]["conv_padding"] == "full"
    trained = load_model(out, device="cpu")
    convolutions = [m for m in trained.autoencoder.encoder.convolutions if isinstance(m, torch.nn.Conv1d)]
    assert [c.padding[0] for c in convolutions] == [c.kernel_size[0] - 1 for c in convolutions]
    # the loaded model encodes with the padded network: its codes are those of a direct one-hot forward pass
    indices, ok = trained.codec.encode(["x + 1", "sin(x) * 3"])
    assert ok.all()
    with torch.no_grad():
        one_hot = torch.nn.functional.one_hot(torch.as_tensor(indices), trained.codec.n_symbols).float()
        direct = trained.autoencoder.encoder(one_hot)
        gathered = trained.autoencoder.encoder_output(torch.as_tensor(indices))
    assert torch.allclose(direct, gathered, atol=1e-5)
    refused = run_cli(*tiny_train_args(expr_dataset_path, out, epochs=2), "--model", "char", "--resume",
                      "--conv-padding", "valid")
    assert refused.returncode == 1 and "conv_padding='full' (now 'valid')" in refused.stderr, refused.stderr
    assert metrics_epochs(out) == [1]
    bad = run_cli(*tiny_train_args(expr_dataset_path, tmp_path / "x", epochs=1), "--conv-padding", "same")
    assert bad.returncode != 0 and "--conv-padding" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--epochs", "0"], "epochs"),
        (["--lr", "-1"], "--lr"),
        (["--regularizer", "rae", "--regularizer-option", "beta=2"], "has no option 'beta'"),
    ],
)
def test_bad_model_flags_are_refused_before_data_preparation(
    tmp_path: Path, expr_dataset_path: Path, flags: list[str], message: str
) -> None:
    out = tmp_path / "never"
    args = tiny_train_args(expr_dataset_path, out, epochs=1)
    del args[args.index("--epochs") : args.index("--epochs") + 2]
    result = run_cli(*args, *flags)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr
    assert "strings accepted" not in result.stderr  # no data was prepared
    assert not out.exists()  # and nothing was written


def test_encode_refuses_an_unknown_output_suffix_before_loading_a_model(tmp_path: Path) -> None:
    # Neither the model nor the strings exist: the suffix is checked first, so no model is ever loaded.
    for name in ("codes.json", "codes"):
        target = tmp_path / name
        done = run_cli("encode", str(tmp_path / "no-model"), str(tmp_path / "no-strings.txt"), "--out", str(target))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        line = done.stderr.strip()
        assert "\n" not in line and str(target) in line and "accepted: .npy, .csv, .txt" in line, line
        assert not target.exists()


def test_encode_to_txt_and_decode_errors_name_the_ragged_line(trained_dir: Path, tmp_path: Path) -> None:
    import numpy as np

    strings = tmp_path / "strings.txt"
    strings.write_text("x + 1\nsin( x ) * 2\n")
    codes = tmp_path / "codes.TXT"  # suffixes are matched case-insensitively
    encoded = run_cli("encode", str(trained_dir), str(strings), "--out", str(codes), "--device", "cpu", env=ONE_THREAD)
    assert encoded.returncode == 0, encoded.stderr
    assert np.loadtxt(codes).shape == (2, 4) and "," not in codes.read_text()  # whitespace-separated
    decoded = run_cli("decode", str(trained_dir), str(codes), "--device", "cpu", env=ONE_THREAD)
    assert decoded.returncode == 0 and len(decoded.stdout.splitlines()) == 2, decoded.stderr

    ragged = tmp_path / "ragged.csv"  # line 2 is blank; line 4 has one value too few
    ragged.write_text("0.1,0.2,0.3,0.4\n\n0.5,0.6,0.7,0.8\n0.9,1.0,1.1\n")
    decoded = run_cli("decode", str(trained_dir), str(ragged), "--device", "cpu", env=ONE_THREAD)
    assert decoded.returncode == 1 and decoded.stdout == ""
    line = decoded.stderr.strip()
    assert "\n" not in line and f"{ragged}:4: 3 values, but line 1 has 4" in line, line


def test_train_without_preset_says_auto_chose_cpu_first_and_reports_reconstruction(expr_dataset_path: Path, tmp_path: Path) -> None:
    args = tiny_train_args(expr_dataset_path, tmp_path / "m", epochs=1)
    at = args.index("--preset")
    del args[at : at + 2]
    result = run_cli(*args, env=ONE_THREAD)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.splitlines()[0].startswith("preset auto: cpu (no CUDA device")
    assert "validation reconstruction " in result.stdout
    assert "has not learnt" in result.stderr  # one epoch on 180 strings: the warning names what helps
    payload = load_checkpoint(tmp_path / "m")
    assert payload["config"]["preset"] == "cpu" and payload["config"]["decoder"] == "autoregressive"
    assert payload["components"]["decoder"]["kind"] == "autoregressive"
    assert payload["components"]["codec"]["kind"] == "grammar"
