"""Tables beside the paper's numbers, and plots of optimisation runs.

The paper's Table 2 (best scores found by Bayesian optimisation) and Table 3 (fraction of valid
decoded points and average valid score, mean +- std over 5 trials) are embedded below as data, so an
installed package can print them next to a run's own numbers; a test checks they agree with
``reference/paper_results.md`` wherever that file is available.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lsbo.objectives.base import is_better
from lsbo.persistence import atomic_write_bytes

#: Paper, Table 2: the 1st, 2nd and 3rd best scores per model (expr: lower is better; mol: higher).
PAPER_TABLE2: dict[str, dict[str, tuple[float, float, float]]] = {
    "GVAE": {"expr": (0.10, 0.46, 0.52), "mol": (3.13, 3.10, 2.37)},
    "CVAE": {"expr": (0.45, 0.48, 0.61), "mol": (2.75, 0.82, 0.63)},
    "GCVVAE": {"expr": (0.39, 0.40, 0.43), "mol": (3.22, 2.83, 2.63)},
    "GRAE": {"expr": (0.39, 0.39, 0.43), "mol": (3.74, 3.52, 3.14)},
    "GMM-DAE (paper)": {"expr": (0.03, 0.40, 0.41), "mol": (4.15, 3.84, 3.12)},
}
#: Paper, Table 3: (mean, std) of the fraction of valid points and of the average valid score.
PAPER_TABLE3: dict[str, dict[str, dict[str, tuple[float, float]]]] = {
    "GVAE": {"expr": {"valid": (0.99, 0.01), "score": (3.26, 0.20)}, "mol": {"valid": (0.28, 0.04), "score": (-7.89, 1.90)}},
    "CVAE": {"expr": {"valid": (0.82, 0.07), "score": (4.74, 0.25)}, "mol": {"valid": (0.16, 0.04), "score": (-25.64, 6.35)}},
    "GCVVAE": {"expr": {"valid": (0.99, 0.01), "score": (2.85, 0.08)}, "mol": {"valid": (0.76, 0.06), "score": (-6.40, 0.80)}},
    "GRAE": {"expr": {"valid": (1.00, 0.00), "score": (3.22, 0.03)}, "mol": {"valid": (0.72, 0.09), "score": (-5.62, 0.71)}},
    "GMM-DAE (paper)": {"expr": {"valid": (1.00, 0.00), "score": (3.32, 0.04)}, "mol": {"valid": (0.72, 0.03), "score": (-5.08, 1.30)}},
}
#: Which paper columns a target's numbers are comparable with.
PAPER_TASK_OF_TARGET = {"expr": "expr", "logp": "mol"}


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _pm(mean: float | None, std: float | None, digits: int = 2) -> str:
    return "-" if mean is None else f"{_fmt(mean, digits)} +- {_fmt(std, digits)}"


def parse_paper_bo_tables(markdown: str) -> tuple[dict[str, dict[str, tuple[float, ...]]], dict[str, dict[str, dict[str, tuple[float, float]]]]]:
    """Read Tables 2 and 3 back from ``paper_results.md`` (for checking the embedded copies)."""
    table2: dict[str, dict[str, tuple[float, ...]]] = {}
    table3: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    section = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            section = "2" if line.startswith("## Table 2") else "3" if line.startswith("## Table 3") else None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if section is None or not line.startswith("|") or cells[0] in ("model", "---") or set(cells[0]) <= {"-", " "}:
            continue
        if section == "2":
            numbers = [float(c) for c in cells[1:7]]
            table2[cells[0]] = {"expr": tuple(numbers[:3]), "mol": tuple(numbers[3:])}
        else:
            pairs = [tuple(float(v) for v in re.split(r"\s*\+-\s*", c)) for c in cells[1:5]]
            table3[cells[0]] = {"expr": {"valid": pairs[0], "score": pairs[1]}, "mol": {"valid": pairs[2], "score": pairs[3]}}  # type: ignore[dict-item]
    return table2, table3


def bo_table_markdown(results: Mapping[str, Any], label: str) -> str:
    """Tables 2 and 3 of the paper for one run: the paper's rows, then ours (``label``)."""
    target = results["target"]
    task = PAPER_TASK_OF_TARGET.get(target)
    direction = "higher is better" if results["maximize"] else "lower is better"
    aggregate = results["aggregate"]
    top = [entry["score"] for entry in aggregate["top3"]] + [None] * 3
    lines = [f"### Best scores found ({target}, {direction}; paper Table 2 layout)", "", _row(["model", "1st", "2nd", "3rd"]), _row(["---"] * 4)]
    if task:
        lines += [_row([name, *(_fmt(v) for v in cols[task])]) for name, cols in PAPER_TABLE2.items()]
    lines.append(_row([f"**{label} (ours)**", *(_fmt(v) for v in top[:3])]))
    lines += ["", f"### Valid fraction and average valid score, mean +- std over {results['n_trials']} trial(s) (paper Table 3 layout)", "",
              _row(["model", "frac. valid", f"avg score ({direction})"]), _row(["---"] * 3)]
    if task:
        lines += [_row([name, _pm(*cols[task]["valid"]), _pm(*cols[task]["score"])]) for name, cols in PAPER_TABLE3.items()]
    lines.append(_row([f"**{label} (ours)**", _pm(aggregate["fraction_valid_mean"], aggregate["fraction_valid_std"]),
                       _pm(aggregate["average_score_mean"], aggregate["average_score_std"])]))
    lines += ["", "### Top strings found (ours)", "", _row(["rank", "score", "string", "trial"]), _row(["---"] * 4)]
    lines += [_row([str(i + 1), _fmt(e["score"], 4), f"`{e['string']}`", str(e["trial"])]) for i, e in enumerate(aggregate["top3"])]
    if not task:
        lines += ["", f"(The paper reports no numbers for target {target!r}.)"]
    return "\n".join(lines) + "\n"


def plot_best_so_far(trials: Mapping[int, Sequence[Mapping[str, Any]]], path: Path, *, maximize: bool, training_best: float | None, title: str) -> None:
    """Best score found so far against the number of evaluations, one line per trial."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for trial, records in sorted(trials.items()):
        best: list[float] = []
        current = math.nan
        for record in records:
            score = record.get("score")
            if score is not None and (math.isnan(current) or is_better(score, current, maximize)):
                current = float(score)
            best.append(current)
        axes.plot(range(1, len(best) + 1), best, label=f"trial {trial}")
    if training_best is not None and math.isfinite(training_best):
        axes.axhline(training_best, color="grey", linestyle="--", linewidth=1, label="best training string")
    axes.set_xlabel("evaluations")
    axes.set_ylabel("best score so far" + (" (higher is better)" if maximize else " (lower is better)"))
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    atomic_write_bytes(path, lambda handle: figure.savefig(handle, format="png", dpi=120))
    plt.close(figure)


def draw_molecule_grid(smiles: Sequence[str], scores: Sequence[float], path: Path, per_row: int = 4) -> bool:
    """Grid image of molecules with their scores (RDKit drawing); False if none could be drawn."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    molecules, legends = [], []
    for text, score in zip(smiles, scores):
        mol = Chem.MolFromSmiles(text)
        if mol is not None:
            molecules.append(mol)
            legends.append(f"{score:.2f}")
    if not molecules:
        return False
    image = Draw.MolsToGridImage(molecules, molsPerRow=min(per_row, len(molecules)), subImgSize=(260, 220), legends=legends)
    atomic_write_bytes(path, lambda handle: image.save(handle, format="PNG"))
    return True
