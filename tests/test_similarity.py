"""CKA, Procrustes and SW through the one Metric interface; tests written once over all metrics."""

import numpy as np
import pytest
from scipy.stats import ortho_group

from cnntopo.ph.pairwise import pairwise_matrix
from cnntopo.ph.similarity import METRIC_NAMES, linear_cka_distance, make_metric, procrustes_distance

RNG = np.random.default_rng(0)
CLOUD = RNG.standard_normal((60, 6)) @ RNG.standard_normal((6, 6)) + 3.0
ROTATION = ortho_group.rvs(6, random_state=1)


def direct_cka(x, y):
    """Kornblith et al.'s HSIC form with the centring matrix H, on the N x N Gram matrices."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T
    hsic = lambda a, b: np.trace(a @ h @ b @ h)  # noqa: E731
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def direct_procrustes(x, y):
    """min over orthogonal Q of ||X - Y Q||_F^2 for centred unit-norm X, Y (solved by the SVD of Y^T X)."""
    x = x - x.mean(0)
    y = y - y.mean(0)
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    u, _, vt = np.linalg.svd(y.T @ x)
    return np.linalg.norm(x - y @ (u @ vt)) ** 2


def test_cka_agrees_with_the_hsic_formula_and_its_invariances():
    other = RNG.standard_normal((60, 4))
    assert linear_cka_distance(CLOUD, other) == pytest.approx(1 - direct_cka(CLOUD, other), abs=1e-12)
    assert linear_cka_distance(CLOUD, CLOUD) == pytest.approx(0.0, abs=1e-12)
    assert linear_cka_distance(CLOUD, 5.0 * CLOUD @ ROTATION + 2.0) == pytest.approx(0.0, abs=1e-12)
    assert linear_cka_distance(CLOUD, np.ones((60, 3))) == 1.0


def test_procrustes_agrees_with_the_direct_minimisation_and_ignores_rotations():
    other = RNG.standard_normal((60, 6))
    assert procrustes_distance(CLOUD, other) == pytest.approx(direct_procrustes(CLOUD, other), abs=1e-12)
    assert procrustes_distance(CLOUD, CLOUD @ ROTATION) == pytest.approx(0.0, abs=1e-12)
    assert procrustes_distance(CLOUD, 3.0 * CLOUD + 1.0) == pytest.approx(0.0, abs=1e-12)
    assert 0.0 < procrustes_distance(CLOUD, other) <= 2.0


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_every_metric_is_zero_on_itself_symmetric_and_positive_elsewhere(name):
    metric = make_metric(name)
    clouds = [CLOUD, CLOUD[:, ::-1] * np.linspace(0.2, 3, 6), RNG.standard_normal((60, 6)) ** 3]
    matrix = pairwise_matrix([metric.prepare(c) for c in clouds], metric.distance)
    assert np.array_equal(matrix, matrix.T) and np.all(np.diag(matrix) == 0)
    assert np.all(matrix[~np.eye(3, dtype=bool)] > 1e-6)
    assert metric.distance(metric.prepare(CLOUD), metric.prepare(CLOUD.copy())) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_every_metric_ignores_rotations_and_translations(name):
    # All three see only distances between points (SW) or are invariant by construction (CKA, Procrustes).
    metric = make_metric(name)
    moved = CLOUD @ ROTATION + 7.0
    assert metric.distance(metric.prepare(CLOUD), metric.prepare(moved)) == pytest.approx(0.0, abs=1e-6)


def test_unknown_metric():
    with pytest.raises(ValueError, match="unknown metric"):
        make_metric("cca")
