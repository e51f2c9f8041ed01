"""Throughput of the exact fast parser against nltk's ChartParser, measured in one run.

For each dataset: tokenize every string, then time

- nltk ``ChartParser`` (first parse -> preorder production indices, as the Grammar VAE does) on a
  random sample of ``--nltk-sample`` strings (it is too slow for all of them),
- :class:`lsbo.grammar.FastParser` on the same sample and on every string of the file (a fresh
  parser, no memo: each string is parsed, duplicates included),
- ``Grammar.encode`` on every string (tokenize + parse + padding; it parses each distinct string
  once per call, so its figure benefits from duplicates -- the number of distinct strings is printed),

and check that both parsers give identical derivations on the sample. Single process throughout;
times are CPU seconds of this process (``time.process_time``), which other jobs disturb less than wall time.

    python benchmarks/parse_speed.py                       # both shared datasets
    python benchmarks/parse_speed.py --nltk-sample 300 --markdown
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from pathlib import Path

from lsbo.grammar import FastParser, Grammar
from lsbo.settings import shared_data_dir


def _per_item(function, items: Sequence) -> tuple[float, list]:
    # CPU time of this process: on a shared machine, wall time mostly measures the other jobs.
    start = time.process_time()
    out = [function(item) for item in items]
    return (time.process_time() - start) / max(len(items), 1), out


def measure(grammar_name: str, path: Path, nltk_sample: int, seed: int) -> dict:
    grammar = Grammar.builtin(grammar_name)
    strings = [line for line in path.read_text().split("\n") if line]
    tokens: list[list[str]] = []
    for s in strings:
        try:
            tokens.append(grammar.tokenize(s))
        except Exception:  # untokenizable strings are not parser work; they are skipped here
            pass
    sample = random.Random(seed).sample(tokens, min(nltk_sample, len(tokens)))

    reference = FastParser(grammar.cfg)
    reference.nltk_parse(sample[0])  # build nltk's parser outside the timed region
    nltk_time, nltk_out = _per_item(reference.nltk_parse, sample)

    fast = FastParser(grammar.cfg)
    fast_sample_time, fast_out = _per_item(fast.parse, sample)
    fast = FastParser(grammar.cfg)
    fast_all_time, _ = _per_item(fast.parse, tokens)

    start = time.process_time()
    encoded = Grammar.builtin(grammar_name).encode(strings)
    encode_time = (time.process_time() - start) / len(strings)

    mismatches = sum(a != b for a, b in zip(nltk_out, fast_out))
    return {
        "grammar": grammar_name,
        "file": path.name,
        "strings": len(strings),
        "distinct": len(set(strings)),
        "tokenized": len(tokens),
        "nltk_sample": len(sample),
        "nltk_ms": nltk_time * 1e3,
        "fast_sample_ms": fast_sample_time * 1e3,
        "fast_all_ms": fast_all_time * 1e3,
        "encode_ms": encode_time * 1e3,
        "accepted": int(encoded.ok.sum()),
        "ratio_all": nltk_time / fast_all_time,
        "ratio_sample": nltk_time / fast_sample_time,
        "mismatches": mismatches,
        "fast_stats": fast.stats.as_dict(),
        "conflicts": fast.tables.n_conflicts,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir(), help="directory of the shared datasets")
    parser.add_argument("--nltk-sample", type=int, default=300, help="strings parsed by nltk (per dataset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print a table for benchmarks/SPEED.md")
    args = parser.parse_args(argv)

    rows = [
        measure("zinc", args.data / "zinc250k_subset.smi", args.nltk_sample, args.seed),
        measure("expr", args.data / "equation2_15_dataset.txt", args.nltk_sample, args.seed),
    ]
    for row in rows:
        print(
            f"{row['grammar']}: {row['strings']} strings ({row['distinct']} distinct, {row['accepted']} accepted); "
            f"nltk {row['nltk_ms']:.3f} ms/string on {row['nltk_sample']}; fast {row['fast_sample_ms']:.4f} ms on "
            f"the same sample, {row['fast_all_ms']:.4f} ms over all {row['tokenized']}; ratio "
            f"{row['ratio_all']:.0f}x (all) / {row['ratio_sample']:.0f}x (same sample); "
            f"encode {row['encode_ms']:.4f} ms/string; derivation mismatches {row['mismatches']}/{row['nltk_sample']}; "
            f"fast parser routes {row['fast_stats']}; LR conflicts {row['conflicts']}"
        )
    if args.markdown:
        print()
        print("| data | strings (distinct) | nltk ChartParser ms/string (sample) | fast parser ms/string (all) | "
              "ratio (all / same sample) | Grammar.encode ms/string | mismatches vs nltk |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for row in rows:
            print(
                f"| {row['file']} | {row['strings']} ({row['distinct']}) | {row['nltk_ms']:.2f} ({row['nltk_sample']}) | "
                f"{row['fast_all_ms']:.4f} | {row['ratio_all']:.0f}x / {row['ratio_sample']:.0f}x | "
                f"{row['encode_ms']:.4f} | {row['mismatches']}/{row['nltk_sample']} |"
            )


if __name__ == "__main__":
    main()
