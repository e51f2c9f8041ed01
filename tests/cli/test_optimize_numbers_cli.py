"""Numbers lsbo optimize used to run with silently or die on with a traceback (#36 items 6 and 8), and
encode's byte-order-mark row."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


def _optimize(model: Path, out: Path, *extra: str) -> list[str]:
    return ["optimize", "--target", "expr", "--model", str(model), "--trials", "1", "--iterations", "2", "--batch", "5",
            "--attempts", "2", "--threads", "1", "--device", "cpu", "--out", str(out), *extra]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--retrain-every", "10"], "error: --retrain-every 10 never retrains: a trial of 10 calls in batches of 5 retrains only "
                                    "between batches, and its last retraining point is after 5 calls, so --retrain-every must be at most 5"),
        (["--retrain-every", "50", "--budget", "50", "--batch", "50"],
         "error: --retrain-every 50 never retrains: a trial of 50 calls in batches of 50 retrains only between batches, and it is "
         "one batch, after which nothing is proposed; give it more iterations or a larger budget"),
        (["--retrain-every", "11", "--budget", "12"], "--retrain-every must be at most 10"),  # batch ends at 5 and 10 before 12
        (["--retrain-every", "5", "--rank-k", "inf"], "error: --rank-k must be positive and finite, got inf"),
        (["--retrain-every", "5", "--rank-k", "nan"], "error: --rank-k must be positive and finite, got nan"),
        (["--seed", "-1"], "error: --seed must be a whole number between 0 and 4294967295 (got -1)"),
        (["--seed", str(2**70)], f"error: --seed must be a whole number between 0 and 4294967295 (got {2**70})"),
    ],
)
def test_a_number_that_cannot_work_is_refused_before_anything_runs(tiny_expr_model: Path, tmp_path: Path, flags: list[str],
                                                                  message: str) -> None:
    out = tmp_path / "run"
    result = run_cli(*_optimize(tiny_expr_model, out, *flags))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert message in result.stderr and result.stderr.strip().count("\n") == 0, result.stderr
    assert not out.exists()


def test_a_retraining_that_happens_is_accepted(tiny_expr_model: Path, tmp_path: Path) -> None:
    from lsbo.bo import BOConfig
    from lsbo.bo.retraining import RetrainOptions

    BOConfig(iterations=2, batch_size=5, retrain=RetrainOptions(every=5)).validate()  # after the first batch
    BOConfig(budget=12, batch_size=5, retrain=RetrainOptions(every=10)).validate()  # after the second


def test_encode_keeps_the_first_row_of_a_file_with_a_byte_order_mark(tiny_expr_model: Path, tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.txt", tmp_path / "marked.txt"
    plain.write_text("x + 1\nsin(x)\n", encoding="utf-8")
    marked.write_text("x + 1\nsin(x)\n", encoding="utf-8-sig")
    assert marked.read_bytes().startswith(b"\xef\xbb\xbf")
    expected = run_cli("encode", str(tiny_expr_model), str(plain), "--device", "cpu")
    got = run_cli("encode", str(tiny_expr_model), str(marked), "--device", "cpu")
    assert expected.returncode == 0 and got.returncode == 0, got.stderr
    assert "cannot be encoded" not in got.stderr and "nan" not in got.stdout.lower()
    assert got.stdout == expected.stdout and len(got.stdout.splitlines()) == 2
