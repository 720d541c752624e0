"""Layer-by-layer SW distance matrices: within one model, and between two models.

Inputs are the per-(model, batch) diagram files of :mod:`cnntopo.persistence`.
Batches pair up by index: batch b of every model holds the same images.

- within-model: ``(B, L, L)`` SW(layer i, layer j) of one model per batch, their
  mean over batches and the coefficient of variation (std / mean) per entry.
- cross-model: for a reference model A and each other model B, ``(B, L, L)``
  SW(layer i of A, layer j of B) per batch and the mean over batches.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from cnntopo.persistence import load_diagrams
from cnntopo.sliced_wasserstein import sliced_wasserstein_matrix


def diagrams_by_batch(files: Sequence[Path], dim: int) -> tuple[int, list[list[np.ndarray]], list[int]]:
    """Read one model's diagram files; returns (seed, diagrams per batch in batch order, layer indices)."""
    loaded = [load_diagrams(f, dim) for f in files]
    seeds = {meta["seed"] for _, meta in loaded}
    if len(seeds) != 1:
        raise ValueError(f"diagram files of several models were given together: seeds {sorted(seeds)}")
    loaded.sort(key=lambda item: item[1]["batch"])
    batches = [meta["batch"] for _, meta in loaded]
    if batches != list(range(len(batches))):
        raise ValueError(f"batches {batches} of seed {seeds.pop()} are not 0..{len(batches) - 1}")
    return seeds.pop(), [d for d, _ in loaded], loaded[0][1]["layers"]


def coefficient_of_variation(per_batch: np.ndarray) -> np.ndarray:
    """std / mean over axis 0, 0 where the mean is 0 (e.g. the diagonal)."""
    mean = per_batch.mean(axis=0)
    std = per_batch.std(axis=0)
    return np.divide(std, mean, out=np.zeros_like(mean), where=mean > 0)


def within_model(files: Sequence[Path], dim: int, m: int) -> dict[str, np.ndarray]:
    seed, batches, layers = diagrams_by_batch(files, dim)
    per_batch = np.stack([sliced_wasserstein_matrix(d, m=m) for d in batches])
    return {"seed": np.array(seed), "layers": np.array(layers), "per_batch": per_batch,
            "mean": per_batch.mean(axis=0), "cv": coefficient_of_variation(per_batch)}


def cross_model(reference_files: Sequence[Path], other_files: Sequence[Path], dim: int, m: int) -> dict[str, np.ndarray]:
    """Cross matrices of the reference model against every other model whose files are given (grouped by seed)."""
    seed, reference, layers = diagrams_by_batch(reference_files, dim)
    grouped: dict[int, list[Path]] = defaultdict(list)
    for f in other_files:
        grouped[load_diagrams(f, dim)[1]["seed"]].append(f)
    grouped.pop(seed, None)
    others, stacks = [], []
    for other in sorted(grouped):
        _, batches, _ = diagrams_by_batch(grouped[other], dim)
        if len(batches) != len(reference):
            raise ValueError(f"seed {other} has {len(batches)} batches, seed {seed} has {len(reference)}")
        others.append(other)
        stacks.append(np.stack([sliced_wasserstein_matrix(a, b, m=m) for a, b in zip(reference, batches)]))
    per_batch = np.stack(stacks)  # (n_others, B, L, L)
    return {"seed": np.array(seed), "others": np.array(others), "layers": np.array(layers),
            "per_batch": per_batch, "mean": per_batch.mean(axis=1)}


def _save(path: Path, arrays: dict[str, np.ndarray], dim: int, m: int) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, homology_dim=np.array(dim), directions=np.array(m), **arrays)
    tmp.replace(path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.layer_distances", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    within = sub.add_parser("within", help="within-model matrices of one model")
    within.add_argument("--diagrams", type=Path, nargs="+", required=True, help="the model's diagram files")
    cross = sub.add_parser("cross", help="cross-model matrices of a reference model against others")
    cross.add_argument("--reference", type=Path, nargs="+", required=True, help="the reference model's diagram files")
    cross.add_argument("--others", type=Path, nargs="+", required=True, help="diagram files of the other models")
    for command in (within, cross):
        command.add_argument("--dim", type=int, default=1, help="homology dimension (SPEC: H1)")
        command.add_argument("--directions", type=int, default=50, help="M, directions of the SW approximation")
        command.add_argument("--out", type=Path, required=True, help="output (.npz)")
    args = parser.parse_args(argv)
    if args.command == "within":
        result = within_model(args.diagrams, args.dim, args.directions)
        print(f"seed {int(result['seed'])}: max CV over entries {result['cv'].max():.3f}")
    else:
        result = cross_model(args.reference, args.others, args.dim, args.directions)
        print(f"seed {int(result['seed'])} against seeds {result['others'].tolist()}")
    _save(args.out, result, args.dim, args.directions)


if __name__ == "__main__":
    main()
