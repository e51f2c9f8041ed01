"""Preparation: every bad row counted with its reason, outputs on disk, cache and resume, real data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lsbo.data import prepare as prepare_module
from lsbo.data import resolve as resolve_module
from lsbo.data.prepare import REASONS, encode_rows, load_prepared, prepare_dataset, prepared_cache_dir
from lsbo.data.resolve import source_kind
from lsbo.data.sources import StringSource, load_strings, read_file
from lsbo.errors import ConfigError, DataError
from lsbo.grammar import Grammar

# One row per outcome, each chosen for the check that rejects it under the built-in SMILES grammar.
MIXED_SMI = "\n".join(
    [
        "CCO ethanol",  # 1 ok
        "",  # 2 empty
        "C1CC",  # 3 RDKit: unclosed ring
        "C%12CC%12",  # 4 RDKit reads two-digit ring labels; the grammar has no '%'
        "[2H]C",  # 5 tokenizes, but hydrogen is not a bracket element of the grammar
        "C" * 300,  # 6 a valid chain whose derivation exceeds 277 productions
        "c1ccccc1",  # 7 ok
        "CC(=O)O",  # 8 ok
    ]
) + "\n"
EXPECTED = {2: "empty", 3: "invalid smiles", 4: "untokenizable", 5: "no parse", 6: "too long"}


@pytest.fixture
def mixed(tmp_path: Path) -> StringSource:
    path = tmp_path / "mixed.smi"
    path.write_text(MIXED_SMI, encoding="utf-8")
    return read_file(path)


def test_each_bad_row_rejected_with_its_reason_and_line(mixed: StringSource, zinc: Grammar, tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepared = prepare_dataset(mixed, zinc, kind="molecules", out_dir=out, progress=False)
    assert prepared.strings == ["CCO", "c1ccccc1", "CC(=O)O"]
    assert prepared.lines == [1, 7, 8]
    assert {r.line: r.reason for r in prepared.rejects} == EXPECTED
    assert {r.reason for r in prepared.rejects} <= set(REASONS)
    assert next(r for r in prepared.rejects if r.line == 4).detail == "character '%' at position 1"
    assert next(r for r in prepared.rejects if r.line == 6).detail.endswith("> 277")
    assert prepared.summary["total"] == 8 and prepared.summary["accepted"] == 3
    assert prepared.summary["rejected"] == {reason: 1 for reason in EXPECTED.values()}
    # The indices are the grammar's own encoding of the accepted rows, in order.
    assert np.array_equal(prepared.indices, zinc.encode(prepared.strings).indices)
    assert prepared.indices.dtype == np.int64 and prepared.indices.shape == (3, 277)

    with open(out / "rejects.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["line"]), r["reason"]) for r in rows] == sorted(EXPECTED.items())
    assert rows[0]["input"] == "" and rows[1]["input"] == "C1CC"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accepted"] == 3 and summary["rejected"]["no parse"] == 1
    assert (out / "strings.txt").read_text() == "CCO\nc1ccccc1\nCC(=O)O\n"
    on_disk = np.load(out / "indices.npy")
    assert on_disk.dtype == np.uint8 and np.array_equal(on_disk, prepared.indices)
    reloaded = load_prepared(out)
    assert reloaded.strings == prepared.strings and reloaded.lines == prepared.lines
    assert np.array_equal(reloaded.indices, prepared.indices) and reloaded.rejects == prepared.rejects


def test_rdkit_check_only_for_molecules(mixed: StringSource, zinc: Grammar) -> None:
    prepared = prepare_dataset(mixed, zinc, kind="strings", progress=False)
    # Without the RDKit check, "C1CC" is a grammatical string (ring bonds are not matched by a CFG).
    assert "C1CC" in prepared.strings
    assert "invalid smiles" not in prepared.summary["rejected"]


def test_second_call_is_served_from_the_cache(mixed: StringSource, zinc: Grammar, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = Grammar.encode

    def counting_encode(self: Grammar, strings):
        calls.append(len(strings))
        return original(self, strings)

    monkeypatch.setattr(Grammar, "encode", counting_encode)
    first = prepare_dataset(mixed, zinc, kind="molecules", progress=False)
    assert len(calls) == 1 and not first.from_cache and first.summary["cache"] == "miss"
    assert len(list(prepared_cache_dir().glob("*.npz"))) == 1
    second = prepare_dataset(mixed, zinc, kind="molecules", progress=False)
    assert len(calls) == 1, "the cached result should have been used"
    assert second.from_cache and second.summary["cache"] == "hit"
    assert second.strings == first.strings and np.array_equal(second.indices, first.indices)
    assert second.rejects == first.rejects
    # A different kind, different strings or no cache each encode again.
    prepare_dataset(mixed, zinc, kind="strings", progress=False)
    prepare_dataset(mixed.head(4), zinc, kind="molecules", progress=False)
    prepare_dataset(mixed, zinc, kind="molecules", progress=False, cache=False)
    assert len(calls) == 4


def test_corrupt_cache_file_is_recomputed(mixed: StringSource, zinc: Grammar) -> None:
    first = prepare_dataset(mixed, zinc, kind="molecules", progress=False)
    (cached,) = prepared_cache_dir().glob("*.npz")
    cached.write_bytes(b"not an npz file")
    again = prepare_dataset(mixed, zinc, kind="molecules", progress=False)
    assert not again.from_cache and again.strings == first.strings


def test_interrupted_run_resumes_from_finished_chunks(zinc: Grammar, monkeypatch: pytest.MonkeyPatch) -> None:
    strings = ["C" * k for k in range(1, 31)]
    calls: list[list[str]] = []
    original = Grammar.encode

    def failing_on_third_chunk(self: Grammar, batch):
        calls.append(list(batch))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, batch)

    monkeypatch.setattr(Grammar, "encode", failing_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        encode_rows(strings, zinc, "molecules", workers=1, progress=False, chunk_size=10)
    assert len(list((prepared_cache_dir() / "chunks").glob("*.npz"))) == 2
    calls.clear()
    monkeypatch.setattr(Grammar, "encode", lambda self, batch: (calls.append(list(batch)), original(self, batch))[1])
    result, from_cache = encode_rows(strings, zinc, "molecules", workers=1, progress=False, chunk_size=10)
    assert calls == [strings[20:30]], "only the unfinished chunk is encoded again"
    assert not from_cache and result.ok.all() and len(result.indices) == 30
    assert list((prepared_cache_dir() / "chunks").glob("*.npz")) == []


def test_unknown_kind_and_unwritable_output(mixed: StringSource, zinc: Grammar, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^kind 'proteins': expected one of"):
        prepare_dataset(mixed, zinc, kind="proteins", progress=False)  # type: ignore[arg-type]
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DataError, match="cannot create output directory"):
        prepare_dataset(mixed, zinc, kind="molecules", out_dir=blocker / "out", progress=False)


def test_zinc_subset_acceptance_and_every_reject_explained(zinc_subset_path: Path, zinc: Grammar) -> None:
    source = read_file(zinc_subset_path)
    prepared = prepare_dataset(source, zinc, kind="molecules", workers=2, progress=False)
    summary = prepared.summary
    assert summary["total"] == len(source) > 24_000
    assert summary["accepted"] / summary["total"] >= 0.97
    assert summary["accepted"] + sum(summary["rejected"].values()) == summary["total"]
    file_lines = zinc_subset_path.read_text().split("\n")
    for reject in prepared.rejects:
        assert reject.reason in REASONS
        assert reject.input == (file_lines[reject.line - 1].split() or [""])[0]
    # Worker chunks are merged in source order: sampled rows decode back to their own strings.
    sample = np.random.default_rng(0).choice(len(prepared.strings), size=200, replace=False)
    decoded = zinc.decode(prepared.indices[sample])
    assert decoded == [prepared.strings[i] for i in sample]
    assert [file_lines[prepared.lines[i] - 1].split()[0] for i in sample] == [prepared.strings[i] for i in sample]


def test_expression_file_slice_fully_accepted(expr_dataset_path: Path, expr: Grammar) -> None:
    source = load_strings("expr", data=expr_dataset_path, limit=5000)
    prepared = prepare_dataset(source, expr, kind="expressions", workers=2, progress=False)
    assert prepared.summary["accepted"] == 5000 and prepared.rejects == []
    assert prepared.indices.shape == (5000, 15)
    assert expr.decode(prepared.indices[-50:]) == prepared.strings[-50:]


def test_default_grammar_and_kind_for_sources(tmp_path: Path) -> None:
    assert resolve_module.default_grammar_name("zinc") == "zinc"
    assert resolve_module.default_grammar_name("x/y.smi") == "zinc"
    assert resolve_module.default_grammar_name("expr") == "expr"
    assert resolve_module.default_grammar_name("x/y.txt") is None
    with pytest.raises(ConfigError, match="^grammar not given, and x/y.txt has no default one: pass grammar zinc, expr or FILE$"):
        resolve_module.resolve_grammar(None, "x/y.txt")
    with pytest.raises(ConfigError, match="grammar not found: nope.cfg"):
        resolve_module.resolve_grammar("nope.cfg", "zinc")
    assert resolve_module.grammar_kind(Grammar.builtin("zinc")) == "molecules"
    assert resolve_module.grammar_kind(Grammar.builtin("expr")) == "expressions"


def test_grammar_resolution_has_one_implementation_for_both_entry_points(tmp_path: Path) -> None:
    # lsbo grammar (Grammar.resolve) and lsbo data prepare --grammar (resolve_grammar) turn the same
    # argument into the same grammar, or fail with the same one-line message.
    grammar_file = tmp_path / "pairs.cfg"
    grammar_file.write_text("S -> 'a' S 'b' | 'a' 'b'\n")
    direct = Grammar.resolve(str(grammar_file), tokenizer="whitespace")
    via_prepare = resolve_module.resolve_grammar(str(grammar_file), "rows.txt", tokenizer="whitespace")
    assert direct.text == via_prepare.text and direct.tokenizer.name == via_prepare.tokenizer.name == "whitespace"
    assert direct.encode(["a a b b"]).ok.all() and via_prepare.encode(["a a b b"]).ok.all()
    for missing, expected in ((tmp_path / "nope.cfg", "grammar not found"), (tmp_path, "grammar path is a directory")):
        with pytest.raises(ConfigError) as from_grammar:
            Grammar.resolve(str(missing))
        with pytest.raises(ConfigError) as from_prepare:
            resolve_module.resolve_grammar(str(missing), "zinc")
        assert str(from_grammar.value) == str(from_prepare.value)
        assert str(from_grammar.value).startswith(f"{expected}: {missing} (built-in: expr, zinc")
    assert Grammar.resolve("expr").text == resolve_module.resolve_grammar(None, "expr").text


def test_collect_rejects_keeps_source_lines_and_splits_reasons() -> None:
    source = StringSource(["ok", "", "C%1", "CCC"], [3, 5, 8, 13], origin="test")
    rejects = prepare_module.collect_rejects(source, ["", "empty", "untokenizable: character '%' at position 1", "too long: 3 > 2"])
    assert [(r.line, r.input, r.reason, r.detail) for r in rejects] == [
        (5, "", "empty", ""),
        (8, "C%1", "untokenizable", "character '%' at position 1"),
        (13, "CCC", "too long", "3 > 2"),
    ]


def test_custom_grammar_file_with_whitespace_tokens(tmp_path: Path) -> None:
    grammar_file = tmp_path / "pairs.cfg"
    grammar_file.write_text("# max_length: 12\nS -> 'a' S 'b' | 'a' 'b'\n")
    rows = tmp_path / "rows.txt"
    rows.write_text("a b\na a b b\na b b\nc\n" + " ".join(["a"] * 13 + ["b"] * 13) + "\n")  # 13 > 12
    grammar = resolve_module.resolve_grammar(str(grammar_file), str(rows), tokenizer="whitespace")
    prepared = prepare_dataset(read_file(rows), grammar, kind=resolve_module.grammar_kind(grammar), progress=False)
    assert prepared.summary["kind"] == "strings"
    assert prepared.strings == ["a b", "a a b b"]
    assert prepared.summary["rejected"] == {"no parse": 1, "untokenizable": 1, "too long": 1}
    assert grammar.decode(prepared.indices) == prepared.strings


def test_character_preparation_shares_the_row_checks(mixed: StringSource, tmp_path: Path) -> None:
    from lsbo.data.chars import CharVocabulary
    from lsbo.data.prepare import prepare_characters

    prepared, vocabulary = prepare_characters(mixed, kind="molecules", max_length=40, out_dir=tmp_path / "c")
    # No grammar: '%' and '[2H]' are ordinary characters here, and only the 300-atom chain is too long.
    assert prepared.strings == ["CCO", "C%12CC%12", "[2H]C", "c1ccccc1", "CC(=O)O"]
    assert {r.line: r.reason for r in prepared.rejects} == {2: "empty", 3: "invalid smiles", 6: "too long"}
    assert vocabulary.decode(prepared.indices) == prepared.strings
    assert CharVocabulary.from_dict(json.loads((tmp_path / "c" / "vocabulary.json").read_text())) == vocabulary
    assert load_prepared(tmp_path / "c").strings == prepared.strings
    narrow = CharVocabulary.build(["CCO"], max_length=40)
    again, _ = prepare_characters(mixed, kind="molecules", vocabulary=narrow)
    assert again.strings == ["CCO"]
    assert again.summary["rejected"]["untokenizable"] == 4


def test_default_source_kind_follows_the_source() -> None:
    assert [source_kind(s) for s in ("zinc", "ZINC250K", "mols.smi", "mols.csv", "expr", "notes.txt")] == [
        "molecules",
        "molecules",
        "molecules",
        "molecules",
        "expressions",
        "strings",
    ]
