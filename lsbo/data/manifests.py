"""The dataset registry: the datasets the toolkit knows by name, where they come from, how big they
are, how to check them, under which licence they are distributed, and the defaults they bring to
every command (built-in grammar, data kind, preset family).

This is the one place the rule "dataset -> grammar -> data kind -> preset family" is written:
:mod:`lsbo.data.resolve` applies it to whatever a command is given (a name or a file), and a file
whose suffix is registered in :data:`FILE_FORMATS` takes the defaults of the dataset it shares a
format with (a ``.smi``/``.csv`` file is SMILES, like ``zinc250k``).

These constants are what the library reads (so an installed package works without the source tree);
``data/*.json`` in the source checkout mirror them for readers, and a test keeps the two in agreement.
The datasets are those of the paper's string experiments (Section 4.2 of "Shape your Space"), which
reuses the molecule and expression sets of the Grammar VAE (Kusner et al., 2017).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DatasetManifest:
    """Where a named dataset comes from and how a copy of it is recognised.

    ``sha256`` is the checksum of the file when it is published here; when it is ``None`` the
    checksum of the first download is recorded in the cache directory and every later load is
    checked against that record (see :mod:`lsbo.data.downloads`).
    """

    name: str  # the name used on the command line (``lsbo data prepare zinc250k``)
    filename: str  # the file a user can provide with ``--data PATH``
    url: str | None  # canonical download address; None for datasets generated locally
    rows: int | None  # number of items (molecules, expressions) in the canonical file
    sha256: str | None  # checksum of the canonical file, None when recorded at first download
    column: str | None  # CSV column holding the strings, None for one-string-per-line files
    kind: str  # "molecules" | "expressions" | "strings"
    grammar: str  # built-in grammar the dataset is encoded with
    family: str  # preset family of models trained on it (lsbo.models.config: "molecules" | "expressions")
    licence: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ZINC250K = DatasetManifest(
    name="zinc250k",
    filename="250k_rndm_zinc_drugs_clean_3.csv",
    url=(
        "https://raw.githubusercontent.com/aspuru-guzik-group/chemical_vae/master/"
        "models/zinc_properties/250k_rndm_zinc_drugs_clean_3.csv"
    ),
    rows=249_455,
    sha256=None,
    column="smiles",
    kind="molecules",
    grammar="zinc",
    family="molecules",
    licence=(
        "Apache-2.0 (the chemical_vae repository that publishes the file); the molecules come from "
        "the ZINC database (Irwin & Shoichet), free to use"
    ),
    description=(
        "250k drug-like molecules from ZINC used by the chemical VAE (Gomez-Bombarelli et al., 2018) "
        "and the Grammar VAE (Kusner et al., 2017); CSV with columns smiles, logP, qed, SAS. Each "
        "SMILES cell ends with a newline inside its quotes, stripped on reading."
    ),
)

EXPR = DatasetManifest(
    name="expr",
    filename="equation2_15_dataset.txt",
    url=None,
    rows=100_000,
    sha256=None,
    column=None,
    kind="expressions",
    grammar="expr",
    family="expressions",
    licence="generated locally from the expression grammar (no third-party data)",
    description=(
        "Univariate arithmetic expressions of at most 15 grammar productions, as in the Grammar VAE "
        "paper's expression set: generated with a seed by lsbo.data.expressions.generate_expressions, "
        "or read from a file with one expression per line (space-separated tokens), e.g. the paper's "
        "equation2_15_dataset.txt."
    ),
)

MOSES = DatasetManifest(
    name="moses",
    filename="train.csv.gz",
    url=None,
    rows=1_584_663,
    sha256="786f0313aa6b9ba5514df685f885742a70ea8d86f1a4fa48115f7f80a634265c",
    column="SMILES",
    kind="molecules",
    grammar="zinc",
    family="molecules",
    licence="MIT (the MOSES benchmark, molecularsets/moses); the molecules come from ZINC Clean Leads",
    description=(
        "The training split of the MOSES benchmark (Polykovskiy et al., 2020): 1,584,663 ZINC-derived "
        "molecules, read from moses/dataset/data/train.csv.gz of the installed molsets package (lsbo[moses], "
        "or pip install --no-deps molsets) without importing it, or from a copy given with --data. Its "
        "test and scaffold-test splits are never read: they stay held out for evaluation."
    ),
)

# Default size of a generated expression set and the derivation budget, as in the paper's set.
EXPR_DEFAULT_COUNT = 100_000
EXPR_MAX_PRODUCTIONS = 15

MANIFESTS: dict[str, DatasetManifest] = {m.name: m for m in (ZINC250K, EXPR, MOSES)}

# Short names accepted wherever a dataset name is (``zinc`` is ``zinc250k``).
ALIASES: dict[str, str] = {"zinc": "zinc250k", "zinc250k": "zinc250k", "expr": "expr", "moses": "moses"}


# Files with these suffixes hold the rows of the named dataset's format and take its defaults.
FILE_FORMATS: dict[str, str] = {".smi": "zinc250k", ".csv": "zinc250k"}

# A grammar outside the registry takes the ``molecules`` preset family when its derivations are at
# least this long (the wide convolution kernels of the molecule networks fit), else ``expressions``.
LONG_SEQUENCE_THRESHOLD = 60


def find_manifest(name: str) -> DatasetManifest | None:
    """The manifest of a dataset name or alias (any case), None when the name is not registered."""
    key = ALIASES.get(str(name).lower())
    return MANIFESTS[key] if key is not None else None


def manifest_for_source(source: str) -> DatasetManifest | None:
    """The registry entry whose defaults apply to ``source``: the named dataset, or for a file the
    dataset of its format (:data:`FILE_FORMATS`); None for any other file."""
    found = find_manifest(source)
    if found is not None:
        return found
    from pathlib import PurePath

    fmt = FILE_FORMATS.get(PurePath(str(source)).suffix.lower())
    return MANIFESTS[fmt] if fmt is not None else None


def manifest_for_grammar(grammar_name: str | None) -> DatasetManifest | None:
    """The registered dataset encoded with the built-in grammar ``grammar_name``, if any."""
    for manifest in MANIFESTS.values():
        if manifest.grammar == grammar_name:
            return manifest
    return None


def preset_family(manifest: DatasetManifest | None, max_length: int) -> str:
    """The preset family of a model: the registered dataset's, else by the length of its sequences."""
    if manifest is not None:
        return manifest.family
    return "molecules" if max_length >= LONG_SEQUENCE_THRESHOLD else "expressions"


def get_manifest(name: str) -> DatasetManifest:
    """The manifest of a named dataset (``zinc``, ``zinc250k`` or ``expr``)."""
    from lsbo.errors import DataError

    found = find_manifest(name)
    if found is None:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(ALIASES))} (or give a file path)")
    return found
