"""Uncertainty and null models for the specificity test (beyond the paper, which reports one mean).

Inputs are stacks over the model pairs (A, B) of the test: A's within-model matrices and the
A-vs-B cross matrices, per batch of images, ``(P, B, L, L)`` each.

- :func:`bootstrap_specificity`: percentile intervals of rho at the layer of interest and over
  all layers, resampling the model pairs and, where there are several, the image batches (the
  same batches for every pair in a draw, since batch b holds the same images in every model);
- :func:`permutation_p_value`: the probability, under the null that B's layers carry no
  correspondence to A's, of a mean rho at least as large as the one observed; each draw
  shuffles the layer order (columns) of every pair's cross matrix independently;
- :func:`rank_rows` turns Pearson into Spearman; ``exclude_diagonal`` drops entry (i, i) of
  row i from both rows (A's own diagonal is 0, the cross diagonal is not).

Pairs (A, B) and (B, A) share their models, so resampling pairs treats dependent units as
independent; with one reference model (the paper's design) the pairs share only A.
"""

from __future__ import annotations

import numpy as np


def row_correlations(within: np.ndarray, cross: np.ndarray, exclude_diagonal: bool = False) -> np.ndarray:
    """``(..., L)`` Pearson correlation of row i of ``within`` with row i of ``cross`` (``(..., L, L)`` each).

    NaN where a row is constant (the correlation is undefined). ``exclude_diagonal`` correlates
    the L - 1 off-diagonal entries of each row.
    """
    if exclude_diagonal:
        size = within.shape[-1]
        keep = ~np.eye(size, dtype=bool)
        within = within[..., keep].reshape(*within.shape[:-2], size, size - 1)
        cross = cross[..., keep].reshape(*cross.shape[:-2], size, size - 1)
    a = within - within.mean(axis=-1, keepdims=True)
    b = cross - cross.mean(axis=-1, keepdims=True)
    norm = np.sqrt((a**2).sum(axis=-1) * (b**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(axis=-1) / norm, np.nan)


def rank_rows(matrices: np.ndarray) -> np.ndarray:
    """Each row (last axis) replaced by its ranks 1..n, tied values sharing their mean rank, a row holding
    NaN all NaN: ``scipy.stats.rankdata(matrices, axis=-1)``, whose import (scipy.stats) cost each
    specificity job 1.5 s. Pearson of ranked rows is Spearman's rho."""
    values = np.asarray(matrices, dtype=np.float64)
    n = values.shape[-1]
    rows = values.reshape(-1, n)
    order = np.argsort(rows, axis=-1, kind="stable")
    ordered = np.take_along_axis(rows, order, axis=-1)
    starts_tie = np.ones(ordered.shape, dtype=bool)
    starts_tie[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    starts = np.flatnonzero(starts_tie)  # each row begins a tie group, so no group spans two rows
    ends = np.r_[starts[1:], ordered.size] - 1
    mean_rank = (starts % n + ends % n) / 2 + 1
    ranks = np.empty_like(rows)
    np.put_along_axis(ranks, order, np.repeat(mean_rank, ends - starts + 1).reshape(rows.shape), axis=-1)
    ranks[np.isnan(rows).any(axis=-1)] = np.nan
    return ranks.reshape(values.shape)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap samples (NaN samples left out)."""
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_specificity(
    within: np.ndarray, cross: np.ndarray, layer: int, draws: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """``{"rho_layer", "rho_overall"}``: ``(draws,)`` bootstrap samples of the two specificity means.

    ``within``, ``cross``: ``(P, B, L, L)``. Each draw resamples the P pairs and the B batches with
    replacement, averages each pair's matrices over the drawn batches and takes the mean row rho.
    """
    if within.shape != cross.shape or within.ndim != 4:
        raise ValueError(f"expected two (P, B, L, L) stacks, got {within.shape} and {cross.shape}")
    rng = np.random.default_rng(seed)
    pairs, batches = within.shape[:2]
    rho_layer, rho_overall = np.empty(draws), np.empty(draws)
    for d in range(draws):
        chosen = rng.integers(0, pairs, pairs)
        drawn = rng.integers(0, batches, batches)
        rho = row_correlations(within[chosen][:, drawn].mean(axis=1), cross[chosen][:, drawn].mean(axis=1))
        with np.errstate(invalid="ignore"):
            rho_layer[d] = np.nanmean(rho[:, layer]) if np.isfinite(rho[:, layer]).any() else np.nan
            rho_overall[d] = np.nanmean(rho) if np.isfinite(rho).any() else np.nan
    return {"rho_layer": rho_layer, "rho_overall": rho_overall}


def permutation_p_value(within: np.ndarray, cross: np.ndarray, draws: int = 1000, seed: int = 0) -> float:
    """One-sided permutation p-value of the mean row rho of ``(P, L, L)`` within and cross matrices."""
    observed = np.nanmean(row_correlations(within, cross))
    rng = np.random.default_rng(seed)
    pairs, size = cross.shape[:2]
    exceed = 0
    for _ in range(draws):
        order = np.argsort(rng.random((pairs, size)), axis=1)  # one permutation of B's layers per pair
        shuffled = np.take_along_axis(cross, order[:, None, :], axis=2)
        exceed += np.nanmean(row_correlations(within, shuffled)) >= observed
    return float((1 + exceed) / (1 + draws))
