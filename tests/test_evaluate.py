"""Evaluation metrics against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from lsbo.evaluate import covariance_error, ks_statistics, sample_statistics
from lsbo.priors import GMMPrior


def test_ks_statistic_matches_scipy_for_a_mixture() -> None:
    prior = GMMPrior(torch.tensor([[-2.0, 0.0], [2.0, 1.0]], dtype=torch.float64), 1.0)
    codes = torch.randn(300, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1.5
    ours = ks_statistics(codes, prior.marginal_cdf)
    for j in range(2):
        means = prior.means[:, j].numpy()
        cdf = lambda x, means=means: 0.5 * (stats.norm.cdf(x - means[0]) + stats.norm.cdf(x - means[1]))
        assert float(ours[j]) == pytest.approx(stats.kstest(codes[:, j].numpy(), cdf).statistic, abs=1e-9)


def test_covariance_error_is_mean_squared_entry_difference() -> None:
    codes = torch.randn(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    target = torch.eye(3, dtype=torch.float64) * 2.0
    expected = np.mean((np.cov(codes.numpy(), rowvar=False) - target.numpy()) ** 2)
    assert covariance_error(codes, target) == pytest.approx(expected, rel=1e-10)


def test_sample_statistics_counts() -> None:
    samples = ["a", "a", "b", None, "bad", "c"]
    result = sample_statistics(samples, is_valid=lambda s: s != "bad", canonical=str.upper, training={"A"})
    assert result["validity"] == pytest.approx(4 / 6)
    assert result["uniqueness"] == pytest.approx(3 / 4)  # A, B, C among 4 valid
    assert result["novelty"] == pytest.approx(2 / 3)  # B and C are not training strings


def test_molecule_validity_and_canonical_forms_parse_each_smiles_once() -> None:
    from lsbo.evaluate import canonical_form, canonical_smiles, validity_check

    canonical_smiles.cache_clear()
    is_valid, canonical = validity_check("molecules"), canonical_form("molecules", str)
    samples = ["OCC", "C(O)C", "c1ccccc1", "C1CC", None]  # two spellings of ethanol, one unclosed ring
    result = sample_statistics(samples, is_valid, canonical, training={canonical("CCO")})
    assert (result["n_valid"], result["n_unique"], result["n_novel"]) == (3, 2, 1)  # ethanol is in training
    assert canonical("OCC") == canonical("C(O)C") == "CCO" and canonical("C1CC") == "C1CC"
    info = canonical_smiles.cache_info()
    assert info.misses == 5  # OCC, C(O)C, c1ccccc1, C1CC and CCO: each parsed by RDKit once


def test_same_codes_is_a_relative_distance_test_and_never_true_for_nan() -> None:
    from lsbo.evaluate import MERGE_RTOL, same_codes

    codes = torch.tensor([[3.0, 4.0], [3.0, 4.0], [1.0, 0.0], [float("nan"), 0.0]])
    others = torch.tensor([[3.0, 4.0], [3.0, 4.0 + 10 * MERGE_RTOL * 5.0], [1.0, 0.5 * MERGE_RTOL], [float("nan"), 0.0]])
    assert same_codes(codes, others).tolist() == [True, False, True, False]  # |a| = 5, 1, 1
    with pytest.raises(ValueError, match="differ in shape"):
        same_codes(codes, others[:2])


class _MergingModel:
    """An encoder that maps 'b' onto 'a''s code, and a decoder that writes 'a' there and 'd' for 'c'."""

    class codec:
        @staticmethod
        def canonical(text: str) -> str:
            return text

        @staticmethod
        def encode(strings):  # one symbol per character, padded with 0; '?' cannot be encoded
            indices = np.array([[ord(ch) for ch in s.ljust(3, chr(0))] for s in strings], dtype=np.int64)
            return indices, np.array(["?" not in s for s in strings], dtype=bool)

    points = {"a": [1.0, 0.0], "b": [1.0, 0.0], "c": [0.0, 1.0], "d": [5.0, 5.0]}

    def encode(self, strings):
        return torch.tensor([self.points[s] for s in strings]), np.ones(len(strings), dtype=bool)

    def decode(self, codes, complete=True):
        return ["a" if row[0] == 1.0 else "d" for row in codes.tolist()]


def test_reconstruction_counts_the_misses_whose_wrong_decoding_has_the_same_code() -> None:
    from lsbo.evaluate import reconstruction_accuracy

    found = reconstruction_accuracy(_MergingModel(), ["a", "b", "c"])
    assert found["reconstruction_accuracy"] == pytest.approx(1 / 3) and found["n_reconstructed"] == 3
    assert found["n_merged_misses"] == 1  # 'b' comes back as 'a', which has b's code; 'c' -> 'd' has another
    assert found["merged_example"] == ["b", "a"]
    assert reconstruction_accuracy(_MergingModel(), ["a", "c"])["n_merged_misses"] == 0
    assert reconstruction_accuracy(_MergingModel(), ["a", "c"])["merged_example"] is None
    assert found["n_first_symbol_misses"] == 2  # 'b' -> 'a' and 'c' -> 'd' are both wrong at their one symbol


class _LateErrorModel(_MergingModel):
    """Codes are the strings' positions in `known`; the decoder writes `wrong` for some of them."""

    known = ["xa", "ya", "za", "x?"]
    wrong = {"xa": "xb", "ya": "za", "za": "x?"}

    def encode(self, strings):
        return torch.tensor([[float(self.known.index(s) if s in self.known else -1)] for s in strings]), np.ones(len(strings), bool)

    def decode(self, codes, complete=True):
        return [self.wrong.get(self.known[int(c)], self.known[int(c)]) for c in codes[:, 0].tolist()]


def test_reconstruction_counts_the_misses_that_go_wrong_at_the_first_symbol() -> None:
    from lsbo.evaluate import reconstruction_accuracy

    found = reconstruction_accuracy(_LateErrorModel(), ["xa", "ya", "za"])
    # 'xa' -> 'xb' differs at the second symbol; 'ya' -> 'za' at the first; 'za' -> 'x?' cannot be encoded: not counted
    assert found["reconstruction_accuracy"] == 0.0 and found["n_first_symbol_misses"] == 1
