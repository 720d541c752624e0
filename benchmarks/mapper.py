"""Our mapper against kmapper's own `map` on the same points, cover and clustering, in one run.

Both get the l2-norm lens (min-max scaled), our cover (n intervals tiling [0, 1] with the
stated overlap; kmapper's own cover differs slightly, kmapper issue 125, so it is handed ours
through a Cover subclass) and DBSCAN(eps, min_samples=5): scikit-learn's, brute force, for kmapper;
for ours, the same labels from each preimage's eps-neighbour graph. Prints both times, whether
the graphs are identical (same node member sets, same edges), and the projected cost of the full
sampling mode at the paper's 800,000-point cap. Then a sweep of five (intervals, overlap)
settings: ours builds one eps-neighbour graph for all of them (cnntopo.mapper.graph.mapper_sweep),
kmapper maps each setting anew; with the graph's size and the projected size at 800k points.

    python benchmarks/mapper.py [--points 50000] [--dims 512] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import kmapper
import numpy as np
from sklearn.cluster import DBSCAN

from cnntopo.mapper.graph import (
    cover_intervals,
    knee_eps,
    l2_lens,
    mapper_graph,
    mapper_sweep,
    nearest_neighbour_distances,
)
from summary import record


class IntervalCover(kmapper.Cover):
    """kmapper's Cover with this project's intervals on a 1-D lens in [0, 1]."""

    def __init__(self, n_intervals: int, overlap: float) -> None:
        super().__init__(n_cubes=n_intervals, perc_overlap=overlap)
        self.intervals = cover_intervals(n_intervals, overlap)

    def fit(self, data):
        self.di_ = np.array([1])  # column 0 holds the point ids
        self.centers_ = [np.array([c]) for c in self.intervals.mean(axis=1)]
        self.radius_ = np.array([(self.intervals[0, 1] - self.intervals[0, 0]) / 2])
        return self.centers_

    def transform_single(self, data, center, i=0):
        low, high = self.intervals[i]
        return data[(data[:, 1] >= low) & (data[:, 1] <= high)]


def activation_like_cloud(n: int, dims: int, seed: int = 0) -> np.ndarray:
    """Rectified low-dimensional latent mapped into ``dims`` dimensions, float32, like ReLU(BN) activations."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 8))
    return np.maximum(latent @ rng.standard_normal((8, dims)), 0).astype(np.float32) + 0.05 * rng.random(
        (n, dims), dtype=np.float32
    )


def same_graph(ours, theirs: dict) -> bool:
    """The same node member sets and the same edges (between those sets)."""
    our_nodes = {frozenset(m.tolist()) for m in ours.nodes}
    their_nodes = {frozenset(m) for m in theirs["nodes"].values()}
    our_edges = {
        frozenset((frozenset(ours.nodes[a].tolist()), frozenset(ours.nodes[b].tolist()))) for a, b in ours.edges
    }
    their_edges = {
        frozenset((frozenset(theirs["nodes"][a]), frozenset(theirs["nodes"][b])))
        for a, targets in theirs["links"].items()
        for b in targets
    }
    return our_nodes == their_nodes and our_edges == their_edges


def kmapper_map(cloud: np.ndarray, intervals: int, overlap: float, eps: float) -> dict:
    return kmapper.KeplerMapper(verbose=0).map(
        l2_lens(cloud)[:, None],
        cloud,
        cover=IntervalCover(intervals, overlap),
        clusterer=DBSCAN(eps=eps, min_samples=5, algorithm="brute"),
    )


SWEEP = [(40, 0.3), (30, 0.3), (50, 0.3), (40, 0.2), (40, 0.4)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--dims", type=int, default=512)
    parser.add_argument("--intervals", type=int, default=40)
    parser.add_argument("--overlap", type=float, default=0.3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cloud = activation_like_cloud(args.points, args.dims)
    started = time.perf_counter()
    eps, how = knee_eps(nearest_neighbour_distances(cloud))
    eps_seconds = time.perf_counter() - started

    started = time.perf_counter()
    ours = mapper_graph(cloud, args.intervals, args.overlap, 5, eps)
    ours_seconds = time.perf_counter() - started

    started = time.perf_counter()
    theirs = kmapper_map(cloud, args.intervals, args.overlap, eps)
    kmapper_seconds = time.perf_counter() - started

    same = same_graph(ours, theirs)
    print(
        f"{args.points} x {args.dims} points, {args.intervals} intervals at {args.overlap:.0%} overlap, "
        f"eps {eps:.4g} ({how}, found in {eps_seconds:.1f} s)"
    )
    print(
        f"ours: {ours_seconds:.1f} s, kmapper.map: {kmapper_seconds:.1f} s, ratio {kmapper_seconds / ours_seconds:.2f}x; "
        f"{len(ours.nodes)} nodes, {len(ours.edges)} edges; identical graphs: {same}"
    )
    cap = 800_000
    # Brute-force DBSCAN per preimage grows with the square of the points in it.
    projected = ours_seconds * (cap / args.points) ** 2
    print(
        f"full mode at the paper's {cap:,}-point cap: ~{projected / 3600:.1f} h on this machine (quadratic "
        f"projection); memory: the cloud as float32 ({cap * args.dims * 4 / 2**30:.1f} GiB) plus one preimage's "
        "neighbourhoods at a time"
    )
    started = time.perf_counter()
    swept = mapper_sweep(cloud, SWEEP, 5, eps)
    sweep_seconds = time.perf_counter() - started
    started = time.perf_counter()
    references = [kmapper_map(cloud, n, p, eps) for n, p in SWEEP]
    kmapper_sweep_seconds = time.perf_counter() - started
    sweep_same = all(same_graph(a, b) for a, b in zip(swept, references))
    entries = swept[0].params["neighbour_graph_entries"]
    graph_mb = (entries * (8 + 4) + (args.points + 1) * 4) / 2**20  # float64 data, int32 indices, indptr
    # The entries grow with the square of the points (same eps, same norm windows).
    projected_graph_gb = graph_mb * (cap / args.points) ** 2 / 1024
    print(
        f"sweep of {len(SWEEP)} settings {SWEEP}: ours {sweep_seconds:.1f} s (one eps graph, {entries:,} entries,"
        f" {graph_mb:.0f} MB), kmapper.map {kmapper_sweep_seconds:.1f} s, ratio"
        f" {kmapper_sweep_seconds / sweep_seconds:.2f}x; identical graphs: {sweep_same}; at {cap:,} points the"
        f" graph would hold ~{projected_graph_gb:.1f} GB"
    )
    record(
        "mapper",
        [
            {
                "measure": f"sweep of {len(SWEEP)} cover settings, {args.points:,} x {args.dims}, identical: {sweep_same}",
                "ours": sweep_seconds,
                "reference": kmapper_sweep_seconds,
                "ratio": kmapper_sweep_seconds / sweep_seconds,
                "unit": "s (reference: kmapper.map per setting)",
            },
            {"measure": f"eps-neighbour graph of the sweep, {args.points:,} points", "ours": graph_mb, "unit": "MB"},
            {
                "measure": f"one mapper graph, {args.points:,} x {args.dims}, identical graphs: {same}",
                "ours": ours_seconds,
                "reference": kmapper_seconds,
                "ratio": kmapper_seconds / ours_seconds,
                "unit": "s (reference: kmapper.map, same cover and DBSCAN)",
            },
            {"measure": f"full mode at the {cap:,}-point cap, projected", "ours": projected / 3600, "unit": "h"},
        ],
    )
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "points": args.points,
                    "dims": args.dims,
                    "intervals": args.intervals,
                    "overlap": args.overlap,
                    "eps": eps,
                    "eps_seconds": eps_seconds,
                    "ours_seconds": ours_seconds,
                    "kmapper_seconds": kmapper_seconds,
                    "nodes": len(ours.nodes),
                    "edges": len(ours.edges),
                    "identical": same,
                    "sweep": SWEEP,
                    "sweep_seconds": sweep_seconds,
                    "kmapper_sweep_seconds": kmapper_sweep_seconds,
                    "sweep_identical": sweep_same,
                    "neighbour_graph_entries": entries,
                    "neighbour_graph_mb": graph_mb,
                    "projected_neighbour_graph_gb_at_800k": projected_graph_gb,
                    "projected_full_mode_hours_at_800k": projected / 3600,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
