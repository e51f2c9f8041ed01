"""Spec values that used to be accepted and go wrong later, and spec files that used to end in a
traceback: each is one line naming the file, line and key (#36 items 6 and 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsbo.data.manifests import ALIASES
from lsbo.experiment import load_spec
from tests.conftest import run_cli
from tests.experiment.test_spec import GOOD, _error, _line, _write


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        ('preset = "cpu"', 'preset = "cpu"\nthreads = 0', "threads", "training.threads: threads must be between 1 and 1024 (got 0)"),
        ('preset = "cpu"', 'preset = "cpu"\ndevice = "tpu"', "device", "training.device: 'tpu': expected one of auto, cpu, cuda"),
        ("trials = 2", 'trials = 2\ndevice = "gpu"', "gpu", "bo.device: 'gpu': expected one of auto, cpu, cuda"),
        ("trials = 2", "trials = 2\nthreads = -1", "threads", "bo.threads: threads must be between 1 and 1024 (got -1)"),
        ('source = "expr"', 'source = "exrp"', "exrp", f"dataset.source: unknown dataset 'exrp' (expected one of: {', '.join(sorted(ALIASES))};"),
        ('target = "expr"', 'target = "expr"\nlimit = 0', "limit", "dataset.limit: limit must be at least 1 (got 0)"),
        ('target = "expr"', 'target = "expr"\nlimit = -5', "limit", "dataset.limit: limit must be at least 1 (got -5)"),
        ("epsilon_std = 0.01", 'epsilon_std = "small"', "small", "model[2].regularizer_options: regularizer 'vae' option epsilon_std"),
        ("epsilon_std = 0.01", 'epsilon_std = "0.01"', "epsilon_std", "option epsilon_std is the text '0.01'; write the float without quotes"),
        ("epsilon_std = 0.01", "epsilon_std = true", "epsilon_std", "model[2].regularizer_options: regularizer 'vae' option epsilon_std"),
        ("seeds = [0, 1]", "seeds = [0, 1180591620717411303424]", "seeds", "training.seeds: expected distinct integers from 0 to 4294967295"),
        ("batch = 5", "batch = 5\nretrain_every = 6", "retrain_every", "bo.strategy[1].retrain_every: retrain.every 6 never retrains"),
        ('label = "GVAE"', 'label = "gmm-ks"', "gmm-ks", "model[2].label: 'gmm-ks' and 'GMM-KS' map to the same folder"),
    ],
)
def test_a_bad_value_is_refused_naming_file_line_and_key(tmp_path: Path, old: str, new: str, needle: str, expected: str) -> None:
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    message = _error(tmp_path, text)
    assert message.startswith(f":{_line(text, needle)}: "), message
    assert expected in message and "\n" not in message


def test_gmm_ks_and_gmm_dash_ks_still_differ_from_gmm_underscore_ks_as_folders() -> None:
    from lsbo.experiment.spec import folder_key

    assert folder_key("GMM KS") == folder_key("GMM_KS") != folder_key("GMM-KS")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (bytes(range(256)) * 4, "not a text file (byte 128 is not UTF-8)"),
        (b'[dataset]\nsource = "\xff"\n', "not a text file (byte 20 is not UTF-8)"),
        (b"[dataset]\x00\n", "not a text file (it holds NUL bytes)"),
        (("[training]\nseeds = " + "[" * 5000 + "0" + "]" * 5000 + "\n").encode(), "nested too deeply to read"),
        (("[training]\nseeds = " + "[" * 50 + "0" + "]" * 50 + "\n[dataset]\nsource = 'expr'\ntarget = 'expr'\n"
          "[[model]]\nlabel = 'a'\n").encode(), "training.seeds: expected distinct integers"),
    ],
)
def test_an_unreadable_spec_file_is_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_bytes(content)
    out = tmp_path / "out"
    result = run_cli("experiment", "run", str(spec), "--out", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert expected in result.stderr and result.stderr.strip().count("\n") == 0 and len(result.stderr) < 400
    assert not out.exists()


def test_a_spec_saved_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert [m.label for m in load_spec(path).models] == ["GMM-KS", "GVAE"]


def test_an_unknown_executor_leaves_no_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("experiment", "run", str(_write(tmp_path, GOOD)), "--out", str(out), "--executor", "rey")
    assert result.returncode == 1 and "executor" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
