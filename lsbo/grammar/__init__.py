"""Context-free grammars: loading (nltk CFG as the single source of truth), tokenizing, parsing to
leftmost production sequences, one-hot tensors, masks, and batched masked decoding.

The representation is the Grammar VAE's (Kusner et al., 2017, Section 3), used by the paper's
molecule and expression experiments (docs/protocols.md §2).
"""

from lsbo.grammar.grammar import DEFAULT_MAX_LENGTH, DecodedBatch, EncodeResult, Grammar
from lsbo.grammar.parser import FastParser
from lsbo.grammar.tables import GrammarTables
from lsbo.grammar.tokenizer import LongestMatchTokenizer, OptionalSpacesTokenizer, Tokenizer, WhitespaceTokenizer

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "DecodedBatch",
    "EncodeResult",
    "FastParser",
    "Grammar",
    "GrammarTables",
    "LongestMatchTokenizer",
    "OptionalSpacesTokenizer",
    "Tokenizer",
    "WhitespaceTokenizer",
]
