"""``lsbo train``, ``lsbo evaluate``, ``lsbo sample``, ``lsbo encode``, ``lsbo decode``: thin layers over
:mod:`lsbo.models` and :mod:`lsbo.evaluate` (heavy imports happen inside the commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from lsbo.options import OPTIONS
from lsbo_cli.data import GRAMMAR_HELP, TOKENIZER_HELP
from lsbo_cli.schema import (
    ConvPadding,
    Decoder,
    Init,
    Kind,
    Model,
    Monitor,
    Preset,
    Regularizer,
    choice_value,
    device_option,
    schema_option,
)

REGULARIZER_OPTION_HELP = (
    "KEY=VALUE option of the regularizer, repeatable (e.g. beta=0.5 or epsilon_std=0.01 for vae, "
    "code_weight=1e-3 for rae, weight=10 for wae, use_cv=false for gmm)."
)


def train(
    source: str = typer.Argument(..., help="zinc, expr, or a file of strings (.smi/.txt/.csv, one per line)."),
    out: Path = typer.Option(..., "--out", help="Model directory (checkpoint.pt, metrics.csv, config.json, ...)."),
    grammar: Optional[str] = typer.Option(None, "--grammar", help=GRAMMAR_HELP),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help=TOKENIZER_HELP),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset file for zinc/expr instead of the default source."),
    model: Optional[Model] = schema_option("model"),
    regularizer: Optional[Regularizer] = schema_option("regularizer"),
    preset: Preset = schema_option("preset", "auto"),
    latent_dim: Optional[int] = schema_option("latent_dim"),
    components: Optional[int] = schema_option("n_components"),
    epochs: Optional[int] = schema_option("epochs"),
    batch_size: Optional[int] = schema_option("batch_size"),
    learning_rate: Optional[float] = schema_option("learning_rate"),
    rec_weight: Optional[str] = typer.Option(None, "--rec-weight", help="Reconstruction weight: a positive number, or auto (Section 3.3)."),
    rec_weight_epochs: int = schema_option("rec_weight_epochs", 5),
    regularizer_option: Optional[list[str]] = typer.Option(None, "--regularizer-option", help=REGULARIZER_OPTION_HELP),
    gru_hidden: Optional[int] = schema_option("gru_hidden"),
    dense_units: Optional[int] = schema_option("dense_units"),
    kind: Optional[Kind] = schema_option("kind"),
    limit: Optional[int] = schema_option("limit"),
    seed: int = schema_option("seed", 0),
    weight_seed: Optional[int] = schema_option("weight_seed"),
    device: str = device_option(),
    threads: Optional[int] = schema_option("threads"),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --out."),
    full_length: Optional[bool] = typer.Option(None, "--full-length/--no-full-length", help=OPTIONS["full_length"].help),
    monitor: Optional[Monitor] = schema_option("monitor"),
    init: Optional[Init] = schema_option("init"),
    conv_padding: Optional[ConvPadding] = schema_option("conv_padding"),
    decoder: Optional[Decoder] = schema_option("decoder"),
) -> None:
    """Train a grammar (or character) autoencoder with a latent regularizer (GMM-KS by default).

    Under ``torchrun --nproc-per-node N -m lsbo_cli train ...`` the N processes train one model with
    DistributedDataParallel (lsbo.distributed): --batch-size is the global batch, rank 0 writes the checkpoint.
    """
    from lsbo.distributed import data_parallel_from_environment
    from lsbo.models import TrainOptions, train_sequence_model

    options = TrainOptions(
        source=source, out_dir=out, grammar=grammar, tokenizer=tokenizer, data=data, model=choice_value(model),
        regularizer=choice_value(regularizer), preset=choice_value(preset) or "auto", latent_dim=latent_dim,
        n_components=components, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, rec_weight=rec_weight,
        gru_hidden=gru_hidden, dense_units=dense_units, kind=choice_value(kind), limit=limit, seed=seed, weight_seed=weight_seed, device=device,
        resume=resume, threads=threads, rec_weight_epochs=rec_weight_epochs, full_length=full_length,
        monitor=choice_value(monitor), init=choice_value(init), conv_padding=choice_value(conv_padding), decoder=choice_value(decoder),
        regularizer_options=parse_regularizer_options(regularizer_option or []),
    )
    with data_parallel_from_environment(device) as group:
        result = train_sequence_model(options)
    if group is not None and not group.is_main:
        return
    from lsbo.diagnostics import reconstruction_summary

    accuracy, warnings = reconstruction_summary(result.history, result.best_epoch)
    reconstructed = f", validation reconstruction {accuracy:.1%}" if accuracy is not None else ""
    typer.echo(
        f"done: {len(result.history)} epochs ({result.stop_reason}), best validation {result.monitor} "
        f"{result.best_val_loss:.4g} at epoch {result.best_epoch}{reconstructed}; model in {out}"
    )
    for warning in warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)


def evaluate(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    n: int = typer.Option(1000, "-n", "--samples", min=1, help="Number of prior samples."),
    max_reconstruct: Optional[int] = typer.Option(
        None, "--max-reconstruct", min=1, help="Use at most this many validation strings."
    ),
    seed: int = typer.Option(0, "--seed"),
    device: str = device_option(),
    threads: Optional[int] = schema_option("threads"),
    plain_masking: bool = typer.Option(
        False, "--plain-masking", help="Plain Grammar VAE masking (the paper's protocol): derivations may not finish."
    ),
) -> None:
    """Reconstruction accuracy, prior-sample validity/uniqueness/novelty and latent-prior fit -> evaluation.json.

    Grammar models decode with length-aware masking (every output complete) unless --plain-masking.
    """
    from rich.console import Console
    from rich.table import Table

    from lsbo.device import set_threads
    from lsbo.evaluate import EVALUATION_NAME, SUMMARY_ROWS, TRAINING_CURVES_NAME, evaluate_model

    set_threads(threads)
    result = evaluate_model(
        model_dir, n_samples=n, device=device, seed=seed, max_reconstruct=max_reconstruct, complete=not plain_masking
    )
    table = Table(title=f"{model_dir} ({result['kind']}, {result['model']} model, {result['regularizer']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, key in SUMMARY_ROWS:
        value = result[key]
        table.add_row(label, "n/a" if value != value else f"{value:.4f}")  # NaN: undefined (e.g. no valid sample)
    Console().print(table)
    for warning in result["warnings"]:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    curves = Path(model_dir) / TRAINING_CURVES_NAME
    typer.echo(f"decoding mask: {result['masking']}; written: {Path(model_dir) / EVALUATION_NAME}"
               + (f" and {curves}" if curves.is_file() else ""))


def sample(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    n: int = typer.Option(10, "-n", min=1, help="Number of samples."),
    component: Optional[int] = typer.Option(None, "--component", help="Sample from one prior component only."),
    seed: int = typer.Option(0, "--seed"),
    device: str = device_option(),
    plain_masking: bool = typer.Option(
        False, "--plain-masking", help="Plain Grammar VAE masking (the paper's protocol): derivations may not finish."
    ),
) -> None:
    """Decode prior samples (one string per line; an empty line where decoding did not complete,
    which length-aware masking, the default for grammar models, rules out)."""
    import torch

    from lsbo.models import load_model

    model = load_model(model_dir, device=device)
    generator = torch.Generator(device=model.prior.means.device).manual_seed(seed)
    strings = model.sample(n, component=component, generator=generator, complete=not plain_masking)
    _print_strings(strings)


def encode(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    file: Optional[Path] = typer.Argument(None, help="Strings to encode, one per line; '-' reads standard input."),
    inline: Optional[list[str]] = typer.Option(
        None, "--string", "-s", help="A string to encode (repeatable), instead of FILE: -s 'x + 1' -s 'sin(x)'."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Write the codes to a .npy, .csv (commas) or .txt (spaces) file instead of stdout."
    ),
    device: str = device_option(),
) -> None:
    """Latent codes (means) of strings from FILE, standard input ('-') or --string; rows that cannot be
    encoded are NaN and reported with the reason."""
    from lsbo.models import load_model

    if out is not None:
        _check_latent_output(out)  # a bad --out fails before the model loads and the strings are encoded
    numbered = _strings_to_encode(file, inline or [])
    model = load_model(model_dir, device=device)
    codes, ok = model.encode([text for _, text in numbered])
    array = codes.cpu().numpy()
    failed = [(where, text) for (where, text), good in zip(numbered, ok) if not good]
    for (where, _), reason in zip(failed, _encode_reasons(model, [text for _, text in failed])):
        typer.secho(f"{where}: cannot be encoded by this model ({reason}); its row is NaN", fg=typer.colors.YELLOW, err=True)
    if out is None:
        for row in array:
            typer.echo(",".join(f"{v:.6g}" for v in row))
        return
    _write_latents(out, array)


def decode(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    file: Path = typer.Argument(..., help="Latent points: .npy, or one comma/space separated row per line."),
    stochastic: bool = typer.Option(False, "--sample", help="Sample the decoder instead of greedy decoding."),
    seed: int = typer.Option(0, "--seed"),
    device: str = device_option(),
    plain_masking: bool = typer.Option(
        False, "--plain-masking", help="Plain Grammar VAE masking (the paper's protocol): derivations may not finish."
    ),
) -> None:
    """Decode latent points to strings (an empty line where decoding did not complete, which
    length-aware masking, the default for grammar models, rules out for finite points)."""
    import torch

    from lsbo.models import load_model

    z, rows = _read_latents(file)
    model = load_model(model_dir, device=device)
    if z.shape[1] != model.latent_dim:
        from lsbo.errors import DataError

        raise DataError(f"{file}: rows have {z.shape[1]} numbers but the model's latent size is {model.latent_dim}")
    generator = torch.Generator(device=model.device).manual_seed(seed)
    import numpy as np

    non_finite = [where for where, finite in zip(rows, np.isfinite(z).all(axis=1)) if not finite]
    _print_strings(
        model.decode(torch.from_numpy(z), sample=stochastic, generator=generator, complete=not plain_masking),
        non_finite=non_finite,
    )


# ----------------------------------------------------------------------------------------------


def parse_regularizer_options(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of ``--regularizer-option`` as keyword arguments of the regularizer.

    Values stay text: the regularizer reads each by the type of its option (``use_cv=no`` is False,
    ``beta=0.5`` a float; :func:`lsbo.regularizers.normalize_regularizer_options`) and refuses an option
    it does not have, naming the ones it has.
    """
    from lsbo.errors import ConfigError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise ConfigError(f"--regularizer-option {pair!r}: expected KEY=VALUE, e.g. beta=0.5")
        options[key] = text
    return options


def _strings_to_encode(file: Path | None, inline: list[str]) -> list[tuple[str, str]]:
    """``(where, string)`` of the strings ``lsbo encode`` was given: FILE (``-``: standard input) or
    ``--string`` values, exactly one of the two; ``where`` names the line or the flag for messages."""
    import sys

    from lsbo.errors import ConfigError

    if file is not None and inline:
        raise ConfigError("give the strings as FILE or with --string, not both")
    if inline:
        return [(f"--string {i} ({text!r})", text) for i, text in enumerate(inline, start=1)]
    if file is None:
        raise ConfigError("no strings to encode: give a FILE (one string per line), '-' to read standard input, or --string TEXT")
    if str(file) == "-":
        lines = sys.stdin.read().removeprefix("\ufeff").splitlines()
        return [(f"<stdin>:{n}", line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    return [(f"{file}:{n}", text) for n, text in _read_lines(file)]


def _encode_reasons(model: Any, strings: list[str]) -> list[str]:
    """Why each string could not be encoded: the grammar's reason, or the character vocabulary's."""
    grammar = model.grammar
    if grammar is not None:
        return [reason or "rejected" for reason in grammar.encode(strings).reasons]
    return [reason or "rejected" for reason in model.codec.vocabulary.reasons(strings)]


def _read_lines(file: Path) -> list[tuple[int, str]]:
    """Non-blank stripped lines with their 1-based line numbers in ``file`` (for messages)."""
    from lsbo.errors import DataError

    if not file.is_file():
        raise DataError(f"{file}: no such file")
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()  # -sig: a byte-order mark is not part of the first row
        return [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]
    except UnicodeDecodeError as err:
        raise DataError(f"{file}: not UTF-8 text ({err.reason} at byte {err.start})") from None


# Files of latent points: suffix -> column delimiter (None: numpy's binary .npy).
LATENT_FORMATS: dict[str, str | None] = {".npy": None, ".csv": ",", ".txt": " "}


def _latent_format(path: Path) -> str | None:
    """The delimiter of a latent-point file by its suffix (None for .npy); ConfigError for any other suffix."""
    suffix = path.suffix.lower()
    if suffix not in LATENT_FORMATS:
        from lsbo.errors import ConfigError

        accepted = ", ".join(LATENT_FORMATS)
        raise ConfigError(f"--out {path}: unknown suffix {path.suffix or '(none)'!r}; accepted: {accepted}")
    return LATENT_FORMATS[suffix]


def _check_latent_output(path: Path) -> None:
    """ConfigError naming --out for a path that cannot take the codes: an unknown suffix, a directory,
    or a parent that is a file (checked before any work, so nothing is computed for nothing)."""
    from lsbo.errors import ConfigError

    _latent_format(path)
    if path.is_dir():
        raise ConfigError(f"--out {path} is a directory; give a file name ending in {', '.join(LATENT_FORMATS)}")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(f"--out {path}: {parent} is a file, not a folder")


def _write_latents(path: Path, array) -> None:  # array: np.ndarray (N, d)
    """Write the codes atomically (a missing folder is created: it must not lose the encoding just done)."""
    import numpy as np

    from lsbo.persistence import atomic_write_bytes

    delimiter = _latent_format(path)
    if delimiter is None:  # to a file object: np.save on a path would append ".npy" to a ".NPY" name
        atomic_write_bytes(path, lambda handle: np.save(handle, array))
    else:
        atomic_write_bytes(path, lambda handle: np.savetxt(handle, array, delimiter=delimiter, fmt="%.8g"))


def _read_latents(file: Path):  # -> (np.ndarray (N, d) float32, where each row is: "FILE:LINE" or "FILE row N")
    import numpy as np

    from lsbo.errors import DataError

    if file.suffix.lower() == ".npy":
        if not file.is_file():
            raise DataError(f"{file}: no such file")
        try:
            array = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataError(f"{file}: not a readable .npy array ({str(err).splitlines()[0]})") from None
        if array.dtype.kind not in "biuf":
            raise DataError(f"{file}: holds {array.dtype} values, not numbers; expected a float array of latent points")
        where = [f"{file} row {i}" for i in range(1, (len(array) if array.ndim > 1 else 1) + 1)]
    else:
        rows = []
        where = []
        first_line = 0
        for number, line in _read_lines(file):
            try:
                row = [float(v) for v in line.replace(",", " ").split()]
            except ValueError:
                raise DataError(f"{file}:{number}: expected numbers separated by commas or spaces") from None
            if rows and len(row) != len(rows[0]):
                raise DataError(f"{file}:{number}: {len(row)} values, but line {first_line} has {len(rows[0])}")
            first_line = first_line or number
            rows.append(row)
            where.append(f"{file}:{number}")
        array = np.asarray(rows)
    array = np.atleast_2d(np.asarray(array, dtype=np.float32))
    if array.ndim != 2:
        raise DataError(f"{file}: expected a 2-D array of latent points, got shape {array.shape}")
    return array, where


def _print_strings(strings: list[str | None], non_finite: list[str] | None = None) -> None:
    """One line per string (empty where there is none); on stderr, the non-finite input points by
    name (``non_finite``: where each came from) and the count of the other empty lines."""
    non_finite = non_finite or []
    for text in strings:
        typer.echo("" if text is None else text)
    for where in non_finite[:10]:
        typer.secho(f"{where}: non-finite latent point (NaN or inf): no string (empty line)", fg=typer.colors.YELLOW, err=True)
    if len(non_finite) > 10:
        typer.secho(f"... and {len(non_finite) - 10} more non-finite points", fg=typer.colors.YELLOW, err=True)
    invalid = sum(text is None for text in strings) - len(non_finite)
    if invalid:
        typer.secho(f"{invalid} of {len(strings)} did not decode to a complete string (empty lines)", fg=typer.colors.YELLOW, err=True)


def register(app: typer.Typer) -> None:
    """Add the model commands at the top level of the ``lsbo`` app."""
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("sample")(sample)
    app.command("encode")(encode)
    app.command("decode")(decode)
