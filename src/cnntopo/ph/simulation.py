"""Simulated seed models with a known spread between models: what the specificity intervals are checked on.

Each model m has its own symmetric distortion D_m of a shared "architecture" matrix, scaled by
s_m = |1 + spread * z_m| (z_m standard normal): a model's within-model matrix is
``base + s_m D_m``, and the A-vs-B cross matrix ``base + (s_A D_A + s_B D_B^T) / 2``, each batch
with independent noise. The rho of a pair therefore depends on both of its models, as in trained
networks, where one odd seed lowers every pair it is part of. The population mean rho (the truth
an interval should cover) is estimated from many models.
"""

from __future__ import annotations

import numpy as np

from cnntopo.ph.specificity import pair_keys, pair_stacks, sample_intervals, specificity_samples
from cnntopo.ph.statistics import row_correlations


def architecture(rng: np.random.Generator, size: int) -> np.ndarray:
    """``(size, size)`` distances between ``size`` random points of R^3: symmetric, zero diagonal."""
    x = rng.standard_normal((size, 3))
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


def simulate_models(
    rng: np.random.Generator, base: np.ndarray, models: int, batches: int, spread: float, noise: float = 0.1
) -> tuple[dict[int, np.ndarray], dict[tuple[int, int], np.ndarray]]:
    """``({seed: (B, L, L)}, {(A, B): (B, L, L)})``: per-batch within and cross matrices of every ordered pair."""
    size = len(base)
    scale = np.abs(1 + spread * rng.standard_normal(models))
    own = rng.standard_normal((models, size, size))
    own = (own + own.transpose(0, 2, 1)) / 2
    within = {m: base + scale[m] * own[m] + noise * rng.standard_normal((batches, size, size)) for m in range(models)}
    cross = {
        (a, b): base
        + (scale[a] * own[a] + scale[b] * own[b].T) / 2
        + noise * rng.standard_normal((batches, size, size))
        for a in range(models)
        for b in range(models)
        if a != b
    }
    return within, cross


def population_rho(rng: np.random.Generator, base: np.ndarray, batches: int, spread: float, models: int = 400) -> float:
    """The mean rho over all layers of a large population of simulated models (pairs of nearby seeds)."""
    within, cross = simulate_models(rng, base, models, batches, spread)
    keys = [(a, b) for a in range(models) for b in range(a + 1, min(a + 21, models))]
    stacked_within, stacked_cross = pair_stacks(within, cross, keys)
    return float(np.nanmean(row_correlations(stacked_within.mean(axis=1), stacked_cross.mean(axis=1))))


def interval_coverage(
    models: int,
    repeats: int,
    draws: int,
    scheme: str,
    spread: float = 0.3,
    batches: int = 2,
    size: int = 9,
    seed: int = 0,
) -> float:
    """The share of ``repeats`` simulated runs of ``models`` models whose 95 % interval of rho over all
    layers (``scheme``: :data:`cnntopo.ph.statistics.MODEL_SCHEME` or ``PAIR_SCHEME``) holds the truth."""
    rng = np.random.default_rng(seed)
    base = architecture(rng, size)
    truth = population_rho(rng, base, batches, spread)
    seeds = list(range(models))
    covered = 0
    for repeat in range(repeats):
        within, cross = simulate_models(rng, base, models, batches, spread)
        keys = pair_keys(cross, seeds)
        stacks = [pair_stacks(within, cross, keys)]
        intervals = sample_intervals(*specificity_samples(stacks, keys, seeds, 0, draws, repeat, scheme))
        low, high = intervals["rho_overall"][0]
        covered += bool(low <= truth <= high)
    return covered / repeats
