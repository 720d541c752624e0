"""Synthetic point clouds shaped like the paper's: N = 1000 top-l2 vectors of the 17 layers' widths.

Real activation clouds lie near low-dimensional sets; these are a rectified random
6-dimensional latent mapped into c dimensions plus noise, which gives H1 diagrams
of about 1000 points, as large as real ones at N = 1000 or larger (so timings are
conservative).
"""

from __future__ import annotations

import numpy as np

PAPER_WIDTHS = [64] * 5 + [128] * 4 + [256] * 4 + [512] * 4


def paper_scale_clouds(n_points: int = 1000, seed: int = 0, widths: list[int] = PAPER_WIDTHS) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    clouds = []
    for c in widths:
        latent = rng.standard_normal((n_points, 6))
        clouds.append(np.maximum(latent @ rng.standard_normal((6, c)), 0) + 0.3 * rng.standard_normal((n_points, c)))
    return clouds
