"""Surrogates, acquisition and candidate decoding against direct computations."""

from __future__ import annotations

import math

import pytest
import torch

from lsbo.bo.acquisition import AcquisitionOptions, propose_batch
from lsbo.bo.candidates import decode_candidates, default_attempts, most_frequent_valid
from lsbo.bo.surrogates import SparseTraining, box_bounds, choose_kind, fit_surrogate, heldout_split
from lsbo.errors import ConfigError
from tests.bo.fakes import FakeModel


def _data(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g) * 4 - 2
    y = -((x[:, 0] - 0.5) ** 2) - (x[:, 1] + 0.5) ** 2 + 0.01 * torch.randn(n, generator=g)
    return x, y


def test_box_scaling_and_kind_choice() -> None:
    x = torch.tensor([[0.0, 5.0], [2.0, 5.0]], dtype=torch.float64)
    bounds = box_bounds(x)
    assert bounds[0, 0] == 0 and bounds[1, 0] == 2 and bounds[1, 1] > bounds[0, 1]  # flat dim widened
    assert choose_kind("auto", 100) == "exact" and choose_kind("auto", 50_000) == "sparse"
    with pytest.raises(ConfigError):
        choose_kind("huge", 10)  # type: ignore[arg-type]
    train, test = heldout_split(100, 0.1, torch.Generator().manual_seed(0))
    assert len(test) == 10 and len(set(train.tolist()) | set(test.tolist())) == 100


@pytest.mark.parametrize("kind", ["exact", "sparse"])
def test_surrogates_fit_a_smooth_function_and_report_heldout_quality(kind: str) -> None:
    x, y = _data(200)
    # 300 Adam steps: enough for the sparse GP to fit this quadratic well for any seed (RMSE 0.22-0.35 seen)
    fit = fit_surrogate(x, y, kind, n_inducing=20, seed=0, sparse_training=SparseTraining(epochs=5, batch_size=90, min_steps=300, learning_rate=0.05))
    assert fit.kind == kind and fit.n_heldout == 20 and fit.n_train == 180
    # a trivial predictor (the mean) would have RMSE = std(y) ~ 1.4; the GP must do far better
    assert fit.test_rmse < 0.25 * float(y.std())
    assert math.isfinite(fit.test_loglik)
    # the reported RMSE is in the targets' units: recompute it from the posterior directly
    train, test = heldout_split(200, 0.1, torch.Generator().manual_seed(0))
    u = fit.scaling.to_unit(x[test].double())
    mean = fit.scaling.unstandardize(fit.model.posterior(u).mean.squeeze(-1)).detach()
    assert fit.test_rmse == pytest.approx(float(torch.sqrt(((mean - y[test].double()) ** 2).mean())), rel=1e-6)


def test_batch_proposal_stays_in_box_and_moves_toward_the_optimum() -> None:
    x, y = _data(60, seed=1)
    bounds = torch.tensor([[-2.0, -2.0], [2.0, 2.0]], dtype=torch.float64)
    fit = fit_surrogate(x, y, "exact", bounds=bounds, seed=0)
    batch = propose_batch(fit, float(y.max()), 4, AcquisitionOptions(num_restarts=1, raw_samples=32, mc_samples=32, max_iterations=30), seed=0)
    assert batch.shape == (4, 2)
    assert bool((batch >= bounds[0] - 1e-9).all() and (batch <= bounds[1] + 1e-9).all())
    # the best proposed point is close to the true optimum (0.5, -0.5)
    distances = torch.linalg.norm(batch - torch.tensor([0.5, -0.5], dtype=torch.float64), dim=1)
    assert float(distances.min()) < 0.5
    again = propose_batch(fit, float(y.max()), 4, AcquisitionOptions(num_restarts=1, raw_samples=32, mc_samples=32, max_iterations=30), seed=0)
    assert torch.allclose(batch, again)  # seeded


def test_most_frequent_valid_output_is_kept() -> None:
    outputs = ["a", None, "b", "b", "bad", "bad", "bad", "a", "b"]
    assert most_frequent_valid(outputs, lambda s: s != "bad") == ("b", 3, 5)
    assert most_frequent_valid([None, "bad"], lambda s: s != "bad") == (None, 0, 0)
    assert default_attempts("molecules") == 500 and default_attempts("expressions") == 25


def test_repeated_decoding_runs_the_decoder_once_per_point_and_samples_as_repeated_points(tiny_gmm_expr_model_dir) -> None:
    from lsbo.models import load_model

    model = load_model(tiny_gmm_expr_model_dir, device="cpu")
    z = model.sample_latents(7, generator=torch.Generator().manual_seed(0))
    z[3] = float("nan")  # a non-finite point gives None for each of its repeats
    rows: list[int] = []
    decoder = model.autoencoder.decoder
    handle = decoder.register_forward_hook(lambda module, inputs, output: rows.append(len(inputs[0])))
    try:
        repeated = model.decode(z, sample=True, generator=torch.Generator().manual_seed(1), batch_size=16, repeats=5)
        assert sum(rows) == 7  # the network saw each point once, not 35 rows
        rows.clear()
        reference = model.decode(z.repeat_interleave(5, 0), sample=True, generator=torch.Generator().manual_seed(1), batch_size=16)
        assert sum(rows) == 35
    finally:
        handle.remove()
    # the same draws from the same logits: string for string what decoding the repeated points gives
    assert repeated == reference and len(repeated) == 35
    assert repeated[15:20] == [None] * 5 and all(s is not None for s in repeated[:15])
    assert len(set(repeated[:5])) > 1 or len(set(repeated)) > 2  # sampled, not five greedy copies
    with pytest.raises(ConfigError, match="repeats must be at least 1"):
        model.decode(z, repeats=0)


def test_candidate_decoding_batches_attempts() -> None:
    model = FakeModel()
    latents = torch.tensor([[0.0, 0.0], [5.0, 5.0], [2.0, 3.0]])
    chosen = decode_candidates(model, latents, attempts=20, generator=torch.Generator().manual_seed(0), max_rows=40)
    assert [c.string for c in chosen] == [model.strings[0], model.strings[35], model.strings[2 * 6 + 3]]
    assert all(c.attempts == 20 and 0 < c.count <= 20 for c in chosen)
    assert model.decode_calls == 2  # 3 points x 20 attempts in chunks of at most 40 rows
    rejecting = decode_candidates(model, latents[:1], attempts=5, is_valid=lambda s: False)
    assert rejecting[0].string is None
