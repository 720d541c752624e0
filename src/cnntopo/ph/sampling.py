"""Point-cloud representations of activation tensors: one c-vector per image of its n x m positions.

Three representations (``REPRESENTATIONS``) of a layer's ``(n, c, h, w)`` activations:

- ``top_l2`` (p = 1; docs/method.md, Activations and top-l2 sampling): the c-vector at the position of largest l2 norm;
  each model chooses its own position per image;
- ``mean_pool``: the channel means over all positions; no position is chosen, so two
  models' clouds describe the same image region by construction;
- ``shared_position``: the c-vector at the position that the position-reference model's
  top-l2 chose for that image and layer; every model's row k is then the same patch.

The functions take torch tensors but need no torch import of their own, so the table
of representations can be read where torch is not loaded (the workflow's parse).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

REPRESENTATIONS = ("top_l2", "mean_pool", "shared_position")


def _flat(activations: torch.Tensor) -> torch.Tensor:
    if activations.ndim != 4:
        raise ValueError(f"expected (n, c, h, w) activations, got shape {tuple(activations.shape)}")
    n, c, h, w = activations.shape
    return activations.reshape(n, c, h * w)


def top_l2_positions(activations: torch.Tensor) -> torch.Tensor:
    """``(n,)`` row-major index of each image's position of largest l2 norm (ties: the first)."""
    return _flat(activations).float().pow(2).sum(dim=1).argmax(dim=1)


def at_positions(activations: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """``(n, c)``: the c-vector of image i at row-major position ``positions[i]``."""
    flat = _flat(activations)
    n, c, _ = flat.shape
    return flat.gather(2, positions.view(n, 1, 1).expand(n, c, 1)).squeeze(2)


def top_l2_sample(activations: torch.Tensor) -> torch.Tensor:
    """Top-l2 sampling with p = 1 (docs/method.md, Activations and top-l2 sampling): ``(n, c, h, w)`` -> ``(n, c)``."""
    return at_positions(activations, top_l2_positions(activations))


def mean_pool(activations: torch.Tensor) -> torch.Tensor:
    """``(n, c)``: each image's channel means over its h x w positions."""
    return _flat(activations).mean(dim=2)
