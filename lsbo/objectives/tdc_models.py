"""PMO's three model-based oracles, DRD2, GSK3B and JNK3, on trained models the user supplies.

TDC scores them with scikit-learn classifiers it downloads at run time (``drd2_current.pkl``,
``gsk3b_current.pkl``, ``jnk3_current.pkl`` in TDC's ``oracle/`` folder); lsbo cannot download
them, so it reads them from the folder named by the environment variable :data:`MODELS_VARIABLE`.
The score is the classifier's probability of the active class (``predict_proba[:, 1]``) on TDC's
features of the molecule:

- ``drd2``: Morgan counts of radius 3 on feature invariants, folded onto 2,048 integers (each
  feature's count added at ``id % 2048``) (Olivecrona et al., 2017);
- ``gsk3b``, ``jnk3``: the 2,048-bit Morgan fingerprint of radius 2 as 0/1 floats (Li et al., 2018).

A model file is a pickle: only ever point :data:`MODELS_VARIABLE` at files you trust. ``None`` for a
string RDKit cannot parse.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lsbo.errors import ObjectiveError
from lsbo.objectives.base import Objective
from lsbo.objectives.logp import _molecule

#: The environment variable naming the folder that holds TDC's model files.
MODELS_VARIABLE = "LSBO_ORACLE_MODELS"
#: The file each oracle reads, by TDC's name for it (scikit-learn >= 0.24 versions).
MODEL_FILES = {"drd2": "drd2_current.pkl", "gsk3b": "gsk3b_current.pkl", "jnk3": "jnk3_current.pkl"}
FINGERPRINT_SIZE = 2048


def drd2_features(mol: Any) -> np.ndarray:
    """``(2048,)`` int32: radius-3 feature-Morgan counts folded by ``id % 2048``."""
    from rdkit.Chem import rdFingerprintGenerator as generators

    generator = generators.GetMorganGenerator(radius=3, atomInvariantsGenerator=generators.GetMorganFeatureAtomInvGen())
    features = np.zeros(FINGERPRINT_SIZE, dtype=np.int32)
    for feature, count in generator.GetSparseCountFingerprint(mol).GetNonzeroElements().items():
        features[feature % FINGERPRINT_SIZE] += int(count)
    return features


def kinase_features(mol: Any) -> np.ndarray:
    """``(2048,)`` float64: the radius-2 Morgan bits (GSK3B and JNK3)."""
    from rdkit.Chem import rdFingerprintGenerator as generators

    return generators.GetMorganGenerator(radius=2, fpSize=FINGERPRINT_SIZE).GetFingerprintAsNumPy(mol).astype(np.float64)


class TDCModelOracle(Objective):
    """One of TDC's classifier oracles (maximise; a probability in [0, 1]).

    Args:
        name: ``drd2``, ``gsk3b`` or ``jnk3``.
        model_dir: the folder holding its model file (default: ``$LSBO_ORACLE_MODELS``).
    """

    maximize = True
    unit = "probability of activity from TDC's classifier (0 to 1)"

    def __init__(self, name: str, model_dir: str | Path | None = None) -> None:
        if name not in MODEL_FILES:
            raise ObjectiveError(f"target {name!r}: expected one of {', '.join(MODEL_FILES)}", parameter="target")
        self.name = name
        folder = model_dir if model_dir is not None else os.environ.get(MODELS_VARIABLE)
        file_name = MODEL_FILES[name]
        if not folder:
            raise ObjectiveError(f"target {name} needs TDC's trained model {file_name}, which lsbo cannot download: "
                                 f"set {MODELS_VARIABLE} to the folder that holds it", parameter="target")
        path = Path(folder).expanduser() / file_name
        if not path.is_file():
            raise ObjectiveError(f"target {name} needs TDC's trained model {file_name}: not found in {path.parent} "
                                 f"(the folder {MODELS_VARIABLE} names)", parameter="target")
        try:
            with path.open("rb") as handle:
                self.model = pickle.load(handle)  # noqa: S301  # the user's own file (module docstring)
        except Exception as err:
            raise ObjectiveError(f"target {name}: cannot load {path}: {type(err).__name__}: {err}", parameter="target") from None
        if not hasattr(self.model, "predict_proba"):
            raise ObjectiveError(f"target {name}: {path} holds no classifier with predict_proba", parameter="target")
        self._features = drd2_features if name == "drd2" else kinase_features

    def __call__(self, strings: Sequence[str]) -> list[float | None]:
        mols = [_molecule(s) for s in strings]
        valid = [i for i, mol in enumerate(mols) if mol is not None]
        scores: list[float | None] = [None] * len(strings)
        if valid:
            features = np.stack([self._features(mols[i]) for i in valid])  # (n_valid, 2048)
            probabilities = self.model.predict_proba(features)[:, 1]
            for i, probability in zip(valid, probabilities):
                scores[i] = float(probability)
        return scores

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None
