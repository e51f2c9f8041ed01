"""The paper's published numbers that the code prints beside its own, in one place.

"Shape your Space" (GMM-KS): Table 1 (FIDs of the image models, Inception-v3 features) and the
clustering accuracies (Section 4.1), Tables 2 and 3 (latent-space Bayesian optimisation on
expressions and molecules, Section 4.3). Copied from ``reference/paper_results.md``; a test checks
Tables 2 and 3 against that file wherever it is available.
"""

from __future__ import annotations

# Paper Table 1 (FID with Inception-v3 features) and the clustering table, for side-by-side printing.
PAPER_MODEL_NAMES = {"gmm": "GMM-DAE (paper)", "vae": "VAE", "cvvae": "CV-VAE", "rae": "RAE", "wae": "WAE"}
PAPER_FID: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("mnist", "VAE"): (27.27, 20.52, 21.59, 21.05),
    ("mnist", "WAE"): (20.20, 12.90, 14.07, 16.19),
    ("mnist", "CV-VAE"): (32.12, 28.62, 29.61, 30.76),
    ("mnist", "RAE"): (17.72, 14.15, 14.69, 15.57),
    ("mnist", "GMM-DAE (paper)"): (13.11, 12.82, 8.99, 12.82),
    ("fashion-mnist", "VAE"): (50.50, 36.22, 33.33, 44.12),
    ("fashion-mnist", "WAE"): (39.66, 28.01, 24.84, 35.01),
    ("fashion-mnist", "CV-VAE"): (57.57, 38.28, 35.10, 47.73),
    ("fashion-mnist", "RAE"): (47.26, 29.59, 24.54, 34.77),
    ("fashion-mnist", "GMM-DAE (paper)"): (33.70, 26.62, 19.56, 29.17),
    ("svhn", "VAE"): (61.01, 58.23, 59.13, 50.29),
    ("svhn", "WAE"): (58.08, 34.87, 29.62, 27.16),
    ("svhn", "CV-VAE"): (51.01, 54.19, 48.53, 47.65),
    ("svhn", "RAE"): (42.35, 35.12, 31.04, 27.30),
    ("svhn", "GMM-DAE (paper)"): (37.42, 36.46, 31.27, 24.87),
    ("celeba", "VAE"): (68.01, 61.63, 52.55, 58.39),
    ("celeba", "WAE"): (58.91, 49.17, 41.14, 47.08),
    ("celeba", "CV-VAE"): (57.61, 52.72, 45.32, 50.87),
    ("celeba", "RAE"): (52.33, 48.23, 41.61, 46.58),
    ("celeba", "GMM-DAE (paper)"): (49.79, 44.79, 39.48, 47.13),
}
PAPER_CLUSTERING = {"mnist": 85.53, "fashion-mnist": 56.24}  # GMM-DAE, %, latent 10, K = 10

#: Paper, Table 2: the 1st, 2nd and 3rd best scores per model (expr: lower is better; mol: higher).
PAPER_TABLE2: dict[str, dict[str, tuple[float, float, float]]] = {
    "GVAE": {"expr": (0.10, 0.46, 0.52), "mol": (3.13, 3.10, 2.37)},
    "CVAE": {"expr": (0.45, 0.48, 0.61), "mol": (2.75, 0.82, 0.63)},
    "GCVVAE": {"expr": (0.39, 0.40, 0.43), "mol": (3.22, 2.83, 2.63)},
    "GRAE": {"expr": (0.39, 0.39, 0.43), "mol": (3.74, 3.52, 3.14)},
    "GMM-DAE (paper)": {"expr": (0.03, 0.40, 0.41), "mol": (4.15, 3.84, 3.12)},
}
#: Paper, Table 3: (mean, std) of the fraction of valid points and of the average valid score.
PAPER_TABLE3: dict[str, dict[str, dict[str, tuple[float, float]]]] = {
    "GVAE": {"expr": {"valid": (0.99, 0.01), "score": (3.26, 0.20)}, "mol": {"valid": (0.28, 0.04), "score": (-7.89, 1.90)}},
    "CVAE": {"expr": {"valid": (0.82, 0.07), "score": (4.74, 0.25)}, "mol": {"valid": (0.16, 0.04), "score": (-25.64, 6.35)}},
    "GCVVAE": {"expr": {"valid": (0.99, 0.01), "score": (2.85, 0.08)}, "mol": {"valid": (0.76, 0.06), "score": (-6.40, 0.80)}},
    "GRAE": {"expr": {"valid": (1.00, 0.00), "score": (3.22, 0.03)}, "mol": {"valid": (0.72, 0.09), "score": (-5.62, 0.71)}},
    "GMM-DAE (paper)": {"expr": {"valid": (1.00, 0.00), "score": (3.32, 0.04)}, "mol": {"valid": (0.72, 0.03), "score": (-5.08, 1.30)}},
}
#: Which paper columns a target's numbers are comparable with.
PAPER_TASK_OF_TARGET = {"expr": "expr", "logp": "mol"}
