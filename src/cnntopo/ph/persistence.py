"""Vietoris-Rips persistence diagrams of point clouds, with two interchangeable backends.

Both backends get the same exactly computed, exactly symmetric float64 distance
matrix (``scipy.spatial.distance.pdist``: differences, not the
``|x|^2 + |y|^2 - 2 x.y`` expansion whose cancellation corrupts small H0 deaths),
so they see identical input: ``ripser`` (ripser.py, the reference the authors
used) and ``giotto`` (giotto-ph, about 2-3x faster). Settings are ripser's
defaults as in docs/method.md (Persistent homology): Euclidean, maxdim 1, no threshold, Z/2 coefficients, the
full cloud.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import progress_bar, run_step
from cnntopo.io import atomic_savez, strict_json
from cnntopo.store import open_store

BACKENDS = ("ripser", "giotto")


def distance_matrix(cloud: np.ndarray) -> np.ndarray:
    """``(N, c)`` points -> ``(N, N)`` float64 Euclidean distances, exactly symmetric, zero diagonal."""
    from scipy.spatial.distance import pdist, squareform  # here: the distance and figure jobs import this module

    return squareform(pdist(np.asarray(cloud, dtype=np.float64), metric="euclidean"))


def persistence_diagrams(
    cloud: np.ndarray, maxdim: int = 1, backend: str = "giotto", threads: int = 1
) -> list[np.ndarray]:
    """Vietoris-Rips diagrams of an ``(N, c)`` point cloud (``threads``: giotto-ph's ``n_threads``;
    ripser.py runs on one).

    Returns ``maxdim + 1`` float64 arrays of shape ``(k, 2)`` (birth, death), in
    distance units, sorted by (birth, death); H0 holds one point with death
    ``inf``. Duplicate points and an all-zero cloud are fine (no zero-length bars
    are reported); fewer than two points or non-finite values raise ValueError.
    """
    cloud = np.asarray(cloud)
    if cloud.ndim != 2:
        raise ValueError(f"expected an (N, c) point cloud, got shape {cloud.shape}")
    if len(cloud) < 2:
        raise ValueError(f"a point cloud needs at least 2 points for persistent homology, got {len(cloud)}")
    if not np.isfinite(cloud).all():
        raise ValueError("the point cloud holds NaN or infinite values (a diverged model or a corrupt store?)")
    distances = distance_matrix(cloud)
    if backend == "ripser":
        from ripser import ripser

        diagrams = ripser(distances, maxdim=maxdim, distance_matrix=True)["dgms"]
    elif backend == "giotto":
        from gph import ripser_parallel

        diagrams = ripser_parallel(distances, maxdim=maxdim, metric="precomputed", n_threads=threads)["dgms"]
    else:
        raise ValueError(f"unknown PH backend {backend!r}; choose one of {BACKENDS}")
    return [_sorted(np.asarray(d, dtype=np.float64).reshape(-1, 2)) for d in diagrams]


def _sorted(diagram: np.ndarray) -> np.ndarray:
    return diagram[np.lexsort((diagram[:, 1], diagram[:, 0]))]


def diagram_key(layer: int, dim: int) -> str:
    return f"layer{layer:02d}_h{dim}"


def save_diagrams(path: Path, diagrams: dict[int, list[np.ndarray]], meta: dict) -> None:
    """``.npz`` with one array per layer and dimension (``layer09_h1``) and ``meta`` (a JSON string)."""
    arrays = {diagram_key(layer, dim): d for layer, dgms in diagrams.items() for dim, d in enumerate(dgms)}
    atomic_savez(path, meta=np.array(strict_json(meta, sort_keys=True)), **arrays)


def diagram_meta(path: str | Path) -> dict:
    """The metadata of a diagram file (seed, batch, layers, ...), without reading the diagrams."""
    with np.load(path) as data:
        return json.loads(str(data["meta"]))


def load_diagrams(path: str | Path, dim: int) -> tuple[list[np.ndarray], dict]:
    """The ``dim``-dimensional diagrams of every layer (in layer order) and the metadata of one ``.npz``."""
    meta = diagram_meta(path)
    with np.load(path) as data:
        return [data[diagram_key(layer, dim)] for layer in meta["layers"]], meta


def diagrams_of_store(
    store_path: Path,
    batches: Sequence[int],
    maxdim: int,
    backend: str,
    representation: str = "top_l2",
    threads: int = 1,
) -> list[tuple[dict[int, list[np.ndarray]], dict]]:
    """Per batch of ``batches``: the diagrams of every layer's ``representation`` cloud of an activation
    store, with their metadata. The store is opened, and each layer read and verified, once for all batches."""
    store = open_store(store_path)
    for batch in batches:
        if not 0 <= batch < store.attrs["batches"]:
            raise ValueError(f"{store_path} has batches 0..{store.attrs['batches'] - 1}, not {batch}")
    layers = [int(key.removeprefix("layer")) for key in store.layer_keys]
    diagrams: list[dict[int, list[np.ndarray]]] = [{} for _ in batches]
    for layer in progress_bar(layers, desc=f"PH of {Path(store_path).name}", unit="layer"):
        clouds = store.layer(layer, representation)
        for per_batch, batch in zip(diagrams, batches):
            try:
                per_batch[layer] = persistence_diagrams(clouds[batch], maxdim, backend, threads)
            except ValueError as error:
                raise ValueError(f"{store_path} layer {layer} batch {batch}: {error}") from error
    meta = {
        "store": str(store_path),
        "seed": store.attrs["seed"],
        "representation": representation,
        "layers": layers,
        "maxdim": maxdim,
        "backend": backend,
        "points": store.attrs["rows"],
        "config_digest": store.attrs["config_digest"],
    }
    return [(per_batch, {**meta, "batch": batch}) for per_batch, batch in zip(diagrams, batches)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.persistence", description=__doc__)
    parser.add_argument("--store", type=Path, required=True, help="activation store (.zarr)")
    parser.add_argument("--batch", type=int, nargs="+", required=True, help="batches, one --out file each")
    parser.add_argument("--maxdim", type=int, default=1)
    parser.add_argument("--backend", choices=BACKENDS, default="giotto")
    parser.add_argument("--representation", default="top_l2", help="which clouds of the store (cnntopo.ph.sampling)")
    parser.add_argument("--threads", type=int, default=1, help="giotto-ph's threads (the job's cores)")
    parser.add_argument("--out", type=Path, nargs="+", required=True, help="output: diagrams (.npz) per batch")
    args = parser.parse_args(argv)
    if len(args.out) != len(args.batch):
        parser.error(f"--out needs one path per batch ({len(args.batch)}), got {len(args.out)}")
    computed = diagrams_of_store(args.store, args.batch, args.maxdim, args.backend, args.representation, args.threads)
    for (diagrams, meta), out in zip(computed, args.out):
        save_diagrams(out, diagrams, meta)
        sizes = ", ".join(f"{layer}:{len(d[1]) if len(d) > 1 else 0}" for layer, d in diagrams.items())
        print(f"{out}: H1 points per layer {sizes}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    run_step(main)
