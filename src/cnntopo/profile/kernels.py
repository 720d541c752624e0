"""Compiled loops (numba) for contribution rules that torch has no fused operation for (docs: method).

The channel rule scores input channel g of a conv's target channel t by the largest value of the
single-channel convolution ``W[t, g] * x[g]`` over the output positions. torch can only write all
of those maps (a grouped convolution, c_in x targets x positions floats) and read them again; the
loop here keeps each output row in the cache and only its running maxima in memory.

The element rule multiplies a target's receptive field by its kernel and keeps the largest terms
(the cumulative rule). torch writes every term of a chunk of targets and runs ``topk`` on them; the
loop here makes one target's terms at a time and keeps the largest in a small sorted buffer.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Output rows of up to this width take the target loop (vectorised across an image's targets) for an image with
# at least 4 targets and at least the row's width divided by the row stride (a strided conv's row loop takes one row
# at a time); the row loop (along the output positions) takes the rest. Measured crossovers, 3x3 convs
# of 4 images: stride 1, rows of 7, 14 and 28 at 8, 16 and 32 targets an image; stride 2, rows of 7 and 14 at 4
# and 8. On rows of 56 the target loop was 10-20 % faster from 48 targets on resnet18's 64 channels, and slower
# at 69 on vgg11's 128 and 256; on rows of 112, slower at 56.
_TARGET_LOOP_WIDTH = 32
# Output positions the row loop computes at once (stride 1: several rows of a narrow plane; best of 128-1024).
_CHUNK_POSITIONS = 128


def output_size(conv: nn.Conv2d, h: int, w: int) -> tuple[int, int]:
    """Output rows and columns of ``conv`` on an h x w input."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = conv.kernel_size, conv.stride, conv.dilation, conv.padding
    return (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1


@functools.cache
def _channel_maxima_loop(taps: int):
    """The compiled loop for kernels of ``taps`` entries: a constant here, so the tap loop is unrolled and the
    loop inside it vectorised (a run-time tap count left it scalar, 3x slower)."""

    @numba.njit(cache=True, fastmath=True, boundscheck=False)
    def loop(
        planes, weight, image, neuron, offsets, row_step, chunk_rows, target_loop_from, out_h, out_w, out
    ):  # pragma: no cover
        c_in = weight.shape[1]
        # chunk_rows output rows at a time, with the columns between them that no output reads (stride 1):
        # a row of 28 or 56 would leave part of each vector idle; the final max skips those columns.
        length = (chunk_rows - 1) * row_step + out_w
        window = np.empty((taps, length), np.float32)
        fold = np.empty(out_w, np.float32)
        start = 0
        while start < len(image):
            end = start
            while end < len(image) and image[end] == image[start]:
                end += 1
            count = end - start
            for g in range(c_in):
                plane = planes[image[start], g]
                if count >= target_loop_from:
                    # the targets' weights side by side: each position's taps meet all targets at once
                    weights = np.empty((taps, count), np.float32)
                    for t in range(count):
                        for q in range(taps):
                            weights[q, t] = weight[neuron[start + t], g, q]
                    maxima = np.full(count, -np.inf, np.float32)
                    for i in range(out_h):
                        for j in range(out_w):
                            for q in range(taps):
                                window[q, 0] = plane[i * row_step + offsets[q] + j]
                            for t in range(count):
                                value = np.float32(0.0)
                                for q in range(taps):
                                    value += weights[q, t] * window[q, 0]
                                maxima[t] = value if value > maxima[t] else maxima[t]
                    for t in range(count):
                        out[start + t, g] = maxima[t]
                    continue
                chunk_maxima = np.full((count, length), -np.inf, np.float32)
                for i in range(0, out_h, chunk_rows):
                    span = (min(chunk_rows, out_h - i) - 1) * row_step + out_w
                    for q in range(taps):
                        source, copy = plane[i * row_step + offsets[q] :], window[q]
                        for j in range(span):  # a loop: numba's slice assignment cost twice the whole loop here
                            copy[j] = source[j]
                    for t in range(count):
                        w = weight[neuron[start + t], g]
                        maxima = chunk_maxima[t]
                        for j in range(span):
                            value = np.float32(0.0)
                            for q in range(taps):
                                value += w[q] * window[q, j]
                            # element-wise, not a running scalar max: LLVM vectorises this select, not the reduction
                            maxima[j] = value if value > maxima[j] else maxima[j]
                for t in range(count):
                    # the rows' maxima folded element-wise (vectorised), then one scalar max over a row: a scalar
                    # max over every row had cost more than the terms on 14-wide planes
                    maxima = chunk_maxima[t]
                    for j in range(out_w):
                        fold[j] = maxima[j]
                    for r in range(1, chunk_rows):
                        row = maxima[r * row_step :]
                        for j in range(out_w):
                            fold[j] = row[j] if row[j] > fold[j] else fold[j]
                    out[start + t, g] = fold.max()
            start = end

    return loop


def channel_maxima(x: torch.Tensor, conv: nn.Conv2d, image: torch.Tensor, neuron: torch.Tensor) -> torch.Tensor:
    """Scores (P, c_in): max over output positions of ``W[neuron[p], g] * x[image[p], g]`` for each input channel g.

    ``x`` (N, c_in, h, w) float32 on the CPU; ``image``, ``neuron`` (P,) int64. The same values as a
    grouped convolution per image followed by ``amax`` (equal to float rounding), without writing
    the c_in x P x positions floats; fastest when targets of one image are consecutive.
    """
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = conv.kernel_size, conv.stride, conv.dilation, conv.padding
    n, c_in, h, w = x.shape
    out_h, out_w = output_size(conv, h, w)
    # Padded and split by column phase (column q * sw + phase at [phase, q]): every tap reads a
    # contiguous run of a row for any stride.
    padded = F.pad(x, (pw, pw + (-(w + 2 * pw)) % sw, ph, ph))
    columns = padded.shape[3] // sw
    planes = padded.view(n, c_in, h + 2 * ph, columns, sw).transpose(3, 4).contiguous().view(n, c_in, -1)
    row = sw * columns
    offsets = np.array(
        [r * dh * row + (s * dw) % sw * columns + (s * dw) // sw for r in range(kh) for s in range(kw)], np.int64
    )
    out = np.empty((len(image), c_in), np.float32)
    _channel_maxima_loop(kh * kw)(
        planes.numpy(),
        conv.weight.detach().flatten(2).contiguous().numpy(),
        image.numpy(),
        neuron.numpy(),
        offsets,
        sh * row,
        max(1, _CHUNK_POSITIONS // row) if sh == 1 else 1,
        max(4, out_w // sh) if out_w <= _TARGET_LOOP_WIDTH else len(image) + 1,
        out_h,
        out_w,
        out,
    )
    return torch.from_numpy(out)


# The cumulative rule looks at the largest terms first: kept in a sorted buffer of this many while the
# terms stream by; a target whose cut falls beyond them sorts the terms above a bound.
_BUFFER = 16


@numba.njit(cache=True, fastmath=True, boundscheck=False)
def _field_terms(padded, weight, image, channel, top, left, dh, dw, terms, channel_maxima):  # pragma: no cover
    """Terms (kh kw c_in,) of one target, channels innermost, and each input channel's largest term, at least 0
    (c_in,); returns the terms' positive part's sum (fastmath: a vectorised sum, equal to float32 rounding)."""
    x = padded[image]
    w = weight[channel]
    kh, kw, c_in = w.shape
    total = np.float32(0.0)
    channel_maxima[:] = 0
    for r in range(kh):
        for s in range(kw):
            x_tap = x[top + r * dh, left + s * dw]
            w_tap = w[r, s]
            first = (r * kw + s) * c_in
            for c in range(c_in):
                value = x_tap[c] * w_tap[c]
                terms[first + c] = value
                total += value if value > 0 else np.float32(0.0)
                channel_maxima[c] = value if value > channel_maxima[c] else channel_maxima[c]
    return total


_SMALLEST = np.float32(np.nextafter(np.float32(0), np.float32(1)))


@numba.njit(cache=True, fastmath=True, boundscheck=False)
def _sum_at_least(terms, bound):  # pragma: no cover
    """The sum of the terms of at least ``bound`` (fastmath: vectorised, to float rounding)."""
    total = np.float32(0.0)
    for index in range(len(terms)):
        total += terms[index] if terms[index] >= bound else np.float32(0.0)
    return total


@numba.njit(cache=True, boundscheck=False)
def _cut(values, count, total, theta):  # pragma: no cover
    """The cumulative rule on the first ``count`` of ``values`` (sorted descending) out of ``total``: how many are
    kept, and their sum. Running sums in float64, compared in float32: torch's cumsum of float32 on a CPU does the
    same."""
    running, kept = 0.0, 0
    while kept < count and (kept == 0 or np.float32(running) / total <= theta):
        running += values[kept]
        kept += 1
    return running, kept


@numba.njit(cache=True, boundscheck=False)
def _fill_buffer(terms, channel_maxima, taps, floor, top_values, top_columns):  # pragma: no cover
    """The largest positive terms of at least ``floor`` (at most ``_BUFFER``) into the buffer, largest first, a
    tie by the rule's column (``c kh kw``-flat; terms are channels-last); returns how many. A channel whose largest
    term cannot enter is passed over whole: its taps are not looked at (the buffer's order does not depend on the
    order the terms come in)."""
    c_in = len(channel_maxima)
    held = 0
    entry = floor  # a term below this cannot enter: the floor, then the buffer's last
    for c in range(c_in):
        if channel_maxima[c] < entry or channel_maxima[c] <= 0:
            continue
        for tap in range(taps):
            value = terms[tap * c_in + c]
            if value < entry or value <= 0:
                continue
            column = c * taps + tap
            if held == _BUFFER and value == entry and column > top_columns[_BUFFER - 1]:
                continue
            k = held if held < _BUFFER else _BUFFER - 1
            while k > 0 and (top_values[k - 1] < value or (top_values[k - 1] == value and top_columns[k - 1] > column)):
                top_values[k] = top_values[k - 1]
                top_columns[k] = top_columns[k - 1]
                k -= 1
            top_values[k] = value
            top_columns[k] = column
            held = min(held + 1, _BUFFER)
            if held == _BUFFER:
                entry = top_values[_BUFFER - 1]
    return held


@numba.njit(cache=True, boundscheck=False)
def _element_terms(padded, weight, image, channel, position, geometry, theta):  # pragma: no cover
    """For each target: its kept terms' target index, input neuron and weight (see :func:`element_contributions`).

    ``padded`` (N, h, w, c_in) and ``weight`` (c_out, kh, kw, c_in) are channels-last, so that a tap's terms are
    one vectorised loop; ties are still broken by the rule's column order, ``c kh kw``-flat.
    """
    _, kh, kw, c_in = weight.shape
    out_w, sh, sw, dh, dw, ph, pw, h_in, w_in = geometry
    taps = kh * kw
    n = c_in * taps
    terms = np.empty(n, np.float32)
    channel_maxima = np.empty(c_in, np.float32)
    in_rule_order = np.empty(n, np.float32)
    candidates = np.empty(n, np.int64)
    top_values = np.empty(_BUFFER, np.float32)
    top_columns = np.empty(_BUFFER, np.int64)
    capacity = 8 * len(image) + 64
    rows = np.empty(capacity, np.int64)
    inputs = np.empty(capacity, np.int64)
    weights = np.empty(capacity, np.float32)
    found = 0
    last_entry = np.float32(0.0)
    for p in range(len(image)):
        top, left = (position[p] // out_w) * sh, (position[p] % out_w) * sw
        total32 = _field_terms(padded, weight, image[p], channel[p], top, left, dh, dw, terms, channel_maxima)
        if not total32 > 0:
            continue
        # The buffer's last term of the target before (the same channel, a position beside: alike terms) as a
        # floor: the terms below it are passed over, far fewer enter the buffer (whose insertions cost most of
        # the loop: resnet34, 1.24 to 0.64 s for 2 images). A floor above the cut is dropped and the terms
        # looked at again.
        floor = last_entry
        while True:
            held = _fill_buffer(terms, channel_maxima, taps, floor, top_values, top_columns)
            running, kept = _cut(top_values, held, total32, theta)
            if held == _BUFFER or np.float32(running) / total32 > theta or floor == 0:
                break
            floor = np.float32(0.0)
        entry = top_values[_BUFFER - 1]
        if held == _BUFFER:
            last_entry = entry
        values, columns = top_values, top_columns
        bound = entry
        while held == _BUFFER and np.float32(running) / total32 <= theta:
            # The cut lies beyond the buffer: sort the terms of at least half the bound (halved until their sum
            # passes the cut; all positive terms at last), in the rule's column order, stably by value.
            bound = bound / 2 if bound / 2 > _SMALLEST else _SMALLEST
            if bound > _SMALLEST and _sum_at_least(terms, bound) <= theta * total32 * 1.001:
                continue
            count = 0
            for index in range(n):
                if terms[index] >= bound:
                    candidates[count] = (index % c_in) * taps + index // c_in
                    count += 1
            columns = np.sort(candidates[:count])
            for k in range(count):
                column = columns[k]
                in_rule_order[k] = terms[(column % taps) * c_in + column // taps]
            order = np.argsort(-in_rule_order[:count], kind="mergesort")
            values, columns = in_rule_order[:count][order], columns[order]
            running, kept = _cut(values, count, total32, theta)
            if bound == _SMALLEST:
                break
        cumulative = np.float32(running)
        if found + kept > capacity:
            capacity = 2 * (found + kept)
            rows = np.concatenate((rows[:found], np.empty(capacity - found, np.int64)))
            inputs = np.concatenate((inputs[:found], np.empty(capacity - found, np.int64)))
            weights = np.concatenate((weights[:found], np.empty(capacity - found, np.float32)))
        for k in range(kept):
            column = columns[k]
            c, r, s = column // taps, (column // kw) % kh, column % kw
            i, j = top + r * dh - ph, left + s * dw - pw  # inside the image: a padding term is 0, never kept
            rows[found] = p
            inputs[found] = (c * h_in + i) * w_in + j
            weights[found] = values[k] / cumulative
            found += 1
    # copies: a view would keep the grown arrays' slack alive (vgg11 backward element, 909 against 800 MB an image)
    return rows[:found].copy(), inputs[:found].copy(), weights[:found].copy()


def element_contributions(
    x: torch.Tensor, conv: nn.Conv2d, image: torch.Tensor, neuron: torch.Tensor, theta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The element rule of a conv for targets ``(image, neuron)`` (P,): kept synapses as (row, input neuron, weight).

    A target is output neuron ``c h_out w_out``-flat ``neuron`` of ``x[image]`` (N, c_in, h, w, float32, CPU); its terms
    are ``x`` under its receptive field times its kernel, selected by the cumulative rule with ``theta``. Rows index
    the targets; input neurons are ``c h w``-flat in ``x``. The values of the torch path (equal to float rounding),
    in one pass that writes only what is kept.
    """
    (sh, sw), (dh, dw), (ph, pw) = conv.stride, conv.dilation, conv.padding
    n, c_in, h, w = x.shape
    out_h, out_w = output_size(conv, h, w)
    padded = F.pad(x, (pw, pw, ph, ph)).permute(0, 2, 3, 1).contiguous().numpy()
    geometry = (out_w, sh, sw, dh, dw, ph, pw, h, w)
    rows, inputs, weights = _element_terms(
        padded,
        conv.weight.detach().permute(0, 2, 3, 1).contiguous().numpy(),
        image.numpy(),
        (neuron // (out_h * out_w)).numpy(),
        (neuron % (out_h * out_w)).numpy(),
        geometry,
        np.float32(theta),
    )
    return torch.from_numpy(rows), torch.from_numpy(inputs), torch.from_numpy(weights)
