"""One resolver from what a command is given to what it works with: the source (a registered
dataset or a file), its grammar, its data kind and its model preset family.

Every command that reads a dataset (``lsbo data prepare``, ``lsbo train``, ``lsbo quickstart``) goes
through :func:`resolve_source`; the defaults come from the registry in :mod:`lsbo.data.manifests`:

* grammar: ``--grammar NAME`` is a built-in grammar when ``NAME`` is one (``zinc``, ``expr``), else a
  grammar file (:meth:`lsbo.grammar.Grammar.resolve`); without it, the registered dataset's grammar
  (``zinc`` for ``zinc250k`` and ``.smi``/``.csv`` files, ``expr`` for ``expr``); another file needs
  ``--grammar`` for a grammar model;
* kind: ``--kind``, else the kind of a built-in grammar (``molecules`` for ``zinc``), else that of the
  source's registry entry, else ``strings``;
* preset family: that of the built-in grammar's dataset (or, without a grammar, the source's), else by
  sequence length (:func:`lsbo.data.manifests.preset_family`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lsbo.data.manifests import DatasetManifest, manifest_for_grammar, manifest_for_source, preset_family
from lsbo.errors import ConfigError

if TYPE_CHECKING:
    from lsbo.grammar import Grammar

KINDS: tuple[str, ...] = ("molecules", "expressions", "strings")
GrammarUse = Literal["required", "optional", "none"]


@dataclass(frozen=True)
class ResolvedSource:
    """A source with its grammar (None for character models), data kind and registry entry."""

    source: str
    grammar: "Grammar | None"
    kind: str
    manifest: DatasetManifest | None  # the registry entry whose preset family applies, if any

    def family(self, max_length: int) -> str:
        """The preset family of a model of this source whose sequences have ``max_length`` steps."""
        return preset_family(self.manifest, max_length)


def default_grammar_name(source: str) -> str | None:
    """The built-in grammar a source is encoded with when none is given (None: ``--grammar`` needed)."""
    manifest = manifest_for_source(source)
    return manifest.grammar if manifest is not None else None


def source_kind(source: str) -> str:
    """The kind of a source's rows by the source alone (its registry entry, else ``strings``)."""
    manifest = manifest_for_source(source)
    return manifest.kind if manifest is not None else "strings"


def builtin_manifest(grammar: "Grammar | None") -> DatasetManifest | None:
    """The registry entry of a built-in grammar; None for any other grammar, including a user's
    grammar that merely shares a built-in's name (its text differs)."""
    if grammar is None:
        return None
    manifest = manifest_for_grammar(grammar.name)
    if manifest is None:
        return None
    from lsbo.grammar import Grammar

    try:
        return manifest if Grammar.builtin(grammar.name).text == grammar.text else None
    except Exception:
        return None


def grammar_kind(grammar: "Grammar") -> str:
    """``molecules`` for the SMILES grammar, ``expressions`` for the expression grammar, else ``strings``."""
    manifest = builtin_manifest(grammar)
    return manifest.kind if manifest is not None else "strings"


_NO_DEFAULT_GRAMMAR = "grammar not given, and {source} has no default one: pass grammar zinc, expr or FILE"


def check_kind(kind: str) -> str:
    """``kind`` when it is one of :data:`KINDS`, else a ConfigError naming the choices."""
    if kind not in KINDS:
        raise ConfigError(f"kind {kind!r}: expected one of {', '.join(KINDS)}", parameter="kind")
    return kind


def resolve_grammar(spec: str | None, source: str, tokenizer: str | None = None) -> "Grammar":
    """The grammar named by ``spec`` (see :meth:`lsbo.grammar.Grammar.resolve`), or the source's default.

    ``tokenizer`` (the ``--tokenizer`` flag) applies to grammar files only: a built-in grammar brings
    its own, and a flag that would change it is refused rather than silently used.
    """
    from lsbo.grammar import Grammar

    name = spec if spec is not None else default_grammar_name(source)
    if name is None:
        raise ConfigError(_NO_DEFAULT_GRAMMAR.format(source=source), parameter=("grammar",))
    if tokenizer is not None and name in Grammar.builtin_names():
        raise ConfigError("tokenizer applies to grammar files; built-in grammars have their own tokenizer", parameter="tokenizer")
    return Grammar.resolve(name, tokenizer=tokenizer)


def check_source(source: str, *, grammar: str | None = None, tokenizer: str | None = None, kind: str | None = None,
                 grammar_use: GrammarUse = "required") -> None:
    """The cheap checks of :func:`resolve_source` (no grammar is built, nothing is read)."""
    if kind is not None:
        check_kind(kind)
    if grammar_use == "none":
        if grammar is not None or tokenizer is not None:
            raise ConfigError("grammar and tokenizer do not apply: characters are encoded, not productions",
                              parameter=("grammar", "tokenizer"))
        return
    if grammar_use == "required" and grammar is None and default_grammar_name(source) is None:
        raise ConfigError(_NO_DEFAULT_GRAMMAR.format(source=source), parameter=("grammar",))
    if tokenizer is not None and grammar is None:
        raise ConfigError("tokenizer applies to a grammar file: pass grammar=FILE with it", parameter=("tokenizer", "grammar"))


def resolve_source(
    source: str,
    *,
    grammar: str | None = None,
    tokenizer: str | None = None,
    kind: str | None = None,
    grammar_use: GrammarUse = "required",
) -> ResolvedSource:
    """Resolve a command's source, ``--grammar``, ``--tokenizer`` and ``--kind`` (see the module docstring).

    Args:
        source: a registered dataset name (``zinc``, ``zinc250k``, ``expr``) or a file path.
        grammar: ``--grammar``: a built-in grammar name or a grammar file; None for the default.
        tokenizer: ``--tokenizer`` of a grammar file.
        kind: ``--kind``; None for the default.
        grammar_use: ``required`` (grammar models: the grammar encodes the rows), ``optional``
            (character models trained by ``lsbo train``: a given or default grammar selects the rows
            the grammar models see, so both are trained on the same strings; a file without a default
            is used as it is) or ``none`` (``lsbo data prepare --characters``: no grammar at all).

    Raises:
        ConfigError: an unknown kind, a missing default grammar, a grammar flag where none is used.
    """
    source = str(source)
    check_source(source, grammar=grammar, tokenizer=tokenizer, kind=kind, grammar_use=grammar_use)
    chosen = None
    if grammar_use != "none" and (grammar is not None or default_grammar_name(source) is not None):
        chosen = resolve_grammar(grammar, source, tokenizer=tokenizer)
    if chosen is None:
        manifest = manifest_for_source(source)
        return ResolvedSource(source, None, kind or source_kind(source), manifest)
    builtin = builtin_manifest(chosen)
    resolved_kind = kind or (builtin.kind if builtin is not None else source_kind(source))
    return ResolvedSource(source, chosen, resolved_kind, builtin)


__all__ = [
    "KINDS",
    "ResolvedSource",
    "builtin_manifest",
    "check_kind",
    "check_source",
    "default_grammar_name",
    "grammar_kind",
    "resolve_grammar",
    "resolve_source",
    "source_kind",
]
