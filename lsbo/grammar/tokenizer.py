"""Tokenizers: how a string becomes the terminal sequence a grammar parses (Grammar VAE, Section 3).

A grammar's tokenizer is derived from its terminals unless one is given:

- ``longest-match`` (default): scan left to right, taking at each position the longest terminal that
  matches there (SMILES: ``Cl`` before ``C``, ``@@`` before ``@``). Tokens are joined with ``''``.
- ``whitespace``: split on runs of whitespace; every piece must be a terminal. Joined with ``' '``
  (the expression dataset of the paper stores tokens this way: ``sin( x ) + 1``).
- ``optional-spaces``: spaces between tokens are optional: whitespace separates tokens, and each run
  without whitespace is scanned by longest match. ``x+sin(x*x)`` and ``x + sin( x * x )`` give the
  same tokens. Joined with ``' '``. Every string the ``whitespace`` tokenizer accepts gets the same
  tokens here (a piece that is a terminal is its own longest match, since terminals hold no
  whitespace). Suitable for a grammar whose adjacent terminals are readable without a space between
  them (operators, brackets, one-letter names); not for word terminals, where ``notab`` would read as
  ``not a b``.
- any :class:`Tokenizer`, or a plain callable ``str -> list[str]`` (joined with ``''``).

Every tokenizer raises :class:`~lsbo.errors.GrammarError` naming the position of the first thing it
cannot turn into a terminal; ``join`` is its inverse on token lists, so a round trip is defined as
token equality.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from lsbo.errors import GrammarError

TOKENIZER_NAMES = ("longest-match", "whitespace", "optional-spaces")


class Tokenizer(ABC):
    """Turns a string into grammar terminals and back."""

    name: str = "custom"
    separator: str = ""
    #: Every non-whitespace character of an accepted text lies in one of its tokens, so a text with
    #: more such characters than n tokens can hold is too long without tokenizing it (a user callable
    #: may drop characters, so it makes no such promise).
    covers_text: bool = False

    @abstractmethod
    def tokenize(self, text: str) -> list[str]:
        """The terminals of ``text``; raises GrammarError at the first untokenizable position."""

    def join(self, tokens: Iterable[str]) -> str:
        """The string whose tokenization is ``tokens``."""
        return self.separator.join(tokens)


class LongestMatchTokenizer(Tokenizer):
    """Greedy longest match over a fixed set of terminals."""

    name = "longest-match"
    separator = ""
    covers_text = True

    def __init__(self, terminals: Iterable[str]) -> None:
        ordered = sorted(set(terminals), key=lambda t: (-len(t), t))
        if not ordered or any(t == "" for t in ordered):
            raise GrammarError("a longest-match tokenizer needs non-empty terminals")
        # Alternatives are tried in order, longest first, so the first match is the longest one;
        # the catch-all second group marks the first character no terminal starts with.
        self._scanner = re.compile("(" + "|".join(map(re.escape, ordered)) + ")|(.)", re.DOTALL)

    def tokenize(self, text: str) -> list[str]:
        pairs = self._scanner.findall(text)  # (terminal, '') or ('', untokenizable character)
        out = [terminal for terminal, _ in pairs]
        if "" in out:
            bad = next(m for m in self._scanner.finditer(text) if m.group(2) is not None)
            raise GrammarError(f"character {bad.group(2)!r} at position {bad.start()}")
        return out


class WhitespaceTokenizer(Tokenizer):
    """Whitespace-separated tokens, each of which must be a terminal."""

    name = "whitespace"
    separator = " "
    covers_text = True

    def __init__(self, terminals: Iterable[str]) -> None:
        self._terminals = frozenset(terminals)
        self._pieces = re.compile(r"\S+")

    def tokenize(self, text: str) -> list[str]:
        tokens = text.split()
        for index, token in enumerate(tokens):
            if token not in self._terminals:
                position = [m.start() for m in self._pieces.finditer(text)][index]
                raise GrammarError(f"token {token!r} at position {position}")
        return tokens


class OptionalSpacesTokenizer(Tokenizer):
    """Whitespace separates tokens; inside a run without whitespace, the longest terminal is taken at
    each position (so ``1/3+x`` and ``1 / 3 + x`` give the same tokens)."""

    name = "optional-spaces"
    separator = " "
    covers_text = True

    def __init__(self, terminals: Iterable[str]) -> None:
        ordered = sorted(set(terminals), key=lambda t: (-len(t), t))
        if not ordered:
            raise GrammarError("an optional-spaces tokenizer needs non-empty terminals")
        # Whitespace runs are matched (and dropped) first; then the longest terminal; else the catch-all
        # marks the first character no terminal starts with.
        self._scanner = re.compile(r"(\s+)|(" + "|".join(map(re.escape, ordered)) + ")|(.)", re.DOTALL)

    def tokenize(self, text: str) -> list[str]:
        tokens = []
        for match in self._scanner.finditer(text):
            _space, terminal, bad = match.groups()
            if bad is not None:
                raise GrammarError(f"character {bad!r} at position {match.start()}")
            if terminal is not None:
                tokens.append(terminal)
        return tokens


class CallableTokenizer(Tokenizer):
    """Wraps a user function ``str -> list[str]``; its tokens must be terminals."""

    def __init__(self, function: Callable[[str], list[str]], terminals: Iterable[str], separator: str = "") -> None:
        self._function = function
        self._terminals = frozenset(terminals)
        self.separator = separator
        self.name = "custom"  # not a name a checkpoint can rebuild; the function must be passed again

    def tokenize(self, text: str) -> list[str]:
        tokens = list(self._function(text))
        for index, token in enumerate(tokens):
            if token not in self._terminals:
                raise GrammarError(f"token {token!r} at index {index} is not a terminal")
        return tokens


def make_tokenizer(spec: str | Tokenizer | Callable[[str], list[str]] | None, terminals: Iterable[str]) -> Tokenizer:
    """The tokenizer named or given by ``spec`` for a grammar with ``terminals`` (None: longest match)."""
    terminals = list(terminals)
    if spec is None or spec == "longest-match":
        return LongestMatchTokenizer(terminals)
    if spec in ("whitespace", "optional-spaces"):
        if any(re.search(r"\s", t) or t == "" for t in terminals):
            raise GrammarError(f"a {spec} tokenizer cannot produce terminals that are empty or contain whitespace")
        return WhitespaceTokenizer(terminals) if spec == "whitespace" else OptionalSpacesTokenizer(terminals)
    if isinstance(spec, Tokenizer):
        return spec
    if callable(spec):
        return CallableTokenizer(spec, terminals)
    raise GrammarError(f"unknown tokenizer {spec!r}: use one of {', '.join(TOKENIZER_NAMES)} or a callable")
