"""Mapper graphs of activation point clouds (docs/method.md, Mapper graphs).

Lens: the l2 norm of each point, min-max scaled to [0, 1]. Cover: n intervals with
fractional overlap p and radius ``1 / (2 (n - (n - 1) p))``, so that they tile [0, 1]
exactly (kmapper's own cover differs slightly, kmapper issue 125). In each interval's
preimage, DBSCAN (``min_samples`` = 5) with one ``eps`` for the whole graph: given, or
the knee of the sorted nearest-neighbour distances (their median as a fallback).
Nodes are clusters, edges join nodes that share points.

Neighbours are found by brute force (float64 BLAS, in chunks), which beats trees in hundreds
of dimensions, and DBSCAN (:func:`dbscan_labels`, scikit-learn's labels) reads them as a sparse
eps-neighbour graph. Each preimage gets its own graph, so memory is bounded by the largest
preimage's neighbourhoods, not by the whole cloud; the cloud stays in its stored float32.
A sweep of cover settings (:func:`mapper_sweep`) instead computes one eps-neighbour graph of
the cloud, restricted to pairs that can share a preimage, and every DBSCAN reads it.
scikit-learn is not imported: it cost each graph job 1.5 s of its 4.6 s.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from cnntopo.entrypoint import run_step
from cnntopo.io import atomic_write_json
from cnntopo.mapper.purity import purity_summary
from cnntopo.store import layer_key, open_store


def l2_lens(points: np.ndarray) -> np.ndarray:
    """``(n,)`` l2 norm of each row, min-max scaled to [0, 1] (all zeros if the norms are equal)."""
    return _scaled(np.linalg.norm(np.asarray(points, dtype=np.float64), axis=1))


def _scaled(norms: np.ndarray) -> np.ndarray:
    span = norms.max() - norms.min()
    return (norms - norms.min()) / span if span > 0 else np.zeros_like(norms)


def cover_intervals(n_intervals: int, overlap: float, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """``(n, 2)`` closed intervals of equal length tiling [low, high] with fractional overlap ``overlap``.

    Radius ``r = (high - low) / (2 (n - (n - 1) p))``; centres ``low + r + 2 r (1 - p) i``;
    consecutive intervals share a fraction ``p`` of their length; the first starts at
    ``low`` and the last ends at ``high``.
    """
    if n_intervals < 1 or not 0 <= overlap < 1:
        raise ValueError(f"need n_intervals >= 1 and 0 <= overlap < 1, got {n_intervals}, {overlap}")
    radius = (high - low) / (2 * (n_intervals - (n_intervals - 1) * overlap))
    centres = low + radius + 2 * radius * (1 - overlap) * np.arange(n_intervals)
    intervals = np.stack([centres - radius, centres + radius], axis=1)
    intervals[-1, 1] = high  # exact despite rounding, so the maximum is always covered
    return intervals


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` float64 squared euclidean distances between the rows of two float64 arrays:
    ``|a|^2 + |b|^2 - 2 a.b`` by BLAS, clipped at 0, in scikit-learn's order of operations (its
    ``euclidean_distances(squared=True)``, bit for bit). Relative error about 1e-16 of the squared
    norms: fit for thresholds at eps, not for persistent homology of near-duplicate points."""
    distances = -2.0 * (a @ b.T)
    distances += np.einsum("ij,ij->i", a, a)[:, None]
    distances += np.einsum("ij,ij->i", b, b)[None, :]
    return np.maximum(distances, 0.0, out=distances)


def nearest_neighbour_distances(points: np.ndarray, sample: int = 5000, seed: int = 0, chunk: int = 2048) -> np.ndarray:
    """Sorted distances from up to ``sample`` random points to their nearest other point in the cloud
    (brute force in float64, ``chunk`` points at a time; duplicates give 0)."""
    rng = np.random.default_rng(seed)
    queries = rng.choice(len(points), min(sample, len(points)), replace=False)
    query_points = np.asarray(points[queries], dtype=np.float64)
    nearest = np.full(len(queries), np.inf)
    for start in range(0, len(points), chunk):
        squared = squared_distances(query_points, np.asarray(points[start : start + chunk], dtype=np.float64))
        is_self = (queries >= start) & (queries < start + squared.shape[1])
        squared[np.flatnonzero(is_self), queries[is_self] - start] = np.inf
        np.minimum(nearest, squared.min(axis=1), out=nearest)
    return np.sort(np.sqrt(nearest))


def knee_eps(sorted_distances: np.ndarray) -> tuple[float, str]:
    """The knee of a sorted curve (farthest point from the chord, after scaling both axes to [0, 1]).

    Returns ``(eps, how)`` with ``how`` = "knee", or "median" when the curve has no knee
    (flat, too short, or the knee would be zero).
    """
    y = np.asarray(sorted_distances, dtype=np.float64)
    if len(y) >= 3 and y[-1] > y[0]:
        x = np.linspace(0.0, 1.0, len(y))
        scaled = (y - y[0]) / (y[-1] - y[0])
        knee = int(np.argmax(x - scaled))  # convex increasing curve: farthest below the chord y = x
        if x[knee] - scaled[knee] > 0 and y[knee] > 0:
            return float(y[knee]), "knee"
    return float(np.median(y)), "median"


def eps_neighbour_graph(
    points: np.ndarray, eps: float, max_norm_gap: float = np.inf, chunk: int = 512
) -> sparse.csr_matrix:
    """``(n, n)`` symmetric CSR of the float64 distances ``<= eps`` between the rows of ``points``
    whose norms differ by at most ``max_norm_gap`` (the diagonal held as explicit zeros;
    duplicates at the smallest positive float).

    Only points whose norms differ by at most ``eps`` can be that close (triangle inequality),
    and DBSCAN only compares points of one preimage, whose norms differ by at most an interval's
    length: each chunk of norm-sorted points is compared with its window of norms only. One
    graph serves every preimage of every cover of a sweep (:func:`mapper_sweep`).
    """
    x = np.asarray(points, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1)
    order = np.argsort(norms, kind="stable")
    sorted_norms = norms[order]
    gap = min(eps, max_norm_gap)
    rows, cols, values = [], [], []
    for start in range(0, len(x), chunk):
        # Forward only: the pairs with an earlier chunk were found from that chunk.
        stop = min(start + chunk, len(x))
        chosen = order[start:stop]
        high = np.searchsorted(sorted_norms, sorted_norms[stop - 1] + gap, side="right")
        window = order[start:high]
        squared = squared_distances(x[chosen], x[window])
        gaps = sorted_norms[start:high][None, :] - sorted_norms[start:stop][:, None]
        r, c = np.nonzero((squared <= eps * eps) & (gaps <= gap))
        rows.append(chosen[r])
        cols.append(window[c])
        values.append(np.sqrt(squared[r, c]))
    n = len(x)
    # Sparse arithmetic drops stored zeros: duplicates are kept at the smallest positive float.
    distances = np.maximum(np.concatenate(values), np.finfo(np.float64).smallest_subnormal)
    graph = sparse.csr_matrix((distances, (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    graph = graph.maximum(graph.T).tocsr()  # both directions; a pair found twice (in one chunk) keeps one value
    graph.setdiag(0.0)
    return graph


def dbscan_labels(neighbours: sparse.spmatrix, eps: float, min_samples: int = 5) -> np.ndarray:
    """``(n,)`` DBSCAN cluster labels (-1: noise) of ``n`` points from their ``(n, n)`` symmetric sparse
    distance matrix, whose stored entries ``<= eps`` are the neighbour pairs (each point is also its
    own neighbour, stored or not).

    The labels of scikit-learn's ``DBSCAN(eps, min_samples, metric="precomputed")``: a point with
    at least ``min_samples`` neighbours is a core point; core points joined by neighbour pairs form
    the clusters, numbered in the order of their lowest-indexed core point; a non-core neighbour of
    core points joins the lowest-numbered of their clusters (the first that scikit-learn's search
    from core point 0 onwards reaches).
    """
    n = neighbours.shape[0]
    pairs = sparse.coo_matrix(neighbours)
    keep = (pairs.data <= eps) & (pairs.row != pairs.col)
    rows, cols = pairs.row[keep], pairs.col[keep]
    core = np.bincount(rows, minlength=n) + 1 >= min_samples
    labels = np.full(n, -1, dtype=np.int64)
    core_points = np.flatnonzero(core)
    if not len(core_points):
        return labels
    linked = core[rows] & core[cols]
    core_graph = sparse.coo_matrix((np.ones(linked.sum()), (rows[linked], cols[linked])), shape=(n, n))
    component = connected_components(core_graph, directed=False)[1][core_points]
    # Components by their lowest core point (core_points is increasing, so first occurrences are those).
    found, first = np.unique(component, return_index=True)
    number = np.empty(found.max() + 1, dtype=np.int64)
    number[found[np.argsort(first)]] = np.arange(len(found))
    labels[core_points] = number[component]
    border = core[rows] & ~core[cols]
    joined = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(joined, cols[border], labels[rows[border]])
    reached = np.flatnonzero(joined < np.iinfo(np.int64).max)
    labels[reached] = joined[reached]
    return labels


@dataclass
class MapperGraph:
    """Nodes (lists of point indices), edges (node index pairs) and the parameters that made them."""

    nodes: list[np.ndarray]
    edges: list[tuple[int, int]]
    node_interval: list[int]
    params: dict = field(default_factory=dict)

    def to_json(self, labels: np.ndarray | None = None, class_names: Sequence[str] | None = None) -> dict:
        """JSON-ready dict; with ``labels``, each node carries its label counts."""
        nodes = []
        for index, (members, interval) in enumerate(zip(self.nodes, self.node_interval)):
            node = {"id": index, "interval": interval, "size": len(members), "members": members.tolist()}
            if labels is not None:
                values, counts = np.unique(labels[members], return_counts=True)
                node["label_counts"] = {str(int(v)): int(c) for v, c in zip(values, counts)}
            nodes.append(node)
        return {
            "params": self.params,
            "class_names": list(class_names) if class_names else None,
            "nodes": nodes,
            "edges": [list(e) for e in self.edges],
        }


def mapper_graph(
    points: np.ndarray,
    n_intervals: int = 40,
    overlap: float = 0.3,
    min_samples: int = 5,
    eps: float | None = None,
    seed: int = 0,
    neighbours: sparse.csr_matrix | None = None,
) -> MapperGraph:
    """The mapper graph of an ``(n, c)`` cloud under the l2-norm lens (module docstring).

    ``neighbours``: the cloud's :func:`eps_neighbour_graph` for this ``eps``; DBSCAN then reads
    each preimage's neighbourhoods from it instead of computing them per preimage.
    """
    points = np.asarray(points)
    if eps is None:
        eps, how = knee_eps(nearest_neighbour_distances(points, seed=seed))
    else:
        how = "given"
    norms = np.linalg.norm(np.asarray(points, dtype=np.float64), axis=1)
    lens = _scaled(norms)
    intervals = cover_intervals(n_intervals, overlap)
    nodes, node_interval = [], []
    for index, (low, high) in enumerate(intervals):
        members = np.flatnonzero((lens >= low) & (lens <= high))
        if len(members) < min_samples:
            continue
        if neighbours is not None:
            preimage = neighbours[members][:, members]
        else:
            preimage = eps_neighbour_graph(points[members], eps)
        labels = dbscan_labels(preimage, eps, min_samples)
        for cluster in range(labels.max() + 1):
            nodes.append(members[labels == cluster])
            node_interval.append(index)
    edges = _shared_point_edges(nodes, len(points))
    params = {
        "lens": "l2 norm, min-max scaled",
        "n_intervals": n_intervals,
        "overlap": overlap,
        "min_samples": min_samples,
        "eps": eps,
        "eps_from": how,
        "points": len(points),
        "norm_range": [float(norms.min()), float(norms.max())],  # lens 0 and 1 in activation-norm units
    }
    return MapperGraph(nodes, edges, node_interval, params)


def mapper_sweep(
    points: np.ndarray,
    settings: Sequence[tuple[int, float]],
    min_samples: int = 5,
    eps: float | None = None,
    seed: int = 0,
) -> list[MapperGraph]:
    """Mapper graphs of one cloud for several ``(n_intervals, overlap)`` settings, one eps (given, or
    the knee) and one :func:`eps_neighbour_graph` for all of them."""
    points = np.asarray(points)
    how = "given"
    if eps is None:
        eps, how = knee_eps(nearest_neighbour_distances(points, seed=seed))
    norms = np.linalg.norm(np.asarray(points, dtype=np.float64), axis=1)
    # Two points of one preimage differ in lens by at most the interval's length, in norm by that
    # times the norm range (the lens is the min-max scaled norm); a hair more for rounding.
    longest = max(float(np.diff(cover_intervals(n, p), axis=1).max()) for n, p in settings)
    neighbours = eps_neighbour_graph(points, eps, longest * (norms.max() - norms.min()) * (1 + 1e-9))
    graphs = []
    for n_intervals, overlap in settings:
        graph = mapper_graph(points, n_intervals, overlap, min_samples, eps, seed, neighbours)
        graph.params.update(eps_from=how, neighbour_graph_entries=int(neighbours.nnz))
        graphs.append(graph)
    return graphs


def spring_layout(n_nodes: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """``(n_nodes, 2)`` positions of a graph's nodes ``0..n_nodes-1``: networkx's spring layout, seeded,
    coordinates in about [-1, 1]. Computed once per graph and stored in its JSON, so that its page,
    the figure grids and the explorer draw it alike without laying it out again."""
    if not n_nodes:
        return np.zeros((0, 2))
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(n_nodes))
    g.add_edges_from(edges)
    positions = nx.spring_layout(g, seed=0, k=1.5 / np.sqrt(n_nodes))
    return np.array([positions[i] for i in range(n_nodes)])


def _shared_point_edges(nodes: Sequence[np.ndarray], n_points: int) -> list[tuple[int, int]]:
    membership = sparse.csr_matrix(
        (
            np.ones(sum(len(m) for m in nodes)),
            (np.repeat(np.arange(len(nodes)), [len(m) for m in nodes]), np.concatenate(nodes) if nodes else []),
        ),
        shape=(len(nodes), n_points),
    )
    shared = sparse.triu(membership @ membership.T, k=1).tocoo()
    return sorted(zip(shared.row.tolist(), shared.col.tolist()))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.mapper.graph", description=__doc__)
    parser.add_argument("--store", type=Path, required=True, help="mapper activation store (.zarr)")
    parser.add_argument("--layer", type=int, required=True)
    parser.add_argument("--intervals", type=int, default=40)
    parser.add_argument("--overlap", type=float, default=0.3)
    parser.add_argument("--min-samples", type=int, default=5)
    parser.add_argument("--eps", type=float, default=None, help="DBSCAN radius (default: knee of 1-NN distances)")
    parser.add_argument("--json", type=Path, required=True, help="output: graph, parameters, purity and layout (.json)")
    parser.add_argument("--html", type=Path, help="output: the graph's offline page (with --out and --table)")
    parser.add_argument("--out", type=Path, help="output: its static figure (.png; a .pdf beside it)")
    parser.add_argument("--table", type=Path, help="output: its node table (.csv)")
    args = parser.parse_args(argv)
    drawn = [args.html, args.out, args.table]
    if any(drawn) and not all(drawn):
        parser.error("--html, --out and --table go together: the page, the figure and its table")
    store = open_store(args.store)
    key = layer_key(args.layer)
    points = store.layer(args.layer)[0]
    labels = store.array(f"{key}_label")
    graph = mapper_graph(points, args.intervals, args.overlap, args.min_samples, args.eps)
    graph.params.update(
        {
            "layer": args.layer,
            "layer_name": store.layer_attrs(args.layer)["name"],
            "sampling": store.attrs["sampling"],
            "sigma": store.attrs["sigma"],
        }
    )
    result = graph.to_json(labels, store.attrs["classes"])
    result["layout"] = spring_layout(len(graph.nodes), graph.edges).tolist()
    purity = purity_summary(graph.nodes, labels)
    per_class = ("class_purity", "class_points_in_nodes")
    result["purity"] = {**purity, **{key: {str(k): v for k, v in purity[key].items()} for key in per_class}}
    atomic_write_json(args.json, result, indent=None)
    if all(drawn):
        from cnntopo.mapper.figures import write_graph_page  # here: matplotlib only for the jobs that draw

        write_graph_page(result, args.html, args.out, args.table)
    print(
        f"layer {args.layer}, {store.attrs['sampling']} sampling, sigma {store.attrs['sigma']}: "
        f"{len(graph.nodes)} nodes, {len(graph.edges)} edges, eps {graph.params['eps']:.4g} "
        f"({graph.params['eps_from']}), mean node purity {purity['mean_node_purity']:.3f}"
    )


if __name__ == "__main__":
    run_step(main)
