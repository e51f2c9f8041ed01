"""Bounds on what a grammar will work on (issue 16, items 4, 5, 10 and 12): over-long strings are
rejected by size before they are parsed, grammars whose tables or derivation length would be
unreasonably large are refused with a line naming the file, and the library refuses a bare ``str``
where it expects a list of strings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from lsbo.errors import GrammarError, InputTypeError
from lsbo.grammar import Grammar
from lsbo.grammar.grammar import MAX_MAX_LENGTH
from lsbo.grammar.parser import build_lr_tables


class _Spy:
    """Wraps a callable and records the length of its first argument on every call."""

    def __init__(self, function):
        self.function = function
        self.sizes: list[int] = []

    def __call__(self, value, *args, **kwargs):
        self.sizes.append(len(value))
        return self.function(value, *args, **kwargs)


def _spied(grammar: Grammar, monkeypatch: pytest.MonkeyPatch) -> tuple[_Spy, _Spy]:
    tokenize, parse = _Spy(grammar.tokenizer.tokenize), _Spy(grammar.parser.parse)
    monkeypatch.setattr(grammar.tokenizer, "tokenize", tokenize)
    monkeypatch.setattr(grammar.parser, "parse", parse)
    return tokenize, parse


def test_max_tokens_is_derived_from_the_grammar(zinc: Grammar, expr: Grammar) -> None:
    # T times the most terminals on one right-hand side: 2 for SMILES ('[' ... ']' of a bracket
    # atom is the only production writing two), 2 for expressions ('(' S ')', 'sin(' S ')').
    most = {g.name: max(sum(isinstance(s, str) for s in p.rhs()) for p in g.productions) for g in (zinc, expr)}
    assert zinc.max_tokens == 277 * most["zinc"] and expr.max_tokens == 15 * most["expr"]
    assert zinc.max_characters == zinc.max_tokens * max(len(t) for t in zinc.terminals)


def test_accepted_strings_never_exceed_the_token_bound(zinc: Grammar, zinc_subset_path: Path) -> None:
    strings = zinc_subset_path.read_text().split()[:300]
    result = zinc.encode(strings)
    assert result.ok.sum() > 250
    for text, ok in zip(strings, result.ok):
        if ok:
            assert len(zinc.tokenize(text)) <= zinc.max_tokens


def test_a_megabyte_smiles_is_rejected_without_tokenizing_or_parsing(zinc: Grammar, monkeypatch: pytest.MonkeyPatch) -> None:
    grammar = Grammar.builtin("zinc")  # a private copy: the spies must not leak into the session fixture
    tokenize, parse = _spied(grammar, monkeypatch)
    huge = "C" * 1_000_000
    result = grammar.encode([huge, "CCO"])
    assert result.reasons[0] == (
        f"too long: 1000000 characters, more than the {grammar.max_characters} that 277 productions can derive "
        "(max_length 277)"
    )
    assert result.ok.tolist() == [False, True]
    assert tokenize.sizes == [3] and parse.sizes == [3]  # only "CCO" reached the tokenizer and the parser


def test_too_many_tokens_are_rejected_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    grammar = Grammar.builtin("zinc")
    tokenize, parse = _spied(grammar, monkeypatch)
    over = "C" * (grammar.max_tokens + 1)  # few enough characters to tokenize, too many tokens to derive
    chains = ["C" * n for n in (10, 100, 600, 1100)]
    result = grammar.encode([over, *chains])
    assert result.reasons[0] == (
        f"too long: {grammar.max_tokens + 1} tokens, more than the {grammar.max_tokens} that 277 productions "
        "can derive (max_length 277)"
    )
    # the parser only ever sees inputs within the bound; longer ones are reported as too long
    assert tokenize.sizes[0] == len(over) and len(over) not in parse.sizes
    assert parse.sizes and max(parse.sizes) <= grammar.max_tokens
    assert all(r is None or r.startswith("too long") for r in result.reasons)
    assert result.ok.tolist() == [False, True, False, False, False]  # 100 atoms take over 277 productions


def test_whitespace_does_not_count_towards_the_character_bound(expr: Grammar) -> None:
    padded = "x" + " " * (10 * expr.max_characters) + "+ 1"
    assert expr.encode([padded]).ok.tolist() == [True]


def test_a_user_tokenizer_is_still_bounded_by_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    grammar = Grammar.from_string("S -> S 'a' | 'a'\n", tokenizer=lambda text: [c for c in text if c == "a"], max_length=5)
    assert grammar.max_characters is None  # a callable may drop characters: no character bound
    parse = _Spy(grammar.parser.parse)
    monkeypatch.setattr(grammar.parser, "parse", parse)
    result = grammar.encode(["a-" * 6, "aaa"])
    assert result.reasons[0].startswith("too long: 6 tokens, more than the 5")
    assert parse.sizes == [3]


# -- grammars too large to build -----------------------------------------------------------------


def _many_terminals(n: int) -> str:
    return "S -> S T | T\nT -> " + " | ".join(f"'t{i}'" for i in range(n)) + "\n"


def test_a_grammar_with_twenty_thousand_terminals_is_refused_by_size(tmp_path: Path, cli) -> None:
    path = tmp_path / "huge.cfg"
    path.write_text(_many_terminals(20_000))
    result = cli("grammar", "info", str(path))
    assert result.returncode == 1
    assert re.fullmatch(
        rf"error: {re.escape(str(path))}: too large for the parser: 20000 terminals and at least \d+ LR states make a "
        r"table of over [\d,]+ cells, more than the 5,000,000 lsbo builds; .*\n",
        result.stderr,
    ), result.stderr


def test_table_bound_is_checked_before_the_table_is_built() -> None:
    from lsbo.grammar.grammar import parse_cfg

    cfg = parse_cfg(_many_terminals(300), "x")
    assert build_lr_tables(cfg).n_states == 304  # within the default bound
    with pytest.raises(GrammarError, match="300 terminals and at least 303 LR states make a table of over 91,203 cells, more than the 10,000 lsbo builds"):
        build_lr_tables(cfg, max_cells=10_000)


def test_max_length_header_is_bounded_naming_file_and_line(tmp_path: Path, cli) -> None:
    path = tmp_path / "long.cfg"
    path.write_text("# tokenizer: whitespace\n# max_length: 100000000\nS -> 'a'\n")
    result = cli("grammar", "info", str(path))
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {path}, line 2: max_length 100000000 is more than the {MAX_MAX_LENGTH} lsbo supports "
        "(each string is a sequence of that many decoder steps)\n"
    )
    with pytest.raises(GrammarError, match=rf"max_length must lie in \[1, {MAX_MAX_LENGTH}\], got 100001"):
        Grammar.from_string("S -> 'a'\n", max_length=100_001)
    assert Grammar.from_string("S -> 'a'\n", max_length=MAX_MAX_LENGTH).max_length == MAX_MAX_LENGTH


# -- library arguments -----------------------------------------------------------------------------


def test_encode_refuses_a_single_string_naming_the_parameter(expr: Grammar) -> None:
    with pytest.raises(InputTypeError, match=r"^strings must be a list of strings, got a single str 'x \+ 1'; pass \['x \+ 1'\] for one$"):
        expr.encode("x + 1")
    assert isinstance(InputTypeError("x"), TypeError)  # also what Python code expects for a wrong type
    assert expr.encode(("x + 1", "x")).ok.tolist() == [True, True]  # any sequence of strings is fine
    assert expr.encode(s for s in ["x + 1"]).ok.tolist() == [True]  # and any iterable


def test_non_finite_logits_decode_to_no_string_with_a_reason(expr: Grammar) -> None:
    logits = torch.randn(4, expr.max_length, expr.n_productions, generator=torch.Generator().manual_seed(0))
    logits[1, 3, 2] = float("nan")
    logits[2] = float("inf")
    logits[3, :, 0] = float("-inf")  # probability zero: a legitimate score
    batch = expr.decode_logits(logits)
    assert batch.strings[1] is None and batch.strings[2] is None
    assert batch.reasons[1] == f"non-finite logits: NaN or +inf, first at decoding step 4 of {expr.max_length}"
    assert batch.reasons[2] == f"non-finite logits: NaN or +inf, first at decoding step 1 of {expr.max_length}"
    assert batch.strings[0] is not None and batch.strings[3] is not None
    assert batch.reasons[0] is None and batch.reasons[3] is None
    assert expr.encode([batch.strings[3]]).ok.all()
    always_recurse = torch.zeros(1, expr.max_length, expr.n_productions)
    always_recurse[..., 0] = 10.0  # S -> S '+' T at every step never finishes under plain masking
    plain = expr.decode_logits(always_recurse, complete=False)
    assert plain.strings == [None]
    assert plain.reasons == [f"incomplete: the derivation did not finish within {expr.max_length} steps"]


# -- tokenizing expressions as people write them ----------------------------------------------------


@pytest.mark.parametrize(
    "compact, spaced",
    [
        ("x+sin(x*x)", "x + sin( x * x )"),
        ("1/3 + x + sin(x*x)", "1 / 3 + x + sin( x * x )"),
        ("exp(x)/(2*x)", "exp( x ) / ( 2 * x )"),
    ],
)
def test_expressions_tokenize_with_or_without_spaces(expr: Grammar, compact: str, spaced: str) -> None:
    assert expr.tokenize(compact) == expr.tokenize(spaced) == spaced.split()
    result = expr.encode([compact, spaced])
    assert result.ok.all() and (result.indices[0] == result.indices[1]).all()
    assert expr.decode(result.indices[:1]) == [spaced]  # decoded strings keep the dataset's spacing


def test_optional_spaces_agrees_with_whitespace_on_every_dataset_line(expr: Grammar, expr_dataset_path: Path) -> None:
    spaced = Grammar.builtin("expr", tokenizer="whitespace")
    lines = expr_dataset_path.read_text().splitlines()[:2000]
    assert [expr.tokenize(t) for t in lines] == [spaced.tokenize(t) for t in lines]


def test_optional_spaces_is_a_header_for_any_grammar(tmp_path: Path) -> None:
    path = tmp_path / "arith.cfg"
    path.write_text("# tokenizer: optional-spaces\nS -> S '+' T | T\nT -> 'a' | 'b' | 'ab' | '(' S ')'\n")
    g = Grammar.from_file(path)
    assert g.tokenizer.name == "optional-spaces"
    assert g.tokenize("ab+(a)") == ["ab", "+", "(", "a", ")"]
    assert g.tokenize("a b") == ["a", "b"]  # whitespace still separates tokens
    with pytest.raises(GrammarError, match=r"character '\?' at position 2"):
        g.tokenize("a+?")
    bad = tmp_path / "bad.cfg"
    bad.write_text("# tokenizer: spaces-maybe\nS -> 'a'\n")
    with pytest.raises(GrammarError, match=rf"^{re.escape(str(bad))}, line 1: tokenizer must be one of 'longest-match', 'whitespace', 'optional-spaces'"):
        Grammar.from_file(bad)


def test_compact_expression_through_the_cli(cli) -> None:
    result = cli("grammar", "parse", "expr", "1/3 + x + sin(x*x)", "x+sin(x*x)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "ok        1/3 + x + sin(x*x)  (12 productions of 15)",
        "ok        x+sin(x*x)  (8 productions of 15)",
    ]


def test_a_megabyte_line_is_a_too_long_reject_in_data_prepare(cli, tmp_path: Path) -> None:
    import csv
    import json

    data = tmp_path / "rows.smi"
    data.write_text("CCO\n" + "C" * 1_000_000 + "\nc1ccccc1\n")
    out = tmp_path / "prepared"
    done = cli("data", "prepare", str(data), "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["accepted"], summary["rejected"]) == (3, 2, {"too long": 1})
    with open(out / "rejects.csv", newline="") as handle:
        (reject,) = list(csv.DictReader(handle))
    assert reject["line"] == "2" and reject["detail"].startswith("1000000 characters, more than the 1108")
    assert reject["input"] == "C" * 1000 + "... (1000000 characters)"  # the file stays readable


def test_character_vocabulary_length_is_capped() -> None:
    from lsbo.data import CharVocabulary

    vocabulary = CharVocabulary.build(["ab", "a" * 1_000_000])
    assert vocabulary.max_length == MAX_MAX_LENGTH
    _, ok = vocabulary.encode(["ab", "a" * 1_000_000])
    assert ok.tolist() == [True, False]


def test_objective_style_batches_of_one_string_are_refused_by_trained_models_too() -> None:
    from lsbo.grammar.grammar import require_string_sequence

    with pytest.raises(InputTypeError, match="^codes must be a list of strings, got a single bytes"):
        require_string_sequence(b"x", "codes")
    with pytest.raises(InputTypeError, match="^strings must be a list of strings, got int$"):
        require_string_sequence(3, "strings")


def test_expr_models_trained_before_optional_spaces_still_resume(expr: Grammar) -> None:
    from lsbo.checkpoint import check_grammar
    from lsbo.errors import CheckpointError

    old_text = expr.text.replace("# tokenizer: optional-spaces", "# tokenizer: whitespace").replace("optional here", "was")
    assert old_text != expr.text
    check_grammar({"grammar_name": "expr", "grammar_text": old_text}, "expr", expr.text, "ckpt")  # comments only
    with pytest.raises(CheckpointError, match="differs"):  # T is part of what the indices mean
        check_grammar({"grammar_name": "expr", "grammar_text": old_text.replace("max_length: 15", "max_length: 16")},
                      "expr", expr.text, "ckpt")
