import numpy as np
import pytest
from persim import sliced_wasserstein as persim_sw

from cnntopo.ph.persistence import persistence_diagrams
from cnntopo.ph.sliced_wasserstein import directions, sliced_wasserstein, sliced_wasserstein_matrix


@pytest.fixture(scope="module")
def diagrams():
    """H1 diagrams of clouds of different shapes and sizes (tens to hundreds of points)."""
    rng = np.random.default_rng(0)
    clouds = [
        rng.standard_normal((n, d)) * s for n, d, s in ((120, 8, 1.0), (150, 16, 2.0), (90, 4, 0.5), (200, 32, 1.0))
    ]
    return [persistence_diagrams(c)[1] for c in clouds]


def test_equal_to_persim_on_real_diagrams(diagrams):
    for a in diagrams:
        for b in diagrams:
            expected = persim_sw(a, b, M=50)
            assert sliced_wasserstein(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert sliced_wasserstein(diagrams[0], diagrams[1], m=7) == pytest.approx(
        persim_sw(diagrams[0], diagrams[1], M=7), rel=1e-9
    )


def test_matrix_is_symmetric_with_zero_diagonal_and_matches_pairs(diagrams):
    within = sliced_wasserstein_matrix(diagrams)
    assert within.shape == (4, 4) and np.array_equal(within, within.T) and np.all(np.diag(within) == 0)
    assert np.all(within[~np.eye(4, dtype=bool)] > 0)
    cross = sliced_wasserstein_matrix(diagrams[:2], diagrams[1:])
    assert cross.shape == (2, 3)
    assert cross[0, 2] == sliced_wasserstein(diagrams[0], diagrams[3])
    assert cross[1, 0] == 0.0


def test_empty_diagrams(diagrams):
    empty = np.zeros((0, 2))
    assert sliced_wasserstein(empty, empty) == 0.0
    assert sliced_wasserstein(diagrams[0], empty) == pytest.approx(persim_sw(diagrams[0], empty), rel=1e-9)
    assert sliced_wasserstein_matrix([empty, empty]).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_infinite_points_are_dropped():
    cloud = np.random.default_rng(2).standard_normal((60, 3))
    h0 = persistence_diagrams(cloud)[0]
    other = persistence_diagrams(cloud * 1.5)[0]
    assert np.isinf(h0).any()
    finite = lambda d: d[np.isfinite(d).all(axis=1)]  # noqa: E731
    value = sliced_wasserstein(h0, other)
    assert np.isfinite(value) and value == pytest.approx(persim_sw(finite(h0), finite(other)), rel=1e-9)


def test_directions_span_the_half_circle_like_persim():
    lines = directions(4)
    assert lines.shape == (4, 2)
    assert np.allclose(
        lines, [[0, 1], [-np.sqrt(0.5), np.sqrt(0.5)], [-1, 0], [-np.sqrt(0.5), -np.sqrt(0.5)]], atol=1e-7
    )
