"""Golden values of PMO's AUC, computed by PMO's own ``top_auc`` (not by lsbo).

Writes ``tests/bo/data/pmo_auc_golden.json``, which ``tests/bo/test_pmo_auc.py`` checks
:func:`lsbo.bo.metrics.pmo_auc` against. ``top_auc`` is read from a checkout of PMO's repository
(``wenhao-gao/mol_opt``, ``main/optimizer.py``) and run by itself (that module imports torch and
TDC, which the function does not use; it needs NumPy only)::

    python benchmarks/pmo_auc_golden.py --optimizer MOL_OPT/main/optimizer.py --out tests/bo/data/pmo_auc_golden.json

Each case is a call sequence of the scores of distinct molecules, made by :func:`call_sequence`
from a seed (Python's ``random.Random(seed).random()``, whose stream Python keeps fixed across
versions, so the test rebuilds the same sequence), given to ``top_auc`` as PMO's oracle buffer:
``{smiles: [score, call number]}``.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import math
import random
import warnings

import numpy as np

KINDS = ("uniform", "ties", "signed")


def call_sequence(seed: int, length: int, kind: str) -> list[float]:
    """``length`` scores: uniform in [0, 1), rounded to one decimal (many ties), or in [-1, 1)."""
    rng = random.Random(seed)
    draws = [rng.random() for _ in range(length)]
    if kind == "ties":
        return [round(x, 1) for x in draws]
    if kind == "signed":
        return [2 * x - 1 for x in draws]
    return draws


def load_top_auc(path: str):  # type: ignore[no-untyped-def]
    """PMO's ``top_auc``, taken from its source file and defined alone (with NumPy as ``np``)."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "top_auc"]
    namespace: dict[str, object] = {"np": np}
    exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), namespace)  # noqa: S102
    return namespace["top_auc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", required=True, help="main/optimizer.py of a mol_opt checkout")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    top_auc = load_top_auc(args.optimizer)

    settings = []  # (budget, freq_log, lengths)
    settings.append((1000, 100, [1, 2, 9, 10, 11, 99, 100, 101, 150, 199, 200, 201, 555, 900, 999, 1000, 1001, 1002, 1100, 1250]))
    settings.append((10000, 100, [37, 5000, 9999, 10000, 10001, 10500]))
    settings.append((50, 7, [1, 6, 7, 8, 13, 14, 15, 49, 50, 51, 70]))
    settings.append((300, 1, [1, 2, 150, 299, 300, 301]))
    settings.append((100, 200, [1, 99, 100, 101, 250]))  # freq_log above the budget: no trapezoid before the last
    cases = []
    seed = 0
    for (budget, freq_log, lengths), top_n, finish in itertools.product(settings, (1, 10, 100), (True, False)):
        for length in lengths:
            kind = KINDS[seed % len(KINDS)]
            scores = call_sequence(seed, length, kind)
            buffer = {f"molecule-{i}": [score, i + 1] for i, score in enumerate(scores)}
            value = float(top_auc(buffer, top_n, finish, freq_log, budget))
            cases.append({"seed": seed, "length": length, "kind": kind, "top_n": top_n, "freq_log": freq_log,
                          "budget": budget, "finish": finish, "auc": value})
            seed += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the mean of no scores
        assert math.isnan(top_auc({}, 10, True, 100, 1000))  # the empty buffer, which lsbo's test checks too
    produced_by = "benchmarks/pmo_auc_golden.py: top_auc of PMO's main/optimizer.py (wenhao-gao/mol_opt)"
    with open(args.out, "w") as handle:  # one case a line
        handle.write('{"produced_by": ' + json.dumps(produced_by) + ', "numpy": ' + json.dumps(np.__version__)
                     + ',\n"cases": [\n' + ",\n".join(json.dumps(c) for c in cases) + "\n]}\n")
    print(f"{len(cases)} cases -> {args.out}")


if __name__ == "__main__":
    main()
