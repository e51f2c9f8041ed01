"""Time to the first new proposal when a weighted-retraining trial is resumed.

A resumed trial replays its stored batches and its finished retraining rounds before it proposes
again. This script copies one trial of a finished run of an ``lsbo experiment`` spec, cuts it back to
its first ``--keep`` iterations (the later batches, records and retraining rounds removed, the kept
rounds' model directories linked, not copied), resumes it, and stops when the loop asks for a new
batch: the seconds measured are the replay (initial data, rounds, re-encodings), not an iteration.
Each ``--code DIR`` is a checkout of lsbo measured in its own process (``PYTHONPATH=DIR``), one after
the other in this run, so two versions compare on the same machine state::

    python benchmarks/wr_resume.py benchmarks/experiments/engines-expr-paper.toml "protocol 500 calls + WR" \\
        runs/expr-paper/bo/protocol_500_calls_WR/GMM-KS/seed_0 --trial 1 --keep 9 --code OLD_CHECKOUT --code .
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsbo.errors import LsboError

CHILD_FLAG = "--child"


class FirstProposal(Exception):
    """Raised in place of the first proposal of the resumed trial: the replay is over."""


def cut_trial(run: Path, trial: int, keep: int, copy: Path) -> int:
    """Copy ``run``'s settings, initial data and trial ``trial`` cut to its first ``keep`` iterations into
    ``copy``; returns the number of evaluation records kept."""
    source = run / f"trial_{trial}"
    if not (run / "run.json").is_file() or not source.is_dir():
        raise LsboError(f"{run}: not a run directory with trial {trial} (needs run.json and trial_{trial}/)")
    if not (source / f"candidates_{keep + 1}.json").is_file():
        raise LsboError(f"{source}: has no iteration {keep + 1}, so a cut after iteration {keep} leaves nothing to propose")
    if keep < 1:
        raise LsboError(f"--keep must be at least 1, got {keep}")
    missing = [f"candidates_{i}.json" for i in range(1, keep + 1) if not (source / f"candidates_{i}.json").is_file()]
    if missing:
        raise LsboError(f"{source}: --keep {keep} needs iterations 1 to {keep}, and {missing[0]} is missing")
    copy.mkdir(parents=True)
    for name in ("run.json", "initial_data.pt"):
        if (run / name).is_file():
            shutil.copyfile(run / name, copy / name)
    target = copy / f"trial_{trial}"
    target.mkdir()
    for iteration in range(1, keep + 1):
        shutil.copyfile(source / f"candidates_{iteration}.json", target / f"candidates_{iteration}.json")
    records = [line for line in (source / "evaluations.jsonl").read_text().splitlines(keepends=True)
               if json.loads(line)["iteration"] <= keep]
    (target / "evaluations.jsonl").write_text("".join(records))
    calls = len(records)
    settings = json.loads((run / "run.json").read_text())
    every = int(settings["retrain"]["every"])
    for round_ in range(1, calls // every + 1):  # the rounds the kept calls have crossed
        (target / f"retrain_{round_}").symlink_to((source / f"retrain_{round_}").resolve(), target_is_directory=True)
    return calls


def child(spec_path: str, label: str, run: Path, trial: int) -> None:
    """Resume trial ``trial`` of the cut copy ``run``; print the seconds until the first proposal."""
    import lsbo.bo.loop as loop
    from lsbo.bo import run_optimization
    from lsbo.experiment.runner import bo_config
    from lsbo.experiment.spec import load_spec
    from lsbo.models import load_model
    from lsbo.objectives import build_objective

    spec = load_spec(spec_path)
    strategy = next((s for s in spec.strategies if s.label == label), None)
    if strategy is None:
        raise LsboError(f"{spec_path}: no strategy labelled {label!r} (labels: {', '.join(s.label for s in spec.strategies)})")
    config = bo_config(spec, strategy)
    settings = json.loads((run / "run.json").read_text())
    model = load_model(settings["model_dir"], device="cpu")
    objective = build_objective(spec.target, model=model)
    encodings = 0
    original_encode = type(model).encode

    def counting_encode(self, strings):  # type: ignore[no-untyped-def]
        nonlocal encodings
        encodings += 1
        return original_encode(self, strings)

    def stop(*args: object, **kwargs: object) -> None:
        raise FirstProposal

    type(model).encode = counting_encode  # type: ignore[method-assign]
    loop._choose_batch = stop  # type: ignore[attr-defined]
    started = time.perf_counter()
    try:
        run_optimization(model, objective, run, config, target=spec.target, resume=True, only_trials=[trial])
    except FirstProposal:
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": round(seconds, 2), "encode_calls": encodings, "lsbo": loop.__file__}))
        return
    raise LsboError(f"{run}: the resumed trial {trial} finished without proposing a batch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", help="the experiment spec that made the run")
    parser.add_argument("strategy", help="the label of the run's strategy in the spec")
    parser.add_argument("run", type=Path, help="a finished run directory of that strategy (with weighted retraining)")
    parser.add_argument("--trial", type=int, default=1)
    parser.add_argument("--keep", type=int, required=True, help="iterations kept before the resume")
    parser.add_argument("--code", action="append", type=Path, help="an lsbo checkout to measure (repeatable; default: this one)")
    parser.add_argument(CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        if args.child:
            child(args.spec, args.strategy, args.run, args.trial)
            return
        for code in args.code or [Path(__file__).resolve().parents[1]]:
            with tempfile.TemporaryDirectory(prefix="wr-resume-") as tmp:
                copy = Path(tmp) / "run"
                calls = cut_trial(args.run, args.trial, args.keep, copy)
                env = os.environ | {"PYTHONPATH": str(code.resolve())}
                result = subprocess.run(
                    [sys.executable, __file__, args.spec, args.strategy, str(copy), "--trial", str(args.trial),
                     "--keep", str(args.keep), CHILD_FLAG], env=env, capture_output=True, text=True, check=False,
                )
                if result.returncode != 0:
                    raise LsboError(f"{code}: the resume failed: {result.stderr.strip().splitlines()[-1:]}")
                figures = json.loads(result.stdout.strip().splitlines()[-1])
                print(f"{code}: {calls} calls kept; {figures['seconds']} s to the first proposal, "
                      f"{figures['encode_calls']} encode call(s) ({figures['lsbo']})")
    except LsboError as error:
        raise SystemExit(f"wr_resume.py: {error}") from None


if __name__ == "__main__":
    main()
