"""Uncertainty and null models for the specificity test (beyond the paper, which reports one mean).

Inputs are stacks over the model pairs (A, B) of the test: A's within-model matrices and the
A-vs-B cross matrices, per batch of images, ``(P, B, L, L)`` each, and the two models of each pair.

- :func:`bootstrap_specificity`: bootstrap samples of rho at the layer of interest and over all
  layers. The headline scheme resamples the *models* (the unit of variation: a seed's training run)
  with replacement and uses every ordered pair among the models drawn, weighted by their
  multiplicities, jointly with the image batches (the same batches for every pair in a draw, since
  batch b holds the same images in every model). The pair scheme resamples the P pairs as if they
  were independent; they are not (every pair shares a model with 2(n - 2) others, and (A, B) shares
  both with (B, A)), so its intervals are too narrow and are kept beside the headline ones only for
  comparison. Several conditions (trained and untrained models of the same seeds) take the same
  draws, so their paired difference is resampled by seed;
- :func:`expanded_level`: the model-level intervals are Hesterberg's expanded percentile
  intervals, since a plain percentile interval over 4-10 units covers far less than 95 %;
- :func:`sign_flip_p_value`: the paired test of trained minus untrained over seeds;
- :func:`permutation_p_value`: the probability, under the null that B's layers carry no
  correspondence to A's, of a mean rho at least as large as the one observed; each draw
  shuffles the layer order (columns) of every pair's cross matrix independently;
- :func:`rank_rows` turns Pearson into Spearman; ``exclude_diagonal`` drops entry (i, i) of
  row i from both rows (A's own diagonal is 0, the cross diagonal is not).
"""

from __future__ import annotations

from collections.abc import Sequence

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
    """The central ``level`` percentile interval of bootstrap samples (NaN samples left out; NaN level: NaN)."""
    finite = samples[np.isfinite(samples)]
    if not len(finite) or not np.isfinite(level):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


# The fewest resampled models that give a model-level interval (:func:`expanded_level`).
MIN_MODELS = 4


def expanded_level(units: int, level: float = 0.95) -> float:
    """The percentile level of Hesterberg's expanded percentile interval for ``units`` resampled units.

    A percentile bootstrap over few units is too narrow: its spread is that of a plug-in estimate
    (n in the denominator) and it uses normal rather than t quantiles. The expanded interval takes
    the percentiles at ``Phi(sqrt(n / (n - 1)) * t_{n-1}((1 - level) / 2))`` instead (Hesterberg 2015,
    "What teachers should know about the bootstrap", The American Statistician 69(4)): for n = 4,
    8, 30 and 100, the 0.012 %, 0.57 %, 1.9 % and 2.3 % percentiles replace 2.5 %. Fewer than
    four units give NaN: of two models every usable draw is the same pair, and the few distinct
    draws of three models held the truth in only 58 % of simulated runs (0.84-0.87 at 4, 0.93 at 5,
    0.91-0.92 at 8: :mod:`cnntopo.ph.simulation`).
    """
    if units < MIN_MODELS:
        return float("nan")
    from scipy.special import ndtr, stdtrit  # scipy.stats costs a job 1.5 s to import; special 0.3 s

    return float(1 - 2 * ndtr(np.sqrt(units / (units - 1)) * stdtrit(units - 1, (1 - level) / 2)))


def resampled_units(strata: np.ndarray) -> int:
    """How many models the model bootstrap draws: those of every stratum of more than one model (a lone
    reference model is kept in every draw, so it is no unit of the resampling)."""
    sizes = np.bincount(np.asarray(strata))
    return int(sizes[sizes > 1].sum())


MODEL_SCHEME = "models_and_batches"
PAIR_SCHEME = "pairs_and_batches"


def model_indices(pairs: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """``(P, 2)`` indices into the distinct models of ``pairs`` (seeds ``(A, B)``), and those seeds ``(n,)`` sorted."""
    seeds = np.array(sorted({s for pair in pairs for s in pair}))
    return np.searchsorted(seeds, np.asarray(pairs, dtype=int).reshape(-1, 2)), seeds


def draw_weights(
    rng: np.random.Generator, pair_models: np.ndarray, batches: int, scheme: str, strata: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One bootstrap draw as multiplicities: ``(P,)`` weights of the pairs and ``(B,)`` of the image batches.

    ``pair_models``: ``(P, 2)`` model indices of each ordered pair (A, B), from :func:`model_indices`.

    - ``models_and_batches`` (the model is the unit): the n models are drawn with replacement, within
      each stratum of ``strata`` (``(n,)`` labels; the reference models apart from the others when only
      some models are references), and every available ordered pair among the drawn models counts with
      the product of its two models' multiplicities. A model drawn twice is never paired with itself:
      no such pair exists.
    - ``pairs_and_batches``: the P pairs are drawn with replacement as if independent. They are not
      (every pair shares its models with others), so these intervals are too narrow; kept for comparison.

    In both, the B batches are drawn with replacement, the same for every pair (batch b holds the same
    images in every model).
    """
    if scheme == MODEL_SCHEME:
        n = int(pair_models.max()) + 1
        strata = np.zeros(n, dtype=int) if strata is None else np.asarray(strata)
        counts = np.zeros(n)
        for label in np.unique(strata):
            members = np.flatnonzero(strata == label)
            counts[members] = np.bincount(rng.integers(0, len(members), len(members)), minlength=len(members))
        pair_weights = counts[pair_models[:, 0]] * counts[pair_models[:, 1]]
    elif scheme == PAIR_SCHEME:
        pairs = len(pair_models)
        pair_weights = np.bincount(rng.integers(0, pairs, pairs), minlength=pairs).astype(float)
    else:
        raise ValueError(f"unknown bootstrap scheme {scheme!r}: {MODEL_SCHEME} or {PAIR_SCHEME}")
    return pair_weights, np.bincount(rng.integers(0, batches, batches), minlength=batches).astype(float)


# Entries of the batch-mean matrices one chunk of draws holds at once (32 MB in float64).
CHUNK_ENTRIES = 4_000_000


def weighted_specificity(
    within: np.ndarray, cross: np.ndarray, layer: int, pair_weights: np.ndarray, batch_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(D,)`` rho at ``layer`` and ``(D,)`` rho over all layers of D draws: for each draw, the pair-weighted
    mean row rho of the batch-weighted mean matrices.

    ``within``, ``cross``: ``(P, B, L, L)``; ``pair_weights``: ``(D, P)``; ``batch_weights``: ``(D, B)``.
    NaN rows (constant, rho undefined) are left out of the means, and a draw gets NaN where no pair of
    positive weight gives a defined value.
    """
    used = np.flatnonzero(pair_weights.any(axis=0))
    share = batch_weights / batch_weights.sum(axis=1, keepdims=True)
    rho = row_correlations(
        np.tensordot(share, within[used], axes=(1, 1)), np.tensordot(share, cross[used], axes=(1, 1))
    )  # (D, U, L)
    weights = pair_weights[:, used, None] * np.isfinite(rho)
    values = np.nan_to_num(rho)
    with np.errstate(invalid="ignore", divide="ignore"):
        at_layer = (weights[..., layer] * values[..., layer]).sum(axis=1) / weights[..., layer].sum(axis=1)
        overall = (weights * values).sum(axis=(1, 2)) / weights.sum(axis=(1, 2))
    return at_layer, overall


def bootstrap_specificity(
    stacks: Sequence[tuple[np.ndarray, np.ndarray]],
    pair_models: np.ndarray,
    layer: int,
    draws: int = 1000,
    seed: int = 0,
    scheme: str = MODEL_SCHEME,
    strata: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``{"rho_layer", "rho_overall"}``: ``(draws, C)`` bootstrap samples of the two specificity means.

    ``stacks``: C conditions (e.g. trained and untrained models of the same seeds), each a pair of
    ``(P, B, L, L)`` within and cross stacks whose pair p is the models ``pair_models[p]``. Every draw
    (:func:`draw_weights`) is applied to all C at once, so a paired difference of two columns is
    resampled by seed. Draws are evaluated in chunks of at most :data:`CHUNK_ENTRIES` matrix entries.
    """
    for within, cross in stacks:
        if within.shape != cross.shape or within.ndim != 4 or len(within) != len(pair_models):
            raise ValueError(f"expected two (P, B, L, L) stacks of {len(pair_models)} pairs, got {within.shape}")
    rng = np.random.default_rng(seed)
    pairs, batches, size = stacks[0][0].shape[:3]
    drawn = [draw_weights(rng, pair_models, batches, scheme, strata) for _ in range(draws)]
    pair_weights, batch_weights = (np.array(column) for column in zip(*drawn))
    chunk = max(1, CHUNK_ENTRIES // (pairs * size * size))
    samples = np.empty((2, draws, len(stacks)))
    for start in range(0, draws, chunk):
        part = slice(start, start + chunk)
        for c, (within, cross) in enumerate(stacks):
            samples[:, part, c] = weighted_specificity(within, cross, layer, pair_weights[part], batch_weights[part])
    return {"rho_layer": samples[0], "rho_overall": samples[1]}


def sign_flip_p_value(differences: np.ndarray, draws: int = 1000, seed: int = 0) -> float:
    """Two-sided sign-flip permutation p-value of the mean of per-seed paired ``differences`` ``(n,)``.

    Under the null that training changes nothing, each seed's difference is as likely to have either
    sign. With ``2**n <= draws`` every sign pattern is enumerated (exact; the smallest possible p is
    ``2 / 2**n``, 0.125 at 4 seeds), otherwise ``draws`` random patterns are used.
    """
    values = np.asarray(differences, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan")
    observed = abs(values.mean())
    if 2 ** len(values) <= draws:
        signs = 1 - 2 * ((np.arange(2 ** len(values))[:, None] >> np.arange(len(values))) & 1)
        return float(np.mean(np.abs((signs * values).mean(axis=1)) >= observed - 1e-12))
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(draws, len(values)))
    return float((1 + np.sum(np.abs((signs * values).mean(axis=1)) >= observed - 1e-12)) / (1 + draws))


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
