import numpy as np
import pytest
import torch

from cnntopo.data import load_digits_split, normalize
from cnntopo.networks.models import build_model, layers_in_forward_order
from cnntopo.ph.activations import CloudRecorder
from cnntopo.ph.persistence import distance_matrix, load_diagrams, persistence_diagrams, save_diagrams


@pytest.fixture(scope="module")
def real_clouds():
    """Top-l2 clouds of an (untrained) width-8 ResNet-18 on 150 real digit images, layers 0, 8 and 16."""
    test = load_digits_split(False)
    torch.manual_seed(0)
    model = build_model("resnet18_option_a", 8, 10).eval()
    layers = [l for l in layers_in_forward_order(model, 16) if l.index in (0, 8, 16)]
    recorder = CloudRecorder(model, layers, ["top_l2"])
    with torch.no_grad():
        model(normalize(torch.from_numpy(test.images[:150]), test.mean, test.std))
    recorder.close()
    return [recorder.samples[k] for k in sorted(recorder.samples)]


def test_both_backends_give_identical_diagrams_on_real_clouds(real_clouds):
    for cloud in real_clouds:
        reference = persistence_diagrams(cloud, backend="ripser")
        fast = persistence_diagrams(cloud, backend="giotto")
        assert len(reference) == len(fast) == 2
        for a, b in zip(reference, fast):
            assert a.shape == b.shape and a.dtype == b.dtype == np.float64
            assert np.array_equal(a, b)
        assert len(reference[1]) > 0  # real clouds have loops
        assert np.isinf(reference[0][:, 1]).sum() == 1


def test_h0_deaths_are_exact_minimum_spanning_tree_edges():
    # Points 1e-4 apart beside points 1e3 away: the |x|^2 + |y|^2 - 2xy expansion in float32 gets the small gap wrong.
    cloud = np.array([[1000.0, 0.0], [1000.0001, 0.0], [0.0, 0.0]], dtype=np.float32)
    gap = float(cloud[1, 0]) - float(cloud[0, 0])  # 1.2207e-4 after float32 rounding
    x, y = cloud[0], cloud[1]
    expanded = np.sqrt(max(x @ x + y @ y - 2 * (x @ y), 0.0))
    assert abs(expanded - gap) >= 0.5 * gap  # the expansion would have fed PH a wrong (here: zero) distance
    h0 = persistence_diagrams(cloud)[0]
    finite = np.sort(h0[np.isfinite(h0[:, 1]), 1])
    assert finite[0] == pytest.approx(gap, rel=1e-6) and finite[1] == pytest.approx(1000.0, rel=1e-6)
    assert np.array_equal(distance_matrix(cloud), distance_matrix(cloud).T)


def test_a_noisy_circle_has_one_long_h1_bar():
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, 200)
    cloud = np.c_[np.cos(angle), np.sin(angle)] + 0.02 * rng.standard_normal((200, 2))
    h1 = persistence_diagrams(cloud)[1]
    lifetimes = np.sort(h1[:, 1] - h1[:, 0])
    assert lifetimes[-1] > 1.0 and lifetimes[-2] < 0.2


@pytest.mark.parametrize("backend", ["ripser", "giotto"])
def test_degenerate_clouds(backend):
    zeros = persistence_diagrams(np.zeros((30, 5)), backend=backend)
    assert zeros[0].tolist() == [[0.0, np.inf]] and zeros[1].shape == (0, 2)
    duplicated = np.repeat(np.random.default_rng(1).standard_normal((10, 3)), 3, axis=0)
    h0 = persistence_diagrams(duplicated, backend=backend)[0]
    assert len(h0) == 10 and np.isfinite(h0).all(axis=1).sum() == 9  # duplicates add no bars
    with pytest.raises(ValueError, match="at least 2 points"):
        persistence_diagrams(np.zeros((1, 4)), backend=backend)
    with pytest.raises(ValueError, match="NaN or infinite"):
        persistence_diagrams(np.array([[0.0, np.nan], [1.0, 1.0]]), backend=backend)


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown PH backend"):
        persistence_diagrams(np.zeros((3, 2)), backend="dionysus")


def test_diagram_files_round_trip(tmp_path, real_clouds):
    diagrams = {layer: persistence_diagrams(c) for layer, c in zip((0, 8, 16), real_clouds)}
    save_diagrams(tmp_path / "b.npz", diagrams, {"seed": 2, "batch": 0, "layers": [0, 8, 16]})
    h1, meta = load_diagrams(tmp_path / "b.npz", dim=1)
    assert meta["seed"] == 2 and len(h1) == 3 and np.array_equal(h1[2], diagrams[16][1])
    assert np.load(tmp_path / "b.npz")["layer08_h0"].shape == diagrams[8][0].shape  # plain numpy reads it


def test_giotto_threads_give_the_same_diagrams(real_clouds):
    for cloud in real_clouds:
        one, two = persistence_diagrams(cloud, threads=1), persistence_diagrams(cloud, threads=2)
        assert all(np.array_equal(a, b) for a, b in zip(one, two))
