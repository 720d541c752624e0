import pytest
import torch
from torch import nn

from cnntopo.networks.layers import ARCHITECTURES, LAYER_KINDS, layer_count, planned_layers
from cnntopo.networks.models import ARCHITECTURES as BUILT
from cnntopo.networks.models import build_model, layers_in_forward_order, model_layers

PAPER_SHAPES = [(64, 32)] * 5 + [(128, 16)] * 4 + [(256, 8)] * 4 + [(512, 4)] * 4


def test_option_a_resnet18_has_the_17_conv_layers_of_the_paper():
    model = build_model("resnet18_option_a", width=64, num_classes=10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 17  # no 1x1 shortcut convs with option A
    layers = layers_in_forward_order(model, image_size=32)
    assert [layer.index for layer in layers] == list(range(17))
    assert [(layer.channels, layer.height) for layer in layers] == PAPER_SHAPES
    assert all(layer.height == layer.width for layer in layers)
    assert layers[0].name == "conv1" and layers[16].name == "layer4.1.conv2"
    assert layers[9].name == "layer3.0.conv1"  # the paper's layer of interest


def test_conv_shortcut_variant_has_three_projections_left_out_of_the_layer_list():
    model = build_model("resnet18_conv_shortcut", width=8, num_classes=10)
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20 and sum(".shortcut" in name for name in convs) == 3
    layers = layers_in_forward_order(model, image_size=32)
    assert [(layer.channels, layer.height) for layer in layers] == [(c // 8, h) for c, h in PAPER_SHAPES]


def test_width_multiplier_and_other_image_sizes():
    model = build_model("resnet18_option_a", width=16, num_classes=7)
    layers = layers_in_forward_order(model, image_size=16)
    assert [(layer.channels, layer.height) for layer in layers][::4] == [(16, 16), (16, 16), (32, 8), (64, 4), (128, 2)]
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 7)


def test_option_a_shortcut_subsamples_and_zero_pads_channels():
    model = build_model("resnet18_option_a", width=4, num_classes=10)
    shortcut = model.layer2[0].shortcut
    x = torch.randn(2, 4, 8, 8)
    y = shortcut(x)
    assert y.shape == (2, 8, 4, 4)
    assert torch.equal(y[:, 2:6], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, :2]) == 0 and torch.count_nonzero(y[:, 6:]) == 0
    assert sum(p.numel() for p in shortcut.parameters()) == 0


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown architecture 'vgg'"):
        build_model("vgg", 8, 10)


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("kind", LAYER_KINDS)
@pytest.mark.parametrize("width, image_size", [(4, 16), (8, 32), (2, 9)])
def test_the_torch_free_layer_table_is_the_one_the_network_runs(arch, kind, width, image_size):
    model = build_model(arch, width, 10)
    assert planned_layers(arch, width, image_size, kind) == model_layers(model, image_size, kind)


def test_layer_counts_and_architecture_names():
    assert tuple(BUILT) == ARCHITECTURES
    assert [layer_count(a, "conv") for a in ARCHITECTURES] == [17, 17]
    assert [layer_count(a, "block_bn") for a in ARCHITECTURES] == [16, 16]
    with pytest.raises(ValueError, match="unknown layer kind"):
        planned_layers(ARCHITECTURES[0], 4, 16, "pool")
