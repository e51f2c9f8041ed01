"""Every setting ``lsbo optimize`` accepts for a built-in strategy is accepted by an experiment spec,
and gives the same :class:`lsbo.bo.BOConfig`."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsbo.bo import BOConfig
from lsbo.bo.acquisition import AcquisitionOptions
from lsbo.bo.retraining import RetrainOptions
from lsbo.components import STRATEGIES
from lsbo.experiment import load_spec
from lsbo.experiment.spec import bo_config
from lsbo.objectives.isolation import IsolationOptions

HEAD = """\
[dataset]
source = "expr"
target = "expr"

[training]
seeds = [0]

[[model]]
label = "GMM-KS"

[bo]
trials = 2
seed = 3

[[bo.strategy]]
"""


def _choices() -> list[tuple[str, str, str]]:
    return [(name, acquisition, surrogate) for name in ("protocol", "turbo")
            for acquisition in STRATEGIES.get(name).acquisitions for surrogate in STRATEGIES.get(name).surrogates]


@pytest.mark.parametrize(("strategy", "acquisition", "surrogate"), _choices())
def test_every_acquisition_and_surrogate_of_a_builtin_strategy_is_a_spec_setting(
    tmp_path: Path, strategy: str, acquisition: str, surrogate: str
) -> None:
    novel = strategy == "turbo" and acquisition == "ts"
    body = (f'name = "{strategy}"\nacquisition = "{acquisition}"\nsurrogate = "{surrogate}"\niterations = 3\nbatch = 7\n'
            f"budget = 20\nattempts = 9\ninducing = 64\nmax_train_points = 100\nbox = \"prior\"\nnum_restarts = 3\n"
            f"raw_samples = 32\noptimizer_iterations = 11\nplain_masking = true\nnovel_only = {str(novel).lower()}\n"
            f"retrain_every = 10\nrank_k = 0.01\nretrain_epochs = 2\nretrain_samples = 30\n"
            f"objective_workers = 2\nobjective_timeout = 1.5\n")
    path = tmp_path / "spec.toml"
    path.write_text(HEAD + body)
    spec = load_spec(path)
    # what `lsbo optimize --strategy S --acquisition A --surrogate U --iterations 3 --batch 7 ...` builds
    expected = BOConfig(
        trials=2, seed=3, strategy=strategy, iterations=3, batch_size=7, budget=20, attempts=9, n_inducing=64,
        max_train_points=100, box="prior", complete=False, novel_only=novel, surrogate=surrogate,
        acquisition=AcquisitionOptions(name=acquisition, num_restarts=3, raw_samples=32, max_iterations=11),  # type: ignore[arg-type]
        retrain=RetrainOptions(every=10, rank_k=0.01, epochs=2, samples_per_epoch=30),
        objective_calls=IsolationOptions(workers=2, timeout=1.5),
    )
    assert bo_config(spec, spec.strategies[0]) == expected
    assert expected.resolved() == expected


def test_a_spec_setting_refused_by_the_strategy_names_its_key(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(HEAD + 'name = "protocol"\nsurrogate = "local"\n')
    with pytest.raises(Exception, match=r"spec.toml:\d+: bo.strategy\[1\].surrogate: surrogate 'local' with strategy protocol"):
        load_spec(path)
    path.write_text(HEAD + 'name = "turbo"\nobjective_workers = 0\n')
    with pytest.raises(Exception, match=r"bo.strategy\[1\].objective_workers: objective_calls.workers must be a whole number"):
        load_spec(path)
