"""The one regularizer interface: every implementation, gradients, safety, saving, ex-post fits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lsbo.regularizers.gmm as gmm_module
from lsbo.errors import ConfigError
from lsbo.priors import GMMPrior
from lsbo.regularizers import (
    REGULARIZERS,
    Regularizer,
    RegularizerOutput,
    build_regularizer,
    covariance_loss,
    ks_loss,
    rebuild_regularizer,
    sum_terms,
)

LATENT = 6
BATCH = 64


def make(name: str, **options) -> Regularizer:
    """A small regularizer; gmm gets K = 4 and a quick 10-batch eq. 10 estimate."""
    if name == "gmm":
        options = {"n_components": 4, "n_weight_batches": 10, **options}
    return build_regularizer(name, LATENT, batch_size=BATCH, **options)


def encoder_output(reg: Regularizer, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    x = torch.randn(BATCH, reg.n_encoder_outputs * LATENT, generator=torch.Generator().manual_seed(seed)) * scale
    return x.requires_grad_(True)


def test_registry_holds_the_six_regularizers() -> None:
    assert set(REGULARIZERS) == {"gmm", "vae", "cvvae", "rae", "wae", "ae"}
    assert make("vae").n_encoder_outputs == 2
    assert all(make(name).n_encoder_outputs == 1 for name in ("gmm", "cvvae", "rae", "wae", "ae"))


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_gradients_flow_and_stay_finite(name: str, scale: float) -> None:
    reg = make(name).train()
    x = encoder_output(reg, scale)
    out = reg(x)
    assert isinstance(out, RegularizerOutput)
    assert out.z.shape == (BATCH, LATENT)
    total = sum_terms(out.terms, like=out.z)
    assert torch.isfinite(out.z).all() and torch.isfinite(total)
    assert set(out.terms) == {"gmm": {"ks", "cv"}, "vae": {"kl"}, "cvvae": {"kl"}, "rae": {"code_l2"}, "wae": {"mmd"}, "ae": set()}[name]
    assert torch.allclose(total, sum(out.terms.values(), torch.zeros(())))
    # A decoder would consume z: the reconstruction path and the regularizer both reach the encoder.
    (total + out.z.square().mean()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    if out.terms:
        x.grad = None
        sum_terms(reg(x).terms, like=x).backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_gmm_terms_are_weighted_eq7_and_eq8() -> None:
    reg = make("gmm")
    x = encoder_output(reg).detach()
    out = reg(x)
    assert torch.equal(out.z, x)
    assert float(out.terms["ks"]) == pytest.approx(float(reg.ks_weight) * float(ks_loss(x, reg.prior)), rel=1e-6)
    assert float(out.terms["cv"]) == pytest.approx(float(reg.cv_weight) * float(covariance_loss(x, reg.prior)), rel=1e-6)
    assert reg.prior.n_components == 4
    assert float(torch.pdist(reg.prior.means).min()) >= 6.0


def test_gmm_ablation_switches() -> None:
    assert set(make("gmm", use_cv=False)(encoder_output(make("ae"))).terms) == {"ks"}
    assert set(make("gmm", use_ks=False)(encoder_output(make("ae"))).terms) == {"cv"}
    with pytest.raises(ConfigError):
        make("gmm", use_ks=False, use_cv=False)


def test_gmm_weights_are_seeded_saved_and_not_reestimated(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = make("gmm"), make("gmm")
    assert float(a.ks_weight) == float(b.ks_weight) and float(a.cv_weight) == float(b.cv_weight)
    state = a.state_dict()
    assert {"ks_weight", "cv_weight", "prior.means", "prior.stds", "prior.weights"} <= set(state)
    other = make("gmm", seed=5)
    assert float(other.ks_weight) != float(a.ks_weight)
    other.load_state_dict(state)
    assert float(other.ks_weight) == float(a.ks_weight)
    assert torch.equal(other.prior.means, a.prior.means)

    def forbidden(*args, **kwargs):
        raise AssertionError("weights re-estimated while rebuilding a saved regularizer")

    monkeypatch.setattr(gmm_module, "estimate_weights", forbidden)
    rebuilt = rebuild_regularizer(a.config)
    rebuilt.load_state_dict(state)
    assert float(rebuilt.cv_weight) == float(a.cv_weight)


def test_gmm_accepts_an_explicit_prior_and_generator() -> None:
    prior = GMMPrior(torch.tensor([[0.0] * LATENT, [5.0] * LATENT]), 0.5, torch.tensor([0.3, 0.7]))
    reg = build_regularizer(
        "gmm", LATENT, batch_size=BATCH, prior=prior, generator=torch.Generator().manual_seed(1), n_weight_batches=10
    )
    assert reg.prior is prior
    same = build_regularizer(
        "gmm", LATENT, batch_size=BATCH, prior=prior, generator=torch.Generator().manual_seed(1), n_weight_batches=10
    )
    assert float(reg.ks_weight) == float(same.ks_weight)


def test_vae_samples_in_training_and_uses_mean_in_evaluation() -> None:
    reg = make("vae")
    x = encoder_output(reg).detach()
    mean, log_variance = x[:, :LATENT], x[:, LATENT:]
    assert torch.equal(reg.code(x), mean)
    reg.eval()
    assert torch.equal(reg(x).z, mean)
    reg.train()
    torch.manual_seed(0)
    noise = reg(x).z - mean
    assert not torch.allclose(noise, torch.zeros_like(noise))
    assert float((noise / (0.5 * log_variance).exp()).std()) == pytest.approx(1.0, abs=0.15)
    assert float(make("vae", beta=4.0)(x).terms["kl"]) == pytest.approx(4.0 * float(reg(x).terms["kl"]))


def test_vae_epsilon_std_scales_only_the_noise() -> None:
    reg, small = make("vae"), make("vae", epsilon_std=0.01)
    x = encoder_output(reg).detach()
    mean = x[:, :LATENT]
    torch.manual_seed(3)
    full = reg.train()(x)
    torch.manual_seed(3)
    scaled = small.train()(x)
    # the same draw of eps, one hundredth of the displacement; the KL term does not change
    assert torch.allclose(scaled.z - mean, 0.01 * (full.z - mean), atol=1e-6)
    assert float(scaled.terms["kl"]) == pytest.approx(float(full.terms["kl"]))
    assert small.config["epsilon_std"] == 0.01
    with pytest.raises(ConfigError, match="epsilon_std"):
        make("vae", epsilon_std=0.0)


def test_cvvae_adds_fixed_noise() -> None:
    reg = make("cvvae", std=0.2).train()
    x = torch.zeros(4000, LATENT)
    torch.manual_seed(0)
    out = reg(x)
    assert float(out.z.std()) == pytest.approx(0.2, rel=0.05)
    # KL(N(0, 0.04 I) || N(0, I)) per dimension: 0.5 * (0.04 - 1 - log 0.04)
    expected = LATENT * 0.5 * (0.04 - 1.0 - torch.log(torch.tensor(0.04)).item())
    assert float(out.terms["kl"]) == pytest.approx(expected, rel=1e-5)
    assert torch.equal(reg.eval()(x).z, x)


def test_rae_penalises_code_and_decoder() -> None:
    reg = make("rae", code_weight=0.5, decoder_weight=0.25)
    x = encoder_output(reg).detach()
    assert float(reg(x).terms["code_l2"]) == pytest.approx(0.5 * 0.5 * float(x.square().sum(1).mean()), rel=1e-6)
    decoder = nn.Linear(3, 2)
    terms = reg.decoder_terms(decoder)
    expected = 0.25 * float(decoder.weight.detach().square().sum() + decoder.bias.detach().square().sum())
    assert float(terms["decoder_l2"].detach()) == pytest.approx(expected, rel=1e-6)
    terms["decoder_l2"].backward()
    assert decoder.weight.grad is not None
    assert torch.allclose(decoder.weight.grad, 2 * 0.25 * decoder.weight.detach())  # d/dW of 0.25 * |W|^2
    assert make("gmm").decoder_terms(decoder) == {}


def test_wae_mmd_is_small_for_prior_codes_and_large_for_shifted_ones() -> None:
    reg = make("wae")
    torch.manual_seed(0)
    near = float(reg(torch.randn(BATCH, LATENT)).terms["mmd"])
    far = float(reg(torch.randn(BATCH, LATENT) + 3.0).terms["mmd"])
    assert far > 20 * abs(near)


def test_sampling_and_ex_post_fit() -> None:
    gen = torch.Generator().manual_seed(0)
    for name in ("gmm", "vae"):
        reg = make(name)
        z = reg.sample(10, generator=gen)
        assert z.shape == (10, LATENT)
    truth = GMMPrior(torch.tensor([[0.0] * LATENT, [8.0] * LATENT]), 0.5)
    latents, _ = truth.sample(600, generator=gen)
    fitted = make("rae").fit_ex_post(latents, n_components=2)
    centres = fitted.means[fitted.means[:, 0].argsort()]
    assert torch.allclose(centres, truth.means, atol=0.2)
    drawn = fitted.sample(500, generator=torch.Generator().manual_seed(1))
    assert drawn.shape == (500, LATENT) and drawn.dtype == latents.dtype
    assert (truth.assign(drawn).float().mean() - 0.5).abs() < 0.1
    assert torch.isfinite(fitted.log_prob(drawn)).all()
    with pytest.raises(ConfigError):
        make("rae").fit_ex_post(latents[:1], n_components=2)


def test_wrong_encoder_width_is_reported() -> None:
    with pytest.raises(ValueError, match=r"\(N, 12\)"):
        make("vae")(torch.zeros(3, LATENT))


def test_build_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="unknown regularizer 'vqvae'"):
        build_regularizer("vqvae", LATENT, batch_size=BATCH)
    with pytest.raises(ConfigError, match="'gamma'"):
        build_regularizer("vae", LATENT, batch_size=BATCH, gamma=1.0)
    with pytest.raises(ConfigError, match="beta"):
        build_regularizer("vae", LATENT, batch_size=BATCH, beta=-1.0)


def test_regularizer_moves_with_its_model() -> None:
    reg = make("gmm").double()
    x = torch.randn(BATCH, LATENT, dtype=torch.float64)
    out = reg(x)
    assert all(term.dtype == torch.float64 for term in out.terms.values()) and reg.prior.means.dtype == torch.float64
    assert sum_terms(out.terms, like=out.z).dtype == torch.float64


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_a_batch_of_one_code_is_accepted(name: str) -> None:
    reg = make(name).train()
    x = torch.randn(1, reg.n_encoder_outputs * LATENT, requires_grad=True)
    out = reg(x)
    total = sum_terms(out.terms, like=out.z)
    (total + out.z.sum()).backward()
    assert torch.isfinite(total) and torch.isfinite(x.grad).all() and out.z.shape == (1, LATENT)


def test_losses_run_in_full_precision_under_autocast() -> None:
    reg = make("gmm")
    x = torch.randn(BATCH, LATENT) * 1e3
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        out = reg(x)
    assert out.terms["ks"].dtype == torch.float32
    assert out.terms["cv"].dtype == torch.float64  # the covariance loss is evaluated in float64 (issue 16)
    assert float(out.terms["cv"]) == pytest.approx(float(reg(x).terms["cv"]), rel=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"beta": "abc"}, "wrong type"), ({"epsilon": 1.0}, "options: beta, epsilon_std")],
)
def test_bad_options_are_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_regularizer("vae", LATENT, batch_size=8, **options)


def test_shared_arguments_are_not_options() -> None:
    from lsbo.regularizers import check_regularizer_options

    # --components and --batch-size set these; as --regularizer-option they would be passed twice
    with pytest.raises(ConfigError, match="has no option 'n_components'"):
        check_regularizer_options("gmm", {"n_components": 3})
    assert check_regularizer_options(" GMM ", {"use_cv": False}) == "gmm"
