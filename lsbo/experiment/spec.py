"""The experiment specification: one TOML file, read with :mod:`tomllib` and checked key by key.

A spec names a dataset, the models to train (each a regularizer with its options) times the training
seeds, the Bayesian-optimisation strategies with their budgets times the trials, and how to report::

    [experiment]
    name = "expr-cpu"                       # optional; default: the file's stem

    [dataset]
    source = "expr"                         # expr | zinc (built-in grammars)
    data = "equation2_15_dataset.txt"       # relative: to the spec's folder, else to LSBO_SHARED_DATA
    limit = 20000                           # optional: the first N strings
    target = "expr"                         # the BO objective (lsbo optimize --target)

    [training]                              # defaults of every [[model]]
    seeds = [0, 1, 2]
    preset = "cpu"
    epochs = 10

    [[model]]
    label = "GMM-KS"                        # unique; the row name in the tables
    regularizer = "gmm"
    paper_row = "GMM-DAE (paper)"           # optional: the paper's row it stands beside

    [[model]]
    label = "GVAE"
    regularizer = "vae"
    rec_weight = 31.0
    regularizer_options = { epsilon_std = 0.01 }

    [bo]
    trials = 5

    [[bo.strategy]]                         # none: train and evaluate only
    name = "protocol"                       # one of lsbo.bo.STRATEGY_NAMES
    iterations = 5
    batch = 50

    [[bo.strategy]]
    name = "turbo"
    batch = 50
    budget = 500                            # oracle calls per trial (instead of iterations x batch)
    retrain_every = 50                      # weighted retraining (optional; rank_k, retrain_epochs, retrain_samples)

    [evaluation]                            # latent diagnostics per trained model
    samples = 1000

    [report]
    baseline = "GMM-KS"                     # paired comparisons against this model (default: the first)

Every problem is a :class:`~lsbo.errors.ConfigError` of one line naming the file, the line where the
key is written (found in the text; :mod:`tomllib` does not report positions of valid TOML) and the key.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsbo.bo_defaults import BATCH_SIZE, ITERATIONS
from lsbo.errors import ConfigError
from lsbo.options import OPTIONS

# -- the schema ---------------------------------------------------------------------------------
# key -> (accepted Python types, what it is). bool is excluded from int/float explicitly below.

_NUMBER = (int, float)


def _choices(option: str) -> str:
    """The values of training option ``option`` as the descriptions list them (``gmm | vae | ...``)."""
    return " | ".join(OPTIONS[option].choice_names())


MODEL_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "regularizer": ((str,), _choices("regularizer")),
    "model": ((str,), _choices("model")),
    "preset": ((str,), _choices("preset")),
    "epochs": ((int,), "training epochs"),
    "batch_size": ((int,), "batch size"),
    "learning_rate": (_NUMBER, "Adam learning rate"),
    "latent_dim": ((int,), "latent dimension"),
    "n_components": ((int,), "GMM prior components"),
    "gru_hidden": ((int,), "GRU width"),
    "dense_units": ((int,), "encoder dense units"),
    "rec_weight": ((int, float, str), "a positive number or \"auto\""),
    "rec_weight_epochs": ((int,), "plain-AE epochs behind rec_weight = \"auto\""),
    "monitor": ((str,), f"{_choices('monitor')}: what the plateau rule and early stopping follow"),
    "init": ((str,), f"{_choices('init')}: the initial weights (glorot: the Grammar VAE reference's)"),
    "conv_padding": ((str,), f"{_choices('conv_padding')}: the encoder's convolutions (valid: the Grammar VAE reference's)"),
    "decoder": ((str,), f"{_choices('decoder')}: the decoder (repeat: the Grammar VAE's, the paper's)"),
    "weight_seed": ((int,), "seed of the initial weights alone (default: the training seed)"),
    "regularizer_options": ((dict,), "options of the regularizer, e.g. { epsilon_std = 0.01 }"),
}
SECTIONS: dict[str, dict[str, tuple[tuple[type, ...], str]]] = {
    "experiment": {"name": ((str,), "experiment name")},
    "dataset": {
        "source": ((str,), "expr | zinc"),
        "data": ((str,), "dataset file"),
        "limit": ((int,), "use the first N strings"),
        "target": ((str,), "BO objective: expr | logp | qed | module:function"),
    },
    "training": {
        "seeds": ((list,), "training seeds, e.g. [0, 1, 2]"),
        "threads": ((int,), "torch CPU threads per process"),
        "device": ((str,), "auto | cpu | cuda"),
        **MODEL_KEYS,
    },
    "model": {"label": ((str,), "row name"), "paper_row": ((str,), "the paper's row it stands beside"), **MODEL_KEYS},
    "bo": {
        "trials": ((int,), "trials per (model, seed)"),
        "seed": ((int,), "base seed of the trials"),
        "threads": ((int,), "torch CPU threads per process"),
        "device": ((str,), "auto | cpu | cuda"),
        "strategy": ((list,), "[[bo.strategy]] tables"),
    },
    "bo.strategy": {
        "name": ((str,), "a registered strategy (lsbo.components.STRATEGIES, plugins' included)"),
        "label": ((str,), "column name"),
        "iterations": ((int,), "iterations per trial"),
        "batch": ((int,), "points per iteration"),
        "budget": ((int,), "oracle calls per trial (default: iterations x batch)"),
        "retrain_every": ((int,), "weighted retraining every N evaluations (lsbo optimize --retrain-every)"),
        "rank_k": (_NUMBER, "rank-weighting k of weighted retraining (default 1e-3)"),
        "retrain_epochs": ((int,), "fine-tuning epochs per retraining"),
        "retrain_samples": ((int,), "weighted draws per fine-tuning epoch"),
        "attempts": ((int,), "stochastic decodings per point"),
        "surrogate": ((str,), "one the strategy accepts (lsbo optimize --surrogate)"),
        "inducing": ((int,), "inducing points of the sparse GP"),
        "max_train_points": ((int,), "random subset of the encoded training set"),
        "box": ((str,), "data | prior"),
        "acquisition": ((str,), "one the strategy accepts (lsbo optimize --acquisition)"),
        "num_restarts": ((int,), "restarts of the acquisition optimiser"),
        "raw_samples": ((int,), "raw samples of the acquisition optimiser"),
        "optimizer_iterations": ((int,), "iterations of the acquisition optimiser"),
        "plain_masking": ((bool,), "decode with the plain Grammar VAE masking"),
        "novel_only": ((bool,), "replace points that decode to known strings (turbo with ts)"),
        "objective_workers": ((int,), "score each candidate in its own process, this many at once"),
        "objective_timeout": (_NUMBER, "seconds one objective call may take (killed and recorded invalid past it)"),
    },
    "evaluation": {
        "samples": ((int,), "prior samples for validity/uniqueness/novelty"),
        "max_reconstruct": ((int,), "validation strings reconstructed (default all)"),
    },
    "report": {
        "baseline": ((str,), "label of the model the others are compared with"),
        "confidence": ((float,), "confidence level of the paired intervals"),
        "resamples": ((int,), "bootstrap resamples (the interval of a single seed's trials)"),
    },
}
#: The bo.strategy key of a BOConfig parameter that lsbo optimize names in its errors (where the names differ).
SPEC_KEY_OF: dict[str, str] = {
    "batch_size": "batch", "n_inducing": "inducing", "acquisition.name": "acquisition", "retrain.every": "retrain_every",
    "retrain.rank_k": "rank_k", "retrain.epochs": "retrain_epochs", "retrain.samples_per_epoch": "retrain_samples",
    "complete": "plain_masking", "objective_calls.workers": "objective_workers", "objective_calls.timeout": "objective_timeout",
}
#: bo.strategy keys of the objective calls (lsbo.objectives.isolation.IsolationOptions fields).
OBJECTIVE_CALL_KEYS: dict[str, str] = {"objective_workers": "workers", "objective_timeout": "timeout"}
#: bo.strategy keys that configure weighted retraining besides retrain_every (lsbo.bo.RetrainOptions).
RETRAIN_KEYS: dict[str, str] = {"rank_k": "rank_k", "retrain_epochs": "epochs", "retrain_samples": "samples_per_epoch"}
TOP_LEVEL = ("experiment", "dataset", "training", "model", "bo", "evaluation", "report")
REQUIRED = {"dataset": ("source", "target"), "training": ("seeds",), "model": ("label",), "bo.strategy": ("name",)}


@dataclass(frozen=True)
class ModelSpec:
    """One row of the experiment: a label and the ``lsbo train`` options (``None`` = preset default)."""

    label: str
    options: dict[str, Any]
    paper_row: str | None = None


@dataclass(frozen=True)
class StrategySpec:
    """One BO column: a strategy name and its budget (``lsbo optimize`` options)."""

    name: str
    label: str
    options: dict[str, Any]

    @property
    def budget(self) -> str:
        """The calls of one trial as the tables show them (``5 x 50``, or ``500 calls of 50``)."""
        if self.options.get("budget") is not None:
            return f"{self.options['budget']} calls of {self.options.get('batch', BATCH_SIZE)}"
        return f"{self.options.get('iterations', ITERATIONS)} x {self.options.get('batch', BATCH_SIZE)}"


@dataclass(frozen=True)
class ExperimentSpec:
    """A parsed, checked spec file."""

    path: Path
    name: str
    source: str
    data: Path | None
    limit: int | None
    target: str
    seeds: tuple[int, ...]
    models: tuple[ModelSpec, ...]
    strategies: tuple[StrategySpec, ...]
    trials: int = 1
    bo_seed: int = 0
    threads: int | None = None
    device: str = "auto"
    bo_threads: int | None = None
    bo_device: str = "auto"
    evaluation: dict[str, Any] = field(default_factory=dict)
    baseline: str = ""
    confidence: float = 0.95
    resamples: int = 10000

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)


# -- folder names -------------------------------------------------------------------------------

#: The longest model or strategy label, or experiment name (each names a folder; the tables show it).
MAX_LABEL_LENGTH = 100


def slug(label: str) -> str:
    """The folder name of a label: its letters (any script), digits and ``.-_``, the rest ``_``.

    Never ``.``, ``..`` or hidden (leading dots are dropped), so a folder named by a label is always a
    child of the folder it is made in. The label is NFC-normalised first, so labels that look the same
    name the same folder.
    """
    name = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", label)).strip("_").lstrip("._")
    return name or "_"


def folder_key(label: str) -> str:
    """What two labels must differ in to get distinct folders, on case-insensitive file systems too."""
    return slug(label).casefold()


# -- locating keys in the text -------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*\"?([A-Za-z0-9_\-]+)\"?\s*=")


def locate(text: str, table: str, index: int | None, key: str | None) -> int | None:
    """1-based line of ``key`` in table ``table`` (the ``index``-th one of an array of tables).

    ``key=None`` gives the line of the table's header. Returns ``None`` where it cannot tell (keys
    written as dotted keys or inside inline tables of a parent).
    """
    current, count = "", dict[str, int]()
    found_table = table == ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(2).replace('"', "").replace(" ", "")
            count[current] = count.get(current, -1) + 1
            found_table = current == table and (index is None or count[current] == index)
            if found_table and key is None:
                return number
            continue
        if found_table and key is not None:
            match = _KEY.match(line)
            if match and match.group(1) == key:
                return number
    return None


class _Checker:
    """Raises one-line errors that name the file, the line and the key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, table: str, index: int | None, key: str | None, message: str) -> None:
        line = locate(self.text, table, index, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        name = table if key is None else (f"{table}.{key}" if table else key)
        if index is not None:
            name = f"{table}[{index + 1}]" + (f".{key}" if key else "")
        raise ConfigError(f"{where}: {name}: {message}")

    def section(self, data: Any, table: str, index: int | None = None) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(table, index, None, f"expected a table, got {_type_name(data)}")
        schema = SECTIONS[table]
        for key, value in data.items():
            if key not in schema:
                self.fail(table, index, key, f"unknown key (expected one of: {', '.join(schema)})")
            types, what = schema[key]
            if not _is_type(value, types):
                self.fail(table, index, key, f"expected {_types_name(types)} ({what}), got {_type_name(value)} {value!r}")
        for key in REQUIRED.get(table, ()):
            if key not in data:
                self.fail(table, index, None, f"missing required key {key!r} ({schema[key][1]})")
        return data


def _check_label(check: _Checker, table: str, index: int | None, key: str, label: str, seen: dict[str, str]) -> None:
    """Refuse a label that is too long, or that names the same folder as an earlier one (``seen``: folder key -> label)."""
    if len(label) > MAX_LABEL_LENGTH:
        check.fail(table, index, key, f"is {len(label)} characters long; at most {MAX_LABEL_LENGTH} (it names a folder and a table row)")
    if not label.strip():
        check.fail(table, index, key, "is empty; give a name")
    other = seen.get(folder_key(label))
    if other is not None and other != label:
        check.fail(table, index, key, f"{label!r} and {other!r} map to the same folder {slug(label)!r} (folders keep letters, digits "
                                      "and .-_, ignoring case); give labels that differ in those")
    seen[folder_key(label)] = label


def _check_run_settings(check: _Checker, dataset: dict[str, Any], *, training_threads: Any, training_device: Any, bo: Any) -> None:
    """The dataset source and limit, and the threads and devices of [training] and [bo], by the rules of the commands they feed."""
    from lsbo.data.manifests import ALIASES, find_manifest
    from lsbo.device import DEVICE_CHOICES
    from lsbo.options import check_value

    if find_manifest(dataset["source"]) is None:
        check.fail("dataset", None, "source", f"unknown dataset {dataset['source']!r} (expected one of: {', '.join(sorted(ALIASES))}; "
                                              "a file of it goes in data)")
    places: list[tuple[str, str, Any]] = [("dataset", "limit", dataset.get("limit")), ("training", "threads", training_threads)]
    if isinstance(bo, dict):
        places.append(("bo", "threads", bo.get("threads")))
    for table, key, value in places:
        try:
            check_value(key, value)
        except ConfigError as err:
            check.fail(table, None, key, str(err))
    for table, device in (("training", training_device), ("bo", bo.get("device") if isinstance(bo, dict) else None)):
        if isinstance(device, str) and not (device.strip().lower() in DEVICE_CHOICES or re.fullmatch(r"cuda:\d+", device.strip().lower())):
            check.fail(table, None, "device", f"{device!r}: expected one of {', '.join(DEVICE_CHOICES)} (or cuda:N)")


def _is_type(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types and int not in types:
        return True  # an integer where a real number is expected
    return isinstance(value, types)


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array", dict: "a table"}.get(
        type(value), type(value).__name__
    )


def _types_name(types: tuple[type, ...]) -> str:
    return " or ".join(_type_name(t()) if t is not bool else "a boolean" for t in types)


# -- reading ------------------------------------------------------------------------------------


def load_spec(path: Path | str) -> ExperimentSpec:
    """Read and check ``path``; every problem is one :class:`ConfigError` line."""
    from lsbo.bo import STRATEGY_NAMES
    from lsbo.options import MAX_SEED, OPTIONS, check_rec_weight, check_value
    from lsbo.paper import PAPER_TABLE2
    from lsbo.regularizers import check_regularizer_options, normalize_regularizer_options

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # an editor's byte-order mark is not TOML
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the experiment spec ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text file (byte {err.start} is not UTF-8); an experiment spec is TOML text") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: not a text file (it holds NUL bytes); an experiment spec is TOML text")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a usable spec: its arrays or tables are nested too deeply to read") from None
    check = _Checker(path, text)
    for key in raw:
        if key not in TOP_LEVEL:
            check.fail(key, None, None, f"unknown section (expected one of: {', '.join(TOP_LEVEL)})")
    for name in ("dataset", "training"):
        if name not in raw:
            raise ConfigError(f"{path}: missing section [{name}]")
    experiment = check.section(raw.get("experiment", {}), "experiment")
    _check_label(check, "experiment", None, "name", experiment.get("name", path.stem), {})
    dataset = check.section(raw["dataset"], "dataset")
    training = dict(check.section(raw["training"], "training"))
    seeds = training.pop("seeds")
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in seeds) or len(set(seeds)) != len(seeds):
        shown = repr(seeds) if len(repr(seeds)) <= 80 else repr(seeds)[:77] + "..."
        check.fail("training", None, "seeds", f"expected distinct integers from 0 to {MAX_SEED}, got {shown}")
    threads, device = training.pop("threads", None), training.pop("device", "auto")
    _check_run_settings(check, dataset, training_threads=threads, training_device=device, bo=raw.get("bo", {}))

    models_raw = raw.get("model")
    if not isinstance(models_raw, list) or not models_raw:
        raise ConfigError(f"{path}: no [[model]] table: an experiment needs at least one model")
    models: list[ModelSpec] = []
    model_folders: dict[str, str] = {}
    for index, entry in enumerate(models_raw):
        entry = dict(check.section(entry, "model", index))
        label = entry.pop("label")
        if any(m.label == label for m in models):
            check.fail("model", index, "label", f"duplicate label {label!r}")
        _check_label(check, "model", index, "label", label, model_folders)
        paper_row = entry.pop("paper_row", None)
        if paper_row is not None and paper_row not in PAPER_TABLE2:
            check.fail("model", index, "paper_row", f"{paper_row!r} is not a row of the paper's tables ({', '.join(PAPER_TABLE2)})")
        options = {**training, **entry}
        options.setdefault("preset", "cpu")
        for key, value in options.items():  # the bounds and choices of lsbo train's own schema
            place: tuple[str, int | None, str] = ("model", index, key) if key in entry else ("training", None, key)
            try:
                if key in OPTIONS:
                    check_value(key, value)
                elif key == "rec_weight":
                    check_rec_weight(value)
            except ConfigError as err:
                check.fail(*place, str(err))
        try:
            regularizer, given = options.get("regularizer", "gmm"), options.get("regularizer_options", {})
            check_regularizer_options(regularizer, given)
            normalized = normalize_regularizer_options(regularizer, given)  # each option's type, as training will read it
            for option, value in given.items():
                if isinstance(value, str) and normalized[option] is not None and not isinstance(normalized[option], str):
                    raise ConfigError(f"regularizer {regularizer!r} option {option} is the text {value!r}; write the "
                                      f"{type(normalized[option]).__name__} without quotes")
        except ConfigError as err:
            key = "regularizer_options" if "regularizer_options" in entry and "unknown regularizer" not in str(err) else "regularizer"
            check.fail("model", index, key if key in entry else None, str(err))
        models.append(ModelSpec(label=label, options=options, paper_row=paper_row))

    bo = dict(check.section(raw.get("bo", {}), "bo"))
    strategies_raw = bo.pop("strategy", [])
    strategies: list[StrategySpec] = []
    strategy_folders: dict[str, str] = {}
    for index, entry in enumerate(strategies_raw):
        entry = dict(check.section(entry, "bo.strategy", index))
        name = entry.pop("name")
        if name not in STRATEGY_NAMES:
            check.fail("bo.strategy", index, "name", f"unknown strategy {name!r} (expected one of: {', '.join(STRATEGY_NAMES)})")
        for key in ("iterations", "batch", "attempts", "inducing", "max_train_points", "num_restarts", "raw_samples", "optimizer_iterations",
                    "budget", "retrain_every", "retrain_epochs", "retrain_samples"):
            if key in entry and entry[key] < 1:
                check.fail("bo.strategy", index, key, f"must be at least 1, got {entry[key]}")
        if "rank_k" in entry and not entry["rank_k"] > 0:
            check.fail("bo.strategy", index, "rank_k", f"must be positive, got {entry['rank_k']}")
        for key in RETRAIN_KEYS:
            if key in entry and "retrain_every" not in entry:
                check.fail("bo.strategy", index, key, "applies to weighted retraining, which needs retrain_every")
        calls = f"{entry['budget']} calls" if "budget" in entry else f"{entry.get('iterations', ITERATIONS)}x{entry.get('batch', BATCH_SIZE)}"
        label = entry.pop("label", None) or f"{name} {calls}" + (" + WR" if "retrain_every" in entry else "")
        if any(s.label == label for s in strategies):
            check.fail("bo.strategy", index, "label", f"two strategies are labelled {label!r}; give each a distinct label")
        _check_label(check, "bo.strategy", index, "label", label, strategy_folders)
        strategies.append(StrategySpec(name=name, label=label, options=entry))
    trials = bo.get("trials", 1)
    if trials < 1:
        check.fail("bo", None, "trials", f"must be at least 1, got {trials}")

    report = check.section(raw.get("report", {}), "report")
    baseline = report.get("baseline", models[0].label)
    if baseline not in [m.label for m in models]:
        check.fail("report", None, "baseline", f"no [[model]] is labelled {baseline!r} (labels: {', '.join(m.label for m in models)})")
    confidence = float(report.get("confidence", 0.95))
    if not 0.0 < confidence < 1.0:
        check.fail("report", None, "confidence", f"must be in (0, 1), got {confidence}")

    data = dataset.get("data")
    spec = ExperimentSpec(
        path=path, name=experiment.get("name", path.stem), source=dataset["source"],
        data=resolve_data_path(path, data) if data is not None else None, limit=dataset.get("limit"),
        target=dataset["target"], seeds=tuple(seeds), models=tuple(models), strategies=tuple(strategies),
        trials=trials, bo_seed=bo.get("seed", 0), threads=threads, device=device,
        bo_threads=bo.get("threads", threads), bo_device=bo.get("device", device),
        evaluation=dict(check.section(raw.get("evaluation", {}), "evaluation")), baseline=baseline,
        confidence=confidence, resamples=int(report.get("resamples", 10000)),
    )
    # Each strategy's settings as lsbo optimize checks them, now rather than after hours of training.
    for index, strategy in enumerate(strategies):
        try:
            bo_config(spec, strategy)
        except ConfigError as err:
            names = err.parameter if isinstance(err.parameter, tuple) else (err.parameter,)
            keys = [SPEC_KEY_OF.get(str(name), str(name)) for name in names if name]
            spec_key = next((k for k in keys if k in strategy.options), None)
            check.fail("bo.strategy", index, spec_key, str(err))
    return spec


def resolve_data_path(spec_path: Path, data: str) -> Path:
    """An absolute path as given; a relative one beside the spec if it exists there, else in the shared data."""
    from lsbo.settings import shared_data_dir

    candidate = Path(data).expanduser()
    if candidate.is_absolute():
        return candidate
    beside = spec_path.parent / candidate
    return beside if beside.exists() else shared_data_dir() / candidate


def bo_config(spec: ExperimentSpec, strategy: StrategySpec) -> Any:
    """The :class:`lsbo.bo.BOConfig` of one ``[[bo.strategy]]`` (what ``lsbo optimize`` would run), validated."""
    from dataclasses import fields

    from lsbo.bo import BOConfig
    from lsbo.bo.acquisition import AcquisitionOptions
    from lsbo.bo.retraining import RetrainOptions

    options = dict(strategy.options)
    values: dict[str, Any] = dict(trials=spec.trials, seed=spec.bo_seed)
    renamed = {"batch": "batch_size", "inducing": "n_inducing"}
    acquisition = {"optimizer_iterations": "max_iterations", "num_restarts": "num_restarts", "raw_samples": "raw_samples",
                   "acquisition": "name"}
    values["acquisition"] = AcquisitionOptions(**{acquisition[k]: v for k, v in options.items() if k in acquisition})
    if "retrain_every" in options:
        values["retrain"] = RetrainOptions(every=options["retrain_every"],
                                           **{field: options[key] for key, field in RETRAIN_KEYS.items() if key in options})
    calls = {field: options[key] for key, field in OBJECTIVE_CALL_KEYS.items() if key in options}
    if calls:
        from lsbo.objectives.isolation import IsolationOptions

        values["objective_calls"] = IsolationOptions(**calls)
    for key, value in options.items():
        if key in acquisition or key in RETRAIN_KEYS or key in OBJECTIVE_CALL_KEYS or key == "retrain_every":
            continue
        elif key == "plain_masking":
            values["complete"] = not value
        else:
            values[renamed.get(key, key)] = value
    if any(f.name == "strategy" for f in fields(BOConfig)):
        values["strategy"] = strategy.name
    elif strategy.name != "protocol":
        raise ConfigError(f"{spec.path}: strategy {strategy.name!r} is listed but BOConfig has no strategy field")
    config = BOConfig(**values)
    config.validate()
    return config
