"""Tables (as pandas DataFrames) beside the paper's numbers, and plots of optimisation runs.

Every table the toolkit writes is a :class:`pandas.DataFrame` first: the per-epoch training history
(``metrics.csv``, :func:`metrics_frame`) and the paper-layout tables of a BO run (``table.md``,
:func:`bo_table_markdown`), rendered by :func:`markdown_table`.

The paper's Table 2 (best scores found by Bayesian optimisation) and Table 3 (fraction of valid
decoded points and average valid score, mean +- std over 5 trials) live in :mod:`lsbo.paper`, so an
installed package can print them next to a run's own numbers; a test checks they agree with
``reference/paper_results.md`` wherever that file is available.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsbo.objectives import target_unit
from lsbo.objectives.base import is_better
from lsbo.persistence import atomic_write_bytes, save_figure

if TYPE_CHECKING:
    import pandas as pd

from lsbo.paper import PAPER_TABLE2, PAPER_TABLE3, PAPER_TASK_OF_TARGET


def markdown_table(frame: "pd.DataFrame") -> str:
    """A DataFrame as a GitHub markdown table, cells as they are (no padding), without the index."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "| " + " | ".join(["---"] * len(frame.columns)) + " |"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False, name=None)]
    return "\n".join(lines)


def metrics_frame(history: Sequence[Mapping[str, Any]]) -> "pd.DataFrame":
    """The per-epoch training history as a DataFrame (columns: the union of keys, in order of first appearance)."""
    import pandas as pd

    columns: list[str] = []
    for row in history:
        columns.extend(key for key in row if key not in columns)
    return pd.DataFrame(list(history), columns=columns)


def metrics_csv_text(history: Sequence[Mapping[str, Any]]) -> str:
    """``metrics.csv``: :func:`metrics_frame` with floats to 6 significant digits and missing cells empty."""
    frame = metrics_frame(history)
    if frame.empty and not len(frame.columns):
        return "\n"
    return frame.to_csv(index=False, float_format="%.6g", na_rep="", lineterminator="\n")


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
    """Tables 2 and 3 of the paper for one run: the paper's rows, then ours (``label``).

    Warnings about degenerate results (``results["warnings"]``) come first, and the best training
    string's score sits under our best scores: what the search started from.
    """
    target = results["target"]
    task = PAPER_TASK_OF_TARGET.get(target)
    direction = "higher is better" if results["maximize"] else "lower is better"
    # One unit per table: the paper's rows are shown only for targets in the paper's unit.
    unit_line = f"Unit of every score column: {target_unit(target)}."
    aggregate = results["aggregate"]
    top = [entry["score"] for entry in aggregate["top3"]] + [None] * 3
    import pandas as pd

    best = pd.DataFrame(
        [[name, *(_fmt(v) for v in cols[task])] for name, cols in PAPER_TABLE2.items()] if task else [],
        columns=["model", "1st", "2nd", "3rd"],
    )
    best.loc[len(best)] = [f"**{label} (ours)**", *(_fmt(v) for v in top[:3])]
    if "best_training_score" in results:  # what the search started from
        best.loc[len(best)] = ["best training string (ours)", _fmt(results["best_training_score"]), "-", "-"]
    valid = pd.DataFrame(
        [[name, _pm(*cols[task]["valid"]), _pm(*cols[task]["score"])] for name, cols in PAPER_TABLE3.items()] if task else [],
        columns=["model", "frac. valid", f"avg score ({direction})"],
    )
    valid.loc[len(valid)] = [
        f"**{label} (ours)**", _pm(aggregate["fraction_valid_mean"], aggregate["fraction_valid_std"]),
        _pm(aggregate["average_score_mean"], aggregate["average_score_std"]),
    ]
    strings = pd.DataFrame(
        [[str(i + 1), _fmt(e["score"], 4), f"`{e['string']}`", str(e["trial"]), _rediscovery(e)] for i, e in enumerate(aggregate["top3"])],
        columns=["rank", "score", "string", "trial", "training string?"],
    )
    lines = [f"> **Warning:** {warning}" for warning in results.get("warnings", [])]
    lines += [""] if lines else []
    lines += [f"### Best scores found ({target}, {direction}; paper Table 2 layout)", "", unit_line, "", markdown_table(best)]
    lines += ["", f"### Valid fraction and average valid score, mean +- std over {results['n_trials']} trial(s) (paper Table 3 layout)", "",
              unit_line + " frac. valid: fraction of decoded points that are valid.", "", markdown_table(valid)]
    lines += ["", "### Top strings found (ours)", "", unit_line, "", markdown_table(strings)]
    if "best_mean" in aggregate:
        lines += _budget_lines(results)
    if not task:
        if target in ("logp-dataset", "logp-raw"):
            lines += ["", f"(The paper's molecule numbers are in the unit of target logp, not of {target}: not shown.)"]
        else:
            lines += ["", f"(The paper reports no numbers for target {target!r}.)"]
    return "\n".join(lines) + "\n"


def _rediscovery(entry: Mapping[str, Any]) -> str:
    if "rediscovery" not in entry:
        return "?"
    return "**yes: a rediscovery**" if entry["rediscovery"] else "no"


#: The budget metrics of lsbo.bo.metrics shown in table.md and results.csv, with their column titles.
BUDGET_COLUMNS = {"best": "best", "best_novel": "best not a training string", "top10_mean": "top-10 mean", "auc_top10": "AUC top-10", "n_calls": "calls",
                  "n_duplicates": "duplicates", "n_distinct_valid": "distinct valid"}


def _budget_lines(results: Mapping[str, Any]) -> list[str]:
    """Per trial and mean +- std: best, top-10 mean, AUC top-10, calls, duplicates (lsbo.bo.metrics)."""
    import pandas as pd

    aggregate = results["aggregate"]
    rows = []
    for trial, summary in results["trials"].items():
        top = summary["top3"][0] if summary["top3"] else {}
        cells = [str(v) if isinstance(v, int) else _fmt(v, 4) for v in (summary.get(n) for n in BUDGET_COLUMNS)]
        rows.append([trial, *cells, _rediscovery(top) if top else "-"])
    rows.append(["mean +- std", *(_pm(aggregate.get(f"{n}_mean"), aggregate.get(f"{n}_std"), 3) for n in BUDGET_COLUMNS), ""])
    frame = pd.DataFrame(rows, columns=["trial", *BUDGET_COLUMNS.values(), "best is a training string?"])
    unit = f"Unit of the best and top-10 mean columns: {target_unit(results['target'])}."
    return ["", f"### Budget metrics at {aggregate.get('budget')} calls per trial (lsbo.bo.metrics)", "", unit, "", markdown_table(frame)]


def trials_frame(results: Mapping[str, Any]) -> "pd.DataFrame":
    """One row per trial (a pandas DataFrame): counts, valid fraction, average valid score, top three."""
    import pandas as pd

    rows = []
    for trial, summary in results["trials"].items():
        row: dict[str, Any] = {"trial": int(trial), **{k: summary[k] for k in ("n_evaluations", "n_valid", "fraction_valid", "average_valid_score")}}
        row |= {name: summary[name] for name in BUDGET_COLUMNS if name in summary}
        for rank in range(3):
            entry = summary["top3"][rank] if rank < len(summary["top3"]) else {"score": None, "string": None}
            row[f"top{rank + 1}_score"], row[f"top{rank + 1}_string"] = entry["score"], entry["string"]
        rows.append(row)
    return pd.DataFrame(rows)


def best_so_far_figure(
    trials: Mapping[int, Sequence[Mapping[str, Any]]], *, maximize: bool, training_best: float | None, title: str,
    target: str = "score",
) -> Any:
    """The best-so-far figure (matplotlib): best score against evaluations, one curve per trial.

    The dashed grey line is the best training string's score, the level the search starts from.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.5, 4.2))
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
    axes.set_xlabel("oracle calls in the trial")
    axes.set_ylabel(f"best {target} so far" + (" (higher is better)" if maximize else " (lower is better)"))
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, title="curves", title_fontsize=8)
    figure.tight_layout()
    return figure


def best_so_far_title(results: Mapping[str, Any], label: str) -> str:
    """What the best-so-far plot shows: the target, the model and the budget."""
    settings = results.get("settings", {})
    budget = ""
    if settings.get("budget") is not None:
        budget = f"\n{results['n_trials']} trial(s) x {settings['budget']} oracle calls, batches of {settings.get('batch_size')}"
    elif all(k in settings for k in ("iterations", "batch_size")):
        budget = f"\n{results['n_trials']} trial(s) x {settings['iterations']} iterations x {settings['batch_size']} points"
    return f"Bayesian optimisation of {results['target']} in the latent space of {label}{budget}"


def plot_best_so_far(
    trials: Mapping[int, Sequence[Mapping[str, Any]]], path: Path, *, maximize: bool, training_best: float | None, title: str,
    target: str = "score",
) -> None:
    """Write :func:`best_so_far_figure` as a PNG."""
    import matplotlib.pyplot as plt

    figure = best_so_far_figure(trials, maximize=maximize, training_best=training_best, title=title, target=target)
    save_figure(figure, path)
    plt.close(figure)


def model_description(model: Any) -> str:
    """What a trained model is, for plot titles: its kind, regularizer, latent size and data (the folder
    name alone says ``seed_0`` in an experiment); the folder name where the model says nothing of itself."""
    config = getattr(model, "config", None)
    payload = getattr(model, "payload", None) or {}
    kind, regularizer = getattr(config, "model", None), getattr(config, "regularizer", None)
    if kind is None or regularizer is None:
        return Path(str(getattr(model, "model_dir", "model"))).name or "model"
    latent = getattr(model, "latent_dim", None)
    data = payload.get("data_origin")
    return (f"a {kind} autoencoder ({regularizer}" + (f", latent {latent}" if latent else "") + ")"
            + (f" trained on {Path(str(data)).name}" if data else ""))


def _same_series(frame: "pd.DataFrame", a: str, b: str) -> bool:
    """Whether quantities ``a`` and ``b`` have the same values in every split they both have."""
    shared = [split for split in ("train", "val") if f"{split}_{a}" in frame and f"{split}_{b}" in frame]
    return bool(shared) and all(frame[f"{split}_{a}"].equals(frame[f"{split}_{b}"]) for split in shared)


def plot_training_curves(metrics_csv: Path, path: Path, *, title: str) -> bool:
    """Training curves from a model's ``metrics.csv``: loss, its terms, and reconstruction accuracy per epoch.

    Three panels, each with the training (solid) and validation (dashed) value of every column of
    that kind: the total loss; the loss terms (reconstruction and regularizer terms, log scale when
    all are positive); the ``*_acc`` accuracies. Returns False when the file has no epoch yet.
    """
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        frame = pd.read_csv(metrics_csv)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return False  # the figure is a convenience: a damaged metrics.csv must not stop the evaluation
    if frame.empty or "epoch" not in frame:
        return False
    quantities = sorted({c.split("_", 1)[1] for c in frame.columns if c.startswith(("train_", "val_"))})
    panels = {
        "total loss": [q for q in quantities if q == "loss"],
        "loss terms": [q for q in quantities if q != "loss" and not q.endswith("acc")],
        "reconstruction accuracy": [q for q in quantities if q.endswith("acc")],
    }
    panels = {name: names for name, names in panels.items() if names}
    # a term equal to another in every epoch (rec and rec_ce without label smoothing) is one curve, named twice
    aliases: dict[str, list[str]] = {}
    for names in panels.values():
        for quantity in list(names):
            first = next((kept for kept in names if kept != quantity and kept in aliases and _same_series(frame, kept, quantity)), None)
            if first is None:
                aliases[quantity] = []
            else:
                aliases[first].append(quantity)
                names.remove(quantity)
    figure, axes_list = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    single = len(frame) == 1
    for axes, (panel, names) in zip(axes_list[0], panels.items()):
        positive = True
        for index, quantity in enumerate(names):
            color = f"C{index}"
            name = " = ".join([quantity, *aliases.get(quantity, [])])
            for split, style in (("train", "-"), ("val", "--")):
                column = f"{split}_{quantity}"
                if column in frame:
                    axes.plot(frame["epoch"], frame[column], style, color=color, label=f"{name} ({split})",
                              marker="o" if len(frame) < 30 else None, markersize=3)  # one epoch is still visible
                    positive = positive and bool((frame[column] > 0).all())
                    if single:  # a lone point on an axis matplotlib pads to 0.96-1.04: give its value
                        axes.annotate(f"{frame[column].iloc[0]:.4g}", (frame["epoch"].iloc[0], frame[column].iloc[0]),
                                      textcoords="offset points", xytext=(6, 0 if split == "train" else -10), fontsize=7)
        if panel == "loss terms" and positive:
            axes.set_yscale("log")
        epochs = frame["epoch"]
        axes.set_xlim(float(epochs.min()) - 0.5, float(epochs.max()) + 0.5)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_xlabel("epoch")
        axes.set_ylabel(panel)
        axes.set_title(panel)
        axes.legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
    plt.close(figure)
    return True


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
