"""Bootstrap intervals and the permutation null of the specificity test, on synthetic matrices."""

import numpy as np
import pytest

from cnntopo.ph.specificity import pair_stacks, uncertainty
from cnntopo.ph.statistics import (
    bootstrap_specificity,
    percentile_interval,
    permutation_p_value,
    rank_rows,
    row_correlations,
)

L = 17


def _structure(rng: np.random.Generator) -> np.ndarray:
    """A symmetric 'architecture' matrix with a zero diagonal, like a within-model distance matrix."""
    x = rng.standard_normal((L, 4))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    return d


def _pairs(rng, base, pairs, batches, noise):
    """(P, B, L, L) within and cross stacks: the architecture plus independent noise per model and batch."""
    within = base + noise * rng.standard_normal((pairs, batches, L, L))
    cross = base + noise * rng.standard_normal((pairs, batches, L, L))
    return within, cross


def test_row_correlations_agree_with_numpy_and_drop_the_diagonal_on_request():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, L, L))
    expected = np.array([[np.corrcoef(a[p, i], b[p, i])[0, 1] for i in range(L)] for p in range(3)])
    assert np.allclose(row_correlations(a, b), expected)
    keep = ~np.eye(L, dtype=bool)
    off = np.array([[np.corrcoef(a[p, i][keep[i]], b[p, i][keep[i]])[0, 1] for i in range(L)] for p in range(3)])
    assert np.allclose(row_correlations(a, b, exclude_diagonal=True), off)
    monotone = np.exp(a)  # a monotone transform: Spearman 1, Pearson below 1
    assert np.allclose(row_correlations(rank_rows(a), rank_rows(monotone)), 1.0)
    assert row_correlations(a, monotone).mean() < 0.99


def test_row_ranks_are_scipys_average_ranks_with_ties_and_nan():
    from scipy.stats import rankdata

    rng = np.random.default_rng(1)
    values = rng.integers(0, 5, (3, 4, 17)).astype(float)  # many ties
    values[1, 2, 5] = np.nan
    assert np.array_equal(rank_rows(values), rankdata(values, axis=-1), equal_nan=True)
    assert rank_rows(np.array([2.0, 0.5, 2.0, 7.0])).tolist() == [2.5, 1.0, 2.5, 4.0]


@pytest.mark.parametrize("batches", [1, 3])
def test_bootstrap_interval_covers_the_true_mean_rho_at_about_the_nominal_rate(batches):
    rng = np.random.default_rng(1)
    base = _structure(rng)
    noise = 0.6
    # The truth: the mean rho of the generating model, from many pairs.
    big_w, big_c = _pairs(rng, base, 4000, batches, noise)
    truth = np.nanmean(row_correlations(big_w.mean(1), big_c.mean(1)))
    repeats, covered = 60, 0
    for r in range(repeats):
        within, cross = _pairs(rng, base, 30, batches, noise)
        samples = bootstrap_specificity(within, cross, layer=9, draws=300, seed=r)
        low, high = percentile_interval(samples["rho_overall"])
        covered += low <= truth <= high
    # Nominal 95 %: with 60 repeats, a coverage below 0.85 would be a broken interval (binomial sd ~ 0.03).
    assert covered / repeats >= 0.85, (covered, repeats, truth)


def test_bootstrap_intervals_shrink_with_more_pairs():
    rng = np.random.default_rng(2)
    base = _structure(rng)
    widths = []  # one batch: with several, the shared batch draw bounds the width whatever the number of pairs
    for pairs in (5, 80):
        samples = bootstrap_specificity(*_pairs(rng, base, pairs, 1, 1.0), layer=3, draws=300, seed=0)
        low, high = percentile_interval(samples["rho_overall"])
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_permutation_p_value_is_small_for_architecture_and_not_for_noise():
    rng = np.random.default_rng(3)
    base = _structure(rng)
    determined = np.broadcast_to(base, (6, L, L)).copy()
    assert permutation_p_value(determined, determined.copy(), draws=200) == pytest.approx(1 / 201)
    # Under pure noise the p-value is uniform: over 20 noise draws few fall below 0.05 and the median is large.
    p_values = [permutation_p_value(*rng.standard_normal((2, 6, L, L)), draws=100, seed=k) for k in range(20)]
    assert np.mean(np.array(p_values) < 0.05) <= 0.2 and np.median(p_values) > 0.2


def test_uncertainty_of_the_specificity_summary():
    rng = np.random.default_rng(4)
    base = _structure(rng)
    within = {s: base + 0.3 * rng.standard_normal((2, L, L)) for s in range(3)}
    cross = {(a, b): base + 0.3 * rng.standard_normal((2, L, L)) for a in range(3) for b in range(3) if a != b}
    stacks = pair_stacks(within, cross, [0, 1, 2])
    assert stacks[0].shape == stacks[1].shape == (6, 2, L, L)
    result = uncertainty(*stacks, layer=9, bootstrap=200, permutations=200, seed=0)
    assert result["rho_overall_ci_low"] <= result["rho_overall_ci_high"] and result["p_value"] < 0.05
    assert -1 <= result["rho_overall_offdiag"] <= 1 and -1 <= result["spearman_overall"] <= 1
    assert result["batches"] == 2 and result["bootstrap"] == 200
