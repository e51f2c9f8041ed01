"""Plugins: ``lsbo --plugin``, ``LSBO_PLUGINS`` and the entry points load a user's components before the
command line is parsed; the worked examples of docs/extending.md run through the real CLI."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from lsbo.errors import ConfigError
from lsbo.plugins import ENVIRONMENT_VARIABLE, load_plugin, plugins_in_arguments
from tests.conftest import run_cli
from tests.fixtures.behaviour import MODELS_FIXTURE

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "plugins"
STRATEGY = EXAMPLES / "random_search.py"
MODEL = MODELS_FIXTURE / "expr-grammar-gmm"
TINY_RUN = ("--target", "expr", "--model", str(MODEL), "--trials", "1", "--iterations", "2", "--batch", "3",
            "--attempts", "5", "--max-train-points", "50", "--device", "cpu", "--threads", "1")

SPEC = """\
[dataset]
source = "expr"
target = "expr"

[training]
seeds = [0]
preset = "cpu"

[[model]]
label = "GMM-KS"

[[bo.strategy]]
name = "random"
iterations = 2
batch = 5

[[bo.strategy]]
name = "turbo"
acquisition = "ts"
surrogate = "local"
novel_only = true
"""


def test_docs_extending_shows_the_example_files_as_they_are() -> None:
    import re

    blocks = re.findall(r"<!-- snippet: no-run -->\n```python\n(.*?)```", (REPO / "docs" / "extending.md").read_text(), re.S)
    files = [EXAMPLES / name for name in ("random_search.py", "sparse_code.py", "lstm_decoder.py", "sine_fit.py")]
    assert blocks == [path.read_text().split("from __future__ import annotations\n\n", 1)[1] for path in files]


def test_plugins_are_read_from_the_root_options_only() -> None:
    assert plugins_in_arguments(["--plugin", "a.py", "-v", "--plugin=b", "optimize", "--plugin", "c"]) == ["a.py", "b"]
    assert plugins_in_arguments(["optimize", "--plugin", "a.py"]) == []
    with pytest.raises(ConfigError, match="--plugin needs a value"):
        plugins_in_arguments(["--plugin"])


def test_a_plugin_that_fails_to_import_is_one_line_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_for_lsbo\n")
    with pytest.raises(ConfigError) as caught:
        load_plugin(str(broken))
    assert str(caught.value) == f"plugin {str(broken)!r} failed to import: ModuleNotFoundError: No module named 'no_such_module_for_lsbo'"
    assert caught.value.parameter == "plugin"
    result = run_cli("--plugin", str(broken), "--version")
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"error: --plugin {str(broken)!r} failed to import: ModuleNotFoundError: No module named 'no_such_module_for_lsbo'"
    ]
    missing = run_cli("--plugin", "no_such_plugin_module", "--version")
    assert missing.returncode == 1 and "error: --plugin 'no_such_plugin_module' failed to import: ModuleNotFoundError" in missing.stderr


def test_a_plugin_file_is_imported_once_under_its_own_module_name(tmp_path: Path) -> None:
    plugin = tmp_path / "counting.py"
    plugin.write_text("import builtins\nbuiltins.lsbo_test_imports = getattr(builtins, 'lsbo_test_imports', 0) + 1\n")
    module = load_plugin(str(plugin))
    assert load_plugin(str(tmp_path / "." / "counting.py")) is module
    assert sys.modules[module.__name__] is module and module.__name__.startswith("lsbo_plugin_counting_")
    import builtins

    assert builtins.lsbo_test_imports == 1  # type: ignore[attr-defined]


def test_a_plugin_strategy_is_in_the_help_runs_and_is_accepted_by_a_spec(tmp_path: Path) -> None:
    helped = run_cli("--plugin", str(STRATEGY), "optimize", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "protocol | turbo | random" in " ".join(helped.stdout.split())
    without = run_cli("optimize", *TINY_RUN, "--strategy", "random", "--out", str(tmp_path / "refused"))
    assert without.returncode == 1
    assert "error: --strategy 'random': expected one of protocol, turbo; a component of a plugin is known once" in without.stderr
    assert not (tmp_path / "refused").exists()

    out = tmp_path / "run"
    result = run_cli("--plugin", str(STRATEGY), "optimize", *TINY_RUN, "--strategy", "random", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in (out / "trial_1" / "evaluations.jsonl").read_text().splitlines()]
    assert [(r["iteration"], r["index"]) for r in records] == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    assert json.loads((out / "run.json").read_text())["strategy"] == "random"

    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    status = run_cli("experiment", "status", str(spec), "--out", str(tmp_path / "exp"),
                     env={ENVIRONMENT_VARIABLE: os.pathsep.join(["json", str(STRATEGY)])})
    assert status.returncode == 0, status.stderr
    assert "optimize random 2x5 GMM-KS seed 0" in status.stdout and "optimize turbo 5x50 GMM-KS seed 0" in status.stdout
    refused = run_cli("experiment", "status", str(spec), "--out", str(tmp_path / "exp"))
    assert refused.returncode == 1 and "bo.strategy[1].name: unknown strategy 'random'" in refused.stderr


def test_entry_points_and_the_environment_are_loaded_in_that_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.metadata

    import lsbo.plugins as plugins

    order = tmp_path / "order.py"
    order.write_text("import builtins\nbuiltins.lsbo_test_order = getattr(builtins, 'lsbo_test_order', []) + ['file']\n")
    points = [importlib.metadata.EntryPoint(name="ours", value="tests.fixtures", group=plugins.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points if group == plugins.ENTRY_POINT_GROUP else [])
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, os.pathsep.join(["", str(order), " "]))
    modules = plugins.load_plugins(["tests.fixtures.behaviour"])
    assert [m.__name__ for m in modules][0] == "tests.fixtures" and modules[2].__name__ == "tests.fixtures.behaviour"
    assert modules[1].__name__.startswith("lsbo_plugin_order_")


def test_a_plugin_regularizer_trains_is_named_in_the_checkpoint_and_loads_again(tmp_path: Path, expr_dataset_path: Path) -> None:
    plugin = EXAMPLES / "sparse_code.py"
    helped = run_cli("--plugin", str(plugin), "train", "--help")
    assert helped.returncode == 0 and "gmm|vae|cvvae|rae|wae|ae|sparse" in helped.stdout.replace(" ", "")
    model = tmp_path / "model"
    trained = run_cli("--plugin", str(plugin), "train", "expr", "--data", str(expr_dataset_path), "--limit", "100", "--epochs", "1",
                      "--preset", "cpu", "--latent-dim", "2", "--gru-hidden", "8", "--dense-units", "8", "--batch-size", "50",
                      "--threads", "1", "--device", "cpu", "--regularizer", "sparse", "--regularizer-option", "weight=0.01",
                      "--out", str(model))
    assert trained.returncode == 0, trained.stderr[-2000:]
    config = json.loads((model / "config.json").read_text())
    assert config["components"]["regularizer"] == {"kind": "sparse", "settings": {"weight": 0.01}}
    assert "train_l1" in (model / "metrics.csv").read_text().splitlines()[0]
    refused = run_cli("sample", str(model), "-n", "3", "--device", "cpu")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "unknown regularizer 'sparse'" in refused.stderr and "--plugin MODULE_OR_FILE or LSBO_PLUGINS" in refused.stderr
    sampled = run_cli("sample", str(model), "-n", "3", "--device", "cpu", env={ENVIRONMENT_VARIABLE: str(plugin)})
    assert sampled.returncode == 0, sampled.stderr
    assert len(sampled.stdout.splitlines()) == 3


def test_a_plugin_objective_is_a_target_whose_scores_are_its_own(tmp_path: Path) -> None:
    plugin = EXAMPLES / "sine_fit.py"
    out = tmp_path / "run"
    tiny = [*TINY_RUN]
    tiny[tiny.index("--target") + 1] = "sine-fit"
    result = run_cli("--plugin", str(plugin), "optimize", *tiny, "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in (out / "trial_1" / "evaluations.jsonl").read_text().splitlines()]
    objective = load_plugin(str(plugin)).SineFit()
    assert len(records) == 6 and all(r["valid"] for r in records)
    for record in records:  # the score is the plugin's, computed directly here
        assert record["score"] == pytest.approx(objective.score(record["string"]), abs=1e-12)
    assert f"Unit of every score column: {objective.unit}." in (out / "table.md").read_text()


def test_a_plugin_decoder_is_step_wise_consistent_trains_and_decodes_again(tmp_path: Path, expr_dataset_path: Path) -> None:
    import torch

    from lsbo.components import DECODERS
    from lsbo.plugins import load_plugins

    plugin = EXAMPLES / "lstm_decoder.py"
    load_plugins([str(plugin)])
    torch.manual_seed(0)
    decoder = DECODERS.get("lstm")(latent_dim=4, max_length=6, gru_hidden=8, gru_layers=2, n_symbols=5).eval()
    z, symbols = torch.randn(3, 4), torch.randint(0, 5, (3, 6))
    with torch.no_grad():
        forced = decoder.training_logits(z, symbols)
        state, previous, stepped = decoder.start(z), None, []
        for t in range(6):
            logits, state = decoder.step(state, previous)
            stepped.append(logits)
            previous = symbols[:, t]
    torch.testing.assert_close(torch.stack(stepped, dim=1), forced)

    helped = run_cli("--plugin", str(plugin), "train", "--help")
    assert helped.returncode == 0 and "repeat|autoregressive|lstm" in helped.stdout.replace(" ", "").replace("\n", "").replace("│", "")
    model = tmp_path / "model"
    trained = run_cli("--plugin", str(plugin), "train", "expr", "--data", str(expr_dataset_path), "--limit", "100", "--epochs", "1",
                      "--preset", "cpu", "--latent-dim", "2", "--gru-hidden", "8", "--dense-units", "8", "--batch-size", "50",
                      "--threads", "1", "--device", "cpu", "--decoder", "lstm", "--out", str(model))
    assert trained.returncode == 0, trained.stderr[-2000:]
    config = json.loads((model / "config.json").read_text())
    assert config["components"]["decoder"]["kind"] == "lstm" and config["config"]["decoder"] == "lstm"
    refused = run_cli("sample", str(model), "-n", "3", "--device", "cpu")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "names an unknown decoder: decoder 'lstm'" in refused.stderr and "--plugin MODULE_OR_FILE" in refused.stderr
    sampled = run_cli("--plugin", str(plugin), "sample", str(model), "-n", "3", "--device", "cpu")
    assert sampled.returncode == 0, sampled.stderr
    assert len(sampled.stdout.splitlines()) == 3
