"""A fitted sparse variational GP whose inducing-point algebra is computed once, for acquisition.

GPyTorch's ``VariationalStrategy`` evaluates a posterior by building the kernel over the inducing
points *and* the inputs together, expanded to the inputs' batch shape, and factorising the
inducing block. Batch expected improvement evaluates the posterior at ``(b, q, d)`` inputs (b raw
samples or restarts), so each call repeats b kernels and b Cholesky factors of the m x m inducing
covariance, and the cached factor is thrown away whenever b changes (raw samples, then restarts,
then the final evaluation). With 500 inducing points that is most of the protocol's acquisition
time (benchmarks/SPEED.md, "Bayesian optimisation": the sparse GP's posterior with its inducing-point algebra cached).

Nothing about the model changes once it is fitted, so the same predictive distribution is
(Hensman et al., 2013, in GPyTorch's whitened parametrisation, with L the Cholesky factor of
K_ZZ + jitter, m the whitened variational mean and S its covariance):

    mean(X)   = mu(X) + K_XZ a,                    a = L^-T m
    cov(X, X) = K_XX + jitter + K_XZ B K_ZX,       B = L^-T (S - I) L^-1

with ``a`` (m,) and ``B`` (m, m) computed once here, so a call costs one kernel between the inputs
and the inducing points and two products. The result equals GPyTorch's to rounding (tested).
"""

from __future__ import annotations

from typing import Any

import torch
from botorch.models.model import Model
from torch import Tensor


class CachedVariationalGP(Model):
    """The predictive distribution of a fitted BoTorch ``SingleTaskVariationalGP``, precomputed.

    Args:
        fitted: a fitted single-output ``SingleTaskVariationalGP`` with a whitened
            ``VariationalStrategy`` (BoTorch's default). Its mean, kernel, likelihood and transforms
            are used as they are; its inducing points and variational distribution are read once.
            Fitting it further afterwards is not seen by this object.
    """

    def __init__(self, fitted: Any) -> None:
        super().__init__()
        from linear_operator.utils.cholesky import psd_safe_cholesky

        if not is_whitened_sparse_gp(fitted):
            raise TypeError(f"fitted: expected a single-output sparse variational GP with a whitened VariationalStrategy, got {type(fitted).__name__}")
        strategy = fitted.model.variational_strategy
        self.fitted = fitted.eval()
        self.jitter = float(strategy.jitter_val)
        with torch.no_grad():
            inducing = strategy.inducing_points.detach()
            k_zz = fitted.model.covar_module(inducing).to_dense()
            chol = psd_safe_cholesky(k_zz + self.jitter * torch.eye(len(inducing), dtype=k_zz.dtype, device=k_zz.device))
            q_u = strategy.variational_distribution  # whitened: N(m, S) over L^-1 u
            mean_w = q_u.mean.detach()
            middle = q_u.covariance_matrix.detach() - torch.eye(len(inducing), dtype=k_zz.dtype, device=k_zz.device)
            chol_inv = torch.linalg.solve_triangular(chol, torch.eye(len(inducing), dtype=chol.dtype, device=chol.device), upper=False)
        # buffers, so that .to(device) moves them with the fitted model
        self.register_buffer("inducing", inducing)  # (m, d)
        self.register_buffer("mean_weights", chol_inv.T @ mean_w)  # (m,)  a = L^-T m
        self.register_buffer("covariance_middle", chol_inv.T @ middle @ chol_inv)  # (m, m)  B = L^-T (S - I) L^-1

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size([])

    def latent_distribution(self, x: Tensor) -> Any:
        """The GP's ``MultivariateNormal`` at model-space inputs ``x`` (..., q, d), without noise."""
        from gpytorch.distributions import MultivariateNormal

        gp = self.fitted.model
        inducing = self.inducing.expand(*x.shape[:-2], *self.inducing.shape)
        k_xz = gp.covar_module(x, inducing).to_dense()  # (..., q, m)
        k_xx = gp.covar_module(x).to_dense()  # (..., q, q)
        mean = gp.mean_module(x) + k_xz @ self.mean_weights
        eye = torch.eye(x.shape[-2], dtype=k_xx.dtype, device=k_xx.device)
        covariance = k_xx + self.jitter * eye + k_xz @ self.covariance_middle @ k_xz.transpose(-1, -2)
        return MultivariateNormal(mean, covariance)

    def posterior(  # type: ignore[override]
        self, X: Tensor, output_indices: list[int] | None = None, observation_noise: bool = False,
        posterior_transform: Any = None, **kwargs: Any,
    ) -> Any:
        """BoTorch's posterior at ``X`` (..., q, d) in the fitted model's input units, as the fitted model
        would return it (its input and outcome transforms applied)."""
        from botorch.posteriors.gpytorch import GPyTorchPosterior

        if output_indices is not None:
            raise NotImplementedError("output_indices: the cached sparse GP has one output")
        x = self.fitted.transform_inputs(X)
        distribution = self.latent_distribution(x)
        if observation_noise:
            distribution = self.fitted.likelihood(distribution)
        posterior = GPyTorchPosterior(distribution=distribution)
        if hasattr(self.fitted, "outcome_transform"):
            posterior = self.fitted.outcome_transform.untransform_posterior(posterior, X=x)
        if posterior_transform is not None:
            posterior = posterior_transform(posterior=posterior, X=x)
        return posterior


def is_whitened_sparse_gp(model: Any) -> bool:
    """Whether ``model`` is a single-output BoTorch ``SingleTaskVariationalGP`` with GPyTorch's whitened
    ``VariationalStrategy`` (the parametrisation :class:`CachedVariationalGP` reads)."""
    from botorch.models import SingleTaskVariationalGP
    from gpytorch.variational import VariationalStrategy

    return isinstance(model, SingleTaskVariationalGP) and type(model.model.variational_strategy) is VariationalStrategy and model.num_outputs == 1


def acquisition_model(model: Any) -> Any:
    """``model`` as acquisition functions should evaluate it: a fitted whitened sparse GP is wrapped in
    :class:`CachedVariationalGP` (the same posterior, computed without refactorising the inducing
    covariance per call); any other BoTorch model is returned unchanged."""
    return CachedVariationalGP(model) if is_whitened_sparse_gp(model) else model
