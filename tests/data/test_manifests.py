"""The JSON manifests in data/ mirror the constants the library reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsbo.data.manifests import ALIASES, MANIFESTS, ZINC250K, get_manifest
from lsbo.errors import DataError

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_json_manifest_agrees_with_library_constants(name: str) -> None:
    on_disk = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert on_disk == MANIFESTS[name].to_dict()


def test_every_json_manifest_is_known_to_the_library() -> None:
    assert {p.stem for p in DATA_DIR.glob("*.json")} == set(MANIFESTS)


def test_zinc_manifest_facts() -> None:
    assert ZINC250K.filename == "250k_rndm_zinc_drugs_clean_3.csv"
    assert ZINC250K.rows == 249_455
    assert ZINC250K.url is not None and ZINC250K.url.endswith("models/zinc_properties/250k_rndm_zinc_drugs_clean_3.csv")
    assert "aspuru-guzik-group/chemical_vae" in ZINC250K.url


def test_aliases_and_unknown_names() -> None:
    assert get_manifest("zinc") is get_manifest("ZINC250K") is ZINC250K
    assert set(ALIASES.values()) == set(MANIFESTS)
    with pytest.raises(DataError, match="unknown dataset 'qm9'"):
        get_manifest("qm9")
