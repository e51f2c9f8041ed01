"""drd2, gsk3b and jnk3 on a model file the user supplies, and the one-line error without one.

The classifier here is a small logistic regression trained on ZINC molecules with made-up labels
(TDC's trained models cannot be downloaded); what is checked is that lsbo feeds a model TDC's
features, built here directly with RDKit's older fingerprint functions that TDC's code calls.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import AllChem
from sklearn.linear_model import LogisticRegression

from lsbo.errors import ObjectiveError
from lsbo.objectives import build_objective, target_unit
from lsbo.objectives.tdc_models import MODELS_VARIABLE, TDCModelOracle


def tdc_features(smiles: str, name: str) -> np.ndarray:
    """TDC's features, written out with the functions its oracle code calls."""
    RDLogger.DisableLog("rdApp.*")  # their deprecation notices
    mol = Chem.MolFromSmiles(smiles)
    if name == "drd2":
        folded = np.zeros(2048, dtype=np.int32)
        for index, count in AllChem.GetMorganFingerprint(mol, 3, useCounts=True, useFeatures=True).GetNonzeroElements().items():
            folded[index % 2048] += int(count)
        return folded
    bits = np.zeros((1,))
    DataStructs.ConvertToNumpyArray(AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=2048), bits)
    return bits


@pytest.fixture(scope="module")
def molecules(zinc_subset_path: Path) -> list[str]:
    return zinc_subset_path.read_text().split()[:60]


@pytest.mark.parametrize("name", ["drd2", "gsk3b", "jnk3"])
def test_scores_are_the_model_probability_on_tdc_features(name: str, molecules: list[str], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    train, test = molecules[:40], molecules[40:]
    labels = np.arange(len(train)) % 2
    model = LogisticRegression(max_iter=500).fit(np.stack([tdc_features(s, name) for s in train]), labels)
    file_name = {"drd2": "drd2_current.pkl", "gsk3b": "gsk3b_current.pkl", "jnk3": "jnk3_current.pkl"}[name]
    (tmp_path / file_name).write_bytes(pickle.dumps(model))
    monkeypatch.setenv(MODELS_VARIABLE, str(tmp_path))

    objective = build_objective(name)
    scores = objective([*test, "not a molecule"])
    expected = model.predict_proba(np.stack([tdc_features(s, name) for s in test]))[:, 1]
    assert scores[-1] is None
    assert np.allclose(np.array(scores[:-1], dtype=float), expected, rtol=0, atol=1e-12)
    assert len(set(scores[:-1])) > 5 and objective.maximize and target_unit(name) == objective.unit


def test_without_the_model_file_the_error_is_one_line_naming_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODELS_VARIABLE, raising=False)
    with pytest.raises(ObjectiveError, match=rf"drd2 needs TDC's trained model drd2_current.pkl.*set {MODELS_VARIABLE}") as caught:
        build_objective("drd2")
    assert caught.value.parameter == "target" and "\n" not in str(caught.value)
    monkeypatch.setenv(MODELS_VARIABLE, str(tmp_path))
    with pytest.raises(ObjectiveError, match=r"gsk3b_current.pkl: not found in"):
        build_objective("gsk3b")
    (tmp_path / "jnk3_current.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ObjectiveError, match=r"target jnk3: cannot load"):
        TDCModelOracle("jnk3", tmp_path)
