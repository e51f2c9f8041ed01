"""A tiny grammar model trained once per session through the Python API (shared by model tests)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread(single_torch_thread: None) -> None:
    """Tiny models run far faster on one thread (the root ``single_torch_thread`` fixture)."""


# The paper's decoder: these tests read its logits directly (TrainedModel.decode_logits); the autoregressive
# decoder is tested in test_decoders.py and through the command line (tests/cli).
TINY_OPTIONS = dict(latent_dim=4, gru_hidden=16, dense_units=16, batch_size=32, epochs=2, preset="cpu", device="cpu",
                    decoder="repeat")


@pytest.fixture(scope="session")
def tiny_expr_model_dir(tmp_path_factory: pytest.TempPathFactory, expr_dataset_path: Path) -> Path:
    """200 expressions of the shared dataset, latent 4, GRU 16, two epochs."""
    import torch

    from lsbo.models import TrainOptions, train_sequence_model

    torch.set_num_threads(1)  # session fixtures run before the autouse one

    out = tmp_path_factory.mktemp("tiny-expr-model")
    with pytest.MonkeyPatch.context() as patch:  # session-scoped: keep its cache out of the user's
        patch.setenv("LSBO_CACHE_DIR", str(tmp_path_factory.mktemp("tiny-model-cache")))
        train_sequence_model(
            TrainOptions(source="expr", data=expr_dataset_path, limit=200, out_dir=out, progress=False, **TINY_OPTIONS),
            )
    return out
