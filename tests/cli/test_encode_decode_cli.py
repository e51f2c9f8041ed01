"""`lsbo encode / decode / evaluate / sample` inputs and messages through the real entry point
(issue 16, items 7, 10, 12 and 13), on a tiny expression model."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lsbo.errors import InputTypeError
from tests.cli.test_train_cli import ONE_THREAD, tiny_train_args
from tests.conftest import lsbo_executable, run_cli


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, expr_dataset_path: Path) -> Path:
    out = tmp_path_factory.mktemp("encode-model") / "model"
    result = run_cli(*tiny_train_args(expr_dataset_path, out, epochs=1), env=ONE_THREAD)
    assert result.returncode == 0, result.stderr
    return out


def _rows(stdout: str) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in stdout.splitlines()])


def test_encode_takes_strings_inline_and_compact_expressions_match_spaced_ones(model_dir: Path) -> None:
    done = run_cli(
        "encode", str(model_dir), "-s", "x+sin(x*x)", "--string", "x + sin( x * x )", "-s", "x ++", "--device", "cpu",
        env=ONE_THREAD,
    )
    assert done.returncode == 0, done.stderr
    rows = _rows(done.stdout)
    assert rows.shape == (3, 4)
    assert np.array_equal(rows[0], rows[1]) and np.isfinite(rows[0]).all()  # the same tokens, the same code
    assert np.isnan(rows[2]).all()
    assert done.stderr.strip() == "--string 3 ('x ++'): cannot be encoded by this model (no parse); its row is NaN"


def test_encode_reads_standard_input(model_dir: Path) -> None:
    done = subprocess.run(
        [*lsbo_executable(), "encode", str(model_dir), "-", "--device", "cpu"], input="x + 1\n\n1/3+x\nx %\n",
        capture_output=True, text=True, env={**os.environ, **ONE_THREAD}, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = _rows(done.stdout)
    assert rows.shape == (3, 4) and np.isfinite(rows[:2]).all() and np.isnan(rows[2]).all()
    assert "<stdin>:4: cannot be encoded by this model (untokenizable: character '%' at position 2)" in done.stderr


def test_encode_needs_exactly_one_source_of_strings(model_dir: Path, tmp_path: Path) -> None:
    strings = tmp_path / "s.txt"
    strings.write_text("x\n")
    both = run_cli("encode", str(model_dir), str(strings), "-s", "x")
    none = run_cli("encode", str(model_dir))
    assert both.returncode == none.returncode == 1
    assert both.stderr == "error: give the strings as FILE or with --string, not both\n"
    assert none.stderr.startswith("error: no strings to encode: give a FILE") and none.stderr.count("\n") == 1


def test_encode_out_naming_a_directory_or_under_a_file_is_refused_first(tmp_path: Path) -> None:
    folder = tmp_path / "codes.npy"
    folder.mkdir()
    a_file = tmp_path / "plain"
    a_file.write_text("")
    # the model does not exist: --out is checked before anything is loaded or encoded
    for target, expected in [
        (folder, f"error: --out {folder} is a directory; give a file name ending in .npy, .csv, .txt\n"),
        (a_file / "codes.csv", f"error: --out {a_file / 'codes.csv'}: {a_file} is a file, not a folder\n"),
    ]:
        done = run_cli("encode", str(tmp_path / "no-model"), "-s", "x", "--out", str(target))
        assert done.returncode == 1 and done.stderr == expected


def test_decode_of_a_non_numeric_array_is_one_line(model_dir: Path, tmp_path: Path) -> None:
    words = tmp_path / "words.npy"
    np.save(words, np.array([["a", "b", "c", "d"]]))
    done = run_cli("decode", str(model_dir), str(words), "--device", "cpu")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"error: {words}: holds <U1 values, not numbers; expected a float array of latent points\n"


def test_decode_names_non_finite_points_instead_of_calling_them_empty_lines(model_dir: Path, tmp_path: Path) -> None:
    codes = tmp_path / "codes.csv"
    codes.write_text("0,0,0,0\nnan,0,0,0\n\n0.5,inf,0,0\n")
    done = run_cli("decode", str(model_dir), str(codes), "--device", "cpu", env=ONE_THREAD)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and lines[0] != "" and lines[1:] == ["", ""]
    assert done.stderr.splitlines() == [
        f"{codes}:2: non-finite latent point (NaN or inf): no string (empty line)",
        f"{codes}:4: non-finite latent point (NaN or inf): no string (empty line)",
    ]
    npy = tmp_path / "codes.npy"
    np.save(npy, np.array([[0.0, 0, 0, 0], [np.nan, 0, 0, 0]], dtype=np.float32))
    done = run_cli("decode", str(model_dir), str(npy), "--device", "cpu", env=ONE_THREAD)
    assert done.returncode == 0 and done.stderr.splitlines() == [f"{npy} row 2: non-finite latent point (NaN or inf): no string (empty line)"]


def test_image_model_directories_are_named_as_such(tmp_path: Path) -> None:
    import torch

    from lsbo.checkpoint import save_checkpoint
    from lsbo.images.training import MODEL_KIND

    image_dir = tmp_path / "fm"
    # what `lsbo images train` stores (kind, config, weights); the string commands must recognise it
    save_checkpoint(image_dir / "checkpoint.pt", {"kind": MODEL_KIND, "image_config": {}, "model": {"w": torch.zeros(1)}, "data": {}})
    expected = (
        f"error: {image_dir} holds an image model (lsbo images train), not a string model: use "
        f"`lsbo images evaluate {image_dir}` or `lsbo images figures {image_dir}`\n"
    )
    for command in (["evaluate", str(image_dir), "-n", "5"], ["sample", str(image_dir)], ["encode", str(image_dir), "-s", "x"]):
        done = run_cli(*command, "--device", "cpu")
        assert done.returncode == 1 and done.stderr == expected, command


def test_trained_model_encode_refuses_a_single_string(model_dir: Path) -> None:
    from lsbo.models import load_model

    model = load_model(model_dir, device="cpu")
    with pytest.raises(InputTypeError, match=r"^strings must be a list of strings, got a single str 'x \+ 1'"):
        model.encode("x + 1")
    codes, ok = model.encode(["x+1", "x + 1"])
    assert ok.all() and bool((codes[0] == codes[1]).all())


def test_version_flag() -> None:
    from lsbo import __version__

    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout == f"lsbo {__version__}\n"
