"""The :class:`Grammar`: a context-free grammar file turned into everything a grammar autoencoder needs.

A string is represented by the leftmost derivation of its parse tree (the productions in preorder),
padded to a fixed length ``T`` with a padding production and one-hot encoded over the ``P``
productions -- the representation of the Grammar VAE (Kusner et al., 2017, Section 3), which the
paper's molecule and expression models use (docs/protocols.md §2). Decoding runs the same derivation
on a stack; a model's logits are decoded with the masked stack machine of
:mod:`lsbo.grammar.decoding`.

The grammar text (nltk's CFG format) is the single source of truth. Two header comments configure
what the format cannot express (see ``grammars/README.md``)::

    # max_length: 277          (T, the longest derivation a model handles)
    # tokenizer: longest-match (or: whitespace, optional-spaces)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from nltk.grammar import CFG, Nonterminal, Production, read_grammar, standard_nonterm_parser

from lsbo.errors import ConfigError, GrammarError, InputTypeError
from lsbo.grammar.parser import FastParser, TooAmbiguousError
from lsbo.grammar.tables import GrammarTables, productive_nonterminals, reachable_nonterminals
from lsbo.grammar.tokenizer import TOKENIZER_NAMES, Tokenizer, make_tokenizer

if TYPE_CHECKING:
    import torch

#: T for a grammar that sets it neither in its file nor by argument.
DEFAULT_MAX_LENGTH = 100
#: The largest T accepted (36 times the SMILES grammar's 277): a model runs T decoder steps per string
#: and holds a (T, P) one-hot per string, so a T of 10^8 would ask for terabytes (grammars/README.md).
MAX_MAX_LENGTH = 10_000
BUILTIN_PACKAGE = "lsbo_grammars"
_DIRECTIVE = re.compile(r"^\s*#\s*(max_length|tokenizer)\s*:\s*(.*?)\s*$")
_NLTK_LINE_ERROR = re.compile(r"Unable to parse line (\d+): (.*)\n(.*)", re.DOTALL)

TokenizerSpec = str | Tokenizer | Callable[[str], list[str]] | None


def require_string_sequence(value: object, parameter: str) -> Sequence[object]:
    """``value`` if it is a sequence of strings to process one by one; InputTypeError naming
    ``parameter`` for a bare ``str`` or ``bytes`` (iterating it would treat each character as a string)
    or for something that is not a sequence at all."""
    if isinstance(value, (str, bytes)):
        shown = repr(value) if len(value) <= 40 else f"{value[:40]!r}..."
        raise InputTypeError(
            f"{parameter} must be a list of strings, got a single {type(value).__name__} {shown}; pass [{shown}] for one"
        )
    if not isinstance(value, Sequence):
        if hasattr(value, "__iter__") and not hasattr(value, "shape"):
            return list(value)  # type: ignore[call-overload]
        if hasattr(value, "tolist"):
            return list(value.tolist())  # type: ignore[union-attr]
        raise InputTypeError(f"{parameter} must be a list of strings, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class EncodeResult:
    """Derivations of a batch of strings; rows that failed hold only padding.

    ``reasons[i]`` is None for an accepted string, else ``"category: detail"`` with category one of
    ``untokenizable``, ``no parse``, ``too long`` or ``not a string`` (count them by the part
    before the colon, see :meth:`reason_counts`).
    """

    indices: np.ndarray  # int64 (N, T), padded with the padding production
    ok: np.ndarray  # bool (N,)
    reasons: list[str | None]
    lengths: np.ndarray  # int64 (N,): derivation length of accepted rows, 0 for rejected ones

    def __len__(self) -> int:
        return len(self.reasons)

    def reason_counts(self) -> dict[str, int]:
        """Rejections per category (the reason up to its first colon)."""
        return dict(Counter(r.split(":", 1)[0] for r in self.reasons if r is not None))


@dataclass(frozen=True)
class DecodedBatch:
    """Masked decoding of a batch of logits: production indices, completeness and strings."""

    indices: "torch.Tensor"  # long (N, T)
    complete: "torch.Tensor"  # bool (N,): the derivation finished within T steps
    strings: list[str | None]  # None where incomplete or where the row's logits were NaN or +inf
    reasons: list[str | None]  # None for a string, else why not: "incomplete: ..." or "non-finite logits: ..."


@dataclass(frozen=True)
class _Directives:
    max_length: int | None
    tokenizer: str | None


def read_directives(text: str, origin: str) -> _Directives:
    """The ``# max_length: N`` and ``# tokenizer: NAME`` header comments of a grammar text."""
    found: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        match = _DIRECTIVE.match(line)
        if not match:
            continue
        key, value = match.groups()
        if key in found:
            raise GrammarError(f"{origin}, line {number}: '{key}' is set twice (first on line {found[key][1]})")
        found[key] = (value, number)
    max_length = None
    if "max_length" in found:
        value, number = found["max_length"]
        if not value.isdigit() or int(value) < 1:
            raise GrammarError(f"{origin}, line {number}: max_length must be a positive integer, got {value!r}")
        max_length = int(value)
        if max_length > MAX_MAX_LENGTH:
            raise GrammarError(
                f"{origin}, line {number}: max_length {max_length} is more than the {MAX_MAX_LENGTH} lsbo supports "
                "(each string is a sequence of that many decoder steps)"
            )
    tokenizer = None
    if "tokenizer" in found:
        value, number = found["tokenizer"]
        if value not in TOKENIZER_NAMES:
            choices = ", ".join(repr(name) for name in TOKENIZER_NAMES)
            raise GrammarError(f"{origin}, line {number}: tokenizer must be one of {choices}, got {value!r}")
        tokenizer = value
    return _Directives(max_length=max_length, tokenizer=tokenizer)


def _production_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, logical line) of every production line, continuation lines joined as nltk does."""
    out: list[tuple[int, str]] = []
    pending, first = "", 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = pending + raw.strip()
        if not pending:
            first = number
        if line.startswith("#") or line == "":
            pending = ""
            continue
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if not line.startswith("%"):
            out.append((first, line))
    return out


def parse_cfg(text: str, origin: str) -> CFG:
    """nltk's CFG for ``text``, with every problem reported as ``origin, line N: what``.

    Beyond nltk's syntax checks: empty terminals, duplicated productions, and a start symbol that
    derives no string are errors.
    """
    try:
        cfg = CFG.fromstring(text)
    except ValueError as err:
        match = _NLTK_LINE_ERROR.match(str(err))
        if match:
            number, line, reason = match.groups()
            raise GrammarError(f"{origin}, line {number}: {reason.strip() or 'cannot parse'}: {line.strip()}") from None
        raise GrammarError(f"{origin}: {err}") from None
    line_of: list[int] = []
    for number, line in _production_lines(text):
        _, productions = read_grammar(line, standard_nonterm_parser)
        line_of.extend([number] * len(productions))
    seen: dict[Production, int] = {}
    for index, prod in enumerate(cfg.productions()):
        number = line_of[index] if index < len(line_of) else 0
        if any(symbol == "" for symbol in prod.rhs()):
            raise GrammarError(f"{origin}, line {number}: empty terminal '' in {prod}")
        if prod in seen:
            raise GrammarError(f"{origin}, line {number}: duplicate production {prod} (first on line {seen[prod]})")
        seen[prod] = number
    if cfg.start() not in productive_nonterminals(cfg):
        raise GrammarError(f"{origin}: the start symbol {cfg.start()} derives no terminal string")
    return cfg


class Grammar:
    """A CFG with its tokenizer, fixed derivation length, index tables, parser and masks.

    Build one with :meth:`builtin`, :meth:`from_file` or :meth:`from_string`. ``max_length`` (T)
    comes from the argument, else the file's ``# max_length:`` comment, else
    :data:`DEFAULT_MAX_LENGTH` (100; ``max_length_source`` then says ``"default"``). The tokenizer
    comes from the argument, else the file's ``# tokenizer:`` comment, else longest match over the
    grammar's terminals.
    """

    def __init__(
        self,
        text: str,
        *,
        name: str = "custom",
        origin: str | None = None,
        tokenizer: TokenizerSpec = None,
        max_length: int | None = None,
    ) -> None:
        origin = origin or f"grammar '{name}'"
        directives = read_directives(text, origin)
        self.name = name
        self.text = text
        self.origin = origin
        self.cfg: CFG = parse_cfg(text, origin)
        self.tables = GrammarTables.from_cfg(self.cfg)
        self.terminals: tuple[str, ...] = tuple(
            dict.fromkeys(s for p in self.cfg.productions() for s in p.rhs() if not isinstance(s, Nonterminal))
        )
        self._tokenizer_spec = tokenizer if tokenizer is not None else directives.tokenizer
        try:
            self.tokenizer: Tokenizer = make_tokenizer(self._tokenizer_spec, self.terminals)
        except GrammarError as err:  # the tokenizer does not know which grammar it was built for
            raise GrammarError(f"{origin}: {err}") from None
        if max_length is not None:
            if not 1 <= int(max_length) <= MAX_MAX_LENGTH:
                raise GrammarError(f"{origin}: max_length must lie in [1, {MAX_MAX_LENGTH}], got {max_length}")
            self.max_length, self.max_length_source = int(max_length), "argument"
        elif directives.max_length is not None:
            self.max_length, self.max_length_source = directives.max_length, "file"
        else:
            self.max_length, self.max_length_source = DEFAULT_MAX_LENGTH, "default"
        try:
            self.parser = FastParser(self.cfg)
        except GrammarError as err:
            raise GrammarError(f"{origin}: {err}") from None
        self._masks: dict[str, torch.Tensor] = {}
        # Per production: right-hand side as non-terminal indices (int) and terminals (str), reversed
        # for pushing onto the decoding stack.
        nt_index = {a: i for i, a in enumerate(self.tables.nonterminals)}
        self._pushes: tuple[tuple[int | str, ...], ...] = tuple(
            tuple(nt_index[s] if isinstance(s, Nonterminal) else s for s in reversed(p.rhs()))
            for p in self.tables.productions
        )

    # ----------------------------------------------------------------- construction
    @staticmethod
    def builtin_names() -> list[str]:
        """Names of the grammars shipped with the package (``grammars/*.cfg``)."""
        root = resources.files(BUILTIN_PACKAGE)
        return sorted(p.name[: -len(".cfg")] for p in root.iterdir() if p.name.endswith(".cfg"))

    @classmethod
    def builtin(cls, name: str, tokenizer: TokenizerSpec = None) -> "Grammar":
        """A shipped grammar: ``"zinc"`` (SMILES, T=277, P=76) or ``"expr"`` (expressions, T=15, P=12)."""
        resource = resources.files(BUILTIN_PACKAGE) / f"{name}.cfg"
        if not resource.is_file():
            raise GrammarError(f"unknown built-in grammar {name!r}: choose one of {', '.join(cls.builtin_names())}")
        return cls(resource.read_text(encoding="utf-8"), name=name, origin=f"{name}.cfg", tokenizer=tokenizer)

    @classmethod
    def from_file(
        cls, path: str | Path, tokenizer: TokenizerSpec = None, max_length: int | None = None, name: str | None = None
    ) -> "Grammar":
        """A grammar from an nltk CFG text file (see ``grammars/README.md``); errors name the file and line.

        ``max_length`` overrides the file's ``# max_length:`` comment; with neither, T is
        :data:`DEFAULT_MAX_LENGTH`. ``tokenizer`` is ``"longest-match"``, ``"whitespace"``, a
        :class:`Tokenizer` or a callable; by default the file's ``# tokenizer:`` comment, else
        longest match over the grammar's terminals.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the first line
        except (OSError, UnicodeDecodeError) as err:
            raise GrammarError(f"cannot read grammar file {path}: {err}") from None
        return cls(text, name=name or path.stem, origin=str(path), tokenizer=tokenizer, max_length=max_length)

    @classmethod
    def from_string(
        cls, text: str, name: str = "custom", tokenizer: TokenizerSpec = None, max_length: int | None = None
    ) -> "Grammar":
        """A grammar from its text (e.g. the ``text`` stored in a checkpoint)."""
        return cls(text, name=name, tokenizer=tokenizer, max_length=max_length)

    @classmethod
    def resolve(cls, name_or_path: str | Path, tokenizer: TokenizerSpec = None) -> "Grammar":
        """A built-in grammar by name, else a grammar file by path (``tokenizer`` as in :meth:`from_file`).

        The one place a user's grammar argument (``lsbo grammar``, ``lsbo data prepare --grammar``)
        becomes a grammar. A built-in name wins over a file of that name in the working directory
        (write ``./zinc`` for the file), so the same command means the same grammar everywhere.
        """
        names = cls.builtin_names()
        if isinstance(name_or_path, str) and name_or_path in names:
            return cls.builtin(name_or_path, tokenizer=tokenizer)
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            what = "path is a directory" if path.is_dir() else "not found"
            raise ConfigError(f"grammar {what}: {name_or_path} (built-in: {', '.join(names)}, or a grammar file)")
        return cls.from_file(path, tokenizer=tokenizer)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the text in another process (data preparation workers) instead of pickling tables.
        max_length = self.max_length if self.max_length_source == "argument" else None
        return (_rebuild, (self.text, self.name, self.origin, self._tokenizer_spec, max_length))

    def __repr__(self) -> str:
        return (
            f"Grammar(name={self.name!r}, n_productions={self.n_productions}, max_length={self.max_length}, "
            f"tokenizer={self.tokenizer.name!r})"
        )

    # ----------------------------------------------------------------- structure
    @property
    def productions(self) -> tuple[Production, ...]:
        """The grammar's productions in file order (the padding production, index P-1, is not one)."""
        return self.tables.productions

    @property
    def n_productions(self) -> int:
        """P: production indices, the padding production included."""
        return self.tables.n_productions

    @property
    def padding(self) -> int:
        """Index of the padding production (P-1)."""
        return self.tables.padding

    @property
    def nonterminals(self) -> tuple[Nonterminal, ...]:
        return self.tables.nonterminals

    @property
    def nonproductive(self) -> list[Nonterminal]:
        """Non-terminals that derive no terminal string (their productions are masked out)."""
        return [a for i, a in enumerate(self.tables.nonterminals) if i not in self.tables.productive]

    @property
    def unreachable(self) -> list[Nonterminal]:
        """Non-terminals no derivation from the start symbol can reach."""
        reachable = reachable_nonterminals(self.cfg)
        return [a for a in self.tables.nonterminals if a not in reachable]

    @property
    def masked_productions(self) -> list[int]:
        """Indices of productions the decoder may never choose (they introduce a non-productive symbol)."""
        return [p for p, usable in enumerate(self.tables.usable) if not usable]

    @property
    def warnings(self) -> list[str]:
        """Problems that do not stop the grammar from working, one line each."""
        out = []
        for symbol in self.nonproductive:
            users = [p for p in self.masked_productions if symbol in self.productions[p].rhs()]
            out.append(
                f"non-productive symbol {symbol} (derives no string); productions "
                f"{', '.join(str(p) for p in users)} are masked out"
            )
        for symbol in self.unreachable:
            out.append(f"unreachable symbol {symbol} (no derivation from {self.cfg.start()} uses it)")
        return out

    @property
    def masks(self) -> "torch.Tensor":
        """Bool ``(n_nonterminals, P)``: productions allowed with each non-terminal on top (CPU)."""
        return self.masks_on("cpu")

    def masks_on(self, device: "torch.device | str") -> "torch.Tensor":
        """:attr:`masks` on ``device`` (cached per device)."""
        key = str(device)
        if key not in self._masks:
            self._masks[key] = self.tables.masks(device=device)
        return self._masks[key]

    # ----------------------------------------------------------------- strings <-> derivations
    def tokenize(self, text: str) -> list[str]:
        """The terminals of ``text``; GrammarError names the position of anything untokenizable."""
        return self.tokenizer.tokenize(text)

    def join(self, tokens: Sequence[str]) -> str:
        """The inverse of :meth:`tokenize` (``''`` for longest match, ``' '`` for whitespace)."""
        return self.tokenizer.join(tokens)

    def parse(self, tokens: Sequence[str]) -> list[int] | None:
        """The leftmost derivation (production indices, unpadded) nltk's ChartParser gives, or None."""
        return self.parser.parse(tokens)

    @property
    def max_tokens(self) -> int:
        """The most tokens a derivation of at most T productions can produce.

        Each production writes at most ``m`` terminals (``m``: the most terminals on any right-hand
        side), so T productions write at most ``T * m`` tokens; a longer token sequence cannot fit in
        T productions whatever its parse, and is rejected before parsing (whose cost grows faster
        than the length).
        """
        most = max((sum(not isinstance(s, Nonterminal) for s in p.rhs()) for p in self.productions), default=0)
        return self.max_length * most

    @property
    def max_characters(self) -> int | None:
        """The most non-whitespace characters a string of :attr:`max_tokens` tokens can have, when the
        tokenizer puts every non-whitespace character into a token (the built-in ones do); else None."""
        if not self.tokenizer.covers_text:
            return None
        return self.max_tokens * max((len(t) for t in self.terminals), default=0)

    def check_length(self, text: str) -> str | None:
        """``"too long: ..."`` when the characters of ``text`` alone show that no derivation of at most
        T productions produces it; None otherwise (the string may still be rejected later).

        Linear in the length of ``text`` and independent of parsing, so callers can run it before any
        more expensive check (RDKit's SMILES reader, the parser).
        """
        limit = self.max_characters
        if limit is None or len(text) <= limit:
            return None
        visible = len("".join(text.split()))  # whitespace may pad a string freely
        if visible <= limit:
            return None
        return (
            f"too long: {visible} characters, more than the {limit} that {self.max_length} productions can "
            f"derive (max_length {self.max_length})"
        )

    def encode_one(self, text: object) -> tuple[list[int] | None, str | None]:
        """(derivation, None) for an accepted string, (None, reason) otherwise; never raises on bad input.

        Over-long inputs are rejected by size before they are parsed: first by their characters
        (:meth:`check_length`), then by their number of tokens (:attr:`max_tokens`).
        """
        if not isinstance(text, str):
            return None, f"not a string: {type(text).__name__}"
        too_long = self.check_length(text)
        if too_long is not None:
            return None, too_long
        try:
            tokens = self.tokenizer.tokenize(text)
        except GrammarError as err:
            return None, f"untokenizable: {err}"
        if len(tokens) > self.max_tokens:
            return None, (
                f"too long: {len(tokens)} tokens, more than the {self.max_tokens} that {self.max_length} "
                f"productions can derive (max_length {self.max_length})"
            )
        try:
            derivation = self.parser.parse(tokens)
        except TooAmbiguousError as err:
            return None, str(err)
        if derivation is None:
            return None, "no parse" if tokens else "no parse: empty string"
        if len(derivation) > self.max_length:
            return None, f"too long: {len(derivation)} > {self.max_length}"
        return derivation, None

    def encode(self, strings: Sequence[str]) -> EncodeResult:
        """Padded derivations of ``strings`` (each distinct string is parsed once per call).

        ``strings`` is a sequence of strings; a single ``str`` is refused (it would otherwise be
        encoded one character per row): pass ``[text]``.
        """
        rows = require_string_sequence(strings, "strings")
        n = len(rows)
        indices = np.full((n, self.max_length), self.padding, dtype=np.int64)
        ok = np.zeros(n, dtype=np.bool_)
        lengths = np.zeros(n, dtype=np.int64)
        reasons: list[str | None] = [None] * n
        first_row: dict[str, int] = {}  # a repeated string copies the row of its first occurrence
        for row, text in enumerate(rows):
            if isinstance(text, str) and text in first_row:
                first = first_row[text]
                indices[row], ok[row], lengths[row], reasons[row] = indices[first], ok[first], lengths[first], reasons[first]
                continue
            if isinstance(text, str):
                first_row[text] = row
            derivation, reason = self.encode_one(text)
            if derivation is None:
                reasons[row] = reason
                continue
            indices[row, : len(derivation)] = derivation
            ok[row] = True
            lengths[row] = len(derivation)
        return EncodeResult(indices=indices, ok=ok, reasons=reasons, lengths=lengths)

    def one_hot(self, indices: "np.ndarray | torch.Tensor") -> "torch.Tensor":
        """Float ``(..., P)`` one-hot of production indices, on the device of ``indices``."""
        import torch

        tensor = torch.as_tensor(indices)
        if tensor.dtype.is_floating_point or tensor.dtype == torch.bool:
            raise ValueError(f"production indices must be integers, got {tensor.dtype}")
        tensor = tensor.long()
        if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= self.n_productions):
            raise ValueError(f"production indices must lie in [0, {self.n_productions - 1}]")
        return torch.nn.functional.one_hot(tensor, self.n_productions).float()

    def derive(self, derivation: Sequence[int]) -> list[str] | None:
        """The terminals a production sequence derives; None unless it is a complete leftmost derivation.

        Padding may only follow the completed derivation; a production whose left-hand side is not
        the non-terminal on top of the stack, or an index outside ``[0, P)``, makes it invalid.
        """
        lhs = self.tables.lhs
        pushes = self._pushes
        padding = self.padding
        stack: list[int | str] = [self.tables.start]
        tokens: list[str] = []
        for raw in derivation:
            p = int(raw)
            while stack and isinstance(stack[-1], str):
                tokens.append(stack.pop())  # type: ignore[arg-type]
            if p == padding:
                if stack:
                    return None
                continue
            if not stack or not 0 <= p < padding or lhs[p] != stack[-1]:
                return None
            stack.pop()
            stack.extend(pushes[p])
        while stack:
            symbol = stack.pop()
            if not isinstance(symbol, str):
                return None
            tokens.append(symbol)
        return tokens

    def decode(self, indices: "np.ndarray | torch.Tensor | Sequence[Sequence[int]]") -> list[str | None]:
        """The string of each row of production indices; None where a row is incomplete or invalid."""
        if hasattr(indices, "detach"):
            indices = indices.detach().cpu().numpy()  # type: ignore[union-attr]
        rows = np.asarray(indices) if not isinstance(indices, list) else indices
        if isinstance(rows, np.ndarray) and rows.ndim != 2:
            raise ValueError(f"decode expects a 2-D batch of production indices, got shape {rows.shape}")
        out: list[str | None] = []
        for row in rows:
            tokens = self.derive(row.tolist() if isinstance(row, np.ndarray) else row)
            out.append(None if tokens is None else self.join(tokens))
        return out

    def decode_logits(
        self,
        logits: "torch.Tensor",
        sample: bool = False,
        generator: "torch.Generator | None" = None,
        complete: bool = True,
    ) -> DecodedBatch:
        """Masked decoding of ``(N, T, P)`` logits (argmax, or sampling when ``sample``) into strings.

        With ``complete`` (the default) decoding is length-aware: only productions whose derivation can
        still finish within the ``T`` steps are allowed, so every string is complete (a GrammarError if
        ``T`` is below the grammar's shortest derivation). ``complete=False`` is the plain masking of
        the Grammar VAE (Kusner et al., 2017), where unfinished derivations decode to ``None``. See
        :func:`lsbo.grammar.decoding.masked_decode`.

        A row whose logits hold a NaN or ``+inf`` anywhere carries no usable scores (a decoder fed a
        NaN code, or one that overflowed): its string is None and its reason says so, rather than the
        string the mask alone would spell. ``-inf`` is a valid score (probability zero).
        ``reasons[i]`` is None for a decoded string, else ``"non-finite logits: ..."`` or
        ``"incomplete: ..."``.
        """
        import torch

        from lsbo.grammar.decoding import masked_decode

        indices, finished = masked_decode(logits, self.tables, sample=sample, generator=generator, complete=complete)
        unusable = (torch.isnan(logits) | (logits == float("inf"))).reshape(logits.shape[0], -1).any(dim=1)
        strings = self.decode(indices)
        reasons: list[str | None] = []
        for row, (done, bad) in enumerate(zip(finished.tolist(), unusable.tolist())):
            if bad:
                step = int((torch.isnan(logits[row]) | (logits[row] == float("inf"))).any(dim=-1).nonzero()[0])
                reasons.append(f"non-finite logits: NaN or +inf, first at decoding step {step + 1} of {logits.shape[1]}")
            elif not done:
                reasons.append(f"incomplete: the derivation did not finish within {logits.shape[1]} steps")
            else:
                reasons.append(None)
        strings = [text if reason is None else None for text, reason in zip(strings, reasons)]
        return DecodedBatch(indices=indices, complete=finished, strings=strings, reasons=reasons)

    # ----------------------------------------------------------------- reporting
    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (used by ``lsbo grammar info``)."""
        return {
            "name": self.name,
            "origin": self.origin,
            "n_productions": self.n_productions,
            "padding": self.padding,
            "max_length": self.max_length,
            "max_length_source": self.max_length_source,
            "tokenizer": self.tokenizer.name,
            "start": str(self.cfg.start()),
            "nonterminals": [str(a) for a in self.nonterminals],
            "terminals": list(self.terminals),
            "productions": [str(p) for p in self.productions],
            "masked_productions": self.masked_productions,
            "nonproductive": [str(a) for a in self.nonproductive],
            "unreachable": [str(a) for a in self.unreachable],
            "warnings": self.warnings,
            "parser": {"states": self.parser.tables.n_states, "conflicts": self.parser.tables.n_conflicts},
        }


def _rebuild(text: str, name: str, origin: str, tokenizer: TokenizerSpec, max_length: int | None) -> Grammar:
    return Grammar(text, name=name, origin=origin, tokenizer=tokenizer, max_length=max_length)
