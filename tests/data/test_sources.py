"""Reading dataset files: formats, line numbers, empty rows, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsbo.data.sources import load_strings, read_file
from lsbo.errors import DataError, DownloadError
from lsbo.settings import cache_dir


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_smi_takes_first_field_and_keeps_blank_rows(tmp_path: Path) -> None:
    source = read_file(write(tmp_path / "a.smi", "CCO ethanol\n\n  c1ccccc1\tbenzene 2\nCC\n"))
    assert source.strings == ["CCO", "", "c1ccccc1", "CC"]
    assert source.lines == [1, 2, 3, 4]
    assert source.name == "a" and source.origin.endswith("a.smi")


def test_txt_keeps_whole_line_with_inner_spaces(tmp_path: Path) -> None:
    source = read_file(write(tmp_path / "e.txt", "x + sin( x )\r\n\n3 * x   \n"))
    assert source.strings == ["x + sin( x )", "", "3 * x"]
    assert source.lines == [1, 2, 3]


def test_csv_smiles_column_any_case_multiline_cells(tmp_path: Path) -> None:
    text = 'id,SMILES,logP\n1,"CCO\n",0.1\n2,"c1ccccc1\n",1.0\n\n3,,2.0\n'
    source = read_file(write(tmp_path / "m.csv", text))
    assert source.strings == ["CCO", "c1ccccc1", "", ""]
    # A record starts on the line after the previous record ended (cells span two lines here).
    assert source.lines == [2, 4, 6, 7]


def test_csv_without_smiles_column_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "id,molecule\n1,CCO\n")
    with pytest.raises(DataError) as caught:
        read_file(path)
    assert "no 'smiles' column" in str(caught.value)
    assert "'id', 'molecule'" in str(caught.value)
    assert str(path) in str(caught.value)


def test_binary_and_missing_files_are_data_errors(tmp_path: Path) -> None:
    binary = tmp_path / "blob.smi"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(DataError, match="looks binary"):
        read_file(binary)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        read_file(latin)
    with pytest.raises(DataError, match="unknown dataset or missing file"):
        load_strings(str(tmp_path / "absent.smi"))


def test_limit_and_data_flag_rules(tmp_path: Path) -> None:
    path = write(tmp_path / "a.smi", "C\nCC\nCCC\n")
    assert load_strings(str(path), limit=2).strings == ["C", "CC"]
    with pytest.raises(DataError, match="only used with a named dataset"):
        load_strings(str(path), data=path)


def test_zinc_from_data_file_in_the_published_csv_format(tmp_path: Path) -> None:
    path = write(tmp_path / "250k_rndm_zinc_drugs_clean_3.csv", 'smiles,logP,qed,SAS\n"CCO\n",0.1,0.4,1.0\n')
    source = load_strings("zinc", data=path)
    assert source.strings == ["CCO"] and source.name == "zinc250k"


def test_zinc_offline_without_file_names_file_and_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSBO_OFFLINE", "1")
    with pytest.raises(DownloadError, match=r"250k_rndm_zinc_drugs_clean_3\.csv.*pass data=PATH$"):
        load_strings("zinc250k")


def test_expr_from_file_and_generated(expr_dataset_path: Path) -> None:
    from_file = load_strings("expr", data=expr_dataset_path, limit=3)
    assert from_file.strings[0] == "x + x + ( x ) + ( x + x )"
    assert from_file.lines == [1, 2, 3]
    generated = load_strings("expr", limit=50)
    assert len(set(generated.strings)) == 50
    assert generated.metadata["seed"] == 0
    (cached,) = (cache_dir() / "generated").glob("expr-*.txt")
    assert cached.read_text().splitlines() == generated.strings
    cached.write_text("damaged\n")
    assert load_strings("expr", limit=50).strings == generated.strings  # regenerated, same seed
    assert load_strings("expr", limit=50, seed=1).strings != generated.strings


def test_csv_with_an_unclosed_quote_names_the_record_instead_of_swallowing_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", 'smiles\nCCO\n"CC\nc1ccccc1\nCCN\n')
    with pytest.raises(DataError, match=r"q\.csv is malformed in the record starting at line 3"):
        read_file(path)


def _fake_molsets(root: Path, smiles: list[str]) -> Path:
    """A directory laid out like the molsets package's data files (never imported)."""
    import gzip

    data = root / "moses" / "dataset" / "data"
    data.mkdir(parents=True)
    (root / "moses" / "__init__.py").write_text("raise ImportError('the real molsets cannot be imported here')\n")
    path = data / "train.csv.gz"
    path.write_bytes(gzip.compress(("SMILES\n" + "\n".join(smiles) + "\n").encode()))
    return path


def test_moses_reads_the_packages_training_split_without_importing_it_and_checks_its_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import hashlib

    from lsbo.data import manifests, sources

    path = _fake_molsets(tmp_path, ["CCO", "c1ccccc1", "CC(=O)O"])
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DataError, match="does not match the MOSES training split"):
        sources.load_strings("moses")
    genuine = dataclasses.replace(manifests.MOSES, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    monkeypatch.setattr(sources, "MOSES", genuine)
    monkeypatch.setitem(manifests.MANIFESTS, "moses", genuine)
    loaded = sources.load_strings("moses", limit=2)
    assert loaded.strings == ["CCO", "c1ccccc1"] and loaded.name == "moses"


def test_moses_without_molsets_names_the_package_and_the_data_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from lsbo.data import sources

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"molsets package.*--data"):
        sources.load_strings("moses")


def test_a_gzipped_csv_is_read_as_csv_and_a_corrupt_one_is_a_one_line_error(tmp_path: Path) -> None:
    from lsbo.data.sources import load_strings

    path = _fake_molsets(tmp_path, ["CCN", "CCC"])
    assert load_strings("moses", data=path).strings == ["CCN", "CCC"]
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b not gzip at all")
    with pytest.raises(DataError, match="not a readable gzip file"):
        load_strings(str(broken))
