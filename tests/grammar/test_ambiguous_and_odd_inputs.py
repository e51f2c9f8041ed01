"""Inputs that used to end ``lsbo grammar parse`` without a word, or parse without bound (#36 items 6 and 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nltk.parse.chart import ChartParser

from lsbo.grammar import Grammar
from lsbo.grammar.parser import MAX_CHART_STEPS, nltk_derivation
from tests.conftest import run_cli

AMBIGUOUS = "# max_length: 200\n# tokenizer: whitespace\nS -> S S | S '+' S | 'a'\n"


@pytest.fixture
def ambiguous(tmp_path: Path) -> Grammar:
    path = tmp_path / "ambiguous.cfg"
    path.write_text(AMBIGUOUS)
    return Grammar.from_file(path)


def test_the_first_parse_of_an_ambiguous_input_is_nltks_without_listing_every_parse(ambiguous: Grammar) -> None:
    parser = ambiguous.parser
    parser.nltk_parse(["a"])  # builds the fallback parser
    for n in (2, 3, 5, 8):  # nltk can still list every parse of these
        tokens = ["a"] * n
        first = next(iter(ChartParser(parser.cfg).parse(tokens)))
        assert nltk_derivation(parser._nltk, parser._production_index, tokens) == [parser._production_index[p] for p in first.productions()]
    # 24 tokens have 3e12 parses: nltk refuses to list them (its node budget); the first one is built directly
    derivation, reason = ambiguous.encode_one(" ".join(["a"] * 24))
    assert reason is None and derivation is not None and len(derivation) == 47


def test_an_input_too_ambiguous_to_parse_is_refused_with_its_reason(ambiguous: Grammar) -> None:
    derivation, reason = ambiguous.encode_one(" ".join(["a"] * 60))
    assert derivation is None and reason is not None
    assert reason.startswith(f"too ambiguous: parsing these 60 tokens takes more than {MAX_CHART_STEPS:,} chart-parser steps")


def test_rejected_inputs_are_named_on_stdout_and_counted_on_stderr() -> None:
    odd = ["C\u200bC", "\U0001f600", "\udcff\udcfe", "C" * 5000, "'; DROP TABLE molecules; --", "$(rm -rf /)", "C\x07C"]
    result = run_cli("grammar", "parse", "zinc", "CCO", *odd)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok        CCO") and len(lines) == 1 + len(odd)
    assert all(line.startswith("rejected  ") and line.endswith(")") for line in lines[1:])
    assert lines[1].startswith("rejected  C\\u200bC  (untokenizable")  # an invisible character is shown escaped
    assert lines[4].startswith("rejected  " + "C" * 80 + "... (5,000 characters)  (too long")
    assert max(len(line) for line in lines) < 400
    assert result.stderr.strip() == f"error: {len(odd)} of {len(odd) + 1} string(s) do not parse with grammar zinc (reasons above)"
