"""The specificity test (Ding, Denain & Steinhardt 2021; SPEC branch 1).

For a reference model A and another model B, row i of A's within-model matrix
(distances from layer i of A to every layer of A) is correlated (Pearson) with
row i of the A-vs-B cross matrix (distances from layer i of A to every layer of
B). A metric that reflects architecture rather than initialisation gives
correlations near 1. Full rows are used, the diagonal included, as in the
authors' analysis.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.ph.statistics import (
    bootstrap_specificity,
    percentile_interval,
    permutation_p_value,
    rank_rows,
    row_correlations,
)
from cnntopo.provenance import write_table

PAPER_LAYER_OF_INTEREST = 9
PAPER_RHO_LAYER_9 = 0.907
PAPER_RHO_OVERALL = 0.910


def cross_partners(seed: int, seeds: Sequence[int], references: str | Sequence[int]) -> list[int]:
    """The models whose cross matrices against ``seed`` are computed (``references``: "all" or reference seeds).

    With "all", each unordered pair is computed once, by its smaller seed: the transpose serves the
    other order (:func:`cross_matrices_by_pair`). With a list, each reference meets every other model,
    and a model that is no reference meets none.
    """
    if references == "all":
        return [s for s in seeds if s > seed]
    return [s for s in seeds if s != seed] if seed in references else []


def cross_matrices_by_pair(cross: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[tuple[int, int], np.ndarray]:
    """``{(A, B): (..., L, L)}`` for both orders of every computed pair, from ``cross[A] = (seeds B, (n, ..., L, L))``.

    SW(layer i of A, layer j of B) = SW(layer j of B, layer i of A): the B-vs-A matrix is the transpose.
    """
    pairs = {}
    for a, (others, matrices) in cross.items():
        for b, matrix in zip(others, matrices):
            pairs[int(a), int(b)] = matrix
            pairs[int(b), int(a)] = np.swapaxes(matrix, -1, -2)
    return pairs


def pair_correlations(
    within: dict[int, np.ndarray], cross: dict[tuple[int, int], np.ndarray], references: Sequence[int]
) -> list[dict]:
    """One row per (reference A, other model B, layer i) with ``rho``, for every B that A was compared with."""
    rows = []
    for a in references:
        for b in sorted(other for first, other in cross if first == a):
            for layer, rho in enumerate(row_correlations(within[a], cross[a, b])):
                rows.append({"reference": int(a), "other": int(b), "layer": layer, "rho": float(rho)})
    return rows


def layer_table(pairs: Sequence[dict]) -> list[dict]:
    """Per layer: mean and std of rho over all (A, B) pairs, and how many pairs gave a defined value."""
    table = []
    for layer in sorted({p["layer"] for p in pairs}):
        values = np.array([p["rho"] for p in pairs if p["layer"] == layer])
        finite = values[np.isfinite(values)]
        table.append(
            {
                "layer": layer,
                "rho_mean": float(finite.mean()) if len(finite) else float("nan"),
                "rho_std": float(finite.std()) if len(finite) else float("nan"),
                "pairs": len(finite),
                "undefined": int(len(values) - len(finite)),
            }
        )
    return table


def summary(pairs: Sequence[dict], layer_of_interest: int) -> dict[str, float]:
    rho = np.array([p["rho"] for p in pairs])
    at_layer = np.array([p["rho"] for p in pairs if p["layer"] == layer_of_interest])
    return {
        "layer_of_interest": layer_of_interest,
        "rho_layer": float(np.nanmean(at_layer)),
        "rho_overall": float(np.nanmean(rho)),
        "pairs": len({(p["reference"], p["other"]) for p in pairs}),
        "paper_rho_layer_9": PAPER_RHO_LAYER_9,
        "paper_rho_overall": PAPER_RHO_OVERALL,
    }


def pair_stacks(
    within: dict[int, np.ndarray], cross: dict[tuple[int, int], np.ndarray], references: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """``(P, ..., L, L)`` stacks of A's within matrices and the A-vs-B cross matrices, in the order of
    :func:`pair_correlations` (reference A, then other model B)."""
    keys = [(a, b) for a in references for b in sorted(other for first, other in cross if first == a)]
    return np.stack([within[a] for a, _ in keys]), np.stack([cross[key] for key in keys])


def uncertainty(
    within: np.ndarray, cross: np.ndarray, layer: int, bootstrap: int, permutations: int, seed: int
) -> dict[str, float]:
    """Intervals, Spearman, the diagonal-free rho and the permutation p-value (:mod:`cnntopo.ph.statistics`)
    from ``(P, B, L, L)`` per-batch stacks."""
    mean_w, mean_c = within.mean(axis=1), cross.mean(axis=1)
    samples = bootstrap_specificity(within, cross, layer, bootstrap, seed)
    layer_ci, overall_ci = percentile_interval(samples["rho_layer"]), percentile_interval(samples["rho_overall"])
    spearman = row_correlations(rank_rows(mean_w), rank_rows(mean_c))
    offdiag = row_correlations(mean_w, mean_c, exclude_diagonal=True)
    return {
        "rho_layer_ci_low": layer_ci[0],
        "rho_layer_ci_high": layer_ci[1],
        "rho_overall_ci_low": overall_ci[0],
        "rho_overall_ci_high": overall_ci[1],
        "spearman_layer": float(np.nanmean(spearman[:, layer])),
        "spearman_overall": float(np.nanmean(spearman)),
        "rho_layer_offdiag": float(np.nanmean(offdiag[:, layer])),
        "rho_overall_offdiag": float(np.nanmean(offdiag)),
        "p_value": permutation_p_value(mean_w, mean_c, permutations, seed),
        "batches": within.shape[1],
        "bootstrap": bootstrap,
        "permutations": permutations,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.specificity", description=__doc__)
    parser.add_argument("--within", type=Path, nargs="+", required=True, help="within-model matrices (.npz)")
    parser.add_argument("--cross", type=Path, nargs="+", required=True, help="cross-model matrices (.npz)")
    parser.add_argument("--references", type=int, nargs="+", required=True, help="seeds of the reference models A")
    parser.add_argument("--layer", type=int, default=PAPER_LAYER_OF_INTEREST, help="layer of interest")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap draws of the intervals")
    parser.add_argument("--permutations", type=int, default=1000, help="draws of the permutation null")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and permutation draws")
    parser.add_argument("--table", type=Path, required=True, help="output: per-layer table (.csv)")
    parser.add_argument("--pairs", type=Path, required=True, help="output: every (A, B, layer) correlation (.csv)")
    parser.add_argument("--summary", type=Path, required=True, help="output: summary (.csv)")
    args = parser.parse_args(argv)
    within, within_batches, names = {}, {}, set()
    for f in args.within:
        with np.load(f) as data:
            within[int(data["seed"])], within_batches[int(data["seed"])] = data["mean"], data["per_batch"]
            names.add((str(data["metric"]), str(data["representation"])))
    cross, cross_batches = {}, {}
    for f in args.cross:
        with np.load(f) as data:
            cross[int(data["seed"])] = (data["others"], data["mean"])
            cross_batches[int(data["seed"])] = (data["others"], data["per_batch"])
    if len(names) != 1:
        raise ValueError(f"the within-model files mix metrics or representations: {sorted(names)}")
    metric, representation = names.pop()
    by_pair = cross_matrices_by_pair(cross)
    pairs = pair_correlations(within, by_pair, args.references)
    stacks = pair_stacks(within_batches, cross_matrices_by_pair(cross_batches), args.references)
    result = {
        "metric": metric,
        "representation": representation,
        **summary(pairs, args.layer),
        **uncertainty(*stacks, args.layer, args.bootstrap, args.permutations, args.seed),
        "models": len(set(within_batches) | {b for _, b in by_pair}),
    }
    write_table(args.pairs, pairs)
    write_table(args.table, layer_table(pairs))
    write_table(args.summary, [result])
    print(
        f"{metric} ({representation}) specificity over {result['pairs']} model pairs: rho(layer {args.layer}) = "
        f"{result['rho_layer']:.3f} [{result['rho_layer_ci_low']:.3f}, {result['rho_layer_ci_high']:.3f}] "
        f"(paper {PAPER_RHO_LAYER_9}), rho(all layers) = {result['rho_overall']:.3f} "
        f"[{result['rho_overall_ci_low']:.3f}, {result['rho_overall_ci_high']:.3f}] (paper {PAPER_RHO_OVERALL}), "
        f"permutation p = {result['p_value']:.4f}"
    )


if __name__ == "__main__":
    run_step(main)
