import numpy as np
import pytest
import torch

from cnntopo.data import load_digits_split, normalize
from cnntopo.networks.models import build_model, layers_in_forward_order
from cnntopo.ph.activations import choose_image_batches, extract_layer_clouds, reference_positions_of
from cnntopo.ph.sampling import top_l2_sample
from cnntopo.store import open_store


@pytest.fixture(scope="module")
def model_and_data():
    torch.manual_seed(0)
    return build_model("resnet18_option_a", 4, 10).eval(), load_digits_split(False)


def test_image_batches_are_fixed_by_the_data_seed_and_never_repeat_within_a_batch():
    a = choose_image_batches(450, 100, 3, data_seed=0)
    assert a.shape == (3, 100) and np.array_equal(a, choose_image_batches(450, 100, 3, data_seed=0))
    assert not np.array_equal(a, choose_image_batches(450, 100, 3, data_seed=1))
    assert all(len(set(row)) == 100 for row in a) and not np.array_equal(a[0], a[1])
    with pytest.raises(ValueError, match="exceeds the 450 images"):
        choose_image_batches(450, 451, 1, 0)


def test_store_holds_the_top_l2_clouds_of_all_17_raw_conv_outputs(model_and_data, tmp_path):
    model, test = model_and_data
    index = choose_image_batches(len(test), 40, 2, data_seed=3)
    seen_batch_sizes = []
    counter = model.register_forward_pre_hook(lambda _m, inputs: seen_batch_sizes.append(inputs[0].shape[0]))
    extract_layer_clouds(
        model, test, index, tmp_path / "s.zarr", {"seed": 0}, torch.device("cpu"), extract_batch=16, progress=False
    )
    counter.remove()
    assert max(seen_batch_sizes) <= 16  # memory is bounded by the extraction batch, not by N or B

    # Reference: one pass over all N images of each batch, hooks on the raw Conv2d outputs.
    layers = layers_in_forward_order(model, 16)
    modules = dict(model.named_modules())
    store = open_store(tmp_path / "s.zarr")
    assert len(store.layer_keys) == 17
    for b in range(2):
        outputs = {}
        handles = [
            modules[l.name].register_forward_hook(
                lambda _m, _i, out, key=l.index, seen=outputs: seen.__setitem__(key, out)
            )
            for l in layers
        ]
        with torch.no_grad():
            model(normalize(torch.from_numpy(test.images[index[b]]), test.mean, test.std))
        for h in handles:
            h.remove()
        for layer in layers:
            expected = top_l2_sample(outputs[layer.index]).numpy()
            assert np.allclose(store.layer(layer.index)[b], expected, atol=1e-5), layer
    assert np.array_equal(store.image_index(), index)
    assert np.array_equal(store.array("label"), test.labels[index])
    assert store.layer_attrs(5)["spatial_shape"] == [8, 8]


def _brute_force_clouds(activations: np.ndarray, positions: np.ndarray):
    """Per image: the vector at the largest-norm position, the mean over positions, the vector at ``positions``."""
    n, c, h, w = activations.shape
    top, mean, shared = (np.zeros((n, c)) for _ in range(3))
    own = np.zeros(n, dtype=int)
    for i in range(n):
        vectors = [activations[i, :, y, x] for y in range(h) for x in range(w)]
        norms = [np.sqrt(np.sum(v.astype(np.float64) ** 2)) for v in vectors]
        own[i] = int(np.argmax(norms))
        top[i], mean[i], shared[i] = vectors[own[i]], np.mean(vectors, axis=0), vectors[positions[i]]
    return top, mean, shared, own


def test_mean_pool_and_shared_position_clouds_match_a_brute_force_extraction(model_and_data, tmp_path):
    """Two tiny networks; model B's shared_position clouds use model A's top-l2 positions."""
    a, test = model_and_data
    torch.manual_seed(1)
    b = build_model("resnet18_option_a", 4, 10).eval()
    index = choose_image_batches(len(test), 12, 2, data_seed=5)
    every = ["top_l2", "mean_pool", "shared_position"]
    cpu = torch.device("cpu")
    extract_layer_clouds(a, test, index, tmp_path / "a.zarr", {"seed": 0}, cpu, 5, False, every)
    reference = reference_positions_of(tmp_path / "a.zarr", index)
    extract_layer_clouds(b, test, index, tmp_path / "b.zarr", {"seed": 1}, cpu, 5, False, every, reference)
    store_a, store_b = open_store(tmp_path / "a.zarr"), open_store(tmp_path / "b.zarr")
    layers = layers_in_forward_order(b, 16)
    modules = {name: dict(m.named_modules()) for name, m in (("a", a), ("b", b))}
    for batch in range(2):
        raw = {}
        for name, model in (("a", a), ("b", b)):
            outputs = {}
            handles = [
                modules[name][l.name].register_forward_hook(
                    lambda _m, _i, out, key=l.index, seen=outputs: seen.__setitem__(key, out.numpy())
                )
                for l in layers
            ]
            with torch.no_grad():
                model(normalize(torch.from_numpy(test.images[index[batch]]), test.mean, test.std))
            for h in handles:
                h.remove()
            raw[name] = outputs
        for layer in (0, 8, 16):
            _, _, _, positions_a = _brute_force_clouds(raw["a"][layer], np.zeros(12, dtype=int))
            top, mean, shared, _ = _brute_force_clouds(raw["b"][layer], positions_a)
            assert np.array_equal(store_a.array(f"layer{layer:02d}_position")[batch], positions_a)
            assert np.allclose(store_b.layer(layer, "top_l2")[batch], top, atol=1e-5)
            assert np.allclose(store_b.layer(layer, "mean_pool")[batch], mean, atol=1e-5)
            assert np.allclose(store_b.layer(layer, "shared_position")[batch], shared, atol=1e-5)
            # the reference is its own reference: its shared clouds are its top-l2 clouds
            assert np.array_equal(store_a.layer(layer, "shared_position")[batch], store_a.layer(layer)[batch])
    with pytest.raises(Exception, match="holds no 'pca' clouds"):
        store_a.layer(0, "pca")
