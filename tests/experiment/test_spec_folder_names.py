"""Labels name folders: they never leave the experiment directory and never share a folder (#36 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsbo.errors import ConfigError
from lsbo.experiment import Layout, load_spec
from lsbo.experiment.spec import MAX_LABEL_LENGTH, slug
from tests.conftest import run_cli

SPEC = """\
[dataset]
source = "expr"
data = "{data}"
limit = 60
target = "expr"

[training]
seeds = [0]
preset = "cpu"
epochs = 1
batch_size = 32
latent_dim = 2
gru_hidden = 8
threads = 1
device = "cpu"

{models}
"""


def _spec(tmp_path: Path, *labels: str, data: str = "x.txt") -> Path:
    models = "\n".join(f'[[model]]\nlabel = "{label}"\nregularizer = "gmm"\n' for label in labels)
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(data=data, models=models), encoding="utf-8")
    return path


@pytest.mark.parametrize("label", ["..", ".", "../..", "../../etc", "/abs/path", "a/../../b", ".hidden", "\\\\..\\\\.."])
def test_no_label_names_a_folder_outside_its_parent(tmp_path: Path, label: str) -> None:
    spec = load_spec(_spec(tmp_path, label))
    root = tmp_path / "out"
    label = spec.models[0].label
    # bo/<strategy>/<model>: a strategy and a model labelled ".." used to reach the parent of root
    for folder in (Layout(root).model_dir(label, 0), Layout(root).bo_dir(label, label, 0)):
        name = folder.parent.name
        assert name not in (".", "..") and not name.startswith(".") and "/" not in name
        assert folder.resolve().is_relative_to(root.resolve())


@pytest.mark.parametrize(
    ("first", "second"),
    [("GMM KS", "GMM_KS"), ("GMM-KS", "gmm-ks"), ("Модель А", "модель а"), ("..", "_"), ("a/b", "a b")],
)
def test_two_labels_that_map_to_one_folder_are_refused(tmp_path: Path, first: str, second: str) -> None:
    with pytest.raises(ConfigError, match="map to the same folder") as caught:
        load_spec(_spec(tmp_path, first, second))
    assert "model[2].label" in str(caught.value) and str(caught.value).count("\n") == 0


def test_labels_in_other_scripts_keep_distinct_folders(tmp_path: Path) -> None:
    # two Cyrillic labels used to become "_" both; their letters are kept now
    spec = load_spec(_spec(tmp_path, "Модель А", "Модель Б"))
    assert [slug(m.label) for m in spec.models] == ["Модель_А", "Модель_Б"]
    assert slug("turbo 500 calls") == "turbo_500_calls" and slug("GMM-KS") == "GMM-KS"  # existing folders keep their names


def test_a_label_too_long_for_a_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"5000 characters long; at most {MAX_LABEL_LENGTH}"):
        load_spec(_spec(tmp_path, "x" * 5000))


def test_a_dot_dot_label_trains_inside_out(tmp_path: Path, expr_dataset_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    spec = _spec(work, "..", data=str(expr_dataset_path))
    out = work / "experiments" / "e"
    result = run_cli("experiment", "run", str(spec), "--out", str(out), "--stage", "train")
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in work.iterdir()) == ["experiments", "spec.toml"]
    assert sorted(p.name for p in (work / "experiments").iterdir()) == ["e"]
    assert (out / "models" / "_" / "seed_0" / "checkpoint.pt").is_file()


def test_a_cell_folder_replaced_by_a_link_is_refused(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "models").mkdir(parents=True)
    (root / "models" / "GMM-KS").symlink_to(elsewhere)
    with pytest.raises(Exception, match="is a symbolic link"):
        Layout(root).model_dir("GMM-KS", 0)
