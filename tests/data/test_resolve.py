"""One resolver for every command: dataset -> grammar -> data kind -> preset family, and the two
entry points that read a dataset (``lsbo data prepare``, ``lsbo train``) agree on each default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsbo.data.manifests import EXPR, ZINC250K, manifest_for_source
from lsbo.data.resolve import resolve_source
from lsbo.errors import ConfigError
from lsbo.grammar import Grammar
from tests.conftest import run_cli

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PAIRS = "# max_length: 12\nS -> 'a' S 'b' | 'a' 'b'\n"


def tiny_train(source: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train", str(source), "--out", str(out), "--preset", "cpu", "--latent-dim", "2", "--gru-hidden", "8",
        "--batch-size", "8", "--epochs", "1", "--threads", "1", "--device", "cpu", *extra,
    ]


def test_registry_entries_give_the_defaults_of_names_and_files() -> None:
    assert manifest_for_source("ZINC") is manifest_for_source("zinc250k") is manifest_for_source("m/a.SMI") is ZINC250K
    assert manifest_for_source("m/a.csv") is ZINC250K and manifest_for_source("expr") is EXPR
    assert manifest_for_source("notes.txt") is None
    zinc = resolve_source("m/a.smi")
    assert (zinc.grammar.name, zinc.kind, zinc.family(277)) == ("zinc", "molecules", "molecules")
    expr = resolve_source("expr")
    assert (expr.grammar.name, expr.kind, expr.family(15)) == ("expr", "expressions", "expressions")


def test_a_user_grammar_sharing_a_builtin_name_is_not_the_builtin(tmp_path: Path) -> None:
    fake = tmp_path / "zinc.cfg"
    fake.write_text(PAIRS)
    resolved = resolve_source("rows.txt", grammar=str(fake))
    assert resolved.grammar.name == "zinc" and resolved.kind == "strings" and resolved.manifest is None
    assert resolved.family(12) == "expressions" and resolved.family(100) == "molecules"


def test_grammar_zinc_is_the_builtin_even_with_a_file_named_zinc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zinc").write_text(PAIRS)
    monkeypatch.chdir(tmp_path)
    assert resolve_source("rows.txt", grammar="zinc").grammar.text == Grammar.builtin("zinc").text
    assert resolve_source("rows.txt", grammar="./zinc").grammar.text == PAIRS


def test_character_models_keep_the_grammar_row_selection_and_prepare_refuses_grammar_flags() -> None:
    optional = resolve_source("zinc", grammar_use="optional")
    assert optional.grammar is not None and optional.kind == "molecules"
    assert resolve_source("rows.txt", grammar_use="optional").grammar is None
    with pytest.raises(ConfigError, match="^grammar and tokenizer do not apply: characters are encoded"):
        resolve_source("zinc", grammar="zinc", grammar_use="none")
    with pytest.raises(ConfigError, match="^kind 'proteins': expected one of"):
        resolve_source("zinc", kind="proteins")


@pytest.mark.parametrize("name, flags", [("mols.smi", []), ("mols.txt", ["--grammar", "zinc"])])
def test_prepare_and_train_agree_on_grammar_and_kind(
    name: str, flags: list[str], zinc_subset_path: Path, tmp_path: Path
) -> None:
    # A .smi file takes the zinc grammar in both commands, and --grammar zinc is the built-in grammar
    # to both (it used to be a file named "zinc" to lsbo train, and lsbo train refused a .smi without one).
    rows = tmp_path / name
    rows.write_text("".join(zinc_subset_path.read_text().splitlines(keepends=True)[:24]))
    prepared = run_cli("data", "prepare", str(rows), *flags, "--out", str(tmp_path / "prepared"), "--no-progress")
    assert prepared.returncode == 0, prepared.stderr
    summary = json.loads((tmp_path / "prepared" / "summary.json").read_text())
    trained = run_cli(*tiny_train(rows, tmp_path / "model", *flags), env=ONE_THREAD)
    assert trained.returncode == 0, trained.stderr
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert (summary["grammar"], summary["kind"]) == (config["grammar_name"], config["data_kind"]) == ("zinc", "molecules")
    assert config["config"]["family"] == "molecules" and "penalized_logp" in config["data_stats"]
    assert config["n_strings"] == summary["accepted"]


def test_train_accepts_tokenizer_like_prepare(tmp_path: Path) -> None:
    grammar = tmp_path / "pairs.cfg"
    grammar.write_text(PAIRS)
    rows = tmp_path / "rows.txt"
    rows.write_text("".join(" ".join(["a"] * k + ["b"] * k) + "\n" for k in range(1, 7)) * 4)
    flags = ["--grammar", str(grammar), "--tokenizer", "whitespace"]
    prepared = run_cli("data", "prepare", str(rows), *flags, "--out", str(tmp_path / "prepared"), "--no-progress")
    assert prepared.returncode == 0, prepared.stderr
    trained = run_cli(*tiny_train(rows, tmp_path / "model", *flags), env=ONE_THREAD)
    assert trained.returncode == 0, trained.stderr
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["grammar_tokenizer"] == "whitespace" and config["data_kind"] == "strings"
    assert config["n_strings"] == json.loads((tmp_path / "prepared" / "summary.json").read_text())["accepted"] == 24


def test_train_without_a_default_grammar_fails_before_writing(tmp_path: Path) -> None:
    rows = tmp_path / "rows.txt"
    rows.write_text("a b\n" * 4)
    for command in (["data", "prepare", str(rows), "--out", str(tmp_path / "p")], tiny_train(rows, tmp_path / "m")):
        result = run_cli(*command)
        assert result.returncode == 1
        assert result.stderr.strip() == f"error: --grammar not given, and {rows} has no default one: pass --grammar zinc, expr or FILE"
    assert not (tmp_path / "p").exists() and not (tmp_path / "m").exists()
