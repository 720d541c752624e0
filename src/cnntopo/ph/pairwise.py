"""All-pairs distance matrices over lists of prepared representations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def pairwise_matrix(
    items_a: Sequence[Any], distance: Callable[[Any, Any], float], items_b: Sequence[Any] | None = None
) -> np.ndarray:
    """``(len(a), len(b))`` matrix of ``distance(a_i, b_j)``.

    Without ``items_b``: the symmetric ``(len(a), len(a))`` matrix of ``a`` against
    itself, zero diagonal, each pair computed once (the distance must be symmetric).
    """
    if items_b is None:
        n = len(items_a)
        out = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                out[i, j] = out[j, i] = distance(items_a[i], items_a[j])
        return out
    out = np.empty((len(items_a), len(items_b)))
    for i, a in enumerate(items_a):
        for j, b in enumerate(items_b):
            out[i, j] = distance(a, b)
    return out
