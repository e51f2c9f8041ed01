"""Per-iteration timings of finished or running BO runs, read from their candidate files.

Every iteration of ``lsbo optimize`` / ``benchmarks/bo_experiment.py`` stores the surrogate's fit time,
the acquisition time and the decoding time with its candidates (``trial_k/candidates_i.json``). This
script tabulates them per run directory: the number of GP training points, the batch size q and the
mean, min and max seconds of each step, so the iteration cost at the protocol's scale (q = 50 on the
90k encoded expressions) is measured on the real runs rather than on synthetic data.

    python benchmarks/bo_run_timings.py runs/bo-expr/GMM-KS runs/bo-expr/VAE runs/bo-expr/RAE
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from statistics import mean

STEPS = ("fit_seconds", "acquisition_seconds", "decode_seconds", "iteration_seconds")


def read_timings(path: Path) -> dict:
    """The timings of one candidate file, or ValueError saying what is wrong with it."""
    try:
        batch = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not readable JSON ({error})") from None
    metrics = batch.get("surrogate_metrics") if isinstance(batch, dict) else None
    latents = batch.get("latents") if isinstance(batch, dict) else None
    if not isinstance(metrics, dict) or not isinstance(latents, list):
        raise ValueError("not a candidate batch (no surrogate_metrics or latents)")
    missing = [key for key in (*STEPS, "n_train", "surrogate") if key not in metrics]
    if missing:
        raise ValueError(f"surrogate_metrics lacks {', '.join(missing)}")
    return {**metrics, "q": len(latents), "file": str(path)}


def iteration_metrics(run_dir: Path) -> list[dict]:
    """The surrogate metrics of every stored iteration of ``run_dir``, with the batch size.

    A damaged candidate file (a run killed while writing one, an edited file) is skipped with a line
    on stderr naming it, so the table of the other iterations is still printed.
    """
    rows = []
    for path in sorted(run_dir.glob("trial_*/candidates_*.json")):
        try:
            rows.append(read_timings(path))
        except ValueError as error:
            print(f"skipping {path}: {error}", file=sys.stderr)
    return rows


def summary_row(label: str, rows: list[dict]) -> str:
    """One markdown row: iterations, points, q, then mean [min-max] seconds of each step."""
    n_train = sorted({r["n_train"] for r in rows})
    points = f"{n_train[0]:,}" if len(n_train) == 1 else f"{n_train[0]:,}-{n_train[-1]:,}"
    kinds = "/".join(sorted({r["surrogate"] for r in rows}))
    q = "/".join(str(v) for v in sorted({r["q"] for r in rows}))
    cells = []
    for step in STEPS:
        values = [float(r[step]) for r in rows]
        cells.append(f"{mean(values):.1f} [{min(values):.1f}-{max(values):.1f}]")
    return f"| {label} | {len(rows)} | {kinds} | {points} | {q} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (LABEL=DIR to name a row)")
    args = parser.parse_args()
    print("| run | iterations | surrogate | GP training points | q | fit s | acquisition s | decoding s | iteration s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for spec in args.runs:
        label, sep, directory = str(spec).partition("=")
        run_dir = Path(directory if sep else label)
        if not run_dir.is_dir():
            parser.error(f"{run_dir}: not a directory")
        rows = iteration_metrics(run_dir)
        if rows:
            print(summary_row(label if sep else run_dir.name, rows))


if __name__ == "__main__":
    main()
