"""The DeepDataProfiler branch: profiler rules on a hand-sized network, upstream comparison,
profile algebra, the profile-graph metric, persistence images and bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.profile.contributions import _largest, cumulative_selection, svd_basis
from cnntopo.profile.network import UnsupportedLayerError, trace_network
from cnntopo.profile.profiler import profile_images, sorted_table
from cnntopo.profile.profiles import Profile, jaccard
from cnntopo.profile.topology import (
    farthest_point_landmarks,
    fit_grid,
    graph_diagrams,
    graph_distances,
    kernel_distances,
    minimum_spanning_h0,
    persistence_image,
    profile_graph,
    profile_topology,
)


def keep_rule(values: np.ndarray, theta: float) -> dict[int, float]:
    """The cumulative rule written out plainly: index -> weight."""
    values = np.clip(values, 0, None)
    order = sorted(range(len(values)), key=lambda i: -values[i])
    total, running, kept = values.sum(), 0.0, []
    for i in order:
        if values[i] <= 0:
            break
        kept.append(i)
        running += values[i]
        if running / total > theta:
            break
    norm = sum(values[i] for i in kept)
    return {i: values[i] / norm for i in kept}


class Tiny(nn.Module):
    """conv(1->2, 2x2) -> ReLU -> conv(2->2, 2x2) -> ReLU -> flatten -> linear(2->2), on 3x3 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 2, bias=False)
        self.conv2 = nn.Conv2d(2, 2, 2, bias=False)
        self.fc = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.conv1.weight.copy_(torch.tensor([[[[1.0, 0.5], [0.0, 2.0]]], [[[-1.0, 1.0], [1.0, 0.25]]]]))
            self.conv2.weight.copy_(
                torch.tensor([[[[1, 0], [0, 1]], [[0.5, 0.5], [0.5, 0.5]]], [[[-1, 1], [1, 0]], [[2, 0], [0, 1]]]])
            )
            self.fc.weight.copy_(torch.tensor([[1.0, 3.0], [2.0, -1.0]]))

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(x.flatten(1))


IMAGE = torch.tensor([[[[1.0, 2.0, 0.0], [0.5, 1.0, 3.0], [2.0, 0.0, 1.0]]]])


def test_backward_element_profile_matches_a_hand_computation():
    model = Tiny().eval()
    theta = 0.5
    x = IMAGE[0, 0].numpy()
    w1, w2, wf = (m.weight.detach().numpy() for m in (model.conv1, model.conv2, model.fc))
    a1 = np.maximum(
        0,
        np.array(
            [[[np.sum(w1[c, 0] * x[i : i + 2, j : j + 2]) for j in range(2)] for i in range(2)] for c in range(2)]
        ),
    )
    a2 = np.maximum(0, np.array([np.sum(w2[c] * a1) for c in range(2)]))
    logits = wf @ a2
    predicted = int(np.argmax(logits))
    # fc: terms a2 * W[pred]
    fc_kept = keep_rule(a2 * wf[predicted], theta)
    expected_synapses = {(3, predicted, 2, j): w for j, w in fc_kept.items()}
    # conv2 (1x1 output): element c -> terms over (c', i, j) of a1
    for c in fc_kept:
        terms = (w2[c] * a1).ravel()
        for flat, w in keep_rule(terms, theta).items():
            expected_synapses[(2, c, 1, flat)] = w
    conv1_targets = sorted({k[3] for k in expected_synapses if k[0] == 2})
    for flat in conv1_targets:
        c, i, j = np.unravel_index(flat, (2, 2, 2))
        terms = (w1[c, 0] * x[i : i + 2, j : j + 2]).ravel()
        for k, w in keep_rule(terms, theta).items():
            r, s = divmod(k, 2)
            expected_synapses[(1, flat, 0, (i + r) * 3 + (j + s))] = w
    profiles = profile_images(trace_network(model), IMAGE, np.array([0]), "element", theta, "backward")
    got = {tuple(int(v) for v in row[1:]): float(w) for row, w in zip(profiles.synapses, profiles.synapse_weights)}
    assert got.keys() == expected_synapses.keys()
    for key, weight in expected_synapses.items():
        assert got[key] == pytest.approx(weight, rel=1e-6)
    assert profiles.predictions[0] == predicted
    # the top neuron carries weight 1; each layer's flow sums to 1 on this single-path network
    weights = {tuple(int(v) for v in row[1:]): float(w) for row, w in zip(profiles.neurons, profiles.neuron_weights)}
    assert weights[(3, predicted)] == pytest.approx(1.0)
    for layer in range(4):
        assert sum(w for (l, _), w in weights.items() if l == layer) == pytest.approx(1.0, rel=1e-6)


def test_layerwise_channel_influence_matches_a_hand_computation():
    model = Tiny().eval()
    profiles = profile_images(trace_network(model), IMAGE, np.array([0]), "channel", 0.1, "layerwise")
    x = IMAGE[0, 0].numpy()
    w1 = model.conv1.weight.detach().numpy()
    a1 = np.maximum(
        0,
        np.array(
            [[[np.sum(w1[c, 0] * x[i : i + 2, j : j + 2]) for j in range(2)] for i in range(2)] for c in range(2)]
        ),
    )
    expected = keep_rule(a1.reshape(2, -1).max(axis=1), 0.1)
    layer1 = {int(r[2]): float(w) for r, w in zip(profiles.neurons, profiles.neuron_weights) if r[1] == 1 and w > 0}
    assert layer1.keys() == expected.keys()
    for c, w in expected.items():
        assert layer1[c] == pytest.approx(w, rel=1e-6)


def test_cumulative_selection_keeps_the_next_and_skips_zeros():
    rows, cols, weights = cumulative_selection(torch.tensor([[5.0, 3.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]]), 0.6)
    assert rows.tolist() == [0, 0] and cols.tolist() == [0, 1]
    assert weights.tolist() == pytest.approx([5 / 8, 3 / 8])


def test_cumulative_selection_equals_the_rule_written_out():
    # Rows of every kind the selection meets: peaked (cut inside the first 16), flat (k grows to a
    # full sort), tied, all zero, negative; lengths with and without strided blocks.
    generator = torch.Generator().manual_seed(3)
    for n in (7, 147, 576, 2304):
        peaked = torch.randn(40, n, generator=generator).exp() ** 3
        flat = torch.rand(10, n, generator=generator) + 1
        tied = torch.ones(3, n)
        scores = torch.cat([peaked, flat, tied, torch.zeros(2, n), -flat[:2]])
        rows, cols, weights = cumulative_selection(scores, 0.1)
        for r in range(len(scores)):
            expected = keep_rule(scores[r].double().numpy(), 0.1)
            chosen = rows == r
            assert len(expected) == int(chosen.sum()), (n, r)
            got = dict(zip(cols[chosen].tolist(), weights[chosen].tolist()))
            values = sorted(expected.values())
            assert sorted(got.values()) == pytest.approx(values, rel=1e-5), (n, r)
            if r < 50:  # no ties: the same columns
                assert got.keys() == expected.keys(), (n, r)


def test_largest_has_topks_values_and_columns_that_hold_them():
    # The strided blocks (CPU) against torch.topk (which the CUDA path calls): equal values.
    generator = torch.Generator().manual_seed(4)
    for n, k in [(576, 4), (576, 16), (2304, 16), (4608, 64), (147, 4), (25088, 16), (7, 4)]:
        values = torch.randn(300, n, generator=generator).clamp(min=0)
        values[:20, :9] = 2.5  # ties across blocks
        ordered, columns = _largest(values, k)
        assert torch.equal(ordered, torch.topk(values, k, dim=1).values), (n, k)
        assert torch.equal(values.gather(1, columns), ordered), (n, k)
        assert all(len(set(row)) == k for row in columns.tolist())


@pytest.mark.parametrize(
    ("c_in", "size", "kernel", "stride", "padding", "dilation", "per_image"),
    [
        (5, (9, 40), 3, 1, 1, 1, 3),  # rows of 40: vectorised along the row
        (6, (40, 9), 3, 1, (1, 0), 1, 20),  # rows of 9, many targets: vectorised across targets
        (4, (37, 45), 7, 2, 3, 1, 2),  # resnet's stem: 7x7, stride 2, odd sizes
        (3, (30, 70), (3, 5), (2, 1), (0, 2), 2, 4),  # every parameter of its own
        (8, (14, 30), 1, 2, 0, 1, 17),  # strided, rows of 15: across targets
        (4, (13, 12), 3, 1, 1, 1, 5),  # rows of 12, few targets: nine rows at once, then four
        (3, (20, 30), 3, (1, 2), 1, 1, 6),  # stride 2 along rows only: rows at once, across column phases
    ],
)
def test_channel_maxima_equal_a_grouped_convolution_per_target(
    c_in, size, kernel, stride, padding, dilation, per_image
):
    # The compiled loop (CPU) against what the CUDA path computes: each target's grouped convolution, then the max.
    from cnntopo.profile.kernels import channel_maxima

    generator = torch.Generator().manual_seed(7)
    conv = nn.Conv2d(c_in, 11, kernel, stride, padding, dilation)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator))
    x = torch.randn(3, c_in, *size, generator=generator).clamp(min=0)
    # image 1 has no targets; image 0's come back after image 2's
    image = torch.tensor([0] * per_image + [2] * per_image + [0])
    neuron = torch.randint(0, 11, (len(image),), generator=generator)
    got = channel_maxima(x, conv, image, neuron)
    expected = torch.stack(
        [
            F.conv2d(x[i : i + 1], conv.weight[o].unsqueeze(1), None, stride, padding, dilation, groups=c_in)
            .flatten(2)
            .amax(dim=2)[0]
            for i, o in zip(image.tolist(), neuron.tolist())
        ]
    )
    assert got.shape == (len(image), c_in)
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("theta", [0.1, 0.9])
def test_element_contributions_equal_the_rule_written_out(theta):
    # The compiled loop against keep_rule on each target's terms, with strides, dilation and padding of their
    # own; 0.9 takes most of 30 terms (past the loop's buffer of 16), and the tied targets' order is the columns'.
    # Channel 2 of image 1 has 30 distinct positive terms.
    from cnntopo.profile.kernels import element_contributions

    generator = torch.Generator().manual_seed(9)
    conv = nn.Conv2d(5, 4, (3, 2), (2, 1), (1, 2), (1, 2))
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator))
        conv.weight[3] = 1.0
        conv.weight[2] = torch.rand(conv.weight[2].shape, generator=generator) + 0.1
    x = torch.randn(2, 5, 9, 11, generator=generator).clamp(min=0)
    x[1] = 2.0  # channel 3 of image 1: every term tied
    out_h, out_w = (9 + 2 - 2 - 1) // 2 + 1, (11 + 4 - 2 - 1) // 1 + 1
    image = torch.randint(0, 2, (40,), generator=generator)
    neuron = torch.randint(0, 4 * out_h * out_w, (40,), generator=generator)
    neuron[:3] = 3 * out_h * out_w + torch.tensor([0, 7, 20])
    neuron[3:6] = 2 * out_h * out_w + torch.tensor([15, 16, 30])  # 30 distinct positive terms: cut past 16
    image[:6] = 1
    rows, inputs, weights = element_contributions(x, conv, image, neuron, theta)
    padded = torch.nn.functional.pad(x, (2, 2, 1, 1)).numpy()
    w = conv.weight.detach().numpy()
    for p in range(len(image)):
        o, position = divmod(int(neuron[p]), out_h * out_w)
        top, left = (position // out_w) * 2, position % out_w
        terms = {}
        for c in range(5):
            for r in range(3):
                for s in range(2):
                    i, j = top + r, left + 2 * s
                    # a padding position's term is 0 (never kept); its index is never asked for
                    index = (c * 9 + i - 1) * 11 + j - 2 if 1 <= i < 10 and 2 <= j < 13 else -1 - len(terms)
                    terms[index] = padded[int(image[p]), c, i, j] * w[o, c, r, s]
        keys = list(terms)
        expected = {keys[k]: v for k, v in keep_rule(np.array(list(terms.values())), theta).items()}
        chosen = rows == p
        got = dict(zip(inputs[chosen].tolist(), weights[chosen].tolist()))
        assert got.keys() == expected.keys(), p
        assert list(got.values()) == pytest.approx(list(expected.values()), rel=1e-5)


def test_element_contributions_take_terms_equal_to_the_floor_from_channels_passed_over():
    # Target 0's sixteen terms of 1 make 1 the floor of target 1, whose terms are 3 (channel 5, tap 1) and eight 1s
    # (tap 0 of every channel). The rule keeps the 3 and then the 1 of the first column, channel 0's: a channel whose
    # largest term only equals the floor must still be looked at.
    from cnntopo.profile.kernels import element_contributions

    conv = nn.Conv2d(8, 1, (1, 2), bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.zeros(1, 8, 1, 3)
    x[0, :, 0, :2] = 1.0
    x[0, 5, 0, 2] = 3.0
    rows, inputs, weights = element_contributions(x, conv, torch.tensor([0, 0]), torch.tensor([0, 1]), 0.3)
    second = rows == 1
    assert dict(zip(inputs[second].tolist(), weights[second].tolist())) == {17: 0.75, 1: 0.25}


def test_conv_spatial_terms_equal_the_projection_written_out():
    # Spatial neuron (i, j) of a conv: the term of kernel tap (r, s) is <v_rs, y> / |y| with v_rs[o] =
    # sum_c W[o, c, r, s] x[c, i + r - 1, j + s - 1] and y = sum_rs v_rs (the output without bias).
    from cnntopo.profile.contributions import Targets, contributions

    generator = torch.Generator().manual_seed(11)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(100, 2)).eval()
    network = trace_network(model)
    x = torch.randn(2, 3, 5, 5, generator=generator)
    conv = next(layer for layer in network.layers if layer.op == "conv")
    targets = Targets(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 12, 7, 24]), torch.ones(4))
    found = contributions(conv, network.record(x), targets, "spatial", 0.3)
    w = model[0].weight.detach().double().numpy()
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1)).double().numpy()
    for p in range(4):
        image, (i, j) = int(targets.image[p]), divmod(int(targets.neuron[p]), 5)
        v = {
            (r, s): np.einsum("oc,c->o", w[:, :, r, s], padded[image, :, i + r, j + s])
            for r in range(3)
            for s in range(3)
        }
        y = sum(v.values())
        terms = np.array([v[r, s] @ y / np.linalg.norm(y) for r in range(3) for s in range(3)])
        inputs = [(i + r - 1) * 5 + j + s - 1 for r in range(3) for s in range(3)]
        expected = {inputs[k]: weight for k, weight in keep_rule(terms, 0.3).items()}
        chosen = found.row == p
        got = dict(zip(found.inn[chosen].tolist(), found.weight[chosen].tolist()))
        assert got.keys() == expected.keys(), p
        assert list(got.values()) == pytest.approx([expected[k] for k in got], rel=1e-5)


def test_max_pool_spatial_terms_sum_the_channels_that_reach_one_position():
    # Two channels equal: their maxima sit at one input position, whose term is both their squares.
    from cnntopo.profile.contributions import Targets, contributions

    generator = torch.Generator().manual_seed(10)
    model = nn.Sequential(nn.Conv2d(1, 3, 1), nn.MaxPool2d(3, 2, 1), nn.Flatten(), nn.Linear(27, 2)).eval()
    network = trace_network(model)
    x = torch.randn(2, 1, 6, 6, generator=generator)
    record = network.record(x)
    record.tails[1][:, 1] = record.tails[1][:, 0]
    record.heads[2] = torch.nn.functional.max_pool2d(record.tails[1], 3, 2, 1)
    pool = next(layer for layer in network.layers if layer.op == "maxpool")
    targets = Targets(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 4, 4, 8]), torch.ones(4))
    found = contributions(pool, record, targets, "spatial", 0.6)
    _, where = torch.nn.functional.max_pool2d(record.tails[1], 3, 2, 1, return_indices=True)
    for p in range(4):
        image, position = int(targets.image[p]), int(targets.neuron[p])
        y = record.heads[2][image, :, position // 3, position % 3]
        dense = torch.zeros(36).index_add_(0, where[image, :, position // 3, position % 3].flatten(), y * y)
        expected = keep_rule((dense / y.norm()).numpy(), 0.6)
        chosen = found.row == p
        got = dict(zip(found.inn[chosen].tolist(), found.weight[chosen].tolist()))
        assert got.keys() == expected.keys()
        assert list(got.values()) == pytest.approx([expected[k] for k in got], rel=1e-6)


def test_agreeing_maxima_equal_the_masked_max_with_its_first_position():
    # The tail's max is taken as is where the head agrees there, and looked for again where it does not.
    from cnntopo.profile.contributions import _agreeing_maxima, _first_maxima

    generator = torch.Generator().manual_seed(8)
    for plane in (49, 3136, 12544):
        head = torch.randn(2, 6, plane, generator=generator)
        tail = torch.randn(2, 6, plane, generator=generator)
        tail[0, 0, 100 % plane] = tail[0, 0, 7] = 9.0  # a tied max: the first position counts
        head[0, 1] = -1.0  # no agreeing position
        best = tail[1, 2].argmax()
        head[1, 2, best] = -1.0  # the max sits where the head is negative: looked for again
        masked = torch.where((head > 0) & (tail > 0), tail, torch.zeros_like(tail))
        scores, where = _agreeing_maxima(head, tail)
        expected, expected_where = masked.max(dim=2)
        assert torch.equal(scores.clamp(min=0), expected)
        kept = expected > 0
        assert torch.equal(where[kept], expected_where[kept]), plane
        first, first_where = _first_maxima(tail)
        assert torch.equal(first, tail.max(dim=2).values) and torch.equal(first_where, tail.max(dim=2).indices)


def test_svd_basis_spans_the_svds_singular_directions():
    generator = torch.Generator().manual_seed(5)
    for shape in [(64, 576), (48, 27), (100, 1000)]:  # wide (eigenvectors of W W^T), tall (SVD), wide
        conv = nn.Linear(shape[1], shape[0])
        with torch.no_grad():
            conv.weight.copy_(torch.randn(*shape, generator=generator))
        u = svd_basis(conv).double()
        reference, _, _ = torch.linalg.svd(conv.weight.detach().double(), full_matrices=False)
        overlap = (u.T @ reference).abs()  # columns equal up to sign: the identity
        assert torch.allclose(overlap, torch.eye(len(overlap), dtype=torch.float64), atol=1e-5), shape


def test_sorted_table_equals_lexsort_of_the_rows():
    generator = np.random.default_rng(6)
    for highs in [(3, 40, 2**22, 40, 2**22), (2**40, 3, 2**30, 1, 2**35)]:  # one key; three keys
        parts, weights = [], []
        for rows in (5000, 0, 700):
            constant = int(generator.integers(0, highs[1]))
            parts.append([torch.from_numpy(generator.integers(0, high, rows)) for high in highs])
            parts[-1][1] = constant  # a column shared by the part's rows
            weights.append(torch.from_numpy(generator.random(rows)))
        table, weight = sorted_table(parts, weights, 5)
        expected = np.concatenate(
            [
                np.stack([np.full(len(w), c) if isinstance(c, int) else c.numpy() for c in p], 1)
                for p, w in zip(parts, weights)
            ]
        )
        order = np.lexsort(expected.T[::-1])
        assert np.array_equal(table, expected[order]), highs
        assert np.array_equal(weight, torch.cat(weights).float().numpy()[order])
    table, weight = sorted_table([], [], 3)
    assert table.shape == (0, 3) and weight.shape == (0,)


@pytest.mark.parametrize("tracing", ["backward", "layerwise"])
def test_profiling_makes_every_tensor_on_the_inputs_device(tracing):
    # With meta as the default device, any tensor the profiler makes without naming the inputs'
    # device lands on meta and the next operation with a CPU tensor fails: the same omission would
    # put a CPU tensor beside CUDA ones. The profiles must also be unchanged.
    from cnntopo.networks.torchvision_compat import torchvision_submodule

    torch.manual_seed(0)
    network = trace_network(torchvision_submodule("models").resnet18(num_classes=5).eval())
    x = torch.randn(2, 3, 32, 32)
    for kind in ("channel", "element", "spatial", "svd"):
        plain = profile_images(network, x, np.zeros(2), kind, 0.2, tracing)
        with torch.device("meta"):
            checked = profile_images(network, x, np.zeros(2), kind, 0.2, tracing)
        assert np.array_equal(plain.neurons, checked.neurons) and np.array_equal(plain.synapses, checked.synapses)
        assert np.array_equal(plain.synapse_weights, checked.synapse_weights), kind


def test_the_compiled_loops_give_the_torch_paths_profiles():
    # The loops of cnntopo.profile.kernels run on float32 CPU tensors; the torch path (CUDA, or any other dtype)
    # runs here in float64: the same neurons and synapses, weights equal to float32 rounding.
    from cnntopo.networks.torchvision_compat import torchvision_submodule

    torch.manual_seed(0)
    model = torchvision_submodule("models").resnet18(num_classes=5).eval()
    x = torch.randn(2, 3, 48, 48)
    single, double = trace_network(model), trace_network(copy.deepcopy(model).double())
    for kind in ("channel", "element"):
        for tracing in ("backward", "layerwise"):
            compiled = profile_images(single, x, np.zeros(2), kind, 0.1, tracing)
            reference = profile_images(double, x.double(), np.zeros(2), kind, 0.1, tracing)
            assert np.array_equal(compiled.neurons, reference.neurons), (kind, tracing)
            assert np.array_equal(compiled.synapses, reference.synapses), (kind, tracing)
            assert np.allclose(compiled.synapse_weights, reference.synapse_weights, rtol=1e-4, atol=1e-6)
            assert np.allclose(compiled.neuron_weights, reference.neuron_weights, rtol=1e-4, atol=1e-6)


def test_a_recording_keeps_heads_that_an_in_place_relu_would_overwrite():
    # The recorder runs in-place ReLUs out of place instead of copying what it keeps.
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.relu, self.fc = nn.Conv2d(2, 3, 3), nn.ReLU(inplace=True), nn.Linear(3 * 4 * 4, 4)

        def forward(self, x):
            return self.fc(torch.flatten(torch.nn.functional.relu(self.relu(self.conv(x)), inplace=True), 1))

    torch.manual_seed(0)
    model = Net().eval()
    network = trace_network(model)
    x = torch.randn(2, 2, 6, 6)
    record = network.record(x)
    conv = next(layer.index for layer in network.layers if layer.op == "conv")
    assert torch.equal(record.heads[conv], model.conv(x)) and (record.heads[conv] < 0).any()
    assert torch.equal(record.tails[conv], model.conv(x).clamp(min=0))
    assert model.relu.inplace  # the module is left as it was


def test_residual_adds_are_named_after_their_block():
    from cnntopo.networks.models import build_model
    from cnntopo.networks.torchvision_compat import torchvision_submodule

    blocks = [f"layer{stage}.{block}" for stage in (1, 2, 3, 4) for block in (0, 1)]
    for model in (torchvision_submodule("models").resnet18(), build_model("resnet18_conv_shortcut", 4, 10)):
        adds = [layer.name for layer in trace_network(model).layers if layer.op == "add"]
        assert adds == [f"{block}.add" for block in blocks]  # not layer2.0.downsample.add


def test_unsupported_layer_names_module_and_type():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Tanh(), nn.Flatten(), nn.LazyLinear(2))
    with pytest.raises(UnsupportedLayerError, match=r"'1' of type Tanh"):
        trace_network(model)


def _profile(neurons, synapses, weights) -> Profile:
    neurons = np.array(neurons, np.int64).reshape(-1, 2)
    synapses = np.array(synapses, np.int64).reshape(-1, 4)
    return Profile(
        "channel",
        ("input", "a", "b"),
        neurons,
        np.ones(len(neurons), np.int64),
        np.ones(len(neurons)),
        synapses,
        np.ones(len(synapses), np.int64),
        np.array(weights, float),
    )


def test_profiles_add_and_empty_is_the_identity():
    p = _profile([[1, 0], [2, 0]], [[2, 0, 1, 0]], [0.5])
    q = _profile([[1, 0], [1, 1], [2, 0]], [[2, 0, 1, 0]], [1.0])
    total = Profile.empty("channel", p.layer_names) + p + q
    assert total.num_inputs == 2
    assert total.neurons.tolist() == [[1, 0], [1, 1], [2, 0]]
    assert total.neuron_counts.tolist() == [2, 1, 2]
    assert total.synapse_weights.tolist() == pytest.approx([0.75])
    per_layer, overall = jaccard(p, q)
    assert per_layer[1] == pytest.approx(0.5) and per_layer[2] == 1.0 and np.isnan(per_layer[0])
    assert overall == pytest.approx(2 / 3)


def test_graph_metric_on_a_known_graph():
    # path 0-1-2 (weights 0.5, 0.25) and a separate edge 3-4 (weight 1)
    p = _profile([[0, 0], [1, 0], [2, 0], [1, 5], [2, 5]], [[1, 0, 0, 0], [2, 0, 1, 0], [2, 5, 1, 5]], [0.5, 0.25, 1.0])
    inverted = graph_distances(profile_graph(p, "inverted"))
    assert np.allclose(inverted, inverted.T)
    vertex = {tuple(v): i for i, v in enumerate(p.neurons)}
    assert inverted[vertex[(0, 0)], vertex[(2, 0)]] == pytest.approx(2 + 4)
    assert np.isinf(inverted[vertex[(0, 0)], vertex[(2, 5)]])
    original = graph_distances(profile_graph(p, "original"))
    assert original[vertex[(0, 0)], vertex[(2, 0)]] == pytest.approx(0.75)
    h0 = graph_diagrams(inverted)[0]
    assert np.isinf(h0[:, 1]).sum() == 2  # two components
    kernelled, sigma = kernel_distances(inverted)
    finite = inverted[np.isfinite(inverted) & ~np.eye(len(inverted), dtype=bool)]
    assert sigma == pytest.approx(finite.std())
    assert np.isinf(kernelled[vertex[(0, 0)], vertex[(2, 5)]])
    assert kernelled[vertex[(0, 0)], vertex[(2, 0)]] == pytest.approx(1 - np.exp(-6 / (2 * sigma)))
    _, with_diagonal = kernel_distances(inverted, sigma_with_diagonal=True)
    assert with_diagonal == pytest.approx(inverted[np.isfinite(inverted)].std())


def test_a_cycle_gives_one_h1_point():
    square = [[0, 0], [1, 0], [1, 1], [2, 0]]
    p = _profile(square, [[1, 0, 0, 0], [1, 1, 0, 0], [2, 0, 1, 0], [2, 0, 1, 1]], [1, 1, 1, 1])
    h1 = graph_diagrams(graph_distances(profile_graph(p, "original")))[1]
    assert len(h1) == 1


def _random_profile(rng, layers: int, width: int, fan_in: int, components: int = 1) -> Profile:
    """A layered profile graph (``components`` disjoint, connected copies of ``layers`` x ``width`` neurons, each
    neuron joined to the one below it and to ``fan_in`` random others) with random positive weights."""
    neurons, synapses = [], []
    for copy_index in range(components):
        offset = copy_index * width
        neurons += [[layer, offset + i] for layer in range(layers) for i in range(width)]
        for layer in range(1, layers):
            for i in range(width):
                for j in {i, *rng.choice(width, fan_in, replace=False).tolist()}:
                    synapses.append([layer, offset + i, layer - 1, offset + j])
    return _profile(neurons, synapses, rng.uniform(0.05, 1.0, len(synapses)))


@pytest.mark.parametrize("kernel", [False, True])
def test_above_exact_vertices_h0_is_exact_and_h1_is_exact_with_every_vertex_a_landmark(kernel):
    rng = np.random.default_rng(3)
    p = _random_profile(rng, layers=5, width=12, fan_in=2, components=2)
    exact, exact_summary = profile_topology(p, "inverted", kernel)
    sparse_h0 = minimum_spanning_h0(profile_graph(p, "inverted"))
    everyone, summary = profile_topology(p, "inverted", kernel, exact_vertices=1, landmarks=len(p.neurons))
    assert summary["landmarks"] == len(p.neurons) and exact_summary["landmarks"] == 0
    for ours, theirs in zip(everyone, exact):
        assert np.allclose(np.sort(ours, axis=0), np.sort(theirs, axis=0))
    if not kernel:
        assert np.allclose(np.sort(sparse_h0, axis=0), np.sort(exact[0], axis=0))
    assert summary["components"] == exact_summary["components"] == 2


def test_landmarks_cover_every_component_and_skip_the_ones_without_cycles():
    rng = np.random.default_rng(0)
    p = _random_profile(rng, layers=4, width=10, fan_in=2, components=3)
    # and an isolated edge: a component of 2 vertices, no cycle, no landmark
    p = _profile(
        [*p.neurons.tolist(), [0, 900], [1, 900]],
        [*p.synapses.tolist(), [1, 900, 0, 900]],
        [*p.synapse_weights.tolist(), 1.0],
    )
    graph = profile_graph(p, "inverted")
    chosen, distances = farthest_point_landmarks(graph, 5, seed=1)
    vertex_layers = p.neurons[chosen, 1] // 10
    assert len(set(vertex_layers.tolist()) & {0, 1, 2}) == 3 and 90 not in vertex_layers
    assert np.isinf(distances).sum() > 0 and np.allclose(distances, distances.T)
    full = graph_distances(graph)
    assert np.allclose(distances, full[np.ix_(chosen, chosen)])


def test_a_graph_of_200k_vertices_gets_its_diagrams_without_a_dense_matrix():
    import tracemalloc

    ring = 200_000  # one cycle: H0 has V - 1 finite bars and one infinite, H1 one bar
    p = _profile(
        [[0, i] for i in range(ring)],
        [[0, i, 0, (i + 1) % ring] for i in range(ring)],
        np.full(ring, 1.0),
    )
    tracemalloc.start()
    diagrams, summary = profile_topology(p, "original", kernel=False, landmarks=40)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 300 * 2**20  # a dense matrix would be 320 GB
    assert summary["vertices"] == ring and summary["landmarks"] == 40 and summary["components"] == 1
    assert len(diagrams[0]) == ring and len(diagrams[1]) == 1


def test_persistence_images_equal_persims():
    persim = pytest.importorskip("persim")
    rng = np.random.default_rng(0)
    diagrams = []
    for _ in range(3):
        births = rng.uniform(0, 2, 6)
        diagrams.append(np.column_stack([births, births + rng.uniform(0.1, 1.5, 6)]))
    grid = fit_grid(diagrams, pixels=15, sigma_pixels=1.5)
    size = grid.birth_edges[1] - grid.birth_edges[0]
    imager = persim.PersistenceImager(
        birth_range=(grid.birth_edges[0], grid.birth_edges[-1]),
        pers_range=(grid.persistence_edges[0], grid.persistence_edges[-1]),
        pixel_size=size,
        kernel_params={"sigma": [[grid.sigma**2, 0.0], [0.0, grid.sigma**2]]},
    )
    assert imager.resolution == grid.shape
    for diagram in diagrams:
        assert np.allclose(persistence_image(diagram, grid), imager.transform(diagram), rtol=1e-9, atol=1e-12)


def test_upstream_channel_and_element_profiles(tmp_path):
    from ddp_upstream import import_upstream

    ddp = import_upstream()
    if ddp is None:
        pytest.skip("deep-data-profiler is not installed (pip install --no-deps deep-data-profiler==2.0.1 powerlaw)")
    from cnntopo.networks.torchvision_compat import torchvision_submodule

    models = torchvision_submodule("models")
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    for name, kind in [("vgg16", "channel"), ("resnet18", "channel"), ("vgg16", "element")]:
        torch.manual_seed(1)
        model = getattr(models, name)().eval()
        ours = profile_images(trace_network(copy.deepcopy(model)), x, np.array([0]), kind, 0.1, "layerwise")
        profiler = (ddp.ChannelProfiler if kind == "channel" else ddp.ElementProfiler)(copy.deepcopy(model))
        theirs = profiler.create_profile(x, threshold=0.1)
        assert len(profiler.layerdict) == len(ours.layer_names)
        compared = 0
        for k in range(1, len(ours.layer_names)):
            layer = ours.layer_names[k]
            in_block_conv2 = layer.endswith("conv2")
            mine = {int(r[2]): float(w) for r, w in zip(ours.neurons, ours.neuron_weights) if r[1] == k and w > 0}
            weights = theirs.neuron_weights[k].tocoo()
            if kind == "element" and len(ours.layer_shapes[k]) and ours.layer_shapes[k][1]:
                flat = weights.row * weights.shape[1] + weights.col
            else:
                flat = weights.col
            upstream = dict(zip(flat.tolist(), weights.data.tolist()))
            if in_block_conv2:
                # Upstream hooks bn2 and then torchvision's `out += identity` overwrites that tensor in place:
                # upstream scores conv2 by the post-add activation. Ours keeps bn2's own output.
                continue
            assert mine.keys() == upstream.keys(), (name, kind, layer)
            for neuron, w in mine.items():
                assert upstream[neuron] == pytest.approx(w, rel=1e-5)
            compared += 1
        assert compared >= 10
        if kind == "channel":
            # Synapses of the conv layers that upstream scores right (all but the blocks' conv2): same
            # input channels, same weights.
            for k, op in enumerate(ours.layer_ops):
                if op != "conv" or ours.layer_names[k].endswith("conv2"):
                    continue
                sw = theirs.synapse_weights[k].tocoo()
                upstream = {(int(r), int(c)): v for r, c, v in zip(sw.row, sw.col, sw.data)}
                rows = ours.synapses[:, 1] == k
                mine = {
                    (int(r[2]), int(r[4])): float(w) for r, w in zip(ours.synapses[rows], ours.synapse_weights[rows])
                }
                assert mine.keys() == upstream.keys(), (name, ours.layer_names[k])
                for key, w in mine.items():
                    assert upstream[key] == pytest.approx(w, rel=1e-4)


def test_upstream_conv2_scores_differ_where_torchvision_adds_in_place():
    from ddp_upstream import import_upstream

    ddp = import_upstream()
    if ddp is None:
        pytest.skip("deep-data-profiler is not installed")
    from cnntopo.networks.torchvision_compat import torchvision_submodule

    torch.manual_seed(1)
    model = torchvision_submodule("models").resnet18().eval()
    x = torch.randn(1, 3, 64, 64)
    ours = profile_images(trace_network(copy.deepcopy(model)), x, np.array([0]), "channel", 0.1, "layerwise")
    theirs = ddp.ChannelProfiler(copy.deepcopy(model)).create_profile(x, threshold=0.1)
    differing = 0
    for k, name in enumerate(ours.layer_names):
        if name.endswith("conv2"):
            mine = {int(r[2]) for r, w in zip(ours.neurons, ours.neuron_weights) if r[1] == k and w > 0}
            differing += mine != set(theirs.neuron_weights[k].tocoo().col.tolist())
    assert differing >= 1


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"theta": 0}, "theta"),
        ({"theta": 1.5}, "theta"),
        ({"kinds": ["neuron"]}, "kinds"),
        ({"models": ["resnet/seed0"]}, "models"),
    ],
)
def test_config_refuses_bad_profile_settings(override, key):
    from pathlib import Path

    from cnntopo.workflow.config import ConfigError, load_schema, validate_config

    schema = load_schema(Path(__file__).parents[1] / "workflow" / "schemas" / "config.schema.yaml")
    with pytest.raises(ConfigError, match=f"profile.*{key}"):
        validate_config({"profile": override}, schema)


def test_thumbnails_keep_small_images_and_shrink_photographs():
    import base64
    import io

    from PIL import Image

    from cnntopo.pages import png_data_uri, thumbnail_data_uri

    digit = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert thumbnail_data_uri(digit) == png_data_uri(digit)
    photo = np.random.default_rng(0).integers(0, 256, (224, 160, 3), dtype=np.uint8)
    uri = thumbnail_data_uri(photo)
    assert uri.startswith("data:image/jpeg;base64,")
    small = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert small.size == (46, 64)  # (width, height): the aspect kept, the longer side 64


def test_the_viewer_draws_a_graph_from_layer_counts_and_flat_edges():
    from cnntopo.profile.viewer import diagram_entry, graph_layout

    neurons = np.array([[2, 7], [0, 3], [1, 5], [0, 1]])  # (layer, neuron), unordered
    synapses = np.array([[0, 1, 1, 5], [0, 3, 1, 5], [1, 5, 2, 7]])  # (layer, neuron) -> (layer, neuron)
    # vertices by layer then neuron: (0,1)=0, (0,3)=1, (1,5)=2, (2,7)=3
    assert graph_layout(neurons, synapses) == {"layers": [[0, 2], [1, 1], [2, 1]], "e": [0, 2, 1, 2, 2, 3]}
    dgm = diagram_entry(np.array([[0, np.inf], [0, 1.23456]]), np.array([[0.5, 2.0 / 3]]))
    assert dgm == {"h0": [None, 1.23], "h1": [[0.5, 0.667]]}


def svd_viewer(tmp_path, classes: list[str], labels: list[int], predictions: list[int]):
    """A viewer page of one model's SVD profiles (no graphs), its rows labelled ``labels``."""
    from cnntopo.pages import png_data_uri
    from cnntopo.profile.viewer import viewer_html

    n = len(classes)
    model = {
        "classes": classes,
        "prediction_classes": classes,
        "outputs_are_classes": True,
        "labels": labels,
        "predictions": predictions,
        "index": list(range(len(labels))),
        "thumbnails": [png_data_uri(np.zeros((4, 4, 3), np.uint8))] * len(labels),
        "layers": 3,
        "kinds": {
            "svd": {
                "jaccard": (np.eye(n) * 0.5 + 0.5).tolist(),
                "rows": [{"image": i, "neurons": 2, "synapses": 0} for i in range(len(labels))],
            }
        },
    }
    page = tmp_path / "viewer.html"
    page.write_text(viewer_html({"kinds": ["svd"], "grid": {"shape": [2, 2]}, "models": {"m": model}}, "viewer"))
    return page


def test_a_class_folder_named_like_markup_is_shown_as_text_in_the_viewer(tmp_path):
    """A folder name is the user's: in every place the viewer writes it (menu, heading, "predicted") it is
    text, never markup that runs."""
    from browser import Browser, chromium_executable

    if chromium_executable() is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    name = 'c<img src=x onerror="document.title=42">'
    page = svd_viewer(tmp_path, [name, "dog"], [0, 1], [0, 0])
    with Browser(1000, 700) as browser:
        browser.open(page, "document.getElementById('count').textContent.length > 0")
        assert browser.evaluate("document.getElementById('count').textContent") == "2 images"
        assert browser.evaluate("document.title") == "viewer"  # no handler ran
        assert browser.evaluate("document.querySelectorAll('#rows img').length") == 2  # the thumbnails only
        shown = browser.evaluate("[...document.querySelectorAll('.numbers b')].map((b) => b.textContent)")
        assert shown == [name, name]
        assert browser.evaluate("document.querySelector('#class option[value=\"0\"]').textContent") == name
        assert browser.evaluate("document.querySelectorAll('.row.misclassified').length") == 1  # dog taken for c<img...


def test_the_viewer_of_thousands_of_rows_keeps_only_those_near_the_window(tmp_path):
    """3,000 rows of 100 classes: the document holds the rows near the window, scrolling builds the
    ones it reaches and drops the others, and the 100-class heatmap is drawn as an image."""
    from browser import Browser, chromium_executable

    if chromium_executable() is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    labels = np.repeat(np.arange(100), 30).tolist()
    page = svd_viewer(tmp_path, [f"class {c}" for c in range(100)], labels, labels)
    rows = "[...document.querySelectorAll('#rows .row')].map((r) => Number(r.dataset.image))"
    with Browser(1000, 700) as browser:
        browser.open(page, "document.getElementById('count').textContent.length > 0")
        assert browser.evaluate("document.getElementById('count').textContent") == "3000 images"
        first = browser.evaluate(rows)
        assert 0 in first and len(first) < 40
        browser.evaluate("window.scrollTo(0, document.getElementById('rows').offsetTop + 76 * 1500 + 40 * 50)")
        browser.wait(f"{rows}.includes(1500)")
        middle = browser.evaluate(rows)
        assert 0 not in middle and len(middle) < 40
        # One heading per class in the list; the heatmap's cells carry no labels at 100 classes, but colour.
        assert browser.evaluate("document.getElementById('rows').offsetHeight") == 3000 * 76 + 100 * 40
        pixel = browser.evaluate(
            "Array.from(document.querySelector('#summary canvas').getContext('2d').getImageData(150, 100, 1, 1).data)"
        )
        assert pixel[:3] != [255, 255, 255]
