"""`lsbo data` through the real entry point."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from tests.data.test_prepare import EXPECTED, MIXED_SMI


def test_prepare_file_writes_encoded_rejects_and_summary(cli, tmp_path: Path) -> None:
    data = tmp_path / "mixed.smi"
    data.write_text(MIXED_SMI, encoding="utf-8")
    out = tmp_path / "prepared"
    done = cli("data", "prepare", str(data), "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "accepted" in done.stdout and "invalid smiles" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["accepted"]) == (8, 3)
    assert summary["rejected"] == {reason: 1 for reason in EXPECTED.values()}
    assert summary["grammar"] == "zinc" and summary["kind"] == "molecules"
    with open(out / "rejects.csv", newline="") as handle:
        assert {int(r["line"]): r["reason"] for r in csv.DictReader(handle)} == EXPECTED
    assert np.load(out / "indices.npy").shape == (3, 277)
    assert (out / "strings.txt").read_text().splitlines() == ["CCO", "c1ccccc1", "CC(=O)O"]


def test_prepare_zinc_offline_fails_fast_naming_file_and_flag(cli, tmp_path: Path) -> None:
    done = cli("data", "prepare", "zinc", "--out", str(tmp_path / "z"), env={"LSBO_OFFLINE": "1"})
    assert done.returncode == 1
    assert "250k_rndm_zinc_drugs_clean_3.csv" in done.stderr and done.stderr.strip().endswith("or pass --data=PATH")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "z").exists()


def test_text_file_without_grammar_and_csv_without_column_are_one_line_errors(cli, tmp_path: Path) -> None:
    text = tmp_path / "rows.txt"
    text.write_text("x + 1\n")
    done = cli("data", "prepare", str(text), "--out", str(tmp_path / "o"))
    assert done.returncode == 1 and "pass --grammar zinc, expr or FILE" in done.stderr and "Traceback" not in done.stderr
    table = tmp_path / "t.csv"
    table.write_text("id,mol\n1,CCO\n")
    done = cli("data", "prepare", str(table), "--out", str(tmp_path / "o"))
    assert done.returncode == 1 and "'id', 'mol'" in done.stderr


def test_fetch_checks_a_local_copy(cli, tmp_path: Path) -> None:
    copy = tmp_path / "250k_rndm_zinc_drugs_clean_3.csv"
    copy.write_text('smiles,logP\n"CCO\n",0.1\n')
    done = cli("data", "fetch", "zinc250k", "--data", str(copy))
    assert done.returncode == 1
    assert "rows   1 (expected 249,455)" in done.stdout
    assert "has 1 rows, expected 249455" in done.stderr


def test_prepare_characters_writes_vocabulary(cli, tmp_path: Path) -> None:
    data = tmp_path / "mixed.smi"
    data.write_text(MIXED_SMI, encoding="utf-8")
    out = tmp_path / "chars"
    done = cli("data", "prepare", str(data), "--characters", "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    vocabulary = json.loads((out / "vocabulary.json").read_text())
    strings = (out / "strings.txt").read_text().splitlines()
    assert set(vocabulary["characters"]) == set("".join(strings))
    assert np.load(out / "indices.npy").shape == (len(strings), vocabulary["max_length"])
    assert json.loads((out / "summary.json").read_text())["rejected"] == {"empty": 1, "invalid smiles": 1}


def test_prepare_characters_refuses_a_grammar_it_would_ignore(cli, tmp_path: Path) -> None:
    data = tmp_path / "mixed.smi"
    data.write_text(MIXED_SMI, encoding="utf-8")
    out = tmp_path / "chars"
    done = cli("data", "prepare", str(data), "--characters", "--grammar", "zinc", "--out", str(out))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: --grammar and --tokenizer do not apply: characters are encoded, not productions"
    assert not out.exists()


def test_prepare_refuses_flags_it_would_ignore_and_applies_the_seed(cli, tmp_path: Path) -> None:
    data = tmp_path / "mixed.smi"
    data.write_text(MIXED_SMI, encoding="utf-8")
    out = tmp_path / "never"
    refused = {
        ("expr", "--data", str(data), "--seed", "3"): ("--seed", "--data"),
        (str(data), "--seed", "3"): ("--seed", str(data)),
        (str(data), "--characters", "--workers", "2"): ("--workers", "--characters"),
        (str(data), "--characters", "--cache"): ("--cache", "--characters"),
    }
    for args, named in refused.items():
        done = cli("data", "prepare", *args, "--out", str(out), "--no-progress")
        assert done.returncode == 1, args
        line = done.stderr.strip()
        assert "\n" not in line and "Traceback" not in line and all(flag in line for flag in named), (args, line)
    assert not out.exists()
    # --no-cache says what character encoding does anyway; --seed chooses the generated expressions.
    done = cli("data", "prepare", str(data), "--characters", "--no-cache", "--out", str(tmp_path / "c"), "--no-progress")
    assert done.returncode == 0, done.stderr
    strings = {}
    for seed in ("1", "2"):
        target = tmp_path / f"expr{seed}"
        done = cli("data", "prepare", "expr", "--seed", seed, "--limit", "30", "--out", str(target), "--no-progress")
        assert done.returncode == 0, done.stderr
        assert f"seed={seed}" in json.loads((target / "summary.json").read_text())["origin"]
        strings[seed] = (target / "strings.txt").read_text()
    assert strings["1"] != strings["2"]


def test_fetch_and_prepare_count_the_subset_rows_alike(cli, zinc_subset_path: Path, tmp_path: Path) -> None:
    # A piece of the subset as the subset itself is stored: a .smi file without a final newline, whose
    # first line is a molecule (no header). Both commands must read it with the same reader.
    piece = tmp_path / "piece.smi"
    piece.write_text("\n".join(zinc_subset_path.read_text().split("\n")[:40]))
    fetched = cli("data", "fetch", "zinc250k", "--data", str(piece))
    rows = next(line for line in fetched.stdout.splitlines() if line.strip().startswith("rows"))
    assert rows.split()[1] == "40"  # "rows   40 (expected 249,455)"; the full file would match
    prepared = cli("data", "prepare", "zinc", "--data", str(piece), "--out", str(tmp_path / "p"), "--no-progress")
    assert prepared.returncode == 0, prepared.stderr
    assert json.loads((tmp_path / "p" / "summary.json").read_text())["total"] == 40
