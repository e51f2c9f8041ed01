"""Datasets of the paper's string experiments (Section 4.2 of "Shape your Space"): sources (named
datasets, downloads with checksums, user files), the expression generator, preparation into
production-index arrays with counted and explained rejects, and character vocabularies for the
character-level baseline."""

from lsbo.data.chars import CharVocabulary
from lsbo.data.manifests import EXPR, MANIFESTS, ZINC250K, DatasetManifest, get_manifest
from lsbo.data.prepare import (
    REASONS,
    PreparedDataset,
    Reject,
    load_prepared,
    prepare_characters,
    prepare_dataset,
)
from lsbo.data.sources import StringSource, load_strings, read_file

__all__ = [
    "EXPR",
    "MANIFESTS",
    "REASONS",
    "ZINC250K",
    "CharVocabulary",
    "DatasetManifest",
    "PreparedDataset",
    "Reject",
    "StringSource",
    "get_manifest",
    "load_prepared",
    "load_strings",
    "prepare_characters",
    "prepare_dataset",
    "read_file",
]
