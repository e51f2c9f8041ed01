"""Reading experiment specs: the shipped ones load, and a malformed one is one line naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsbo.errors import ConfigError
from lsbo.experiment import load_spec
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
[dataset]
source = "expr"
target = "expr"

[training]
seeds = [0, 1]
preset = "cpu"

[[model]]
label = "GMM-KS"
regularizer = "gmm"

[[model]]
label = "GVAE"
regularizer = "vae"
regularizer_options = { epsilon_std = 0.01 }

[bo]
trials = 2

[[bo.strategy]]
name = "protocol"
iterations = 2
batch = 5
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    return message[len(str(path)):]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_good_spec_reads_models_seeds_and_strategies(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, GOOD))
    assert [m.label for m in spec.models] == ["GMM-KS", "GVAE"]
    assert spec.seeds == (0, 1) and spec.trials == 2 and spec.baseline == "GMM-KS"
    assert spec.model("GVAE").options == {"preset": "cpu", "regularizer": "vae", "regularizer_options": {"epsilon_std": 0.01}}
    assert spec.strategies[0].label == "protocol 2x5"


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        ('regularizer = "vae"', 'regulariser = "vae"', "regulariser", "model[2].regulariser: unknown key"),
        ('preset = "cpu"', 'preset = "cpu"\nepochs = "ten"', "epochs", "training.epochs: expected an integer"),
        ("iterations = 2", "iterations = 2.5", "iterations", "bo.strategy[1].iterations: expected an integer"),
        ('regularizer = "vae"', 'regularizer = "vea"', "vea", "model[2].regularizer: regularizer 'vea': expected one of gmm, vae"),
        ("epsilon_std = 0.01", "epsilon = 0.01", "epsilon", "model[2].regularizer_options: regularizer 'vae' has no option 'epsilon'"),
        ('name = "protocol"', 'name = "random"', "random", "bo.strategy[1].name: unknown strategy 'random' (expected one of: protocol"),
        ('label = "GVAE"', 'label = "GVAE"\npaper_row = "GVAE2"', "GVAE2", "model[2].paper_row: 'GVAE2' is not a row of the paper's tables"),
        ("trials = 2", 'trials = 2\nseed = true', "seed = true", "bo.seed: expected an integer"),
        ('preset = "cpu"', 'preset = "cpu"\ninit = "keras"', "keras", "training.init: init 'keras': expected one of torch, glorot"),
        ('label = "GVAE"', 'label = "GVAE"\nweight_seed = -1', "weight_seed", "model[2].weight_seed: weight_seed must be between 0"),
    ],
)
def test_malformed_spec_names_file_line_and_key(tmp_path: Path, old: str, new: str, needle: str, expected: str) -> None:
    text = GOOD.replace(old, new, 1)
    message = _error(tmp_path, text)
    assert message.startswith(f":{_line(text, needle)}: "), message
    assert expected in message


def test_a_weight_seed_reaches_every_training_of_its_model(tmp_path: Path) -> None:
    from lsbo.experiment.runner import train_options

    spec = load_spec(_write(tmp_path, GOOD.replace('label = "GVAE"', 'label = "GVAE"\nweight_seed = 0', 1)))
    chosen = [train_options(spec, spec.model("GVAE"), seed, tmp_path / str(seed)) for seed in spec.seeds]
    assert [(o.seed, o.weight_seed) for o in chosen] == [(0, 0), (1, 0)]
    assert train_options(spec, spec.model("GMM-KS"), 1, tmp_path / "g").weight_seed is None
    message = _error(tmp_path, GOOD.replace('label = "GVAE"', 'label = "GVAE"\nweight_seed = "zero"', 1))
    assert "model[2].weight_seed: expected an integer" in message


def test_a_budget_and_weighted_retraining_reach_the_bo_config(tmp_path: Path) -> None:
    from lsbo.experiment.runner import bo_config

    text = GOOD.replace("iterations = 2\nbatch = 5", 'name = "turbo"\nbatch = 10\nbudget = 45\nretrain_every = 20\nrank_k = 0.01', 1)
    text = text.replace('name = "protocol"\n', "", 1)
    spec = load_spec(_write(tmp_path, text))
    strategy = spec.strategies[0]
    assert strategy.label == "turbo 45 calls + WR" and strategy.budget == "45 calls of 10"
    config = bo_config(spec, strategy)
    assert (config.strategy, config.budget, config.calls_per_trial, config.layout) == ("turbo", 45, 45, (5, 10))
    assert config.retrain is not None and (config.retrain.every, config.retrain.rank_k, config.retrain.epochs) == (20, 0.01, 1)
    assert config.novel_only is False
    novel = load_spec(_write(tmp_path, text.replace("budget = 45", "budget = 45\nnovel_only = true", 1)))
    assert bo_config(novel, novel.strategies[0]).novel_only is True
    without = text.replace("retrain_every = 20\n", "", 1)
    message = _error(tmp_path, without)
    assert message.startswith(f":{_line(without, 'rank_k')}: bo.strategy[1].rank_k: applies to weighted retraining, which needs retrain_every")
    for old, new, expected in (("budget = 45", "budget = 0", "bo.strategy[1].budget: must be at least 1, got 0"),
                               ("rank_k = 0.01", "rank_k = -1", "bo.strategy[1].rank_k: must be positive, got -1")):
        assert expected in _error(tmp_path, text.replace(old, new, 1))


def test_a_strategy_setting_lsbo_optimize_would_refuse_is_refused_when_the_spec_is_read(tmp_path: Path) -> None:
    text = GOOD.replace("batch = 5", "batch = 5\nnovel_only = true", 1)
    message = _error(tmp_path, text)
    assert message.startswith(f":{_line(text, 'novel_only')}: bo.strategy[1].novel_only: novel_only needs points ranked beyond the batch")
    text = GOOD.replace("batch = 5", 'batch = 5\nsurrogate = "local"', 1)
    assert _error(tmp_path, text).startswith(f":{_line(text, 'surrogate')}: bo.strategy[1].surrogate: surrogate 'local' with strategy protocol")


def test_strategy_names_come_from_the_bo_package(tmp_path: Path) -> None:
    from lsbo.bo import STRATEGY_NAMES

    for name in STRATEGY_NAMES:  # e.g. protocol and turbo
        assert load_spec(_write(tmp_path, GOOD.replace('name = "protocol"', f'name = "{name}"'))).strategies[0].name == name


def test_baseline_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    text = GOOD + '\n[report]\nbaseline = "GRAE"\n'
    message = _error(tmp_path, text)
    assert message.startswith(f":{_line(text, 'baseline')}: report.baseline: no [[model]] is labelled 'GRAE'")


def test_unknown_section_and_invalid_toml(tmp_path: Path) -> None:
    text = GOOD + "\n[trainig]\nepochs = 3\n"
    assert _error(tmp_path, text).startswith(f":{_line(text, 'trainig')}: trainig: unknown section")
    message = _error(tmp_path, GOOD.replace("trials = 2", "trials = = 2"))
    assert message.startswith(": not valid TOML:") and f"line {_line(GOOD, 'trials')}" in message


def test_cli_reports_a_malformed_spec_in_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('regularizer = "vae"', 'regulariser = "vae"'))
    result = run_cli("experiment", "status", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "spec.toml:" in lines[0] and "regulariser" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("flag", "label", "known"), [("--model", "GRAE", "GMM-KS, GVAE"), ("--strategy", "turbo", "protocol 2x5")])
def test_cli_refuses_a_model_or_strategy_the_spec_does_not_have(tmp_path: Path, flag: str, label: str, known: str) -> None:
    path = _write(tmp_path, GOOD)
    result = run_cli("experiment", "run", str(path), "--out", str(tmp_path / "out"), flag, "GMM-KS" if flag == "--model" else "protocol 2x5",
                     flag, label)
    assert result.returncode == 1
    kind = flag.lstrip("-")
    assert result.stderr.strip() == f"error: {flag} {label!r} is not in {path} (its {kind} labels: {known})"
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_cli_refuses_a_seed_the_spec_does_not_have(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    result = run_cli("experiment", "run", str(path), "--out", str(tmp_path / "out"), "--seed", "1", "--seed", "3")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: --seed 3 is not in {path} (its training seeds: 0, 1)"
    assert not (tmp_path / "out").exists()


def test_one_model_and_several_strategies_pairs_the_strategies(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from lsbo.experiment.tables import paired_table

    text = GOOD.replace('[[model]]\nlabel = "GVAE"\nregularizer = "vae"\nregularizer_options = { epsilon_std = 0.01 }\n', "", 1)
    text += '\n[[bo.strategy]]\nname = "turbo"\nbatch = 5\nbudget = 10\n'
    spec = load_spec(_write(tmp_path, text))
    assert [m.label for m in spec.models] == ["GMM-KS"] and [s.label for s in spec.strategies] == ["protocol 2x5", "turbo 10 calls"]
    rng = np.random.default_rng(0)
    protocol, turbo = rng.normal(1.0, 0.1, 4), rng.normal(0.5, 0.1, 4)
    cells = [(0, t) for t in (1, 2, 3, 4)]  # one seed, four trials
    values = pd.DataFrame(
        [dict(strategy="protocol 2x5", model="GMM-KS", seed=s, trial=t, metric="best_1", value=v) for (s, t), v in zip(cells, protocol)]
        + [dict(strategy="turbo 10 calls", model="GMM-KS", seed=s, trial=t, metric="best_1", value=v) for (s, t), v in zip(cells, turbo)]
    )
    paired = paired_table(spec, values, "best_1", bo=True, higher_is_better=False)
    assert list(paired["baseline"]) == ["protocol 2x5"] and list(paired["other"]) == ["turbo 10 calls"]
    assert paired["pairs"].iloc[0] == 4 and paired["seeds"].iloc[0] == 1
    assert paired["mean difference (other - baseline)"].iloc[0] == pytest.approx(float(np.mean(turbo - protocol)))
    assert paired["interval"].iloc[0] == "bootstrap over trials (one seed)"
    assert paired["verdict"].iloc[0] == "too few trials of one seed (< 5)"  # the interval is shown, no verdict
    values = pd.concat([values, values.assign(seed=1, value=values["value"] + 0.05)])  # a second seed: 8 pairs
    paired = paired_table(spec, values, "best_1", bo=True, higher_is_better=False)
    assert paired["pairs"].iloc[0] == 8 and paired["interval"].iloc[0] == "t over 2 seeds"
    assert paired["verdict"].iloc[0] == "other better"  # lower is better and both seeds are about 0.5 lower


def test_per_seed_table_gives_each_seeds_trials_and_marks_the_missing(tmp_path: Path) -> None:
    import pandas as pd

    from lsbo.experiment.tables import per_seed_table

    spec = load_spec(_write(tmp_path, GOOD))
    values = pd.DataFrame([dict(strategy="protocol 2x5", model="GMM-KS", seed=s, trial=t, metric="best_1", value=v)
                           for s, t, v in [(0, 1, 0.5), (0, 2, 0.7), (1, 1, 0.25)]])
    table = per_seed_table(spec, values, "best_1").set_index("model")
    assert table.loc["GMM-KS", "seed 0"] == "0.600 ± 0.141 (n=2)"  # mean and sample std of 0.5 and 0.7
    assert table.loc["GMM-KS", "seed 1"] == "0.250 (n=1)"
    assert table.loc["GVAE", "seed 0"] == table.loc["GVAE", "seed 1"] == "-"


def test_tables_writes_what_is_complete_and_runs_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    out = tmp_path / "out"
    missing = run_cli("experiment", "tables", str(path), "--out", str(out))
    assert missing.returncode == 1 and missing.stderr.strip() == f"error: --out {out}: no experiment directory there (lsbo experiment run makes it)"
    out.mkdir()
    written = run_cli("experiment", "tables", str(path), "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in out.iterdir()) == ["tables"]  # no model, evaluation or BO cell was started
    table = (out / "tables" / "spec" / "best_1.md").read_text()
    assert "protocol 2x5" in table and "GMM-KS" in table and "GVAE" in table


@pytest.mark.parametrize("spec", sorted((REPO / "benchmarks" / "experiments").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_specs_load(spec: Path) -> None:
    loaded = load_spec(spec)
    assert loaded.models and loaded.seeds
    assert loaded.strategies or spec.name.startswith("baselines-")


@pytest.mark.parametrize("scale", ["paper", "cpu"])
@pytest.mark.parametrize(
    ("family", "expected"),
    [("tables23", ["GMM-KS", "GVAE", "GRAE", "GCVVAE"]), ("engines", ["GMM-KS"]), ("baselines-monitor-rec", ["GMM-KS", "GVAE"])],
)
def test_tables_specs_share_their_trained_models_with_the_baseline_specs(scale: str, family: str, expected: list[str]) -> None:
    # Their README promise: run both into one --out and the common models are trained once.
    baselines = load_spec(REPO / "benchmarks" / "experiments" / f"baselines-expr-{scale}.toml")
    tables = load_spec(REPO / "benchmarks" / "experiments" / f"{family}-expr-{scale}.toml")
    assert (baselines.source, baselines.data, baselines.limit) == (tables.source, tables.data, tables.limit)
    assert set(tables.seeds) <= set(baselines.seeds) or set(baselines.seeds) <= set(tables.seeds)
    shared = [m.label for m in tables.models if m.label in {b.label for b in baselines.models}]
    assert shared == expected
    for label in shared:
        assert tables.model(label).options == baselines.model(label).options, label


def test_a_spec_without_strategies_writes_only_the_diagnostic_tables(tmp_path: Path) -> None:
    from lsbo.experiment import write_tables
    from lsbo.experiment.tables import BO_METRICS, DIAGNOSTIC_METRICS

    spec = load_spec(_write(tmp_path, GOOD[: GOOD.index("[bo]")]))
    assert not spec.strategies
    written = {path.name for path in write_tables(spec, tmp_path / "out")}
    assert {f"{metric}.md" for metric in DIAGNOSTIC_METRICS} <= written
    assert not any(f"{metric}.md" in written for metric in BO_METRICS)
    summary = (tmp_path / "out" / "tables" / spec.name / "all.md").read_text()
    assert "no optimisation" in summary and "best score" not in summary


@pytest.mark.parametrize("scale", ["paper", "cpu"])
def test_the_padding_specs_cvae_row_is_the_tables_specs(scale: str) -> None:
    # The comparison of padded and unpadded character encoders reuses the Tables 2/3 CVAE models when both
    # specs run into one --out: same data, same label, same options; the padded row differs in the padding alone.
    padding = load_spec(REPO / "benchmarks" / "experiments" / f"baselines-cvae-padding-expr-{scale}.toml")
    tables = load_spec(REPO / "benchmarks" / "experiments" / f"tables23-expr-{scale}.toml")
    assert (padding.source, padding.data, padding.limit) == (tables.source, tables.data, tables.limit)
    assert padding.model("CVAE").options == tables.model("CVAE").options
    padded, unpadded = dict(padding.model("CVAE full padding").options), dict(padding.model("CVAE").options)
    assert padded.pop("conv_padding") == "full" and unpadded.pop("conv_padding", "valid") == "valid"
    assert padded == unpadded
