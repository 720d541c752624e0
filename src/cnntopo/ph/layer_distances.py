"""Layer-by-layer distance matrices of one metric: within one model, and between two models.

Batches pair up by index: batch b of every model holds the same images.

- within-model: ``(B, L, L)`` d(layer i, layer j) of one model per batch, their
  mean over batches and the coefficient of variation (std / mean) per entry.
- cross-model: for a reference model A and each partner model B, ``(B, L, L)``
  d(layer i of A, layer j of B) per batch and the mean over batches.

Inputs per model: for ``sw``, its per-batch diagram files (:mod:`cnntopo.ph.persistence`);
for the cloud metrics (``cka``, ``procrustes``), its activation store.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import atomic_savez
from cnntopo.ph.pairwise import pairwise_matrix
from cnntopo.ph.persistence import diagram_meta, load_diagrams
from cnntopo.ph.similarity import METRIC_NAMES, METRICS, Metric, make_metric
from cnntopo.store import open_store


def _reads_diagrams(metric: Metric) -> bool:
    return METRICS[metric.name].reads == "diagrams"


def model_seed(metric: Metric, path: Path) -> int:
    """The seed of the model an input belongs to, read from its metadata only."""
    if _reads_diagrams(metric):
        return int(diagram_meta(path)["seed"])
    return int(open_store(path).attrs["seed"])


def prepared_layers(
    metric: Metric, files: Sequence[Path], representation: str = "top_l2"
) -> tuple[int, list[list[Any]], list[int]]:
    """One model's layers prepared by ``metric``: (seed, ``prepared[batch][layer]``, layer indices).

    ``files``: the model's diagram files (of clouds of ``representation``) or its store.
    """
    if _reads_diagrams(metric):
        loaded = sorted((load_diagrams(f, metric.diagram_dim) for f in files), key=lambda item: item[1]["batch"])
        kinds = {meta.get("representation", "top_l2") for _, meta in loaded}
        if kinds != {representation}:
            raise ValueError(f"diagram files of {sorted(kinds)} clouds were given for {representation!r}")
        seeds = {meta["seed"] for _, meta in loaded}
        if len(seeds) != 1:
            raise ValueError(f"diagram files of several models were given together: seeds {sorted(seeds)}")
        batches = [meta["batch"] for _, meta in loaded]
        if batches != list(range(len(batches))):
            raise ValueError(f"batches {batches} of seed {seeds.pop()} are not 0..{len(batches) - 1}")
        reps = [[metric.prepare_diagram(d) for d in diagrams] for diagrams, _ in loaded]
        return seeds.pop(), reps, loaded[0][1]["layers"]
    if len(files) != 1:
        raise ValueError(f"{metric.name} reads one activation store per model, got {len(files)} paths")
    store = open_store(files[0])
    layers = [int(key.removeprefix("layer")) for key in store.layer_keys]
    clouds = [store.layer(layer, representation) for layer in layers]  # each (B, N, c)
    reps = [[metric.prepare(cloud[b]) for cloud in clouds] for b in range(store.attrs["batches"])]
    return int(store.attrs["seed"]), reps, layers


PAPER_CV_BOUND = 0.17  # the paper's Figure 5: CV < 0.17 over batches for SW at N = 1000


def coefficient_of_variation(per_batch: np.ndarray) -> np.ndarray:
    """std / mean over axis 0, 0 where the mean is 0 (e.g. the diagonal)."""
    mean = per_batch.mean(axis=0)
    std = per_batch.std(axis=0)
    return np.divide(std, mean, out=np.zeros_like(mean), where=mean > 0)


def within_model(metric: Metric, files: Sequence[Path], representation: str = "top_l2") -> dict[str, np.ndarray]:
    """The within-model matrices of one model from its files."""
    return _within(metric, *prepared_layers(metric, files, representation))


def _within(metric: Metric, seed: int, reps: list[list[Any]], layers: list[int]) -> dict[str, np.ndarray]:
    per_batch = np.stack([pairwise_matrix(batch, metric.distance) for batch in reps])
    return {
        "seed": np.array(seed),
        "layers": np.array(layers),
        "per_batch": per_batch,
        "mean": per_batch.mean(axis=0),
        "cv": coefficient_of_variation(per_batch),
    }


def cross_model(
    metric: Metric,
    reference_files: Sequence[Path],
    other_files: Sequence[Path],
    representation: str = "top_l2",
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Cross matrices of the reference model against every other model whose files are given (grouped by
    seed), ``threads`` partners at a time; the matrices do not depend on ``threads``."""
    prepared = prepared_layers(metric, reference_files, representation)
    return _cross(metric, *prepared, other_files, representation, threads)


def _cross(
    metric: Metric,
    seed: int,
    reference: list[list[Any]],
    layers: list[int],
    other_files: Sequence[Path],
    representation: str,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    grouped: dict[int, list[Path]] = defaultdict(list)
    for f in other_files:
        grouped[model_seed(metric, f)].append(f)
    grouped.pop(seed, None)
    others = sorted(grouped)

    def against(other: int) -> np.ndarray:
        _, batches, _ = prepared_layers(metric, grouped[other], representation)
        if len(batches) != len(reference):
            raise ValueError(f"seed {other} has {len(batches)} batches, seed {seed} has {len(reference)}")
        return np.stack([pairwise_matrix(a, metric.distance, b) for a, b in zip(reference, batches)])

    if threads > 1:
        from threadpoolctl import threadpool_limits

        # Partners side by side, each on one core: numpy's SVD and products release the GIL, and BLAS
        # would otherwise start `threads` threads in each of them.
        with threadpool_limits(1), ThreadPoolExecutor(threads) as pool:
            stacks = list(pool.map(against, others))
    else:
        stacks = [against(other) for other in others]
    per_batch = np.stack(stacks) if stacks else np.zeros((0, len(reference), len(layers), len(layers)))
    return {
        "seed": np.array(seed),
        "others": np.array(others, dtype=np.int64),
        "layers": np.array(layers),
        "per_batch": per_batch,
        "mean": per_batch.mean(axis=1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.layer_distances", description=__doc__)
    parser.add_argument("--reference", type=Path, nargs="+", required=True, help="the model's diagram files or store")
    parser.add_argument("--others", type=Path, nargs="*", default=[], help="the models it is compared with")
    parser.add_argument("--metric", choices=METRIC_NAMES, required=True)
    parser.add_argument(
        "--dim", type=int, default=1, help="sw: homology dimension (H1: docs/method.md, Sliced Wasserstein)"
    )
    parser.add_argument("--directions", type=int, default=50, help="sw: M, directions of the approximation")
    parser.add_argument("--representation", default="top_l2", help="which clouds (cnntopo.ph.sampling)")
    parser.add_argument("--threads", type=int, default=1, help="partners compared side by side")
    parser.add_argument("--within-out", type=Path, required=True, help="output: within-model matrices (.npz)")
    parser.add_argument("--cross-out", type=Path, required=True, help="output: cross-model matrices (.npz)")
    args = parser.parse_args(argv)
    metric = make_metric(args.metric, directions_m=args.directions, homology_dim=args.dim)
    prepared = prepared_layers(metric, args.reference, args.representation)  # once, for both outputs
    names = {
        "metric": np.array(metric.name),
        "label": np.array(metric.label),
        "representation": np.array(args.representation),
    }
    within = _within(metric, *prepared)
    cross = _cross(metric, *prepared, args.others, args.representation, args.threads)
    atomic_savez(args.within_out, **names, **within)
    atomic_savez(args.cross_out, **names, **cross)
    print(
        f"{metric.name} ({args.representation}), seed {prepared[0]}: max CV over entries {within['cv'].max():.3f}; "
        f"cross matrices against seeds {cross['others'].tolist()}"
    )


if __name__ == "__main__":
    run_step(main)
