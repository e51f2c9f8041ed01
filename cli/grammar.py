"""``lsbo grammar``: inspect the context-free grammars behind the grammar autoencoders (``info``) and
check strings against them (``parse``).

A thin layer over :class:`lsbo.grammar.Grammar`; see ``grammars/README.md`` for the file format.
"""

from __future__ import annotations

import json

import typer

grammar_app = typer.Typer(help="Inspect context-free grammars (built-in or from a file).", no_args_is_help=True)


@grammar_app.command("info")
def info(
    grammar: str = typer.Argument(..., help="A built-in grammar name (zinc, expr) or a path to a grammar file."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Show a grammar's productions, max length, non-terminals, terminals and warnings."""
    from lsbo.grammar import Grammar

    loaded = Grammar.resolve(grammar)
    summary = loaded.describe()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    source = {"file": "from the file", "argument": "given", "default": "default; set '# max_length: N' in the file"}
    typer.echo(f"grammar: {summary['name']} ({summary['origin']})")
    typer.echo(f"productions: {summary['n_productions']} (padding included, index {summary['padding']})")
    typer.echo(f"max length: {summary['max_length']} ({source[summary['max_length_source']]})")
    typer.echo(f"tokenizer: {summary['tokenizer']}")
    typer.echo(f"start: {summary['start']}")
    typer.echo(f"non-terminals ({len(summary['nonterminals'])}): {' '.join(summary['nonterminals'])}")
    typer.echo(f"terminals ({len(summary['terminals'])}): {' '.join(repr(t) for t in summary['terminals'])}")
    typer.echo(
        f"parser: {summary['parser']['states']} LR states, {summary['parser']['conflicts']} conflicting entries "
        "(resolved by search, exact)"
    )
    masked = set(summary["masked_productions"])
    for index, production in enumerate(summary["productions"]):
        note = "   [masked: introduces a non-productive symbol]" if index in masked else ""
        typer.echo(f"  {index:3d}  {production}{note}")
    typer.echo(f"  {summary['padding']:3d}  (padding)")
    for warning in summary["warnings"]:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)


@grammar_app.command("parse")
def parse(
    grammar: str = typer.Argument(..., help="A built-in grammar name (zinc, expr) or a path to a grammar file."),
    strings: list[str] = typer.Argument(..., help="Strings to parse (quote them)."),
    show_productions: bool = typer.Option(False, "--productions", help="List each derivation's productions."),
) -> None:
    """Parse strings: their derivation length and productions, or why they are rejected."""
    from lsbo.grammar import Grammar

    loaded = Grammar.resolve(grammar)
    result = loaded.encode(strings)
    for text, reason, length, row in zip(strings, result.reasons, result.lengths, result.indices):
        if reason is not None:
            typer.echo(f"rejected  {shown_input(text)}  ({reason})")
            continue
        typer.echo(f"ok        {shown_input(text)}  ({int(length)} productions of {loaded.max_length})")
        if show_productions:
            for index in row[:length].tolist():
                typer.echo(f"  {index:3d}  {loaded.productions[index]}")
    rejected = int((~result.ok).sum())
    if rejected:  # the exit status says it too, but a status alone reads as a failure without a cause
        typer.secho(f"error: {rejected} of {len(strings)} string(s) do not parse with grammar {loaded.name} (reasons above)",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)


#: The most characters of an input echoed back (the rest is counted, not printed).
SHOWN_CHARACTERS = 80


def shown_input(text: str) -> str:
    """``text`` as one printable line: characters that do not print (controls, invisible spaces, bytes that
    were not UTF-8) escaped, and a long input cut to :data:`SHOWN_CHARACTERS` with its length."""
    escaped = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text[: SHOWN_CHARACTERS + 1])
    if len(text) > SHOWN_CHARACTERS:
        return f"{escaped[:SHOWN_CHARACTERS]}... ({len(text):,} characters)"
    return escaped


def register(app: typer.Typer) -> None:
    """Add the ``grammar`` command group to the ``lsbo`` app."""
    app.add_typer(grammar_app, name="grammar")
