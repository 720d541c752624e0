"""Sliced-Wasserstein distance between persistence diagrams, vectorised over directions and pairs.

Same definition and the same rounding as ``persim.sliced_wasserstein`` (Carriere,
Cuturi & Oudot 2017): M directions at angles pi (1/2 + i/M), i = 0..M-1 (the
half circle, i.e. [-pi/2, pi/2) up to sign), direction vectors rounded to
float32 as persim does; each diagram is completed by the diagonal projections of
the other's points; per direction the L1 distance of the sorted projections,
averaged over directions. Points with an infinite coordinate (the essential H0
class) are dropped first.

Each diagram is projected once and each direction's projections sorted once (its points, and its
diagonal feet: a scalar multiple of one sorted vector). A pair then concatenates two sorted runs per
row, which numpy's stable sort (timsort) merges in linear time instead of sorting again: 4x faster per
pair than a fresh sort here, with the same sorted rows, so the same distances to the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnntopo.ph.pairwise import pairwise_matrix

_DIAGONAL = np.array([np.cos(0.25 * np.pi), np.sin(0.25 * np.pi)], dtype=np.float32).astype(np.float64)


def directions(m: int = 50) -> np.ndarray:
    """``(m, 2)`` float64 unit vectors (float32-rounded) at persim's angles."""
    theta, angles = 0.5, []
    for _ in range(m):  # accumulated like persim's `theta += step`, so the angles round identically
        angles.append(theta)
        theta += 1.0 / m
    return np.array([[np.cos(a * np.pi), np.sin(a * np.pi)] for a in angles], dtype=np.float32).astype(np.float64)


def finite_points(diagram: np.ndarray) -> np.ndarray:
    """``(k, 2)`` float64 diagram without points that have an infinite (or NaN) coordinate."""
    diagram = np.asarray(diagram, dtype=np.float64).reshape(-1, 2)
    return diagram[np.isfinite(diagram).all(axis=1)]


@dataclass(frozen=True)
class ProjectedDiagram:
    """A diagram's points and their diagonal projections, projected on every direction, each row sorted:
    ``(M, k)`` each."""

    points: np.ndarray
    diagonal: np.ndarray


def project(diagram: np.ndarray, lines: np.ndarray) -> ProjectedDiagram:
    points = finite_points(diagram)
    # persim's diagonal projection: both coordinates sqrt(t^2 / 2), t = <diagonal, point>.
    t = points @ _DIAGONAL
    foot = np.sqrt(t**2 / 2.0)
    return ProjectedDiagram(
        np.sort((points @ lines.T).T, axis=1),
        np.sort(np.outer(lines.sum(axis=1), foot), axis=1),
    )


def projected_distance(a: ProjectedDiagram, b: ProjectedDiagram) -> float:
    """SW distance of two projected diagrams (same directions)."""
    m = a.points.shape[0]
    # Each row is two sorted runs: the stable sort (timsort) merges them.
    left = np.sort(np.concatenate([a.points, b.diagonal], axis=1), axis=1, kind="stable")
    right = np.sort(np.concatenate([b.points, a.diagonal], axis=1), axis=1, kind="stable")
    return float(np.abs(left - right).sum(axis=1).sum() / m)


def sliced_wasserstein(diagram_a: np.ndarray, diagram_b: np.ndarray, m: int = 50) -> float:
    """SW distance between two ``(k, 2)`` diagrams (birth, death), in their units; M = ``m`` directions."""
    lines = directions(m)
    return projected_distance(project(diagram_a, lines), project(diagram_b, lines))


def sliced_wasserstein_matrix(
    diagrams_a: Sequence[np.ndarray], diagrams_b: Sequence[np.ndarray] | None = None, m: int = 50
) -> np.ndarray:
    """All-pairs SW distances: ``(len(a), len(b))``; with ``diagrams_b`` omitted, the symmetric
    ``(len(a), len(a))`` matrix of ``a`` against itself (zero diagonal, each pair computed once)."""
    lines = directions(m)
    right = None if diagrams_b is None else [project(d, lines) for d in diagrams_b]
    return pairwise_matrix([project(d, lines) for d in diagrams_a], projected_distance, right)
