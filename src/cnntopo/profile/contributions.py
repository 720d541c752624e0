"""The contribution rules of DeepDataProfiler (docs: method): influential neurons and contributing synapses
of one layer, batched over images.

Every selection is the cumulative rule: scores (clipped at 0) sorted descending, every one
whose cumulative share of the total is <= ``theta`` kept plus the next, weight = score / sum of
the kept scores. All (image, neuron) pairs of a layer are handled as one batch of rows: there
is no Python loop over neurons or images.

Neuron spaces of a layer whose tail is c x h x w: element ``c*h*w + i*w + j``, channel ``c``,
spatial ``i*w + j``; a vector layer (Linear) has its n outputs in every kind. SVD neurons are
the columns of U of each Conv2d/Linear weight (``d x c k^2 = U S V^T``); they have no synapses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.profile.network import ProfileLayer, Recording, UnsupportedLayerError

# Rows of pairs x input size above this many floats are processed in chunks (memory bound).
_CHUNK_FLOATS = 1 << 25


def cumulative_selection(scores: torch.Tensor, theta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The cumulative rule on each row of ``scores`` (R, n).

    Returns ``(row, column, weight)`` of the kept entries; a row with no positive score keeps
    nothing, and zero scores are never kept.
    """
    values = scores.clamp(min=0)
    n = values.shape[1]
    total = values.sum(dim=1, keepdim=True)
    # The rule keeps few entries of long rows: the top k sorted (topk) decide it whenever every
    # row's cut falls inside them; k grows until it does, the whole sort being the last resort.
    k = min(n, 32)
    while True:
        ordered, order = torch.topk(values, k, dim=1) if k < n else torch.sort(values, dim=1, descending=True)
        cumulative = torch.cumsum(ordered, dim=1)
        kept = ((cumulative / total) <= theta).sum(dim=1) + 1
        if k == n or bool((kept <= k).all()):
            break
        k = min(n, 8 * k)
    kept = kept.clamp(max=k)
    normaliser = cumulative.gather(1, (kept - 1).unsqueeze(1))
    mask = (torch.arange(k, device=values.device) < kept.unsqueeze(1)) & (ordered > 0)
    rows, positions = mask.nonzero(as_tuple=True)
    return rows, order[rows, positions], (ordered / normaliser)[rows, positions]


@dataclass
class Targets:
    """Neurons of one layer to find contributors for: image, neuron index and weight (P,)."""

    image: torch.Tensor
    neuron: torch.Tensor
    weight: torch.Tensor


@dataclass
class Contributions:
    """Synapses from targets to an input layer: target row, input slot, input neuron, weight."""

    row: torch.Tensor
    slot: torch.Tensor
    inn: torch.Tensor
    weight: torch.Tensor


def _plane(shape: torch.Size) -> int:
    return int(np.prod(shape[2:])) if len(shape) > 2 else 1


def influential_neurons(
    head: torch.Tensor, tail: torch.Tensor, kind: str, theta: float, channel_norm: float | None = None
) -> Targets:
    """Influential neurons of one layer for every image (docs/method.md, Influential neurons).

    ``head``, ``tail``: (N, c, h, w) or (N, n). The tail is zeroed where its sign differs from
    the head's; element and channel score each channel by its max (channel: optionally the
    ``channel_norm``-norm), spatial each position by the 2-norm over channels.
    """
    t = torch.where((head > 0) == (tail > 0), tail, torch.zeros_like(tail))
    if t.dim() == 2:
        rows, cols, weights = cumulative_selection(t, theta)
        return Targets(rows, cols, weights)
    flat = t.flatten(2)
    plane = flat.shape[2]
    if kind == "spatial":
        rows, cols, weights = cumulative_selection(torch.linalg.vector_norm(flat, dim=1), theta)
        return Targets(rows, cols, weights)
    if kind == "channel" and channel_norm is not None:
        scores = torch.linalg.vector_norm(flat, ord=channel_norm, dim=2)
    else:
        scores, where = flat.max(dim=2)
    rows, cols, weights = cumulative_selection(scores, theta)
    if kind == "element":
        return Targets(rows, cols * plane + where[rows, cols], weights)
    return Targets(rows, cols, weights)


def _chunks(n_rows: int, row_floats: int):
    step = max(1, _CHUNK_FLOATS // max(1, row_floats))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def _select(terms: torch.Tensor, theta: float, offset: int = 0) -> tuple[torch.Tensor, ...]:
    rows, cols, weights = cumulative_selection(terms, theta)
    return rows + offset, cols, weights


def _conv_patches(x: torch.Tensor, conv: nn.Conv2d, image: torch.Tensor, position: torch.Tensor, out_width: int):
    """Receptive fields (P, c, kh, kw) of output positions, and their input rows/columns (P, kh), (P, kw)."""
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.stride, conv.dilation
    ph, pw = conv.padding
    padded = F.pad(x, (pw, pw, ph, ph))
    i, j = position // out_width, position % out_width
    rows = i.unsqueeze(1) * sh + torch.arange(kh, device=x.device) * dh
    cols = j.unsqueeze(1) * sw + torch.arange(kw, device=x.device) * dw
    patches = padded[
        image[:, None, None, None],
        torch.arange(x.shape[1])[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]
    return patches, rows - ph, cols - pw


def _conv_contributions(
    x: torch.Tensor, head: torch.Tensor, conv: nn.Conv2d, targets: Targets, kind: str, theta: float
):
    if isinstance(conv.padding, str) or conv.groups != 1:
        raise UnsupportedLayerError(f"Conv2d with padding={conv.padding!r}, groups={conv.groups} has no profiling rule")
    weight = conv.weight
    c_in, h_in, w_in = x.shape[1:]
    h_out, w_out = head.shape[2:]
    out_plane = h_out * w_out
    pieces = []
    if kind == "channel":
        # One grouped conv per image: input channel g of the image meets every target channel's
        # kernel slice W[t, g] (output g * T + t). Replicating the input per target instead costs
        # a copy of c x h x w floats per target, more than the loop over images.
        kh, kw = conv.kernel_size
        order = torch.argsort(targets.image, stable=True)
        images, counts = torch.unique_consecutive(targets.image[order], return_counts=True)
        for image, rows in zip(images.tolist(), torch.split(order, counts.tolist())):
            for part in _chunks(len(rows), c_in * out_plane):
                chosen = rows[part]
                t = len(chosen)
                z = F.conv2d(
                    x[image : image + 1],
                    weight[targets.neuron[chosen]].transpose(0, 1).reshape(c_in * t, 1, kh, kw),
                    stride=conv.stride,
                    padding=conv.padding,
                    dilation=conv.dilation,
                    groups=c_in,
                )
                # max then clip: the same as clipping first (monotone), one pass fewer
                terms = z.view(c_in, t, out_plane).amax(dim=2).clamp(min=0).T
                found, cols, w = _select(terms, theta)
                pieces.append((chosen[found], cols, w))
    else:
        position = targets.neuron % out_plane if kind == "element" else targets.neuron
        for part in _chunks(len(targets.image), weight[0].numel() * (weight.shape[0] if kind == "spatial" else 1)):
            patches, rows_in, cols_in = _conv_patches(x, conv, targets.image[part], position[part], w_out)
            kh, kw = patches.shape[2:]
            if kind == "element":
                channel = targets.neuron[part] // out_plane
                terms = (patches * weight[channel]).flatten(1)
                rows, cols, w = _select(terms, theta)
                c, r, s = cols // (kh * kw), (cols % (kh * kw)) // kw, cols % kw
                ii, jj = rows_in[rows, r], cols_in[rows, s]
                inn = c * (h_in * w_in) + ii * w_in + jj
            else:
                v = torch.einsum("pcij,ocij->poij", patches, weight)
                y = v.sum(dim=(2, 3))
                norm = torch.linalg.vector_norm(y, dim=1).clamp(min=torch.finfo(y.dtype).tiny)
                terms = (torch.einsum("poij,po->pij", v, y) / norm[:, None, None]).flatten(1)
                rows, cols, w = _select(terms, theta)
                ii, jj = rows_in[rows, cols // kw], cols_in[rows, cols % kw]
                inn = ii * w_in + jj
            valid = (ii >= 0) & (ii < h_in) & (jj >= 0) & (jj < w_in)
            pieces.append((rows[valid] + part.start, inn[valid], w[valid]))
    rows, inn, w = (torch.cat(parts) for parts in zip(*pieces))
    return Contributions(rows, torch.zeros_like(rows), inn, w)


def sum_by_pair(first: torch.Tensor, second: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Weights summed over duplicate (first, second) pairs, pairs sorted."""
    if len(first) == 0:
        return first, second, weights
    # One int64 key per pair: a 1-d unique is far faster than torch.unique(dim=0).
    span = int(second.max()) + 1
    unique, inverse = torch.unique(first * span + second, return_inverse=True)
    summed = torch.zeros(len(unique), dtype=weights.dtype).index_add_(0, inverse, weights)
    return unique // span, unique % span, summed


def _linear_contributions(x: torch.Tensor, linear: nn.Linear, targets: Targets, kind: str, theta: float):
    flat = x.flatten(1)
    pieces = []
    for part in _chunks(len(targets.image), flat.shape[1]):
        terms = flat[targets.image[part]] * linear.weight[targets.neuron[part]]
        pieces.append(_select(terms, theta, part.start))
    rows, cols, w = (torch.cat(parts) for parts in zip(*pieces))
    if x.dim() == 4 and kind in ("channel", "spatial"):
        plane = _plane(x.shape)
        cols = cols // plane if kind == "channel" else cols % plane
        rows, cols, w = sum_by_pair(rows, cols, w)
    return Contributions(rows, torch.zeros_like(rows), cols, w)


def _apply_pool(layer: ProfileLayer, x: torch.Tensor, **extra) -> torch.Tensor:
    module = layer.module
    if isinstance(module, nn.MaxPool2d):
        return F.max_pool2d(
            x, module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode, **extra
        )
    if module is not None:
        return module(x)
    return layer.call.target(x, *layer.call.args[1:], **layer.call.kwargs, **extra)


def _identity_contributions(targets: Targets, inn: torch.Tensor | None = None) -> Contributions:
    rows = torch.arange(len(targets.image))
    inn = targets.neuron if inn is None else inn
    return Contributions(rows, torch.zeros_like(rows), inn, torch.ones(len(rows)))


def _projection_terms(vectors: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """<v_p, y> / |y| for vectors (P, c, n) and outputs y (P, c): the spatial-kind term of each p."""
    norm = torch.linalg.vector_norm(y, dim=1).clamp(min=torch.finfo(y.dtype).tiny)
    return torch.einsum("pcn,pc->pn", vectors, y) / norm[:, None]


def _maxpool_contributions(layer, x, head, targets: Targets, kind: str, theta: float):
    if kind == "channel":
        return _identity_contributions(targets)
    _, where = _apply_pool(layer, x, return_indices=True)
    plane_in = _plane(x.shape)
    where = where.flatten(2)
    if kind == "element":
        out_plane = _plane(head.shape)
        channel, position = targets.neuron // out_plane, targets.neuron % out_plane
        return _identity_contributions(targets, channel * plane_in + where[targets.image, channel, position])
    y = head.flatten(2)[targets.image, :, targets.neuron]
    terms = torch.zeros(len(targets.image), plane_in).scatter_add_(1, where[targets.image, :, targets.neuron], y * y)
    terms = terms / torch.linalg.vector_norm(y, dim=1).clamp(min=torch.finfo(y.dtype).tiny)[:, None]
    rows, cols, w = _select(terms, theta)
    return Contributions(rows, torch.zeros_like(rows), cols, w)


def _avgpool_contributions(layer, x, head, targets: Targets, kind: str, theta: float):
    if kind == "channel":
        return _identity_contributions(targets)
    c, h, w = x.shape[1:]
    if h * w > 4096:
        raise UnsupportedLayerError(
            f"average pool {layer.name!r} on {h}x{w} planes: too large for the dense pool matrix"
        )
    # Pooling is linear: pooling the basis of one plane gives each output's share of each input.
    basis = torch.eye(h * w, dtype=x.dtype).view(h * w, 1, h, w)
    share = _apply_pool(layer, basis).flatten(1)  # (h*w inputs, outputs)
    out_plane = share.shape[1]
    if kind == "element":
        channel, position = targets.neuron // out_plane, targets.neuron % out_plane
        terms = x.flatten(2)[targets.image, channel] * share[:, position].T
        rows, cols, weights = _select(terms, theta)
        return Contributions(rows, torch.zeros_like(rows), channel[rows] * (h * w) + cols, weights)
    y = head.flatten(2)[targets.image, :, targets.neuron]
    vectors = x.flatten(2)[targets.image] * share[:, targets.neuron].T.unsqueeze(1)
    rows, cols, weights = _select(_projection_terms(vectors, y), theta)
    return Contributions(rows, torch.zeros_like(rows), cols, weights)


def _shortcut_contributions(layer, x, head, targets: Targets, kind: str):
    """Option-A shortcut: output (c, i, j) is input (c - front, s i, s j), or a zero channel."""
    stride, front = layer.module.stride, layer.module.extra // 2
    c_in, h_in, w_in = x.shape[1:]
    out_plane, w_out = _plane(head.shape), head.shape[3]
    channel = targets.neuron if kind == "channel" else targets.neuron // out_plane
    position = targets.neuron if kind == "spatial" else targets.neuron % out_plane
    source = (position // w_out) * stride * w_in + (position % w_out) * stride
    keep = (
        (channel - front >= 0) & (channel - front < c_in) if kind != "spatial" else torch.ones_like(channel, dtype=bool)
    )
    inn = {"element": (channel - front) * (h_in * w_in) + source, "channel": channel - front, "spatial": source}[kind]
    rows = torch.arange(len(targets.image))[keep]
    return Contributions(rows, torch.zeros_like(rows), inn[keep], torch.ones(len(rows)))


def _add_contributions(xs: list[torch.Tensor], head: torch.Tensor, targets: Targets, kind: str):
    """The larger branch, weight 1 (ties to the later input, as upstream)."""
    if head.dim() == 2 or kind == "element":
        values = torch.stack([x.flatten(1)[targets.image, targets.neuron] for x in xs])
    elif kind == "channel":
        values = torch.stack([x.flatten(2).amax(dim=2)[targets.image, targets.neuron] for x in xs])
    else:
        y = head.flatten(2)[targets.image, :, targets.neuron]
        values = torch.stack(
            [_projection_terms(x.flatten(2)[targets.image, :, targets.neuron].unsqueeze(2), y)[:, 0] for x in xs]
        )
    winner = len(xs) - 1 - torch.flip(values, dims=[0]).argmax(dim=0)
    rows = torch.arange(len(targets.image))
    return Contributions(rows, winner, targets.neuron, torch.ones(len(rows)))


def contributions(layer: ProfileLayer, record: Recording, targets: Targets, kind: str, theta: float) -> Contributions:
    """Contributing synapses of ``targets`` of ``layer`` to the neurons of its input layers."""
    if len(targets.image) == 0:
        nothing = torch.zeros(0, dtype=torch.long)
        return Contributions(nothing, nothing, nothing, torch.zeros(0))
    xs = [record.tails[i] for i in layer.inputs]
    head = record.heads[layer.index]
    if layer.op == "conv":
        return _conv_contributions(xs[0], head, layer.module, targets, kind, theta)
    if layer.op == "linear":
        return _linear_contributions(xs[0], layer.module, targets, kind, theta)
    if layer.op == "maxpool":
        return _maxpool_contributions(layer, xs[0], head, targets, kind, theta)
    if layer.op == "avgpool":
        return _avgpool_contributions(layer, xs[0], head, targets, kind, theta)
    if layer.op == "shortcut":
        return _shortcut_contributions(layer, xs[0], head, targets, kind)
    if layer.op == "add":
        return _add_contributions(xs, head, targets, kind)
    raise UnsupportedLayerError(f"layer {layer.name!r} ({layer.op}) has no contribution rule")


def svd_neurons(layer: ProfileLayer, head: torch.Tensor, theta: float, basis: torch.Tensor) -> Targets:
    """Influential SVD neurons: |U^T (y - b)| summed over positions, by the cumulative rule."""
    y = head.flatten(2) if head.dim() > 2 else head.unsqueeze(2)
    if layer.module.bias is not None:
        y = y - layer.module.bias[None, :, None]
    signal = torch.einsum("dr,ndp->nrp", basis, y).abs().sum(2)
    rows, cols, weights = cumulative_selection(signal, theta)
    return Targets(rows, cols, weights)


def svd_basis(module: nn.Module) -> torch.Tensor:
    """U (d, r) of the unfolded weight ``d x c k^2`` of a Conv2d or Linear."""
    u, _, _ = torch.linalg.svd(module.weight.detach().flatten(1).double(), full_matrices=False)
    return u.to(module.weight.dtype)
