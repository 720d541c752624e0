"""Point-cloud summaries of activation tensors: one c-vector per image chosen from its n x m positions."""

from __future__ import annotations

import torch


def top_l2_sample(activations: torch.Tensor) -> torch.Tensor:
    """Top-l2 sampling with p = 1 (SPEC, branch 1).

    ``activations``: ``(n, c, h, w)`` for n images. For each image, returns the
    c-vector at the spatial position of largest l2 norm: ``(n, c)``. Ties go to
    the first position in row-major order.
    """
    if activations.ndim != 4:
        raise ValueError(f"expected (n, c, h, w) activations, got shape {tuple(activations.shape)}")
    n, c, h, w = activations.shape
    flat = activations.reshape(n, c, h * w)
    position = flat.float().pow(2).sum(dim=1).argmax(dim=1)  # (n,)
    return flat.gather(2, position.view(n, 1, 1).expand(n, c, 1)).squeeze(2)
