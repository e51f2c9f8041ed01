"""``lsbo data``: fetch named datasets and prepare any dataset for training (a thin layer over
:mod:`lsbo.data`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lsbo_cli.schema import Kind, choice_value, schema_option

# Shared by every command that reads a dataset (lsbo data prepare, lsbo train): one meaning everywhere.
GRAMMAR_HELP = (
    "Built-in grammar name (zinc, expr) or a grammar file; default from the source (zinc for zinc250k and "
    ".smi/.csv files, expr for expr; another file needs one for a grammar model)."
)
TOKENIZER_HELP = (
    "Tokenizer of a grammar file: 'whitespace' or 'optional-spaces' (default: the file's '# tokenizer:' header, "
    "else longest match over its terminals)."
)


def _prepare(
    source: str = typer.Argument(..., help="zinc | zinc250k | expr | PATH to a .smi, .txt or .csv file."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for indices.npy, strings.txt, rejects.csv, summary.json."),
    grammar: Optional[str] = typer.Option(None, "--grammar", "-g", help=GRAMMAR_HELP),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help=TOKENIZER_HELP),
    data: Optional[Path] = typer.Option(None, "--data", help="Local file for a named dataset (skips the download / the generator)."),
    kind: Optional[Kind] = schema_option("kind"),
    limit: Optional[int] = schema_option("limit", help="Use only the first N rows."),
    workers: Optional[int] = schema_option("workers"),
    seed: Optional[int] = schema_option("seed", help="Seed of the expression generator (expr without --data; default 0)."),
    cache: Optional[bool] = typer.Option(None, "--cache/--no-cache", help="Reuse and store encoded results in the cache directory (default on; grammar encoding only)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    characters: bool = typer.Option(False, "--characters", help="Encode characters for the character baseline instead of productions (writes vocabulary.json)."),
) -> None:
    """Validate and encode a dataset; write the encoded rows, the rejects and a summary to --out."""
    from rich.console import Console

    from lsbo.data.prepare import prepare_characters, prepare_dataset
    from lsbo.data.resolve import GrammarUse, check_source, resolve_source
    from lsbo.data.sources import load_strings
    from lsbo.options import check_values

    console = Console()
    use: GrammarUse = "none" if characters else "required"
    kind_name = choice_value(kind)
    checked = check_values({"limit": limit, "workers": workers, "seed": seed})
    limit, workers, seed = checked["limit"], checked["workers"], checked["seed"]
    refuse_ignored_flags(source, data=data, seed=seed, characters=characters, workers=workers, cache=cache)
    check_source(source, grammar=grammar, tokenizer=tokenizer, kind=kind_name, grammar_use=use)  # before any read
    seed = 0 if seed is None else seed
    resolved = resolve_source(source, grammar=grammar, tokenizer=tokenizer, kind=kind_name, grammar_use=use)
    strings = load_strings(source, data=data, limit=limit, seed=seed, progress=progress)
    if characters:
        prepared, _ = prepare_characters(strings, kind=resolved.kind, out_dir=out)  # type: ignore[arg-type]
    else:
        prepared = prepare_dataset(
            strings,
            resolved.grammar,
            kind=resolved.kind,  # type: ignore[arg-type]
            out_dir=out,
            workers=workers,
            cache=cache is not False,
            progress=progress,
        )
    console.print(f"source: {prepared.summary['origin']}")
    console.print(summary_table(prepared.summary))
    written = "indices.npy, lines.npy, strings.txt, rejects.csv, summary.json" + (", vocabulary.json" if characters else "")
    console.print(f"wrote {written} to {out}")


def refuse_ignored_flags(
    source: str, *, data: Optional[Path], seed: Optional[int], characters: bool, workers: Optional[int], cache: Optional[bool]
) -> None:
    """A ConfigError naming both flags for a combination where one flag would be silently ignored:
    ``--seed`` only chooses the generated expressions (expr without ``--data``), and character encoding
    runs in this process without the encoding cache (``--no-cache`` says what happens and is accepted)."""
    from lsbo.errors import ConfigError

    if seed is not None:
        if data is not None:
            raise ConfigError("--seed chooses generated expressions and --data reads the rows from a file: drop one of them")
        if str(source).lower() != "expr":
            raise ConfigError(f"--seed applies only to the generated expr dataset, not to {source}: drop --seed")
    if characters and workers is not None:
        raise ConfigError("--workers applies to grammar encoding; --characters encodes in this process: drop one of them")
    if characters and cache:
        raise ConfigError("--cache applies to grammar encoding; --characters results are not cached: drop one of them")


def summary_table(summary: dict):
    """A rich table of a preparation summary: totals, then one row per reject reason."""
    from rich.table import Table

    total = summary["total"] or 1
    table = Table(title=f"{summary.get('dataset', 'dataset')} ({summary.get('kind')})", title_justify="left")
    table.add_column("rows")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_row("total", f"{summary['total']:,}", "100.00%")
    table.add_row("accepted", f"{summary['accepted']:,}", f"{100 * summary['accepted'] / total:.2f}%")
    for reason, count in summary["rejected"].items():
        table.add_row(f"rejected: {reason}", f"{count:,}", f"{100 * count / total:.2f}%")
    codec = f"grammar {summary.get('grammar')}" if summary.get("grammar") else f"characters ({summary.get('vocabulary_size')} symbols)"
    table.caption = f"{codec}, max_length {summary.get('max_length')}, cache {summary.get('cache')}"
    table.caption_justify = "left"
    return table


def _fetch(
    name: str = typer.Argument("zinc250k", help="Dataset name (zinc250k)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Check this local copy instead of downloading."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a download progress bar."),
) -> None:
    """Download a named dataset into the cache (or check a local copy given with --data)."""
    from lsbo.data.downloads import check_file, fetch
    from lsbo.data.manifests import get_manifest
    from lsbo.errors import DataError
    from lsbo.progress import download_progress

    manifest = get_manifest(name)
    if manifest.url is None:
        typer.echo(f"{manifest.name} is generated locally (or read with --data); there is nothing to download")
        return
    if data is None:
        with download_progress(f"downloading {manifest.filename}", enabled=progress) as callback:
            path = fetch(manifest, progress=callback)
    else:
        path = Path(data).expanduser()
    found = check_file(manifest, path)
    typer.echo(f"{manifest.name}: {found.path}")
    typer.echo(f"  rows   {found.rows:,} (expected {manifest.rows:,})" if manifest.rows else f"  rows   {found.rows:,}")
    verdict = {True: "matches", False: "DIFFERS from", None: "no checksum to compare with:"}[found.sha256_match]
    typer.echo(f"  sha256 {found.sha256} ({verdict} {found.expected_sha256 or 'recorded at first download'})")
    if not found.rows_match:
        raise DataError(f"{path} has {found.rows} rows, expected {manifest.rows} for {manifest.filename}")
    if found.sha256_match is False:
        raise DataError(f"{path} has sha256 {found.sha256}, expected {found.expected_sha256}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Datasets: download named ones, prepare any (encode, reject, summarise).", no_args_is_help=True)
    group.command("prepare")(_prepare)
    group.command("fetch")(_fetch)
    app.add_typer(group, name="data")
