"""Representation-dissimilarity metrics between two point clouds of the same N inputs.

Each metric turns a layer's ``(N, c)`` cloud into a representation once
(``prepare``) and compares two representations (``distance``), so the
within-model, cross-model and sensitivity computations share one code path:

- ``sw``: sliced-Wasserstein distance between persistence diagrams (the paper);
  the representation is the projected diagram of the chosen homology dimension.
- ``cka``: 1 - linear CKA (Kornblith et al. 2019) of the column-centred clouds.
- ``procrustes``: orthogonal Procrustes distance of Ding, Denain & Steinhardt
  (2021): clouds centred and scaled to unit Frobenius norm,
  ``d = 2 - 2 ||X^T Y||_*`` (nuclear norm), in [0, 2].

CKA and Procrustes need the rows of both clouds to be the same inputs, which the
activation stores guarantee (row k is image k in every layer and model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cnntopo.ph.persistence import persistence_diagrams
from cnntopo.ph.sliced_wasserstein import ProjectedDiagram, directions, project, projected_distance


def centred(cloud: np.ndarray) -> np.ndarray:
    """float64 copy of an ``(N, c)`` cloud with every column's mean removed."""
    cloud = np.asarray(cloud, dtype=np.float64)
    return cloud - cloud.mean(axis=0, keepdims=True)


def linear_cka_distance(x: np.ndarray, y: np.ndarray) -> float:
    """``1 - ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)`` of the centred clouds ``(N, c1)``, ``(N, c2)``.

    0 for clouds equal up to an orthogonal transform and isotropic scaling; 1 when
    one cloud is constant (no variance to align).
    """
    return _cka_from_centred(centred(x), centred(y))


def _cka_from_centred(x: np.ndarray, y: np.ndarray) -> float:
    norms = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    if norms == 0:
        return 1.0
    return float(1.0 - np.linalg.norm(y.T @ x) ** 2 / norms)


def unit_frobenius(x: np.ndarray) -> np.ndarray:
    """Centred cloud scaled to unit Frobenius norm (a constant cloud stays zero)."""
    x = centred(x)
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else x


def procrustes_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Orthogonal Procrustes distance ``2 - 2 ||X^T Y||_*`` of the centred, unit-norm clouds."""
    return _procrustes_from_normalised(unit_frobenius(x), unit_frobenius(y))


def _procrustes_from_normalised(x: np.ndarray, y: np.ndarray) -> float:
    nuclear = np.linalg.svd(x.T @ y, compute_uv=False).sum()
    return float(max(2.0 - 2.0 * nuclear, 0.0))


@dataclass(frozen=True)
class Metric:
    """A dissimilarity between layers: ``distance(prepare(cloud_a), prepare(cloud_b))``.

    For SW, ``prepare_diagram`` builds the representation from an already computed
    diagram of dimension ``diagram_dim``, so stored PH is not recomputed.
    """

    name: str
    label: str  # for axes and captions
    prepare: Callable[[np.ndarray], Any]
    distance: Callable[[Any, Any], float]
    prepare_diagram: Callable[[np.ndarray], Any] | None = None
    diagram_dim: int | None = None


def sw_metric(directions_m: int = 50, homology_dim: int = 1, maxdim: int = 1, backend: str = "giotto") -> Metric:
    lines = directions(directions_m)

    def prepare_diagram(diagram: np.ndarray) -> ProjectedDiagram:
        return project(diagram, lines)

    def prepare(cloud: np.ndarray) -> ProjectedDiagram:
        return prepare_diagram(persistence_diagrams(cloud, maxdim, backend)[homology_dim])

    label = f"{METRICS['sw'].label}, H{homology_dim}"
    return Metric("sw", label, prepare, projected_distance, prepare_diagram, homology_dim)


@dataclass(frozen=True)
class MetricEntry:
    """One row of the metric table (:data:`METRICS`).

    ``reads``: what a job reads of each model, ``"diagrams"`` (its persistence-diagram files)
    or ``"store"`` (its activation store); ``prepare``/``distance``: how a cloud becomes a
    representation and two representations a distance (None for SW, built by :func:`sw_metric`
    from its options).
    """

    name: str
    label: str
    reads: Literal["diagrams", "store"]
    prepare: Callable[[np.ndarray], Any] | None = None
    distance: Callable[[Any, Any], float] | None = None


# The one table of layer metrics: the workflow's wildcards and inputs, the config schema's enum,
# the distance jobs and the figure labels all read it.
METRICS: dict[str, MetricEntry] = {
    "sw": MetricEntry("sw", "SW distance", "diagrams"),
    "cka": MetricEntry("cka", "1 - linear CKA", "store", centred, _cka_from_centred),
    "procrustes": MetricEntry(
        "procrustes", "Procrustes distance", "store", unit_frobenius, _procrustes_from_normalised
    ),
}
METRIC_NAMES = tuple(METRICS)


def make_metric(
    name: str, directions_m: int = 50, homology_dim: int = 1, maxdim: int = 1, backend: str = "giotto"
) -> Metric:
    """A metric of :data:`METRICS` by name; the keyword options configure ``sw`` and are ignored by the others."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {METRIC_NAMES}")
    if name == "sw":
        return sw_metric(directions_m, homology_dim, maxdim, backend)
    entry = METRICS[name]
    return Metric(name, entry.label, entry.prepare, entry.distance)
