"""A trained sequence model loaded from its directory: encode, decode and sample strings.

A model directory holds ``checkpoint.pt`` (weights, optimizer, configuration, grammar text or
character vocabulary, prior, data statistics, package versions), ``config.json``, ``metrics.csv``,
``train_strings.txt`` and, after ``lsbo evaluate``, ``evaluation.json``. :func:`load_model` rebuilds
the network from the stored configuration and loads the best weights (lowest validation loss); a
missing or corrupt file, or a checkpoint of another kind, is a one-line :class:`CheckpointError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lsbo.checkpoint import checkpoint_path, load_checkpoint, require_keys
from lsbo.device import resolve_device
from lsbo.errors import CheckpointError, ConfigError, LsboError
from lsbo.models.autoencoder import SequenceAutoencoder
from lsbo.models.codecs import CharCodec, GrammarCodec, SequenceCodec
from lsbo.models.config import SequenceModelConfig

TRAIN_STRINGS_NAME = "train_strings.txt"
SEQUENCE_CHECKPOINT_KEYS = ("model_type", "config", "regularizer_config", "rec_weight", "data_kind", "split")


class TrainedModel:
    """A sequence autoencoder with its codec, prior and training metadata, ready for inference."""

    def __init__(self, autoencoder: SequenceAutoencoder, payload: dict[str, Any], model_dir: Path, device: torch.device) -> None:
        self.autoencoder = autoencoder.to(device).eval()
        self.codec: SequenceCodec = autoencoder.codec
        self.model_dir = Path(model_dir)
        self.device = device
        self.config: SequenceModelConfig = autoencoder.config
        self.kind: str = payload["data_kind"]
        self.data_stats: dict[str, Any] = dict(payload.get("data_stats") or {})
        self.split: dict[str, Any] = dict(payload["split"])
        self.payload = payload

    # -- attributes of the contract ------------------------------------------------------------

    @property
    def grammar(self) -> Any | None:
        return self.codec.grammar if isinstance(self.codec, GrammarCodec) else None

    @property
    def latent_dim(self) -> int:
        return self.autoencoder.latent_dim

    @property
    def regularizer(self) -> torch.nn.Module:
        return self.autoencoder.regularizer

    @property
    def prior(self) -> Any:
        """The sampling distribution: the GMM prior (GMM-KS) or N(0, I) (VAE family, AE, ...)."""
        return self.autoencoder.regularizer.prior

    # -- inference -----------------------------------------------------------------------------

    @torch.no_grad()
    def encode(self, strings: Sequence[str], batch_size: int = 1024) -> tuple[torch.Tensor, np.ndarray]:
        """Latent codes (means) ``(N, d)`` of ``strings`` and which could be encoded; rows of strings
        outside the grammar/vocabulary are NaN. A single ``str`` is refused (InputTypeError): pass ``[text]``."""
        from lsbo.grammar.grammar import require_string_sequence

        strings = list(require_string_sequence(strings, "strings"))
        indices, ok = self.codec.encode(strings)
        codes = torch.full((len(strings), self.latent_dim), float("nan"), device=self.device)
        rows = np.flatnonzero(ok)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            batch = torch.from_numpy(indices[chunk]).to(self.device)
            codes[torch.from_numpy(chunk).to(self.device)] = self.autoencoder.encode_mean(batch).float()
        return codes, ok

    def _latents(self, z: torch.Tensor) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.get_default_dtype()).to(self.device)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ConfigError(f"latent points must have shape (N, {self.latent_dim}); got {tuple(z.shape)}")
        return z

    @torch.no_grad()
    def decode_logits(self, z: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Decoder logits ``(N, T, C)`` for latent points (unmasked: masking happens at decoding).

        Only for a decoder whose logits do not depend on the symbols chosen (the paper's ``repeat``);
        an autoregressive decoder has scores only along a decoding (:meth:`decode`)."""
        z = self._latents(z)
        decoder = self.autoencoder.decoder
        if decoder.reads_previous:
            raise ConfigError(
                f"the {decoder.name} decoder reads the symbols it has chosen, so it has no logits apart from a "
                "decoding: use decode()", parameter="decoder"
            )
        parts = [decoder.precompute(z[start : start + batch_size]) for start in range(0, len(z), batch_size)]
        if not parts:
            return torch.zeros(0, self.codec.max_length, self.codec.n_symbols, device=self.device)
        return torch.cat(parts)  # type: ignore[arg-type]

    @torch.no_grad()
    def decode(
        self, z: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None, batch_size: int = 1024,
        complete: bool = True, repeats: int = 1,
    ) -> list[str | None]:
        """Strings decoded from latent points: greedy, or stochastic with ``sample=True``.

        For grammar models every string is in the language. With ``complete`` (the default) the
        masking is length-aware and every finite point decodes to a complete string; with
        ``complete=False`` it is the plain Grammar VAE masking (Kusner et al., 2017), the paper's
        protocol, and a point whose derivation does not finish within ``max_length`` steps gives
        ``None``. Character models ignore ``complete``; their ``None`` marks an empty decoding. A non-finite point always gives ``None``.

        ``repeats`` decodes each point that many times (``len(z) * repeats`` strings, a point's
        consecutive), as ``decode(z.repeat_interleave(repeats, 0))`` does. With the paper's decoder
        the network runs once per point: its logits depend on the point alone, and only the sampling
        from them is repeated (the network is about 95% of a molecule decoding's time). Every decoder
        goes through the step-wise interface of :mod:`lsbo.models.decoding`.
        """
        if repeats < 1:
            raise ConfigError(f"repeats must be at least 1, got {repeats}", parameter="repeats")
        from lsbo.models.decoding import decode_codes

        decoder = self.autoencoder.decoder
        out: list[str | None] = []
        z = torch.as_tensor(z)
        for start in range(0, len(z), batch_size):
            points = self._latents(z[start : start + batch_size])
            if repeats == 1:
                out.extend(decode_codes(decoder, self.codec, points, sample=sample, generator=generator, complete=complete))
                continue
            if decoder.reads_previous:
                rows = points.repeat_interleave(repeats, 0)
                for row_start in range(0, len(rows), batch_size):
                    out.extend(decode_codes(
                        decoder, self.codec, rows[row_start : row_start + batch_size], sample=sample,
                        generator=generator, complete=complete,
                    ))
                continue
            logits = self.decode_logits(points, batch_size=batch_size)
            rows = torch.arange(len(logits) * repeats, device=logits.device) // repeats  # each point's row, repeated
            for row_start in range(0, len(rows), batch_size):  # at most batch_size rows of logits in memory at a time
                chunk = logits.index_select(0, rows[row_start : row_start + batch_size])
                out.extend(self.codec.decode_logits(chunk, sample=sample, generator=generator, complete=complete))
        finite = torch.isfinite(z.reshape(len(z), -1)).all(dim=1).repeat_interleave(repeats).tolist() if len(z) else []
        # a NaN/inf point (e.g. the code of a string that could not be encoded) decodes to nothing
        return [text if ok else None for text, ok in zip(out, finite)]

    @torch.no_grad()
    def sample_latents(self, n: int, component: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points from the prior, or from one component ``component`` of a GMM prior."""
        if component is None:
            return self.regularizer.sample(n, generator=generator).to(self.device)
        n_components = self.prior.n_components
        if not 0 <= component < n_components:
            raise ConfigError(f"component {component}: the prior has components 0..{n_components - 1}", parameter="component")
        return self.prior.sample_component(n, component, generator=generator).to(self.device)

    def sample(
        self, n: int, component: int | None = None, generator: torch.Generator | None = None, complete: bool = True
    ) -> list[str | None]:
        """Greedy decodings of ``n`` prior samples (``complete`` as in :meth:`decode`)."""
        return self.decode(self.sample_latents(n, component=component, generator=generator), complete=complete)

    def masking(self, complete: bool = True) -> str:
        """The decoding mask in use: ``length-aware`` or ``plain`` (grammar models), ``none`` (characters)."""
        return self.codec.masking(complete)

    # -- training data -------------------------------------------------------------------------

    def training_strings(self) -> list[str]:
        """The accepted strings the model was trained on (training and validation split)."""
        path = self.model_dir / TRAIN_STRINGS_NAME
        if not path.is_file():
            raise CheckpointError(f"{path} is missing: the model directory {self.model_dir} is incomplete")
        return path.read_text(encoding="utf-8").splitlines()

    def validation_strings(self) -> list[str]:
        """The held-out validation split (indices into :meth:`training_strings`)."""
        strings = self.training_strings()
        indices = self.split["validation_indices"].tolist()
        if indices and max(indices) >= len(strings):
            raise CheckpointError(
                f"{self.model_dir / TRAIN_STRINGS_NAME} has {len(strings)} lines but the checkpoint's validation "
                f"split refers to line {max(indices) + 1}: the file does not belong to this checkpoint"
            )
        return [strings[i] for i in indices]


# ----------------------------------------------------------------------------------------------
# rebuilding from a checkpoint


def codec_from_payload(payload: dict[str, Any], path: Path) -> SequenceCodec:
    """The grammar or character codec stored in a checkpoint."""
    if payload.get("char_vocabulary") is not None:
        from lsbo.data import CharVocabulary

        return CharCodec(CharVocabulary.from_dict(payload["char_vocabulary"]))
    if payload.get("grammar_text") is None:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: neither grammar nor vocabulary stored")
    return GrammarCodec(grammar_from_payload(payload, path))


def grammar_from_payload(payload: dict[str, Any], path: Path) -> Any:
    """Rebuild the grammar a checkpoint was trained with (built-ins by name, others from their text)."""
    from lsbo.grammar import Grammar

    name = payload.get("grammar_name", "custom")
    text = payload["grammar_text"]
    tokenizer = payload.get("grammar_tokenizer")
    try:
        if name in Grammar.builtin_names():
            builtin = Grammar.builtin(name)
            if builtin.text.strip() == text.strip():
                return builtin
        return Grammar.from_string(text, name=name, tokenizer=tokenizer, max_length=payload.get("grammar_max_length"))
    except LsboError as err:
        raise CheckpointError(f"checkpoint {path}: its grammar {name!r} cannot be rebuilt: {err}") from None


def build_autoencoder(
    codec: SequenceCodec, config: SequenceModelConfig, *, batch_size: int, rec_weight: float,
    from_checkpoint: bool = False,
) -> SequenceAutoencoder:
    """A fresh autoencoder for ``codec`` with the configured regularizer (eq. 10 weights for ``batch_size``),
    its initial weights drawn with ``config.initial_weights_seed``.

    With ``from_checkpoint`` the eq. 10 weights are not estimated: they are buffers of the
    regularizer and come back with the checkpoint's ``state_dict``.
    """
    from lsbo.regularizers import build_regularizer

    seed = config.initial_weights_seed
    generator = torch.Generator().manual_seed(seed)
    options = dict(config.regularizer_options)
    if from_checkpoint and config.regularizer == "gmm":
        options.setdefault("ks_weight", 1.0)
        options.setdefault("cv_weight", 1.0)
    regularizer = build_regularizer(
        config.regularizer, config.latent_dim, n_components=config.n_components, batch_size=batch_size,
        generator=generator, **options,
    )
    # Seeded initial weights without disturbing the caller's global random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SequenceAutoencoder(codec, config, regularizer, rec_weight=rec_weight)


def _is_image_checkpoint(payload: dict[str, Any]) -> bool:
    if "kind" not in payload:
        return False
    from lsbo.checkpoint import IMAGE_MODEL_KIND

    return payload["kind"] == IMAGE_MODEL_KIND


def load_model(model_dir: Path | str, device: str | torch.device = "auto") -> TrainedModel:
    """Load a trained sequence model directory (best weights), on ``device``."""
    path = checkpoint_path(model_dir)
    model_dir = path.parent
    device = resolve_device(device)
    payload = load_checkpoint(path, map_location="cpu", train_command="lsbo train")
    if _is_image_checkpoint(payload):  # not corrupt: another kind of model
        raise CheckpointError(
            f"{model_dir} holds an image model (lsbo images train), not a string model: use `lsbo images evaluate "
            f"{model_dir}` or `lsbo images figures {model_dir}`"
        )
    require_keys(payload, SEQUENCE_CHECKPOINT_KEYS + ("model",), path)
    if payload["model_type"] != "sequence":
        raise CheckpointError(f"checkpoint {path} holds a {payload['model_type']!r} model, not a sequence model")
    try:
        config = SequenceModelConfig.from_dict(payload["config"])
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"checkpoint {path} has an unreadable configuration: {err}") from None
    codec = codec_from_payload(payload, path)
    try:
        autoencoder = build_autoencoder(
            codec, config, batch_size=config.batch_size, rec_weight=float(payload["rec_weight"]),
            from_checkpoint=True,
        )
    except ConfigError as err:
        if err.parameter != "decoder":
            raise
        # the checkpoint names a decoder that is not registered here (a plugin's): say so, not "--decoder"
        raise CheckpointError(f"checkpoint {path} names an unknown decoder: {err}") from None
    state = payload.get("best_model") or payload["model"]
    try:
        autoencoder.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path} does not match its stored configuration: {first[:200]}") from None
    return TrainedModel(autoencoder, payload, model_dir, device)
