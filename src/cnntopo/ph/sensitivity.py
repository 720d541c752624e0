"""The sensitivity test (Ding, Denain & Steinhardt 2021; paper Figure 7; docs/method.md, Sensitivity).

Delete the k lowest principal components of a layer's ``(N, c)`` cloud (project it
onto its top c - k directions) for k on a grid, and measure the distance between
the original and the reduced cloud. The baseline of a layer is the mean distance
between that layer of model A and the same layer of every other model: a deletion
is *detectable* when its distance exceeds the baseline. Beyond the paper, the spread of
those same-layer distances over the models is reported too, and the stricter threshold
of their maximum: a deletion that moves a layer further than any other seed's copy of it.

Two projections:
- ``authors``: SVD of the raw cloud, no centring, no rescaling (the authors' code);
- ``ding``: centred cloud, top c - k principal components, rescaled by c / (c - k)
  (Ding et al.).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import write_table
from cnntopo.ph.similarity import METRIC_NAMES, Metric, centred, make_metric
from cnntopo.ph.specificity import cross_matrices_by_pair
from cnntopo.store import open_store

PROJECTIONS = ("authors", "ding")


def deletion_grid(channels: int, step: int) -> list[int]:
    """k = step, 2 step, ... < channels."""
    return list(range(step, channels, step))


def reduced_clouds(cloud: np.ndarray, ks: Sequence[int], projection: str) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(k, cloud without its k lowest components)`` for each k, from one SVD. Shapes stay ``(N, c)``."""
    if projection not in PROJECTIONS:
        raise ValueError(f"unknown projection {projection!r}; choose one of {PROJECTIONS}")
    x = centred(cloud) if projection == "ding" else np.asarray(cloud, dtype=np.float64)
    c = x.shape[1]
    _, _, vt = np.linalg.svd(x, full_matrices=False)  # rows: right singular vectors, largest first
    for k in ks:
        if not 0 < k < c:
            raise ValueError(f"k = {k} must lie in 1..{c - 1} for a {c}-channel cloud")
        top = vt[: c - k]
        reduced = (x @ top.T) @ top
        yield k, reduced * (c / (c - k)) if projection == "ding" else reduced


def sensitivity_curve(cloud: np.ndarray, ks: Sequence[int], metric: Metric, projection: str) -> np.ndarray:
    """``(len(ks),)`` distances between the cloud and each of its reductions."""
    original = metric.prepare(cloud)
    return np.array([metric.distance(original, metric.prepare(r)) for _, r in reduced_clouds(cloud, ks, projection)])


def first_detectable(ks: Sequence[int], channels: int, distances: np.ndarray, baseline: float) -> float | None:
    """The smallest fraction k / c whose distance exceeds the baseline; None if no deletion does."""
    above = [k for k, d in zip(ks, distances) if d > baseline]
    return min(above) / channels if above else None


def same_layer_distances(cross: dict[tuple[int, int], np.ndarray], reference: int) -> np.ndarray:
    """``(models B, L)``: d(layer l of A, layer l of B) for every other model B; their mean over B is the
    paper's baseline, their maximum the strict threshold."""
    diagonals = [np.diag(m) for (a, _), m in cross.items() if a == reference]
    if not diagonals:
        raise ValueError(f"no cross-model distances of seed {reference}: the baseline needs other models")
    return np.array(diagonals)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.sensitivity", description=__doc__)
    parser.add_argument("--store", type=Path, required=True, help="activation store of model A")
    parser.add_argument(
        "--cross", type=Path, nargs="+", required=True, help="cross-model matrices (.npz) of the metric"
    )
    parser.add_argument("--metric", choices=METRIC_NAMES, required=True)
    parser.add_argument("--layers", type=int, nargs="+", required=True)
    parser.add_argument("--step", type=int, default=4, help="k runs over step, 2 step, ... < c")
    parser.add_argument("--projection", choices=PROJECTIONS, required=True)
    parser.add_argument("--batch", type=int, default=0, help="batch of images used")
    parser.add_argument("--directions", type=int, default=50, help="sw: M")
    parser.add_argument("--dim", type=int, default=1, help="sw: homology dimension")
    parser.add_argument("--maxdim", type=int, default=1, help="sw: PH maxdim")
    parser.add_argument("--backend", default="giotto", help="sw: PH backend")
    parser.add_argument("--representation", default="top_l2", help="which clouds (cnntopo.ph.sampling)")
    parser.add_argument("--curves", type=Path, required=True, help="output: one row per layer and k (.csv)")
    parser.add_argument(
        "--summary", type=Path, required=True, help="output: first detectable deletion per layer (.csv)"
    )
    args = parser.parse_args(argv)

    metric = make_metric(args.metric, args.directions, args.dim, args.maxdim, args.backend)
    store = open_store(args.store)
    reference = int(store.attrs["seed"])
    per_batch_cross = {}
    for f in args.cross:
        with np.load(f) as data:
            per_batch_cross[int(data["seed"])] = (data["others"], data["per_batch"][:, args.batch])
    spread = same_layer_distances(cross_matrices_by_pair(per_batch_cross), reference)
    curves, summary = [], []
    for layer in args.layers:
        cloud = store.layer(layer, args.representation)[args.batch]
        channels = cloud.shape[1]
        ks = deletion_grid(channels, args.step)
        distances = sensitivity_curve(cloud, ks, metric, args.projection)
        baseline, largest = float(spread[:, layer].mean()), float(spread[:, layer].max())
        curves += [
            {
                "layer": layer,
                "channels": channels,
                "k": k,
                "fraction_deleted": k / channels,
                "distance": float(d),
                "baseline": baseline,
                "baseline_max": largest,
                "detectable": bool(d > baseline),
                "detectable_beyond_every_model": bool(d > largest),
            }
            for k, d in zip(ks, distances)
        ]
        first = first_detectable(ks, channels, distances, baseline)
        strict = first_detectable(ks, channels, distances, largest)
        # NaN twice over: no deletion exceeded the baseline, or (deletions = 0) c <= step left nothing to delete.
        summary.append(
            {
                "metric": metric.name,
                "representation": args.representation,
                "layer": layer,
                "channels": channels,
                "baseline": baseline,
                "baseline_std": float(spread[:, layer].std(ddof=1)) if len(spread) > 1 else float("nan"),
                "baseline_max": largest,
                "models": len(spread),
                "deletions": len(ks),
                "first_detectable_fraction": float("nan") if first is None else first,
                "first_detectable_beyond_every_model": float("nan") if strict is None else strict,
                "max_distance": float(distances.max()) if len(distances) else float("nan"),
            }
        )
        verdict = "none tried" if not ks else "none" if first is None else f"{first:.3f}"
        print(
            f"{metric.name} layer {layer}: baseline {baseline:.4g}, first detectable deletion {verdict} "
            f"(fraction of {channels} PCs)"
        )
    write_table(args.curves, curves)
    write_table(args.summary, summary)


if __name__ == "__main__":
    run_step(main)
