import numpy as np
import pytest
import torch

from cnntopo.data import load_digits_split, normalize
from cnntopo.models import build_model, layers_in_forward_order
from cnntopo.ph.activations import choose_image_batches, extract_top_l2_store
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
    extract_top_l2_store(
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
