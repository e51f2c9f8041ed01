"""The on-disk store of an optimisation run: what is written where, and validated reads back.

An optimisation run is a directory::

    run.json                  the settings (written once, compared on --resume)
    initial_data.pt           the encoded, scored training strings (computed once)
    trial_k/candidates_i.json the batch chosen at iteration i, written before any of it is scored
    trial_k/evaluations.jsonl one line per evaluation, flushed and fsync'ed as it happens
    results.json, results.csv, table.md, best_so_far.png (and top_molecules.png): the summaries

Every write goes through :mod:`lsbo.persistence` (atomic replacement, whole fsync'ed lines), so a
process killed at any moment leaves each file either old or new and no temporary files. Every read
is validated: a damaged or hand-edited file is named in a one-line :class:`~lsbo.errors.ConfigError`
(with the line, for the evaluations log) instead of being guessed at, since a guess could lose or
repeat evaluations. The loop (:mod:`lsbo.bo.loop`) decides *what* to compute; this module only knows
*where* it lives and *whether* what is there can be trusted.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lsbo.errors import ConfigError
from lsbo.persistence import (
    LOCK_NAME,
    DirectoryLock,
    PersistenceError,
    append_jsonl,
    atomic_write_bytes,
    jsonl_lines,
    read_jsonl_bytes,
    refuse_link,
    write_json,
)
from lsbo.persistence import read_json as _read_json_file

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
INITIAL_DATA_FILE = "initial_data.pt"
EVALUATIONS_FILE = "evaluations.jsonl"
RESULTS_FILE = "results.json"
RESULTS_CSV = "results.csv"
TABLE_FILE = "table.md"
BEST_SO_FAR_PLOT = "best_so_far.png"
MOLECULE_GRID = "top_molecules.png"

#: settings that must agree between a run and its resumption (the others may change, e.g. the device)
RESUME_KEYS = (
    "target", "model_dir", "iterations", "batch_size", "seed", "surrogate", "attempts", "box", "max_train_points", "complete",
    "strategy", "budget", "retrain", "novel_only", "budget_accounting",
)
#: Fields every evaluation record and every saved candidate batch must have for a resume to use them.
RECORD_KEYS = ("trial", "iteration", "index", "string", "latent", "score", "valid")
CANDIDATE_KEYS = ("latents", "strings", "surrogate_metrics")


def trial_dir_name(trial: int) -> str:
    return f"trial_{trial}"


def candidates_name(iteration: int) -> str:
    return f"candidates_{iteration}.json"


# ---------------------------------------------------------------------------------------------
# the initial data


@dataclass
class InitialData:
    """The encoded, scored training strings that seed every trial."""

    strings: list[str]
    latents: Tensor  # (n, d) float32, on the CPU
    scores: Tensor  # (n,) float64, in the objective's own units

    def save(self, path: Path) -> None:
        payload = {"strings": self.strings, "latents": self.latents, "scores": self.scores}
        atomic_write_bytes(path, lambda handle: torch.save(payload, handle))

    @classmethod
    def load(cls, path: Path) -> InitialData:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            initial = cls(list(payload["strings"]), payload["latents"], payload["scores"])
        except Exception as err:  # a damaged cache is recomputed, not fatal
            raise ConfigError(f"{path} is unreadable ({type(err).__name__}); delete it to recompute") from None
        n = len(initial.strings)
        if initial.latents.ndim != 2 or initial.latents.shape[0] != n or initial.scores.shape != (n,):
            raise ConfigError(f"{path} holds {n} strings, latents {tuple(initial.latents.shape)} and scores "
                              f"{tuple(initial.scores.shape)}, which do not match; delete it to recompute")
        return initial


# ---------------------------------------------------------------------------------------------
# JSON files and evaluation records


def changed_settings(previous: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    """The resume-relevant settings that differ (a key missing from an older run.json cannot be compared)."""
    return [k for k in RESUME_KEYS if k in previous and previous[k] != settings.get(k)]


def _missing(payload: Any, keys: Sequence[str]) -> list[str]:
    return list(keys) if not isinstance(payload, dict) else [k for k in keys if k not in payload]


def read_json(path: Path) -> Any:
    """A JSON file this run wrote earlier; a damaged one gets a one-line error naming it."""
    try:
        return _read_json_file(path, expect=None, what="run file")
    except PersistenceError as err:
        raise ConfigError(f"{err}; delete it to recompute it") from None


def write_json_atomic(path: Path, payload: Any) -> None:
    """Atomically replace ``path`` with ``payload`` (non-finite floats become ``null``: JSON has none)."""
    write_json(path, _finite_or_none(payload))


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one evaluation as a whole, fsync'ed JSON line (a crash loses at most the line being written)."""
    append_jsonl(path, record, separators=(",", ":"))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def record_problem(record: dict[str, Any]) -> str | None:
    """What is wrong with the types of an evaluation record's fields (None when nothing is)."""
    for key in ("trial", "iteration", "index"):
        if not _is_int(record[key]) or record[key] < (0 if key == "index" else 1):
            least = 0 if key == "index" else 1
            return f'"{key}" is {json.dumps(record[key])}, expected a whole number of at least {least}'
    if not isinstance(record["valid"], bool):
        return f'"valid" is {json.dumps(record["valid"])}, expected true or false'
    score = record["score"]
    if record["valid"] and not (_is_number(score) and math.isfinite(score)):
        return f'"score" is {json.dumps(score)} on a valid record, expected a finite number'
    if not record["valid"] and score is not None:
        return f'"score" is {json.dumps(score)} on an invalid record, expected null'
    if record["string"] is not None and not isinstance(record["string"], str):
        return f'"string" is {json.dumps(record["string"])}, expected text or null'
    latent = record["latent"]
    if not isinstance(latent, list) or not latent or not all(_is_number(v) for v in latent):
        return '"latent" is not a list of numbers'
    return None


def _placement_problem(
    record: dict[str, Any], trial: int | None, layout: tuple[int, int] | None, seen: set[tuple[int, int]]
) -> str | None:
    if trial is not None and record["trial"] != trial:
        return f'"trial" is {record["trial"]} in the log of trial {trial}'
    if layout is not None:
        iterations, batch_size = layout
        if record["iteration"] > iterations:
            return f'"iteration" is {record["iteration"]}, beyond the run\'s {iterations} iteration(s)'
        if record["index"] >= batch_size:
            return f'"index" is {record["index"]}, beyond the run\'s batch of {batch_size}'
    key = (record["iteration"], record["index"])
    if key in seen:  # a duplicate would be counted twice
        return f"iteration {key[0]}, index {key[1]} is recorded twice"
    return None


def read_records(
    path: Path, *, repair: bool = True, trial: int | None = None, layout: tuple[int, int] | None = None
) -> list[dict[str, Any]]:
    """The complete records of an evaluations file, validated.

    A torn last line (a process killed mid-write: the final piece has no newline and does not parse)
    is dropped from the file with ``repair=True``, so appends continue cleanly. Any other line that
    is not a well-formed record is an error naming the file and line: it was not written by this
    loop, and guessing would lose or repeat evaluations.

    ``repair=False`` only reads: for a trial another process may be appending to right now, whose
    last line may be half written rather than torn.

    ``trial`` and ``layout`` (iterations, batch size) also check that each record belongs to this
    trial and run and appears once: a hand-copied or stray line would otherwise be counted.
    """
    if not path.is_file():
        return []
    try:
        raw = read_jsonl_bytes(path, what="evaluations file") or b""
    except PersistenceError as err:
        raise ConfigError(str(err)) from None
    records: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for line in jsonl_lines(raw):  # a torn tail (killed mid-write, or still being written) is not among them
        number, record = line.number, line.value
        if line.error is not None:
            raise ConfigError(f"{path}, line {number}: not valid JSON; repair or remove that line")
        if line.is_tail and not isinstance(record, dict):
            break  # e.g. a torn '{"a": 1' is not JSON, but '12' of '123...' is: a bare value cannot be a record
        missing = _missing(record, RECORD_KEYS)
        if missing:
            raise ConfigError(f"{path}, line {number}: not an evaluation record (missing {', '.join(missing)}); repair or remove that line")
        problem = record_problem(record) or _placement_problem(record, trial, layout, seen)
        if problem:
            raise ConfigError(f"{path}, line {number}: {problem}; repair or remove that line")
        if line.is_tail:
            break  # a whole record without its newline: not yet acknowledged, so scored again like a torn one
        records.append(record)
        seen.add((record["iteration"], record["index"]))
    # Every line before the last newline is a record or blank (or the file was refused above); only
    # what follows it (torn, or a record not yet acknowledged) is not kept.
    tail_start = raw.rfind(b"\n") + 1
    good_length = tail_start if raw[tail_start:].strip() else len(raw)
    if repair and good_length != len(raw):
        with open(path, "r+b") as handle:
            handle.truncate(good_length)
    return records


def validated_candidates(path: Path) -> dict[str, Any]:
    """A saved candidate batch, checked to be one."""
    batch = read_json(path)
    missing = _missing(batch, CANDIDATE_KEYS)
    if missing or len(batch["latents"]) != len(batch["strings"]):
        problem = f"missing {', '.join(missing)}" if missing else "latents and strings differ in number"
        raise ConfigError(f"{path} is not a candidate batch ({problem}); delete it to recompute it")
    return batch


# ---------------------------------------------------------------------------------------------
# the run directory


class TrialStore:
    """One trial's directory: its candidate batches and its evaluations log."""

    def __init__(self, directory: Path, trial: int) -> None:
        self.directory = Path(directory)
        self.trial = trial
        self.writer_pid = os.getpid()  # the one process that may write this trial's files (see _check_writer)

    def _check_writer(self) -> None:
        """End a process that is a fork of the writer (an objective that called ``os.fork`` and returned in
        both processes): its copy of the loop would write every record a second time. It is ended at once,
        with one line saying why, since raising would run the writer's clean-up (its locks) in the copy."""
        if os.getpid() != self.writer_pid:
            message = (f"error: process {os.getpid()}, a fork of the optimisation (process {self.writer_pid}) made by the "
                       f"objective, tried to write {self.directory}; it was ended without writing (the run goes on in "
                       f"process {self.writer_pid})\n")
            try:
                os.write(2, message.encode("utf-8", "replace"))
            finally:
                os._exit(70)

    def _folder(self) -> Path:
        """The trial's folder, refused when it is a symbolic link (its files would be written where it points)."""
        refuse_link(self.directory, "trial folder")
        return self.directory

    @property
    def evaluations_path(self) -> Path:
        return self._folder() / EVALUATIONS_FILE

    def candidates_path(self, iteration: int) -> Path:
        return self._folder() / candidates_name(iteration)

    def read_records(self, *, repair: bool = True, layout: tuple[int, int] | None = None) -> list[dict[str, Any]]:
        """The trial's evaluations, validated (``layout``: the run's iterations and batch size)."""
        return read_records(self.evaluations_path, repair=repair, trial=self.trial, layout=layout)

    def append(self, record: dict[str, Any]) -> None:
        self._check_writer()
        append_record(self.evaluations_path, record)

    def read_candidates(self, iteration: int) -> dict[str, Any] | None:
        """The batch saved for ``iteration``, or None when none was chosen yet."""
        path = self.candidates_path(iteration)
        return validated_candidates(path) if path.is_file() else None

    def write_candidates(self, iteration: int, batch: dict[str, Any]) -> None:
        self._check_writer()
        self.directory.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.candidates_path(iteration), batch)

    def lock(self, purpose: str = "lsbo optimize") -> DirectoryLock:
        """Own this trial (non-blocking): a second process running it is refused, naming the holder."""
        return DirectoryLock(self._folder(), purpose=f"{purpose}, trial {self.trial}").acquire()

    def clear(self) -> None:
        """Remove the trial's derived files (candidate batches, evaluations): for a restart."""
        for path in self.directory.glob("*"):
            if path.name != LOCK_NAME and path.is_file():
                path.unlink()


class RunStore:
    """The files of one optimisation run directory (see the module docstring for the layout)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def run_path(self) -> Path:
        return self.root / RUN_FILE

    @property
    def initial_path(self) -> Path:
        return self.root / INITIAL_DATA_FILE

    def trial(self, trial: int) -> TrialStore:
        return TrialStore(self.root / trial_dir_name(trial), trial)

    def read_settings(self) -> dict[str, Any] | None:
        """run.json, or None when the run has not been started."""
        if not self.run_path.is_file():
            return None
        settings = read_json(self.run_path)
        if not isinstance(settings, dict):
            raise ConfigError(f"{self.run_path} is not a run description (a JSON object); delete it to start the run afresh")
        return settings

    def write_settings(self, settings: dict[str, Any]) -> None:
        write_json_atomic(self.run_path, settings)

    def check_settings(self, settings: dict[str, Any], resume: bool) -> None:
        """Refuse to start over an existing run without ``resume``, or to resume with other settings."""
        previous = self.read_settings()
        if previous is None:
            return
        if not resume:
            raise ConfigError(f"{self.root} already holds an optimisation run; pass resume to continue it or choose another out_dir",
                              parameter=("resume", "out_dir"))
        changed = changed_settings(previous, settings)
        if changed:
            raise ConfigError(f"resume: {', '.join(changed)} differ from the run in {self.run_path}", parameter="resume")

    def trial_numbers(self) -> list[int]:
        """The trials that have a directory here."""
        numbers = []
        for path in self.root.glob("trial_*"):
            suffix = path.name.removeprefix("trial_")
            if path.is_dir() and suffix.isdigit():
                numbers.append(int(suffix))
        return sorted(numbers)

    def scored_anything(self) -> bool:
        """Whether any trial has an evaluation on disk (a run that has not can be restarted freely)."""
        return any(self.trial(k).read_records(repair=False) for k in self.trial_numbers())

    def open(self, settings: dict[str, Any], resume: bool, *, purpose: str = "lsbo optimize") -> None:
        """Check ``settings`` against the run already here (if any) and write them to run.json.

        A run that has scored nothing yet (stopped while encoding the training set, or failed before
        its first evaluation) holds no work to lose, so a fresh command, or ``resume`` with other
        settings, starts it afresh instead of being refused; its derived files are removed first
        (while every trial is owned here, so no other process is using them). Otherwise the rules of
        :meth:`check_settings` apply. Call with the run lock held.
        """
        try:
            self.check_settings(settings, resume)
        except ConfigError as refusal:
            if self.scored_anything():
                raise
            logger.info(f"{self.root} holds a run that has scored nothing yet ({refusal}): starting it afresh with these settings")
            self.restart(purpose=purpose)
        self.write_settings(settings)

    def restart(self, *, purpose: str = "lsbo optimize") -> None:
        """Remove every derived file (run.json, the initial data, candidate batches, summaries)."""
        locks = []
        try:
            for k in self.trial_numbers():
                locks.append(self.trial(k).lock(purpose))  # refuses if another process runs a trial now
            for k in self.trial_numbers():
                self.trial(k).clear()
            for name in (RUN_FILE, INITIAL_DATA_FILE, RESULTS_FILE, RESULTS_CSV, TABLE_FILE, BEST_SO_FAR_PLOT, MOLECULE_GRID):
                (self.root / name).unlink(missing_ok=True)
        finally:
            for lock in locks:
                lock.release()

    def lock(self, purpose: str = "lsbo optimize") -> DirectoryLock:
        """Own the run-level files (run.json, the initial data, the summaries) for a short section.

        Several processes may share a run (one per ``--trial``), so a held lock is waited for, with
        a logged line naming the holder, rather than refused; trial ownership is what refuses duplicates.
        """
        return DirectoryLock(self.root, purpose=purpose).acquire(wait=True)
    def load_initial(self) -> InitialData | None:
        return InitialData.load(self.initial_path) if self.initial_path.is_file() else None

    def save_initial(self, initial: InitialData) -> None:
        initial.save(self.initial_path)
