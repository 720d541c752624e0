"""The contribution rules of DeepDataProfiler (docs: method): influential neurons and contributing synapses
of one layer, batched over images.

Every selection is the cumulative rule: scores (clipped at 0) sorted descending, every one
whose cumulative share of the total is <= ``theta`` kept plus the next, weight = score / sum of
the kept scores. All (image, neuron) pairs of a layer are handled as one batch of rows, with no
Python loop over neurons: by torch in chunks of rows (per image where a conv's inputs are unfolded
or convolved), and for a conv's channel and element rules on a CPU by the compiled loops of
:mod:`cnntopo.profile.kernels`.

Neuron spaces of a layer whose tail is c x h x w: element ``c*h*w + i*w + j``, channel ``c``,
spatial ``i*w + j``; a vector layer (Linear) has its n outputs in every kind. SVD neurons are
the columns of U of each Conv2d/Linear weight (``d x c k^2 = U S V^T``); they have no synapses.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.profile import kernels
from cnntopo.profile.network import ProfileLayer, Recording, UnsupportedLayerError

# _largest cuts rows into blocks from this many floats on (measured: topk alone was faster on 40 x 256, slower on 80 x 512).
_BLOCKED_TOPK_FLOATS = 1 << 15
# Rows of pairs x input size above this many floats are processed in chunks (memory bound).
_CHUNK_FLOATS = 1 << 25
# The element and channel rules' terms on the torch path (CUDA, other dtypes), made and selected per
# chunk, stay near the cache below this many floats: element profiles of resnet34 ran 1.3x faster than
# in chunks of 2^25, which spend their time in page faults. The spatial rule's matrix products run
# faster on the larger chunks.
_TERM_FLOATS = 1 << 20


def cumulative_selection(scores: torch.Tensor, theta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The cumulative rule on each row of ``scores`` (R, n).

    Returns ``(row, column, weight)`` of the kept entries; a row with no positive score keeps
    nothing, and zero scores are never kept.
    """
    return _select_nonnegative(scores.clamp(min=0), theta)


def _select_nonnegative(values: torch.Tensor, theta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`cumulative_selection` of scores already clipped at 0."""
    n = values.shape[1]
    total = values.sum(dim=1, keepdim=True)
    # The rule keeps few entries of long rows: the top k sorted (topk) decide a row whenever its
    # cut falls inside them. topk's cost grows with k, so k starts small and only the rows it
    # does not decide are taken again with a larger k, the whole sort being the last resort.
    rows = None  # every row; then those left undecided
    k = min(n, 16)
    found = []
    while True:
        part, part_total = (values, total) if rows is None else (values[rows], total[rows])
        ordered, order = _largest(part, k) if k < n else torch.sort(part, dim=1, descending=True)
        cumulative = torch.cumsum(ordered, dim=1)
        kept = ((cumulative / part_total) <= theta).sum(dim=1) + 1
        mask = (torch.arange(k, device=values.device) < kept.unsqueeze(1)) & (ordered > 0)
        undecided = kept > k if k < n else None
        if undecided is not None:
            kept = kept.clamp(max=k)
            mask &= ~undecided.unsqueeze(1)
        normaliser = cumulative.gather(1, (kept - 1).unsqueeze(1))
        r, positions = mask.nonzero(as_tuple=True)
        weight = ordered[r, positions] / normaliser[r, 0]
        found.append((r if rows is None else rows[r], order[r, positions], weight))
        if undecided is None or not undecided.any():
            break
        rows = undecided.nonzero()[:, 0] if rows is None else rows[undecided]
        k = min(n, 4 * k)
    if len(found) == 1:  # nonzero is row-major: the rows come sorted
        return found[0]
    row, column, weight = (torch.cat(parts) for parts in zip(*found))
    by_row = torch.argsort(row, stable=True)
    return row[by_row], column[by_row], weight[by_row]


def _largest(values: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest entries of each row of ``values`` (R, n), sorted descending, and their columns.

    The values equal ``torch.topk``'s; among tied entries another column may be chosen. Each row
    is cut into b strided blocks (columns j, j + n/b, ...): the k blocks with the largest maxima
    hold the k largest entries, so topk runs on the n/b block maxima and on those blocks' b k
    entries rather than on all n, whose cost dominates the contribution terms of long rows.
    """
    rows, n = values.shape
    block = next((b for b in range(16, 1, -1) if n % b == 0 and n // b >= 4 * k), 1)
    # The blocks pay on a CPU core, above a few rows: their four operations cost more than topk on (40, 256). A GPU's
    # topk is parallel over the row.
    if block == 1 or values.is_cuda or rows * n < _BLOCKED_TOPK_FLOATS:
        return torch.topk(values, k, dim=1)
    width = n // block
    blocks = values.reshape(rows, block, width)
    _, best = torch.topk(blocks.amax(dim=1), k, dim=1)
    candidates = blocks.gather(2, best.unsqueeze(1).expand(rows, block, k)).reshape(rows, block * k)
    ordered, where = torch.topk(candidates, k, dim=1)
    return ordered, (where // k) * width + best.gather(1, where % k)


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
    if tail.dim() == 2:
        rows, cols, weights = cumulative_selection(_sign_agreeing(head, tail), theta)
        return Targets(rows, cols, weights)
    plane = tail[0, 0].numel()
    if kind == "spatial":
        # the 2-norm over channels as a sum of squares: vector_norm across the channel stride took twice as long
        scores = _sign_agreeing(head, tail).flatten(2).square().sum(dim=1).sqrt()
    elif kind == "channel" and channel_norm is not None:
        scores = torch.linalg.vector_norm(_sign_agreeing(head, tail).flatten(2), ord=channel_norm, dim=2)
    else:
        scores, where = _agreeing_maxima(head.flatten(2), tail.flatten(2))
    rows, cols, weights = cumulative_selection(scores, theta)
    if kind == "element":
        return Targets(rows, cols * plane + where[rows, cols], weights)
    return Targets(rows, cols, weights)


def _sign_agreeing(head: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
    """The tail, zeroed where its sign differs from the head's."""
    return torch.where((head > 0) == (tail > 0), tail, torch.zeros_like(tail))


def _agreeing_maxima(head: torch.Tensor, tail: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Max of the tail over positions where head and tail are both positive, and where it is, per row of (N, c, P).

    Equal, once clipped at 0 as the rule clips scores, to the max of the tail zeroed where its
    sign differs from the head's: only positive values of both count. A row whose tail max sits
    where the head is positive (every row after a ReLU that follows the conv directly) needs no
    mask: one pass over the tail, where masking every row cost four.
    """
    scores, where = _first_maxima(tail)
    redo = (head.gather(2, where.unsqueeze(2)).squeeze(2) <= 0) & (scores > 0)
    if redo.any():
        scores[redo], where[redo] = _sign_agreeing(head[redo], tail[redo]).max(dim=1)
    return scores, where


def _first_maxima(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``values.max(dim=2)`` of (N, c, P): each row's max and the first position that holds it.

    torch's max with indices does not vectorise on a CPU (18x slower than ``amax`` on resnet18's
    planes): long rows are cut into contiguous blocks, whose maxima (``amax``) locate the first
    block holding the max, and only that block is searched for its first position.
    """
    n, c, plane = values.shape
    block = next(b for b in range(64, 0, -1) if plane % b == 0)
    if plane < 1024 or block < 16 or values.is_cuda:
        return values.max(dim=2)
    blocks = values.view(n, c, plane // block, block)
    scores, which = blocks.amax(dim=3).max(dim=2)
    inside = blocks.gather(2, which[:, :, None, None].expand(n, c, 1, block)).squeeze(2).argmax(dim=2)
    return scores, which * block + inside


def _chunks(n_rows: int, row_floats: int, floats: int = _CHUNK_FLOATS):
    step = max(1, floats // max(1, row_floats))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def _select(terms: torch.Tensor, theta: float, offset: int = 0) -> tuple[torch.Tensor, ...]:
    """The cumulative rule on temporary ``terms`` (R, n), clipped in place; rows shifted by ``offset``."""
    rows, cols, weights = _select_nonnegative(terms.clamp_(min=0), theta)
    return rows + offset, cols, weights


def _by_image(image: torch.Tensor):
    """(image, rows) for every image among ``image`` (P,), the rows in their original order."""
    order = torch.argsort(image, stable=True)
    images, counts = torch.unique_consecutive(image[order], return_counts=True)
    return zip(images.tolist(), torch.split(order, counts.tolist()))


class _ReceptiveFields:
    """Receptive fields (P, c kh kw) of output positions under ``conv`` in images ``x`` (N, c, h, w).

    ``dense``: ``x`` is one image whose positions are mostly asked for: it is unfolded once and rows
    are gathered from it. Otherwise each field is gathered from the padded images by flat offsets,
    skipping the unfold of positions nobody asked for, for all images at once. (Indexing the padded
    image with a 4-d index per target, as before, moved the same floats at several times the cost.)
    """

    def __init__(self, x: torch.Tensor, conv: nn.Conv2d, dense: bool) -> None:
        (kh, kw), (sh, sw), (dh, dw), (ph, pw) = conv.kernel_size, conv.stride, conv.dilation, conv.padding
        c, h, w = x.shape[1:]
        self.out_width = kernels.output_size(conv, h, w)[1]
        self.unfolded = None
        if dense:
            self.unfolded = F.unfold(x, conv.kernel_size, conv.dilation, conv.padding, conv.stride)[0].T.contiguous()
            return
        self.padded = F.pad(x, (pw, pw, ph, ph)).flatten()
        hp, wp = h + 2 * ph, w + 2 * pw
        arange = functools.partial(torch.arange, device=x.device)
        self.kernel = (
            arange(c)[:, None, None] * (hp * wp) + arange(kh)[:, None] * (dh * wp) + arange(kw) * dw
        ).flatten()
        self.steps = (c * hp * wp, sh * wp, sw)

    def get(self, image: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """Fields of ``position`` (P,) in ``image`` (P,; an index into ``x``)."""
        if self.unfolded is not None:
            return self.unfolded[position]
        image_step, row_step, column_step = self.steps
        start = image * image_step + (position // self.out_width) * row_step + (position % self.out_width) * column_step
        return self.padded[start[:, None] + self.kernel]


def _input_pixel(conv: nn.Conv2d, position: torch.Tensor, r: torch.Tensor, s: torch.Tensor, out_width: int):
    """Input row and column (unpadded) under kernel entry (r, s) of output ``position``; all (P,)."""
    (sh, sw), (dh, dw), (ph, pw) = conv.stride, conv.dilation, conv.padding
    return (position // out_width) * sh + r * dh - ph, (position % out_width) * sw + s * dw - pw


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
    compiled = x.device.type == "cpu" and x.dtype == torch.float32  # the loops of cnntopo.profile.kernels
    if kind == "channel" and compiled:
        # max then clip (in _select): the same as clipping first (monotone), one pass fewer
        pieces.append(_select(kernels.channel_maxima(x, conv, targets.image, targets.neuron), theta))
    elif kind == "element" and compiled:
        pieces.append(kernels.element_contributions(x, conv, targets.image, targets.neuron, theta))
    elif kind == "channel":
        # One grouped conv per image: input channel g of the image meets every target channel's
        # kernel slice W[t, g] (output g * T + t). Replicating the input per target instead costs
        # a copy of c x h x w floats per target, more than the loop over images.
        kh, kw = conv.kernel_size
        for image, rows in _by_image(targets.image):
            for part in _chunks(len(rows), c_in * out_plane, _TERM_FLOATS):
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
                found, cols, w = _select(z.view(c_in, t, out_plane).amax(dim=2).T, theta)
                pieces.append((chosen[found], cols, w))
    else:
        kh, kw = conv.kernel_size
        flat_weight = weight.flatten(1)
        position = targets.neuron % out_plane if kind == "element" else targets.neuron
        row_floats = flat_weight.shape[1] * (2 if kind == "spatial" else 1)  # spatial: the fields and y W
        # Unfold each image where most positions are targets; else gather the fields of all images at once.
        dense = 4 * len(targets.image) >= len(x) * out_plane
        everything = torch.arange(len(targets.image), device=x.device)
        for image, image_rows in _by_image(targets.image) if dense else [(None, everything)]:
            fields = _ReceptiveFields(x if image is None else x[image : image + 1], conv, dense)
            for part in _chunks(len(image_rows), row_floats, _TERM_FLOATS if kind == "element" else _CHUNK_FLOATS):
                chosen = image_rows[part]
                patches = fields.get(targets.image[chosen], position[chosen])
                if kind == "element":
                    rows, cols, w = _select(patches * flat_weight[targets.neuron[chosen] // out_plane], theta)
                    c, r, s = cols // (kh * kw), (cols % (kh * kw)) // kw, cols % kw
                    ii, jj = _input_pixel(conv, position[chosen][rows], r, s, w_out)
                    inn = c * (h_in * w_in) + ii * w_in + jj
                else:
                    # sum_o v[o, ij] y[o] with v[o, ij] = sum_c W[o, c, ij] x[c, ij], as sum_c x[c, ij] (y W)[c, ij]:
                    # two matrix products with inner sizes c k^2 and c_out, not c_out k^2 products of inner size c
                    y = patches @ flat_weight.T
                    norm = torch.linalg.vector_norm(y, dim=1).clamp(min=torch.finfo(y.dtype).tiny)
                    terms = (patches * (y @ flat_weight)).view(-1, c_in, kh * kw).sum(dim=1) / norm[:, None]
                    rows, cols, w = _select(terms, theta)
                    ii, jj = _input_pixel(conv, position[chosen][rows], cols // kw, cols % kw, w_out)
                    inn = ii * w_in + jj
                valid = (ii >= 0) & (ii < h_in) & (jj >= 0) & (jj < w_in)
                pieces.append((chosen[rows[valid]], inn[valid], w[valid]))
    rows, inn, w = (torch.cat(parts) for parts in zip(*pieces))
    return Contributions(rows, torch.zeros_like(rows), inn, w)


def sum_by_pair(first: torch.Tensor, second: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Weights summed over duplicate (first, second) pairs, pairs sorted."""
    if len(first) == 0:
        return first, second, weights
    # One int64 key per pair: a 1-d unique is far faster than torch.unique(dim=0).
    span = int(second.max()) + 1
    unique, inverse = torch.unique(first * span + second, return_inverse=True)
    summed = weights.new_zeros(len(unique)).index_add_(0, inverse, weights)
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
    rows = torch.arange(len(targets.image), device=targets.image.device)
    inn = targets.neuron if inn is None else inn
    return Contributions(rows, torch.zeros_like(rows), inn, targets.weight.new_ones(len(rows)))


def _projection_terms(vectors: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """<v_p, y> / |y| for vectors (P, c, n) and outputs y (P, c): the spatial-kind term of each p."""
    norm = torch.linalg.vector_norm(y, dim=1).clamp(min=torch.finfo(y.dtype).tiny)
    return torch.einsum("pcn,pc->pn", vectors, y) / norm[:, None]


def _maxpool_contributions(layer, x, head, targets: Targets, kind: str, theta: float):
    if kind == "channel":
        return _identity_contributions(targets)
    plane_in = _plane(x.shape)
    if kind == "element":
        # Pooled again only on the planes that hold targets (a few channels of each image, layerwise).
        out_plane = _plane(head.shape)
        channel, position = targets.neuron // out_plane, targets.neuron % out_plane
        planes, plane = torch.unique(targets.image * x.shape[1] + channel, return_inverse=True)
        _, where = _apply_pool(layer, x.flatten(0, 1)[planes].unsqueeze(1), return_indices=True)
        return _identity_contributions(targets, channel * plane_in + where.flatten(1)[plane, position])
    _, where = _apply_pool(layer, x, return_indices=True)
    y = head.flatten(2)[targets.image, :, targets.neuron]
    # A target's c channels reach at most c input positions: its terms are one column per distinct position,
    # in ascending order as in a dense row of the plane (which cost P x plane floats: resnet18's max pool,
    # 1,109 targets, 56 MB and 0.27 forward passes)
    reached = where.flatten(2)[targets.image, :, targets.neuron]  # (P, c) input positions
    order = torch.argsort(reached, dim=1, stable=True)
    positions, squares = reached.gather(1, order), (y * y).gather(1, order)
    column = torch.cumsum(torch.cat([torch.ones_like(positions[:, :1]), positions.diff(dim=1).ne(0).long()], 1), 1) - 1
    terms = torch.zeros_like(squares).scatter_add_(1, column, squares)
    terms = terms / torch.linalg.vector_norm(y, dim=1).clamp(min=torch.finfo(y.dtype).tiny)[:, None]
    rows, cols, w = _select(terms, theta)
    inn = torch.zeros_like(positions).scatter_(1, column, positions)[rows, cols]
    return Contributions(rows, torch.zeros_like(rows), inn, w)


def _avgpool_contributions(layer, x, head, targets: Targets, kind: str, theta: float):
    if kind == "channel":
        return _identity_contributions(targets)
    c, h, w = x.shape[1:]
    if h * w > 4096:
        raise UnsupportedLayerError(
            f"average pool {layer.name!r} on {h}x{w} planes: too large for the dense pool matrix"
        )
    # Pooling is linear: pooling the basis of one plane gives each output's share of each input.
    basis = torch.eye(h * w, dtype=x.dtype, device=x.device).view(h * w, 1, h, w)
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
    rows = torch.arange(len(targets.image), device=keep.device)[keep]
    return Contributions(rows, torch.zeros_like(rows), inn[keep], targets.weight.new_ones(len(rows)))


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
    rows = torch.arange(len(targets.image), device=winner.device)
    return Contributions(rows, winner, targets.neuron, targets.weight.new_ones(len(rows)))


def contributions(layer: ProfileLayer, record: Recording, targets: Targets, kind: str, theta: float) -> Contributions:
    """Contributing synapses of ``targets`` of ``layer`` to the neurons of its input layers."""
    if len(targets.image) == 0:
        nothing = targets.image.new_zeros(0)
        return Contributions(nothing, nothing, nothing, targets.weight.new_zeros(0))
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
    """U (d, r) of the unfolded weight ``W`` (d x c k^2) of a Conv2d or Linear, columns by descending singular value.

    For a wide W (d <= c k^2) U is taken from the eigenvectors of ``W W^T`` (d x d) in float64:
    on vgg11 it gives the SVD's neurons and weights exactly, about five times faster than a float64
    SVD (float32 would move profile weights by up to 0.25%). A column's sign is free: only
    ``|U^T y|`` is used.
    """
    weight = module.weight.detach().flatten(1).double()
    if weight.shape[0] <= weight.shape[1]:
        _, vectors = torch.linalg.eigh(weight @ weight.T)
        u = vectors.flip(1)
    else:
        u, _, _ = torch.linalg.svd(weight, full_matrices=False)
    return u.to(module.weight.dtype)
