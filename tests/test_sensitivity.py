import numpy as np
import pytest

from cnntopo.ph.sensitivity import (
    deletion_grid,
    first_detectable,
    reduced_clouds,
    same_layer_distances,
    sensitivity_curve,
)
from cnntopo.ph.similarity import METRIC_NAMES, make_metric


def cloud_with_known_variance(n=80, signal=4, null=4, seed=0):
    """Variance only in the first ``signal`` of ``signal + null`` coordinates, with distinct scales."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, signal + null))
    x[:, :signal] = rng.standard_normal((n, signal)) * np.array([4.0, 3.0, 2.0, 1.5])[:signal]
    return x


def test_grid_and_first_detectable():
    assert deletion_grid(16, 4) == [4, 8, 12] and deletion_grid(4, 4) == []
    assert first_detectable([4, 8, 12], 16, np.array([0.1, 0.5, 0.9]), baseline=0.3) == 0.5
    assert first_detectable([4, 8], 16, np.array([0.1, 0.2]), baseline=0.3) is None


@pytest.mark.parametrize("projection", ["authors", "ding"])
def test_reductions_project_onto_the_top_components(projection):
    x = cloud_with_known_variance()
    x -= x.mean(axis=0)
    for k, reduced in reduced_clouds(x, [2, 4, 6], projection):
        assert reduced.shape == x.shape
        assert np.linalg.matrix_rank(reduced, tol=1e-8) == min(8 - k, 4)
        scale = 8 / (8 - k) if projection == "ding" else 1.0
        if k <= 4:  # only null directions deleted: the cloud itself, rescaled in Ding's version
            assert np.allclose(reduced, scale * x)
    with pytest.raises(ValueError, match="must lie in"):
        list(reduced_clouds(x, [8], projection))


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_deleting_null_directions_moves_no_metric_and_deleting_variance_moves_every_one(name):
    metric = make_metric(name)
    x = cloud_with_known_variance()
    null, variance = sensitivity_curve(x, [4, 6], metric, "authors")
    assert null == pytest.approx(0.0, abs=1e-6)
    assert variance > 1e-2


@pytest.mark.parametrize("name", ["cka", "procrustes"])
def test_ding_rescaling_is_invisible_to_scale_invariant_metrics(name):
    null, variance = sensitivity_curve(cloud_with_known_variance(), [4, 6], make_metric(name), "ding")
    assert null == pytest.approx(0.0, abs=1e-9) and variance > 1e-2


def test_baseline_is_the_mean_diagonal_over_the_other_models():
    pairs = {(0, 1): np.diag([1.0, 2.0]), (1, 0): np.diag([1.0, 2.0]), (0, 2): np.diag([3.0, 4.0])}
    spread = same_layer_distances(pairs, reference=0)
    assert spread.tolist() == [[1.0, 2.0], [3.0, 4.0]] and spread.mean(axis=0).tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match="needs other models"):
        same_layer_distances(pairs, reference=5)
