"""Topology of profile graphs (docs/method.md, Profile graphs and their topology).

Vertices are a profile's neurons, edges its synapses with length ``w`` (``original``) or
``1/w`` (``inverted``). The metric is the shortest-path distance on the *undirected* graph
(upstream's graph is directed, so its matrix is asymmetric and ripser reads one triangle);
unreachable pairs stay infinite, so every component after the first is one more infinite H0
bar. Optional kernel ``g(x) = 1 - exp(-x / (2 sigma))`` with sigma the standard deviation of
the finite off-diagonal distances (``sigma_with_diagonal``: upstream's, zeros included).
Persistence images (Adams et al. 2017) of H1 in (birth, persistence) coordinates are
computed on one grid for a whole run, so that images compare.

Graphs of up to ``exact_vertices`` vertices get the exact diagrams of the dense distance matrix.
A larger graph (an element profile of a 224 px network holds 10^5-10^6 neurons, whose dense matrix
would take hundreds of GiB) never gets a dense matrix: its H0 is still exact, read from the
graph's minimum spanning tree (a VR complex of a shortest-path metric connects two vertices at
scale t exactly when the graph's edges of length <= t do), and its H1 is the H1 of the VR complex
of ``landmarks`` vertices chosen by farthest-point sampling in the graph metric, one Dijkstra
search per landmark (docs/method.md, Profile graphs and their topology).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.profile.profiles import Profile

if TYPE_CHECKING:
    from scipy import sparse

# scipy is imported where it is used: the config schema reads WEIGHTINGS from this module while
# Snakemake parses the workflow, and scipy.sparse.csgraph and scipy.special cost that parse 0.5 s.

WEIGHTINGS = ("original", "inverted")


def profile_graph(profile: Profile, weighting: str = "inverted") -> sparse.csr_matrix:
    """Edge lengths (V, V), upper and lower triangle equal; vertex order = ``profile.neurons``."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; expected one of {WEIGHTINGS}")
    vertices = profile.neurons
    n = len(vertices)
    key = vertices[:, 0] * (1 << 40) + vertices[:, 1]
    order = np.argsort(key)
    ends = []
    for layer, neuron in ((0, 1), (2, 3)):
        wanted = profile.synapses[:, layer] * (1 << 40) + profile.synapses[:, neuron]
        found = order[np.searchsorted(key[order], wanted).clip(max=max(n - 1, 0))] if n else wanted
        if len(wanted) and (n == 0 or not np.array_equal(key[found], wanted)):
            raise ValueError("a synapse joins a neuron that is not in the profile")
        ends.append(found)
    head, tail = ends
    weights = profile.synapse_weights.astype(np.float64)
    if np.any(weights <= 0):
        raise ValueError("synapse weights must be positive")
    length = weights if weighting == "original" else 1.0 / weights
    from scipy import sparse

    graph = sparse.coo_matrix((length, (head, tail)), shape=(n, n)).tocsr()
    graph.sum_duplicates()
    return graph.maximum(graph.T).tocsr()


def graph_distances(graph: sparse.csr_matrix) -> np.ndarray:
    """Shortest-path distances (V, V) on the undirected graph; ``inf`` between components."""
    if graph.shape[0] == 0:
        return np.zeros((0, 0))
    from scipy.sparse.csgraph import shortest_path

    return shortest_path(graph, method="D", directed=False)


def kernel_distances(distances: np.ndarray, sigma_with_diagonal: bool = False) -> tuple[np.ndarray, float]:
    """``1 - exp(-d / (2 sigma))`` of the finite entries (inf stays inf), and the sigma used."""
    off_diagonal = ~np.eye(len(distances), dtype=bool)
    finite = np.isfinite(distances)
    values = distances[finite] if sigma_with_diagonal else distances[finite & off_diagonal]
    sigma = float(values.std()) if values.size else 0.0
    return kernel_transform(distances, sigma), sigma


def kernel_transform(distances: np.ndarray, sigma: float) -> np.ndarray:
    """``1 - exp(-d / (2 sigma))`` elementwise, ``inf`` kept; all finite entries 0 where ``sigma`` is 0."""
    finite = np.isfinite(distances)
    out = np.full(distances.shape, np.inf)
    if sigma == 0.0:
        out[finite] = 0.0
    else:
        out[finite] = 1.0 - np.exp(-distances[finite] / (2.0 * sigma))
    return out


def graph_diagrams(distances: np.ndarray, maxdim: int = 1) -> list[np.ndarray]:
    """Vietoris-Rips diagrams (H0..H_maxdim) of a distance matrix with infinite entries allowed."""
    from ripser import ripser

    if len(distances) == 0:
        return [np.zeros((0, 2)) for _ in range(maxdim + 1)]
    return ripser(distances, distance_matrix=True, maxdim=maxdim)["dgms"]


@dataclass(frozen=True)
class ImageGrid:
    """Pixel edges of a persistence image: birth (nb + 1,) and persistence (np + 1,)."""

    birth_edges: np.ndarray
    persistence_edges: np.ndarray
    sigma: float
    weight_power: float = 1.0

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.birth_edges) - 1, len(self.persistence_edges) - 1


def fit_grid(diagrams: list[np.ndarray], pixels: int = 20, sigma_pixels: float = 1.0) -> ImageGrid:
    """One grid over the finite points of all ``diagrams`` (k, 2) (birth, death): ``pixels``
    squares across the larger of the two ranges, Gaussian sigma in pixels."""
    points = [d[np.isfinite(d).all(axis=1)] for d in diagrams if len(d)]
    points = np.concatenate(points) if points else np.zeros((0, 2))
    if len(points) == 0:
        births, persistence = np.array([0.0, 1.0]), np.array([0.0, 1.0])
    else:
        births, persistence = points[:, 0], points[:, 1] - points[:, 0]
    low_b, high_b = float(births.min()), float(births.max())
    high_p = float(persistence.max())
    size = max(high_b - low_b, high_p, 1e-12) / pixels
    nb = max(1, int(np.ceil((high_b - low_b) / size)))
    npers = max(1, int(np.ceil(high_p / size)))
    return ImageGrid(low_b + size * np.arange(nb + 1), size * np.arange(npers + 1), sigma_pixels * size)


def persistence_image(diagram: np.ndarray, grid: ImageGrid) -> np.ndarray:
    """Persistence image (nb, np) of a diagram (k, 2): each finite point (b, d) adds
    ``(d - b)^n`` times the mass of an isotropic Gaussian at (b, d - b) over each pixel."""
    finite = diagram[np.isfinite(diagram).all(axis=1)] if len(diagram) else np.zeros((0, 2))
    births, persistence = finite[:, 0], finite[:, 1] - finite[:, 0]
    weight = persistence**grid.weight_power
    from scipy.special import ndtr

    cdf_b = ndtr((grid.birth_edges[None, :] - births[:, None]) / grid.sigma)
    cdf_p = ndtr((grid.persistence_edges[None, :] - persistence[:, None]) / grid.sigma)
    mass_b, mass_p = np.diff(cdf_b, axis=1), np.diff(cdf_p, axis=1)
    return np.einsum("k,kb,kp->bp", weight, mass_b, mass_p)


EXACT_VERTICES = 2000  # dense distances of 2000 vertices: 32 MB, ripser's H1 in seconds
LANDMARKS = 200


def minimum_spanning_h0(graph: sparse.csr_matrix) -> np.ndarray:
    """The exact H0 diagram (k, 2) of the VR filtration of a graph's shortest-path metric (positive edge
    lengths): one bar [0, length) per minimum-spanning-tree edge and one infinite bar per connected
    component, of which a spanning forest of V vertices and E edges has V - E."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    deaths = np.sort(minimum_spanning_tree(graph).data)
    components = graph.shape[0] - len(deaths)
    finite = np.column_stack([np.zeros(len(deaths)), deaths])
    return np.vstack([finite, np.tile([0.0, np.inf], (components, 1))])


def farthest_point_landmarks(graph: sparse.csr_matrix, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` vertices chosen by farthest-point sampling in the graph metric, and their (count, count)
    shortest-path distances (``inf`` between components). The first is drawn (seeded); each next one is
    the vertex farthest from those chosen, an unreached component first. Components of fewer than 3
    vertices hold no cycle and give no landmark."""
    from scipy.sparse.csgraph import connected_components, dijkstra

    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    candidates = np.flatnonzero(sizes[labels] >= 3)
    count = min(count, len(candidates))
    nearest = np.full(graph.shape[0], -np.inf)
    nearest[candidates] = np.inf
    chosen = np.empty(count, np.int64)
    distances = np.zeros((count, count))
    if count:
        chosen[0] = np.random.default_rng(seed).choice(candidates)
    for k in range(count):
        # The graph is symmetric, so a directed search gives the undirected distances, faster.
        row = dijkstra(graph, directed=True, indices=chosen[k])
        distances[k, :k] = distances[:k, k] = row[chosen[:k]]
        nearest = np.minimum(nearest, row)  # -inf (no candidate) stays
        if k + 1 < count:
            chosen[k + 1] = int(np.argmax(nearest))
    return chosen, distances


def profile_topology(
    profile: Profile,
    weighting: str,
    kernel: bool,
    sigma_with_diagonal: bool = False,
    exact_vertices: int = EXACT_VERTICES,
    landmarks: int = LANDMARKS,
    seed: int = 0,
) -> tuple[list[np.ndarray], dict[str, float]]:
    """Diagrams (H0, H1) of one profile graph and its summary numbers: exact up to ``exact_vertices``
    vertices, above them exact H0 and the H1 of ``landmarks`` farthest-point landmarks (``seed``: the
    first landmark); ``landmarks`` in the summary is 0 where the diagrams are exact."""
    graph = profile_graph(profile, weighting)
    exact = graph.shape[0] <= exact_vertices
    if exact:
        distances = graph_distances(graph)
    else:
        chosen, distances = farthest_point_landmarks(graph, landmarks, seed)
    sigma = float("nan")
    if kernel:
        distances, sigma = kernel_distances(distances, sigma_with_diagonal)
    diagrams = graph_diagrams(distances, maxdim=1)
    if not exact:
        h0 = minimum_spanning_h0(graph)
        if kernel:  # a monotone map of the distances moves every death by the same map
            h0[:, 1] = kernel_transform(h0[:, 1], sigma)
        diagrams = [h0, diagrams[1]]
    components = int(np.isinf(diagrams[0][:, 1]).sum()) if len(diagrams[0]) else 0
    return diagrams, {
        "vertices": graph.shape[0],
        "edges": len(profile.synapses),
        "components": components,
        "h0_points": len(diagrams[0]),
        "h1_points": len(diagrams[1]),
        "h1_max_persistence": float((diagrams[1][:, 1] - diagrams[1][:, 0]).max()) if len(diagrams[1]) else 0.0,
        "kernel_sigma": sigma,
        "landmarks": 0 if exact else len(chosen),
    }


def _diagrams_main(args) -> None:
    from cnntopo.entrypoint import progress_bar
    from cnntopo.io import atomic_savez, write_table
    from cnntopo.profile.profiles import load_profiles

    profiles = load_profiles(args.profiles)
    arrays, rows = {}, []
    for image in progress_bar(range(len(profiles)), desc="profile graph PH", unit="graph"):
        diagrams, summary = profile_topology(
            profiles.profile(image),
            args.weighting,
            args.kernel,
            args.sigma_with_diagonal,
            args.exact_vertices,
            args.landmarks,
            seed=image,
        )
        arrays[f"h0_{image}"], arrays[f"h1_{image}"] = diagrams[0], diagrams[1]
        rows.append({"image": image, "label": int(profiles.labels[image]), **summary})
    atomic_savez(args.out, **arrays)
    write_table(args.table, rows)


def _images_main(args) -> None:
    from cnntopo.io import atomic_savez, atomic_write_json

    runs = []
    for path in args.diagrams:
        with np.load(path) as data:
            count = sum(1 for key in data.files if key.startswith("h1_"))
            runs.append([data[f"h1_{i}"] for i in range(count)])
    grid = fit_grid([d for run in runs for d in run], args.pixels, args.sigma_pixels)
    for run, out in zip(runs, args.out, strict=True):
        images = np.stack([persistence_image(d, grid) for d in run]) if run else np.zeros((0, *grid.shape))
        atomic_savez(out, images=images, birth_edges=grid.birth_edges, persistence_edges=grid.persistence_edges)
    atomic_write_json(
        args.grid,
        {
            "birth_edges": grid.birth_edges.tolist(),
            "persistence_edges": grid.persistence_edges.tolist(),
            "sigma": grid.sigma,
            "weight_power": grid.weight_power,
            "diagrams": [str(p) for p in args.diagrams],
        },
    )


def main(argv: list[str] | None = None) -> None:
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m cnntopo.profile.topology", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    diagrams = sub.add_parser("diagrams", help="H0/H1 of every profile graph of one profiles file")
    diagrams.add_argument("--profiles", type=Path, required=True)
    diagrams.add_argument("--weighting", choices=WEIGHTINGS, default="inverted")
    diagrams.add_argument("--kernel", action="store_true", help="apply 1 - exp(-d / 2 sigma)")
    diagrams.add_argument("--sigma-with-diagonal", action="store_true", help="upstream's sigma (zeros included)")
    diagrams.add_argument(
        "--exact-vertices", type=int, default=EXACT_VERTICES, help="larger graphs: exact H0, landmark H1"
    )
    diagrams.add_argument("--landmarks", type=int, default=LANDMARKS, help="landmarks of the H1 of a larger graph")
    diagrams.add_argument("--out", type=Path, required=True, help="diagrams .npz (h0_I, h1_I per image I)")
    diagrams.add_argument("--table", type=Path, required=True, help="per-graph summary CSV")
    images = sub.add_parser("images", help="H1 persistence images of several diagram files on one grid")
    images.add_argument("--diagrams", type=Path, nargs="+", required=True)
    images.add_argument("--out", type=Path, nargs="+", required=True, help="one .npz per diagrams file")
    images.add_argument("--pixels", type=int, default=20)
    images.add_argument("--sigma-pixels", type=float, default=1.0)
    images.add_argument("--grid", type=Path, required=True, help="the grid, as JSON")
    args = parser.parse_args(argv)
    if args.command == "images" and len(args.out) != len(args.diagrams):
        parser.error("--out needs one path per --diagrams file")
    (_diagrams_main if args.command == "diagrams" else _images_main)(args)


if __name__ == "__main__":
    run_step(main)
