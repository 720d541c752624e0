"""Compiled loops (numba) for contribution rules that torch has no fused operation for (docs: method).

The channel rule scores input channel g of a conv's target channel t by the largest value of the
single-channel convolution ``W[t, g] * x[g]`` over the output positions. torch can only write all
of those maps (a grouped convolution, c_in x targets x positions floats) and read them again; the
loop here keeps each output row in the cache and only its running maxima in memory.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Narrower outputs are vectorised over a row's targets, wider ones over the row's positions (the faster of the
# two on vgg and resnet layers: 14-wide rows fill one AVX-512 vector, 7-wide ones half).
_ROW_LOOP_WIDTH = 32


@functools.cache
def _channel_maxima_loop(taps: int):
    """The compiled loop for kernels of ``taps`` entries: a constant here, so the tap loop is unrolled and the
    loop inside it vectorised (a run-time tap count left it scalar, 3x slower)."""

    @numba.njit(cache=True, fastmath=True, boundscheck=False)
    def loop(planes, weight, image, neuron, offsets, row_step, out_h, out_w, out):  # pragma: no cover
        c_in = weight.shape[1]
        window = np.empty((taps, out_w), np.float32)
        start = 0
        while start < len(image):
            end = start
            while end < len(image) and image[end] == image[start]:
                end += 1
            count = end - start
            for g in range(c_in):
                plane = planes[image[start], g]
                if out_w < _ROW_LOOP_WIDTH:
                    # the targets' weights side by side: each position's taps meet all targets at once
                    weights = np.empty((taps, count), np.float32)
                    for t in range(count):
                        weights[:, t] = weight[neuron[start + t], g]
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
                    out[start:end, g] = maxima
                    continue
                row_maxima = np.full((count, out_w), -np.inf, np.float32)
                for i in range(out_h):
                    for q in range(taps):
                        first = i * row_step + offsets[q]
                        window[q] = plane[first : first + out_w]
                    for t in range(count):
                        w = weight[neuron[start + t], g]
                        maxima = row_maxima[t]
                        for j in range(out_w):
                            value = np.float32(0.0)
                            for q in range(taps):
                                value += w[q] * window[q, j]
                            # element-wise, not a running scalar max: LLVM vectorises this select, not the reduction
                            maxima[j] = value if value > maxima[j] else maxima[j]
                for t in range(count):
                    out[start + t, g] = row_maxima[t].max()
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
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
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
        out_h,
        out_w,
        out,
    )
    return torch.from_numpy(out)
