"""The specificity test (Ding, Denain & Steinhardt 2021; docs/method.md, Specificity).

For a reference model A and another model B, row i of A's within-model matrix
(distances from layer i of A to every layer of A) is correlated (Pearson) with
row i of the A-vs-B cross matrix (distances from layer i of A to every layer of
B). A metric that reflects architecture rather than initialisation gives
correlations near 1. Full rows are used, the diagonal included, as in the
authors' analysis.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sequence
from itertools import combinations
from math import comb
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import write_table
from cnntopo.ph.statistics import (
    MODEL_SCHEME,
    PAIR_SCHEME,
    bootstrap_specificity,
    expanded_level,
    model_indices,
    percentile_interval,
    permutation_p_value,
    rank_rows,
    resampled_units,
    row_correlations,
)

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


def pair_keys(cross: dict[tuple[int, int], np.ndarray], references: Sequence[int]) -> list[tuple[int, int]]:
    """The ordered pairs (A, B) of the test, in the order of :func:`pair_correlations` (reference A, then B)."""
    return [(a, b) for a in references for b in sorted(other for first, other in cross if first == a)]


def pair_stacks(
    within: dict[int, np.ndarray], cross: dict[tuple[int, int], np.ndarray], keys: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """``(P, ..., L, L)`` stacks of A's within matrices and the A-vs-B cross matrices of the pairs ``keys``."""
    return np.stack([within[a] for a, _ in keys]), np.stack([cross[key] for key in keys])


def model_strata(seeds: np.ndarray, references: Sequence[int]) -> np.ndarray:
    """``(n,)`` bootstrap strata of the models: one when every model is a reference, else references apart."""
    is_reference = np.isin(seeds, references)
    return np.zeros(len(seeds), dtype=int) if is_reference.all() else is_reference.astype(int)


def specificity_samples(
    stacks: Sequence[tuple[np.ndarray, np.ndarray]],
    keys: Sequence[tuple[int, int]],
    references: Sequence[int],
    layer: int,
    draws: int,
    seed: int,
    scheme: str = MODEL_SCHEME,
) -> tuple[dict[str, np.ndarray], float]:
    """``{"rho_layer", "rho_overall"}``: ``(draws, C)`` bootstrap samples of the C conditions' ``(P, B, L, L)``
    stacks of the pairs ``keys``, and the percentile level of their 95 % interval: expanded over the
    resampled models for the model scheme (:func:`cnntopo.ph.statistics.expanded_level`), 0.95 for pairs."""
    pair_models, seeds = model_indices(keys)
    strata = model_strata(seeds, references)
    samples = bootstrap_specificity(stacks, pair_models, layer, draws, seed, scheme, strata)
    return samples, expanded_level(resampled_units(strata)) if scheme == MODEL_SCHEME else 0.95


def sample_intervals(samples: dict[str, np.ndarray], level: float) -> dict[str, np.ndarray]:
    """``{"rho_layer", "rho_overall"}``: ``(C, 2)`` intervals (low, high) of each condition's samples at
    ``level``: ``sample_intervals(*specificity_samples(...))``."""
    return {
        name: np.array([percentile_interval(column, level) for column in values.T]) for name, values in samples.items()
    }


def uncertainty(
    within: np.ndarray,
    cross: np.ndarray,
    keys: Sequence[tuple[int, int]],
    references: Sequence[int],
    layer: int,
    bootstrap: int,
    permutations: int,
    seed: int,
) -> dict[str, float | str]:
    """Intervals under both bootstrap schemes, Spearman, the diagonal-free rho and the permutation p-value
    (:mod:`cnntopo.ph.statistics`) from ``(P, B, L, L)`` per-batch stacks of the pairs ``keys``."""
    mean_w, mean_c = within.mean(axis=1), cross.mean(axis=1)
    intervals = {
        columns: sample_intervals(
            *specificity_samples([(within, cross)], keys, references, layer, bootstrap, seed, scheme)
        )
        for columns, scheme in (("ci", MODEL_SCHEME), ("pair_ci", PAIR_SCHEME))
    }
    spearman = row_correlations(rank_rows(mean_w), rank_rows(mean_c))
    offdiag = row_correlations(mean_w, mean_c, exclude_diagonal=True)
    result: dict[str, float | str] = {}
    for columns, found in intervals.items():
        for name in ("rho_layer", "rho_overall"):
            result[f"{name}_{columns}_low"], result[f"{name}_{columns}_high"] = map(float, found[name][0])
    return {
        **result,
        "ci_method": MODEL_SCHEME,
        "spearman_layer": float(np.nanmean(spearman[:, layer])),
        "spearman_overall": float(np.nanmean(spearman)),
        "rho_layer_offdiag": float(np.nanmean(offdiag[:, layer])),
        "rho_overall_offdiag": float(np.nanmean(offdiag)),
        "p_value": permutation_p_value(mean_w, mean_c, permutations, seed),
        "batches": within.shape[1],
        "bootstrap": bootstrap,
        "permutations": permutations,
    }


def subset_sizes(models: int, most: int) -> list[int]:
    """Up to ``most`` model counts k from 2 to ``models``: every k when they fit, else a geometric grid."""
    if models - 1 <= most:
        return list(range(2, models + 1))
    return sorted({int(round(k)) for k in np.geomspace(2, models, most)})


def model_subsets(seeds: Sequence[int], k: int, most: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Every k-subset of ``seeds`` when there are at most ``most``, else ``most`` distinct seeded draws."""
    if comb(len(seeds), k) <= most:
        return list(combinations(seeds, k))
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < most:
        chosen.add(tuple(sorted(rng.choice(seeds, k, replace=False).tolist())))
    return sorted(chosen)


def seeds_needed(
    within: dict[int, np.ndarray],
    cross: dict[tuple[int, int], np.ndarray],
    references: Sequence[int],
    layer: int,
    draws: int,
    seed: int,
    sizes: int = 10,
    subsets: int = 5,
) -> list[dict]:
    """rho and its model-level interval when only k of the models are used, one row per k.

    ``within``: ``{seed: (B, L, L)}``; ``cross``: ``{(A, B): (B, L, L)}`` (both orders). For each k of
    :func:`subset_sizes` (``sizes`` at most), the test is rerun on each of up to ``subsets`` k-subsets of
    the models (:func:`model_subsets`); the row holds the means over the subsets of rho and of the
    interval's ends (``subsets`` says how many; ``ci_width`` the mean width).
    """
    models = sorted(set(within) | {b for _, b in cross})
    rng = np.random.default_rng(seed)
    rows = []
    for k in subset_sizes(len(models), sizes):
        found = []
        for chosen in model_subsets(models, k, subsets, rng):
            refs = [a for a in references if a in chosen]
            keys = [(a, b) for a, b in pair_keys(cross, refs) if b in chosen]
            if not keys:
                continue
            within_k, cross_k = pair_stacks(within, cross, keys)
            mean = row_correlations(within_k.mean(axis=1), cross_k.mean(axis=1))
            ci = sample_intervals(*specificity_samples([(within_k, cross_k)], keys, refs, layer, draws, seed))
            found.append([np.nanmean(mean[:, layer]), *ci["rho_layer"][0], np.nanmean(mean), *ci["rho_overall"][0]])
        if found:
            with warnings.catch_warnings():  # under four models the intervals are NaN: a NaN mean, no warning
                warnings.simplefilter("ignore", RuntimeWarning)
                values = np.nanmean(np.array(found, dtype=float), axis=0)
            names = ("rho_layer", "rho_layer_ci_low", "rho_layer_ci_high")
            names += ("rho_overall", "rho_overall_ci_low", "rho_overall_ci_high")
            row = {"models": k, **dict(zip(names, map(float, values)))}
            row["ci_width_layer"] = row["rho_layer_ci_high"] - row["rho_layer_ci_low"]
            row["ci_width_overall"] = row["rho_overall_ci_high"] - row["rho_overall_ci_low"]
            rows.append({**row, "subsets": len(found)})
    return rows


def load_matrices(
    within_files: Sequence[Path], cross_files: Sequence[Path]
) -> tuple[str, str, dict[int, np.ndarray], dict[tuple[int, int], np.ndarray], dict, dict]:
    """metric, representation, and the mean and per-batch matrices of layer_distances' files:
    ``{seed: (L, L)}``, ``{(A, B): (L, L)}`` for both orders, ``{seed: (B, L, L)}``, ``{(A, B): (B, L, L)}``."""
    within, within_batches, names = {}, {}, set()
    for f in within_files:
        with np.load(f) as data:
            within[int(data["seed"])], within_batches[int(data["seed"])] = data["mean"], data["per_batch"]
            names.add((str(data["metric"]), str(data["representation"])))
    cross, cross_batches = {}, {}
    for f in cross_files:
        with np.load(f) as data:
            cross[int(data["seed"])] = (data["others"], data["mean"])
            cross_batches[int(data["seed"])] = (data["others"], data["per_batch"])
    if len(names) != 1:
        raise ValueError(f"the within-model files mix metrics or representations: {sorted(names)}")
    metric, representation = names.pop()
    return (
        metric,
        representation,
        within,
        cross_matrices_by_pair(cross),
        within_batches,
        cross_matrices_by_pair(cross_batches),
    )


def add_test_options(parser: argparse.ArgumentParser) -> None:
    """The options of every step that runs the specificity test: references, layer and the draws."""
    parser.add_argument("--references", type=int, nargs="+", required=True, help="seeds of the reference models A")
    parser.add_argument("--layer", type=int, default=PAPER_LAYER_OF_INTEREST, help="layer of interest")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap draws of the intervals")
    parser.add_argument("--permutations", type=int, default=1000, help="draws of the permutation or sign-flip null")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.specificity", description=__doc__)
    parser.add_argument("--within", type=Path, nargs="+", required=True, help="within-model matrices (.npz)")
    parser.add_argument("--cross", type=Path, nargs="+", required=True, help="cross-model matrices (.npz)")
    add_test_options(parser)
    parser.add_argument("--table", type=Path, required=True, help="output: per-layer table (.csv)")
    parser.add_argument("--pairs", type=Path, required=True, help="output: every (A, B, layer) correlation (.csv)")
    parser.add_argument("--summary", type=Path, required=True, help="output: summary (.csv)")
    parser.add_argument("--seeds-needed", type=Path, required=True, help="output: rho and interval by model count")
    args = parser.parse_args(argv)
    metric, representation, within, by_pair, within_batches, batches_by_pair = load_matrices(args.within, args.cross)
    pairs = pair_correlations(within, by_pair, args.references)
    keys = pair_keys(by_pair, args.references)
    statistics = (args.bootstrap, args.permutations, args.seed)
    result = {
        "metric": metric,
        "representation": representation,
        **summary(pairs, args.layer),
        **uncertainty(
            *pair_stacks(within_batches, batches_by_pair, keys), keys, args.references, args.layer, *statistics
        ),
        "models": len(set(within_batches) | {b for _, b in by_pair}),
    }
    needed = seeds_needed(within_batches, batches_by_pair, args.references, args.layer, args.bootstrap, args.seed)
    identity = {"metric": metric, "representation": representation, "layer_of_interest": args.layer}
    write_table(args.seeds_needed, [{**identity, **r} for r in needed])
    write_table(args.pairs, pairs)
    write_table(args.table, layer_table(pairs))
    write_table(args.summary, [result])
    print(
        f"{metric} ({representation}) specificity over {result['pairs']} model pairs: rho(layer {args.layer}) = "
        f"{result['rho_layer']:.3f} [{result['rho_layer_ci_low']:.3f}, {result['rho_layer_ci_high']:.3f}] "
        f"(paper {PAPER_RHO_LAYER_9}), rho(all layers) = {result['rho_overall']:.3f} "
        f"[{result['rho_overall_ci_low']:.3f}, {result['rho_overall_ci_high']:.3f}] (paper {PAPER_RHO_OVERALL}), "
        f"permutation p = {result['p_value']:.4f}; 95 % intervals resample the {result['models']} models and the "
        f"batches (pairs resampled instead: layer [{result['rho_layer_pair_ci_low']:.3f}, "
        f"{result['rho_layer_pair_ci_high']:.3f}], all [{result['rho_overall_pair_ci_low']:.3f}, "
        f"{result['rho_overall_pair_ci_high']:.3f}])"
    )


if __name__ == "__main__":
    run_step(main)
