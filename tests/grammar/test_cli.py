"""``lsbo grammar info`` and ``lsbo grammar parse`` through the installed console script (issue 2, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_info_on_a_builtin_lists_productions_length_and_nonterminals() -> None:
    result = run_cli("grammar", "info", "zinc")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "productions: 76" in out and "max length: 277" in out
    assert "smiles" in out and "BACH" in out
    assert "  74  chain -> chain bond branched_atom" in out
    assert "  75  (padding)" in out
    assert "   29  BACH -> charge class   [masked" in out
    assert "warning: non-productive symbol class" in result.stderr


def test_describe_feeds_the_json_summary(tmp_path: Path) -> None:
    # In-process: the CLI's --json prints exactly this dictionary (one subprocess test above suffices).
    from lsbo.grammar import Grammar

    path = tmp_path / "mine.cfg"
    path.write_text("S -> 'a' S | 'b'\nU -> 'c'\n", encoding="utf-8")
    summary = json.loads(json.dumps(Grammar.resolve(str(path)).describe()))
    assert summary["n_productions"] == 4 and summary["max_length_source"] == "default"
    assert summary["unreachable"] == ["U"] and summary["nonterminals"] == ["S", "U"]
    assert summary["productions"] == ["S -> 'a' S", "S -> 'b'", "U -> 'c'"]


def test_info_on_a_malformed_file_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.cfg"
    path.write_text("S -> 'a'\nS -> 'b\n", encoding="utf-8")
    result = run_cli("grammar", "info", str(path), "--json")
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "line 2" in lines[0]


def test_parse_reports_derivations_and_reasons() -> None:
    result = run_cli("grammar", "parse", "expr", "sin( x ) + 1", "x +", "x % 2", "--productions")
    assert result.returncode == 1  # some strings were rejected
    lines = result.stdout.splitlines()
    assert lines[0] == "ok        sin( x ) + 1  (6 productions of 15)"
    assert lines[1:7] == [
        "    0  S -> S '+' T", "    3  S -> T", "    5  T -> 'sin(' S ')'", "    3  S -> T", "    7  T -> 'x'", "    8  T -> '1'",
    ]
    assert lines[7] == "rejected  x +  (no parse)"
    assert lines[8] == "rejected  x % 2  (untokenizable: character '%' at position 2)"
