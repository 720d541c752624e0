"""Purity of a mapper graph with labelled points (paper, "Mapper Graph Purity Measures").

- node-wise: alpha_i = 1 / (number of distinct labels among node i's points);
- point-wise: beta_x = mean of alpha over the nodes containing point x (0 if none);
- class-wise: gamma_k = mean of beta over the points of class k.

Points are activation vectors, each labelled with its image's class; any number of
points per image works (full and top-5 sampling give several).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def node_purity(nodes: Sequence[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """``(n_nodes,)`` alpha of each node (member index arrays into ``labels``)."""
    return np.array([1.0 / len(np.unique(labels[members])) for members in nodes])


def point_purity(nodes: Sequence[np.ndarray], alpha: np.ndarray, n_points: int) -> np.ndarray:
    """``(n_points,)`` beta: mean alpha of the nodes that contain each point, 0 for points in no node."""
    total = np.zeros(n_points)
    count = np.zeros(n_points)
    for members, a in zip(nodes, alpha):
        total[members] += a
        count[members] += 1
    return np.divide(total, count, out=np.zeros(n_points), where=count > 0)


def class_purity(beta: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """``{class: gamma}``: mean beta over the points of each class present in ``labels``."""
    return {int(k): float(beta[labels == k].mean()) for k in np.unique(labels)}


def purity_summary(nodes: Sequence[np.ndarray], labels: np.ndarray) -> dict:
    """Mean node-wise purity, mean point-wise purity, class-wise purity of every class, and the fraction of
    points in at least one node, overall and per class (DBSCAN noise points are in none and count as 0)."""
    alpha = node_purity(nodes, labels)
    beta = point_purity(nodes, alpha, len(labels))
    covered = np.zeros(len(labels), dtype=bool)
    for members in nodes:
        covered[members] = True
    return {
        "nodes": len(nodes),
        "points_in_nodes": float(covered.mean()),
        "mean_node_purity": float(alpha.mean()) if len(alpha) else float("nan"),
        "mean_point_purity": float(beta.mean()),
        "class_purity": class_purity(beta, labels),
        "class_points_in_nodes": {int(k): float(covered[labels == k].mean()) for k in np.unique(labels)},
    }
