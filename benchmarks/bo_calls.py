"""Where a finished optimisation run's calls went: the figures of RESULTS.md's ``--novel-only`` table.

For each run directory (an ``lsbo optimize --out``), over its trials: the best score among strings that are not
training strings of the run's model (``best_novel``), the single best such string, the calls whose string is a
training string, the distinct new strings and the duplicate calls; mean ± population std over the trials, as
in ``results.json``. The training strings are the model's ``train_strings.txt`` (the model named in run.json)::

    python benchmarks/bo_calls.py runs/turbo-novel runs/wr-setting/turbo-novel
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from lsbo.bo.store import EVALUATIONS_FILE, RUN_FILE, read_records
from lsbo.errors import LsboError
from lsbo.models.trained import TRAIN_STRINGS_NAME
from lsbo.persistence import read_json


def incomplete_trials(run: Path) -> list[str]:
    """``trial K: N/B calls`` for each trial of the run with fewer calls than its budget."""
    settings = read_json(run / RUN_FILE, what="optimisation run file")
    budget = settings.get("budget") or int(settings["iterations"]) * int(settings["batch_size"])
    short = []
    for trial in range(1, int(settings["trials"]) + 1):
        path = run / f"trial_{trial}" / EVALUATIONS_FILE
        calls = len(read_records(path, repair=False)) if path.is_file() else 0
        if calls < budget:
            short.append(f"trial {trial}: {calls}/{budget} calls")
    return short


def run_figures(run: Path) -> str:
    settings = read_json(run / RUN_FILE, what="optimisation run file")
    strings_file = Path(settings["model_dir"]) / TRAIN_STRINGS_NAME
    if not strings_file.is_file():
        raise LsboError(f"{strings_file}: not found (the training strings of the model that {run / RUN_FILE} names)")
    training = set(strings_file.read_text(encoding="utf-8").splitlines())
    better = max if settings["maximize"] else min
    bests, on_training, new, duplicates, single = [], [], [], [], None
    for trial in range(1, int(settings["trials"]) + 1):
        records = read_records(run / f"trial_{trial}" / EVALUATIONS_FILE, repair=False)
        novel = [r for r in records if r["valid"] and r["string"] not in training]
        if novel:
            best = better(novel, key=lambda r: r["score"])
            bests.append(best["score"])
            single = best if single is None or better(single["score"], best["score"]) == best["score"] else single
        on_training.append(sum(r["string"] in training for r in records))
        new.append(len({r["string"] for r in novel}))
        duplicates.append(sum(bool(r.get("duplicate")) for r in records))

    def spread(values: list[float], digits: int) -> str:
        return f"{statistics.mean(values):.{digits}f} ± {statistics.pstdev(values):.{digits}f}" if values else "-"

    best_text = f"{single['score']:.3f} `{single['string']}`" if single else "-"
    return (f"{run}: best not a training string {spread(bests, 2)}; single best new {best_text}; calls on training strings "
            f"{spread(on_training, 0)}; distinct new strings {spread(new, 0)}; duplicate calls {spread(duplicates, 0)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="lsbo optimize --out directories with every trial complete")
    args = parser.parse_args()
    for run in args.runs:
        if not (run / RUN_FILE).is_file():
            parser.error(f"{run}: no {RUN_FILE} (not an lsbo optimize run directory)")
        try:
            short = incomplete_trials(run)
            if short:
                parser.error(f"{run}: not complete ({', '.join(short)}); resume it with lsbo optimize --resume first")
            print(run_figures(run))
        except LsboError as error:  # a damaged run file or a moved model: one line, naming the file
            parser.error(str(error))


if __name__ == "__main__":
    main()
