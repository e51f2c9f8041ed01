"""The download module, exercised with local file:// URLs and a failing opener (never the network)."""

from __future__ import annotations

import dataclasses
import hashlib
import urllib.error
from pathlib import Path

import pytest

from lsbo.data import downloads
from lsbo.data.manifests import ZINC250K, DatasetManifest
from lsbo.errors import DataError, DownloadError

CSV_TEXT = 'smiles,logP\n"CCO\n",0.1\n"c1ccccc1\n",1.2\n"CC(=O)O\n",0.3\n'


@pytest.fixture
def remote_csv(tmp_path: Path) -> Path:
    path = tmp_path / "remote" / "250k_rndm_zinc_drugs_clean_3.csv"
    path.parent.mkdir()
    path.write_text(CSV_TEXT, encoding="utf-8")
    return path


def manifest_for(path: Path, **changes: object) -> DatasetManifest:
    return dataclasses.replace(ZINC250K, url=path.as_uri(), rows=3, **changes)


def test_offline_error_names_file_place_and_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str, timeout: float):
        raise urllib.error.URLError("Temporary failure in name resolution")

    with pytest.raises(DownloadError) as caught:
        downloads.fetch(ZINC250K, opener=refuse)
    message = str(caught.value)
    assert "250k_rndm_zinc_drugs_clean_3.csv" in message
    assert message.endswith("or pass data=PATH") and caught.value.parameter == ("data",)
    assert str(downloads.cached_path(ZINC250K)) in message
    assert "name resolution" in message
    assert not downloads.cached_path(ZINC250K).exists()
    folder = downloads.downloads_dir()
    assert not folder.exists() or list(folder.iterdir()) == []  # no partial or temporary file is left


def test_offline_switch_fails_without_opening_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSBO_OFFLINE", "1")

    def must_not_be_called(url: str, timeout: float):
        raise AssertionError("opened a URL while offline")

    with pytest.raises(DownloadError, match="LSBO_OFFLINE is set.* or pass data=PATH$"):
        downloads.fetch(ZINC250K, opener=must_not_be_called)


def test_missing_local_url_is_a_download_error(tmp_path: Path) -> None:
    manifest = manifest_for(tmp_path / "nowhere.csv")
    with pytest.raises(DownloadError, match="could not download 250k_rndm_zinc_drugs_clean_3.csv"):
        downloads.fetch(manifest)


def test_first_download_records_checksum_and_later_loads_check_it(remote_csv: Path) -> None:
    manifest = manifest_for(remote_csv)
    seen: list[tuple[int, int | None]] = []
    got = downloads.fetch(manifest, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == len(CSV_TEXT.encode())
    assert got == downloads.cached_path(manifest)
    assert got.read_text(encoding="utf-8") == CSV_TEXT
    expected = hashlib.sha256(CSV_TEXT.encode()).hexdigest()
    assert downloads.recorded_sha256(got) == expected
    remote_csv.unlink()  # a second load must come from the cache, not the URL
    assert downloads.fetch(manifest) == got
    got.write_text(CSV_TEXT.replace("CCO", "CCN"), encoding="utf-8")
    with pytest.raises(DownloadError, match="changed since it was first downloaded"):
        downloads.fetch(manifest)


def test_published_checksum_mismatch_keeps_nothing(remote_csv: Path) -> None:
    manifest = manifest_for(remote_csv, sha256="0" * 64)
    with pytest.raises(DownloadError, match="expected 0000"):
        downloads.fetch(manifest)
    assert not downloads.cached_path(manifest).exists()
    assert list(downloads.downloads_dir().iterdir()) == []


def test_published_checksum_match_is_accepted(remote_csv: Path) -> None:
    manifest = manifest_for(remote_csv, sha256=hashlib.sha256(CSV_TEXT.encode()).hexdigest())
    assert downloads.fetch(manifest).is_file()


def test_wrong_row_count_is_rejected(remote_csv: Path) -> None:
    manifest = dataclasses.replace(manifest_for(remote_csv), rows=249_455)
    with pytest.raises(DownloadError, match="has 3 rows, expected 249455"):
        downloads.fetch(manifest)
    assert not downloads.cached_path(manifest).exists()


def test_csv_rows_count_records_not_lines(remote_csv: Path) -> None:
    # Every SMILES cell holds a newline, so the file has 7 lines but 3 records.
    assert len(remote_csv.read_text().splitlines()) == 7
    assert downloads.count_rows(remote_csv, "smiles") == 3
    assert downloads.count_rows(remote_csv, None, suffix=".txt") == 7  # read as text, one row per line


def test_data_flag_bypasses_download(tmp_path: Path) -> None:
    local = tmp_path / "mine.smi"
    local.write_text("CCO\n")
    assert downloads.fetch(ZINC250K, data=local, opener=None) == local
    with pytest.raises(DataError, match=r"^data .*absent\.csv: file not found$"):
        downloads.fetch(ZINC250K, data=tmp_path / "absent.csv")


def test_check_file_compares_with_the_recorded_download(remote_csv: Path) -> None:
    manifest = manifest_for(remote_csv)
    downloads.fetch(manifest)
    same = downloads.check_file(manifest, remote_csv)
    assert same.rows_match and same.sha256_match is True
    other = remote_csv.with_name("other.csv")
    other.write_text(CSV_TEXT + '"N\n",0.0\n')
    found = downloads.check_file(manifest, other)
    assert found.rows == 4 and not found.rows_match and found.sha256_match is False


def test_an_empty_checksum_record_counts_as_none(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("smiles\nCCO\n", encoding="utf-8")
    downloads.checksum_record_path(data).write_text("\n", encoding="utf-8")
    assert downloads.recorded_sha256(data) is None
    downloads.record_sha256(data, "ab" * 32)
    assert downloads.recorded_sha256(data) == "ab" * 32


def test_checking_a_directory_says_it_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a directory"):
        downloads.check_file(ZINC250K, tmp_path)
    with pytest.raises(DataError, match="not found"):
        downloads.check_file(ZINC250K, tmp_path / "missing.csv")
