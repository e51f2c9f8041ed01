"""Cost of the grammar bounds of grammars/README.md ("Limits"): parser-table build time against the
number of terminals, and what a megabyte input line costs before and after the length bound.

    nice -n 10 python benchmarks/grammar_limits.py --terminals 250,500,1000,2000 --markdown

The grammar is ``S -> S T | T; T -> 't0' | ... | 't{n-1}'`` (one shift state per terminal, every
terminal in FOLLOW(T): the table is as dense as a grammar of n terminals gets). Times are wall-clock
seconds of one call (``time.perf_counter``), single process; the baseline of each row is the smallest
grammar, so ratios show the growth (square: x4 per doubling). The long-line rows time
``Grammar.encode`` of one SMILES line of the given length with the bound (rejected by size) against
the parse of the longest line it still lets through.
"""

from __future__ import annotations

import argparse
import time

from lsbo.grammar import Grammar
from lsbo.grammar.grammar import parse_cfg
from lsbo.grammar.parser import MAX_TABLE_CELLS, build_lr_tables


def many_terminals(n: int) -> str:
    return "S -> S T | T\nT -> " + " | ".join(f"'t{i}'" for i in range(n)) + "\n"


def time_table(n: int) -> tuple[float, int]:
    cfg = parse_cfg(many_terminals(n), f"{n} terminals")
    start = time.perf_counter()
    tables = build_lr_tables(cfg, max_cells=10**12)
    return time.perf_counter() - start, tables.n_states * (tables.end + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--terminals", default="250,500,1000,2000", help="comma-separated terminal counts")
    parser.add_argument("--line-chars", type=int, default=1_000_000, help="length of the over-long SMILES line")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    counts = [int(v) for v in args.terminals.split(",")]
    rows = []
    base = None
    for n in counts:
        seconds, cells = time_table(n)
        base = base or seconds
        rows.append((f"table build, {n} terminals", f"{cells:,} cells", f"{seconds:.3f} s", f"x{seconds / base:.1f}"))
    zinc = Grammar.builtin("zinc")
    start = time.perf_counter()
    zinc.encode(["C" * args.line_chars])
    rejected = time.perf_counter() - start
    longest = "C" * zinc.max_tokens
    start = time.perf_counter()
    zinc.encode([longest])
    bounded = time.perf_counter() - start
    rows.append((f"encode 1 SMILES of {args.line_chars:,} chars (rejected by size)", "-", f"{rejected:.4f} s", "-"))
    rows.append((f"encode 1 SMILES of {zinc.max_tokens} atoms (longest let through)", "-", f"{bounded:.4f} s", "-"))
    header = ("measurement", "size", "time", "ratio vs first row")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for row in rows:
            print("  ".join(row))
    print(f"cap: {MAX_TABLE_CELLS:,} cells")


if __name__ == "__main__":
    main()
