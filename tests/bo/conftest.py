"""One torch thread for every BO test (see ``single_torch_thread`` in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread(single_torch_thread: None) -> None:
    """Applies the root fixture to every test of this package."""


@pytest.fixture(scope="session")
def tiny_gmm_expr_model_dir(tmp_path_factory: pytest.TempPathFactory, expr_dataset_path):
    """A GMM-KS grammar model on 200 expressions of the shared dataset (latent 4, GRU 16, one epoch)."""
    import torch

    from lsbo.models import TrainOptions, train_sequence_model

    torch.set_num_threads(1)  # session fixtures run before the autouse one
    out = tmp_path_factory.mktemp("tiny-gmm-expr-model")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LSBO_CACHE_DIR", str(tmp_path_factory.mktemp("tiny-gmm-cache")))
        train_sequence_model(
            TrainOptions(source="expr", data=expr_dataset_path, limit=200, out_dir=out, progress=False, regularizer="gmm",
                         latent_dim=4, n_components=2, gru_hidden=16, dense_units=16, batch_size=32, epochs=1, preset="cpu",
                         device="cpu", decoder="repeat"),  # the paper's decoder: the tests of its once-per-point decoding use it
        )
    return out
