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

from cnntopo.provenance import write_table

PAPER_LAYER_OF_INTEREST = 9
PAPER_RHO_LAYER_9 = 0.907
PAPER_RHO_OVERALL = 0.910


def cross_partners(seed: int, seeds: Sequence[int], references: str | Sequence[int]) -> list[int]:
    """The models whose cross matrices against ``seed`` are computed (``references``: "all" or reference seeds).

    With "all", each unordered pair is computed once, by its smaller seed: the transpose serves the
    other order (:func:`cross_matrices_by_pair`). With a list, each reference meets every other model.
    """
    return [s for s in seeds if s > seed] if references == "all" else [s for s in seeds if s != seed]


def row_correlations(within: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """``(L,)`` Pearson correlation of row i of ``within`` with row i of ``cross`` (both ``(L, L)``).

    NaN where a row is constant (the correlation is undefined).
    """
    a = within - within.mean(axis=1, keepdims=True)
    b = cross - cross.mean(axis=1, keepdims=True)
    norm = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(axis=1) / norm, np.nan)


def cross_matrices_by_pair(cross: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[tuple[int, int], np.ndarray]:
    """``{(A, B): (L, L)}`` for both orders of every computed pair, from ``cross[A] = (seeds B, (n, L, L))``.

    SW(layer i of A, layer j of B) = SW(layer j of B, layer i of A): the B-vs-A matrix is the transpose.
    """
    pairs = {}
    for a, (others, matrices) in cross.items():
        for b, matrix in zip(others, matrices):
            pairs[int(a), int(b)] = matrix
            pairs[int(b), int(a)] = matrix.T
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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.specificity", description=__doc__)
    parser.add_argument("--within", type=Path, nargs="+", required=True, help="within-model matrices (.npz)")
    parser.add_argument("--cross", type=Path, nargs="+", required=True, help="cross-model matrices (.npz)")
    parser.add_argument("--references", type=int, nargs="+", required=True, help="seeds of the reference models A")
    parser.add_argument("--layer", type=int, default=PAPER_LAYER_OF_INTEREST, help="layer of interest")
    parser.add_argument("--table", type=Path, required=True, help="output: per-layer table (.csv)")
    parser.add_argument("--pairs", type=Path, required=True, help="output: every (A, B, layer) correlation (.csv)")
    parser.add_argument("--summary", type=Path, required=True, help="output: summary (.csv)")
    args = parser.parse_args(argv)
    within, metric = {}, None
    for f in args.within:
        with np.load(f) as data:
            within[int(data["seed"])] = data["mean"]
            metric = str(data["metric"])
    cross = {}
    for f in args.cross:
        with np.load(f) as data:
            cross[int(data["seed"])] = (data["others"], data["mean"])
    pairs = pair_correlations(within, cross_matrices_by_pair(cross), args.references)
    result = {"metric": metric, **summary(pairs, args.layer)}
    write_table(args.pairs, pairs)
    write_table(args.table, layer_table(pairs))
    write_table(args.summary, [result])
    print(
        f"{metric} specificity over {result['pairs']} model pairs: rho(layer {args.layer}) = {result['rho_layer']:.3f} "
        f"(paper {PAPER_RHO_LAYER_9}), rho(all layers) = {result['rho_overall']:.3f} (paper {PAPER_RHO_OVERALL})"
    )


if __name__ == "__main__":
    main()
