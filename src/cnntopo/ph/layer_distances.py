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
from pathlib import Path
from typing import Any

import numpy as np

from cnntopo.ph.pairwise import pairwise_matrix
from cnntopo.ph.persistence import diagram_meta, load_diagrams
from cnntopo.ph.similarity import METRIC_NAMES, METRICS, Metric, make_metric
from cnntopo.provenance import atomic_savez
from cnntopo.store import open_store


def _reads_diagrams(metric: Metric) -> bool:
    return METRICS[metric.name].reads == "diagrams"


def model_seed(metric: Metric, path: Path) -> int:
    """The seed of the model an input belongs to, read from its metadata only."""
    if _reads_diagrams(metric):
        return int(diagram_meta(path)["seed"])
    return int(open_store(path).attrs["seed"])


def representations(metric: Metric, files: Sequence[Path]) -> tuple[int, list[list[Any]], list[int]]:
    """One model's prepared layer representations: (seed, ``reps[batch][layer]``, layer indices)."""
    if _reads_diagrams(metric):
        loaded = sorted((load_diagrams(f, metric.diagram_dim) for f in files), key=lambda item: item[1]["batch"])
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
    clouds = [store.layer(layer) for layer in layers]  # each (B, N, c)
    reps = [[metric.prepare(cloud[b]) for cloud in clouds] for b in range(store.attrs["batches"])]
    return int(store.attrs["seed"]), reps, layers


def coefficient_of_variation(per_batch: np.ndarray) -> np.ndarray:
    """std / mean over axis 0, 0 where the mean is 0 (e.g. the diagonal)."""
    mean = per_batch.mean(axis=0)
    std = per_batch.std(axis=0)
    return np.divide(std, mean, out=np.zeros_like(mean), where=mean > 0)


def within_model(metric: Metric, files: Sequence[Path]) -> dict[str, np.ndarray]:
    seed, reps, layers = representations(metric, files)
    per_batch = np.stack([pairwise_matrix(batch, metric.distance) for batch in reps])
    return {
        "seed": np.array(seed),
        "layers": np.array(layers),
        "per_batch": per_batch,
        "mean": per_batch.mean(axis=0),
        "cv": coefficient_of_variation(per_batch),
    }


def cross_model(metric: Metric, reference_files: Sequence[Path], other_files: Sequence[Path]) -> dict[str, np.ndarray]:
    """Cross matrices of the reference model against every other model whose files are given (grouped by seed)."""
    seed, reference, layers = representations(metric, reference_files)
    grouped: dict[int, list[Path]] = defaultdict(list)
    for f in other_files:
        grouped[model_seed(metric, f)].append(f)
    grouped.pop(seed, None)
    others, stacks = [], []
    for other in sorted(grouped):
        _, batches, _ = representations(metric, grouped[other])
        if len(batches) != len(reference):
            raise ValueError(f"seed {other} has {len(batches)} batches, seed {seed} has {len(reference)}")
        others.append(other)
        stacks.append(np.stack([pairwise_matrix(a, metric.distance, b) for a, b in zip(reference, batches)]))
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
    sub = parser.add_subparsers(dest="command", required=True)
    within = sub.add_parser("within", help="within-model matrices of one model")
    within.add_argument("--inputs", type=Path, nargs="+", required=True, help="the model's diagram files or store")
    cross = sub.add_parser("cross", help="cross-model matrices of a reference model against others")
    cross.add_argument("--reference", type=Path, nargs="+", required=True, help="the reference model's inputs")
    cross.add_argument("--others", type=Path, nargs="+", required=True, help="the other models' inputs")
    for command in (within, cross):
        command.add_argument("--metric", choices=METRIC_NAMES, required=True)
        command.add_argument("--dim", type=int, default=1, help="sw: homology dimension (SPEC: H1)")
        command.add_argument("--directions", type=int, default=50, help="sw: M, directions of the approximation")
        command.add_argument("--out", type=Path, required=True, help="output (.npz)")
    args = parser.parse_args(argv)
    metric = make_metric(args.metric, directions_m=args.directions, homology_dim=args.dim)
    if args.command == "within":
        result = within_model(metric, args.inputs)
        print(f"{metric.name}, seed {int(result['seed'])}: max CV over entries {result['cv'].max():.3f}")
    else:
        result = cross_model(metric, args.reference, args.others)
        print(f"{metric.name}, seed {int(result['seed'])} against seeds {result['others'].tolist()}")
    atomic_savez(args.out, metric=np.array(metric.name), label=np.array(metric.label), **result)


if __name__ == "__main__":
    main()
