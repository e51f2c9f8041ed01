"""``lsbo train``, ``lsbo evaluate``, ``lsbo sample``, ``lsbo encode``, ``lsbo decode``: thin layers over
:mod:`lsbo.models` and :mod:`lsbo.evaluate` (heavy imports happen inside the commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

REGULARIZER_OPTION_HELP = (
    "KEY=VALUE option of the regularizer, repeatable (e.g. beta=0.5 or epsilon_std=0.01 for vae, "
    "code_weight=1e-3 for rae, weight=10 for wae, use_cv=false for gmm)."
)


def train(
    source: str = typer.Argument(..., help="zinc, expr, or a file of strings (.smi/.txt/.csv, one per line)."),
    out: Path = typer.Option(..., "--out", help="Model directory (checkpoint.pt, metrics.csv, config.json, ...)."),
    grammar: Optional[Path] = typer.Option(None, "--grammar", help="CFG file (required for a grammar model on a custom file)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset file for zinc/expr instead of the default source."),
    model: Optional[str] = typer.Option(None, "--model", help="grammar (Grammar VAE, default) or char (character baseline)."),
    regularizer: Optional[str] = typer.Option(None, "--regularizer", help="gmm (default) | vae | cvvae | rae | wae | ae."),
    preset: str = typer.Option("paper", "--preset", help="paper (PROTOCOLS.md sizes) or cpu (smaller, for a laptop)."),
    latent_dim: Optional[int] = typer.Option(None, "--latent-dim", help="Latent size (preset: 56 zinc, 25 expr)."),
    components: Optional[int] = typer.Option(None, "--components", help="GMM prior components K (default 10)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs (preset: 100 zinc, 50 expr at paper)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Batch size (preset: 500 zinc, 600 expr at paper)."),
    learning_rate: Optional[float] = typer.Option(None, "--lr", help="Adam learning rate (default 1e-3)."),
    rec_weight: Optional[str] = typer.Option(None, "--rec-weight", help="Reconstruction weight: a number, or auto (Section 3.3)."),
    rec_weight_epochs: int = typer.Option(5, "--rec-weight-epochs", help="Epochs of the plain autoencoder behind --rec-weight auto."),
    regularizer_option: Optional[list[str]] = typer.Option(None, "--regularizer-option", help=REGULARIZER_OPTION_HELP),
    gru_hidden: Optional[int] = typer.Option(None, "--gru-hidden", help="GRU width (preset: 501/100 paper, 128/100 cpu)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="molecules | expressions | strings (inferred for zinc/expr)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N strings."),
    seed: int = typer.Option(0, "--seed", help="Random seed (split, initialisation, batches)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: all cores)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --out."),
) -> None:
    """Train a grammar (or character) autoencoder with a latent regularizer (GMM-KS by default).

    Under ``torchrun --nproc-per-node N -m lsbo_cli train ...`` the N processes train one model with
    DistributedDataParallel (lsbo.distributed): --batch-size is the global batch, rank 0 writes the checkpoint.
    """
    from lsbo.distributed import data_parallel_from_environment
    from lsbo.models import TrainOptions, train_sequence_model

    weight: float | str | None = None
    if rec_weight is not None:
        weight = "auto" if rec_weight.strip().lower() == "auto" else _as_float(rec_weight, "--rec-weight")
    options = TrainOptions(
        source=source, out_dir=out, grammar_file=grammar, data=data, model=model, regularizer=regularizer,
        preset=preset, latent_dim=latent_dim, n_components=components, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, rec_weight=weight, gru_hidden=gru_hidden, kind=kind, limit=limit, seed=seed,
        device=device, resume=resume, threads=threads, rec_weight_epochs=rec_weight_epochs,
        regularizer_options=parse_regularizer_options(regularizer_option or []),
    )
    with data_parallel_from_environment(device) as group:
        quiet = group is not None and not group.is_main  # the other ranks would repeat rank 0's lines
        result = train_sequence_model(options, log=(lambda message: None) if quiet else None)
    if group is not None and not group.is_main:
        return
    typer.echo(
        f"done: {len(result.history)} epochs ({result.stop_reason}), best validation loss "
        f"{result.best_val_loss:.4g} at epoch {result.best_epoch}; model in {out}"
    )


def evaluate(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    n: int = typer.Option(1000, "-n", "--samples", min=1, help="Number of prior samples."),
    max_reconstruct: Optional[int] = typer.Option(
        None, "--max-reconstruct", min=1, help="Use at most this many validation strings."
    ),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: all cores)."),
    plain_masking: bool = typer.Option(
        False, "--plain-masking", help="Plain Grammar VAE masking (the paper's protocol): derivations may not finish."
    ),
) -> None:
    """Reconstruction accuracy, prior-sample validity/uniqueness/novelty and latent-prior fit -> evaluation.json.

    Grammar models decode with length-aware masking (every output complete) unless --plain-masking.
    """
    from rich.console import Console
    from rich.table import Table

    from lsbo.evaluate import EVALUATION_NAME, SUMMARY_ROWS, evaluate_model

    _set_threads(threads)
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
    typer.echo(f"decoding mask: {result['masking']}; written: {Path(model_dir) / EVALUATION_NAME}")


def sample(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    n: int = typer.Option(10, "-n", min=1, help="Number of samples."),
    component: Optional[int] = typer.Option(None, "--component", help="Sample from one prior component only."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
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
    file: Path = typer.Argument(..., help="Strings to encode, one per line."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Write the codes to a .npy, .csv (commas) or .txt (spaces) file instead of stdout."
    ),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
) -> None:
    """Latent codes (means) of strings; rows that cannot be encoded are NaN and reported."""
    from lsbo.models import load_model

    if out is not None:
        _latent_format(out)  # an unknown suffix fails before the model loads and the strings are encoded
    numbered = _read_lines(file)
    model = load_model(model_dir, device=device)
    codes, ok = model.encode([text for _, text in numbered])
    array = codes.cpu().numpy()
    for (line, _), good in zip(numbered, ok):
        if not good:
            typer.secho(f"{file}:{line}: cannot be encoded by this model; its row is NaN", fg=typer.colors.YELLOW, err=True)
    if out is None:
        for row in array:
            typer.echo(",".join(f"{v:.6g}" for v in row))
        return
    out.parent.mkdir(parents=True, exist_ok=True)  # a missing folder must not lose the encoding just done
    _write_latents(out, array)


def decode(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    file: Path = typer.Argument(..., help="Latent points: .npy, or one comma/space separated row per line."),
    stochastic: bool = typer.Option(False, "--sample", help="Sample the decoder instead of greedy decoding."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    plain_masking: bool = typer.Option(
        False, "--plain-masking", help="Plain Grammar VAE masking (the paper's protocol): derivations may not finish."
    ),
) -> None:
    """Decode latent points to strings (an empty line where decoding did not complete, which
    length-aware masking, the default for grammar models, rules out for finite points)."""
    import torch

    from lsbo.models import load_model

    z = _read_latents(file)
    model = load_model(model_dir, device=device)
    if z.shape[1] != model.latent_dim:
        from lsbo.errors import DataError

        raise DataError(f"{file}: rows have {z.shape[1]} numbers but the model's latent size is {model.latent_dim}")
    generator = torch.Generator(device=model.device).manual_seed(seed)
    _print_strings(model.decode(torch.from_numpy(z), sample=stochastic, generator=generator, complete=not plain_masking))


# ----------------------------------------------------------------------------------------------


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))


def _as_float(text: str, flag: str) -> float:
    try:
        return float(text)
    except ValueError:
        from lsbo.errors import ConfigError

        raise ConfigError(f"{flag} {text!r}: expected a number or auto") from None


def parse_regularizer_options(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of ``--regularizer-option`` as keyword arguments of the regularizer.

    Values are read as booleans (true/false), integers or floats where they look like one, else kept as
    text; the regularizer itself refuses an option it does not have, naming the ones it has.
    """
    from lsbo.errors import ConfigError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise ConfigError(f"--regularizer-option {pair!r}: expected KEY=VALUE, e.g. beta=0.5")
        options[key] = _option_value(text)
    return options


def _option_value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _read_lines(file: Path) -> list[tuple[int, str]]:
    """Non-blank stripped lines with their 1-based line numbers in ``file`` (for messages)."""
    from lsbo.errors import DataError

    if not file.is_file():
        raise DataError(f"{file}: no such file")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
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


def _write_latents(path: Path, array) -> None:  # array: np.ndarray (N, d)
    import numpy as np

    delimiter = _latent_format(path)
    if delimiter is None:
        with open(path, "wb") as handle:  # np.save on a path would append ".npy" to a ".NPY" name
            np.save(handle, array)
    else:
        np.savetxt(path, array, delimiter=delimiter, fmt="%.8g")


def _read_latents(file: Path):  # -> np.ndarray (N, d) float32
    import numpy as np

    from lsbo.errors import DataError

    if file.suffix.lower() == ".npy":
        try:
            array = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataError(f"{file}: not a readable .npy array ({err})") from None
    else:
        rows = []
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
        array = np.asarray(rows)
    array = np.atleast_2d(np.asarray(array, dtype=np.float32))
    if array.ndim != 2:
        raise DataError(f"{file}: expected a 2-D array of latent points, got shape {array.shape}")
    return array


def _print_strings(strings: list[str | None]) -> None:
    for text in strings:
        typer.echo("" if text is None else text)
    invalid = sum(text is None for text in strings)
    if invalid:
        typer.secho(f"{invalid} of {len(strings)} did not decode to a complete string (empty lines)", fg=typer.colors.YELLOW, err=True)


def register(app: typer.Typer) -> None:
    """Add the model commands at the top level of the ``lsbo`` app."""
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("sample")(sample)
    app.command("encode")(encode)
    app.command("decode")(decode)
