"""Fixtures shared by the objective tests."""

from __future__ import annotations

import importlib.util
import os

import pytest


@pytest.fixture(scope="module")
def reference_sascorer():
    """RDKit's Contrib ``SA_Score/sascorer.py``, loaded directly: the reference the SA term is checked against."""
    from rdkit.Chem import RDConfig

    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("reference_sascorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
