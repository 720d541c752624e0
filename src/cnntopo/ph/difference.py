"""Trained minus untrained specificity, paired by seed: does training change what the architecture gives?

The untrained control of seed s is the initialisation of trained seed s, and both go through the
same images, so the two specificity tests are paired: the same ordered pairs (A, B) of seeds, the
same batches. The difference of the mean rho (trained minus untrained) gets

- an interval from the model bootstrap (:func:`cnntopo.ph.statistics.bootstrap_specificity` with
  both conditions under the same draws of models and batches; expanded percentile, as the headline
  intervals), and
- a two-sided p-value from a sign-flip permutation over seeds: seed s's difference is the mean over
  the pairs it is the reference A of (:func:`cnntopo.ph.statistics.sign_flip_p_value`). With n seeds
  no p-value below 2 / 2**n is possible (0.125 at 4 seeds, 0.031 at 6).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import write_table
from cnntopo.ph.specificity import add_test_options, load_matrices, pair_keys, pair_stacks, specificity_samples
from cnntopo.ph.statistics import MIN_MODELS, MODEL_SCHEME, percentile_interval, row_correlations, sign_flip_p_value


def conclusion(low: float, high: float, models: int) -> str:
    """The interval of the difference in words."""
    if not np.isfinite(low) or not np.isfinite(high):
        return f"no interval: a model-level interval needs {MIN_MODELS} models or more, the run has {models}"
    if low > 0:
        return "the interval excludes 0: training raises specificity"
    if high < 0:
        return "the interval excludes 0: training lowers specificity"
    return f"the interval contains 0: at {models} models the run cannot say that training changes specificity"


def trained_minus_untrained(
    trained: tuple[dict[int, np.ndarray], dict[tuple[int, int], np.ndarray]],
    untrained: tuple[dict[int, np.ndarray], dict[tuple[int, int], np.ndarray]],
    references: Sequence[int],
    layer: int,
    draws: int,
    permutations: int,
    seed: int,
) -> list[dict]:
    """One row per scope (layer of interest, all layers): the paired difference, its interval and p-value.

    ``trained``, ``untrained``: ``({seed: (B, L, L)}, {(A, B): (B, L, L)})`` per-batch within and cross
    matrices of the same seeds and pairs.
    """
    keys = pair_keys(trained[1], references)
    if keys != pair_keys(untrained[1], references):
        raise ValueError("the trained and untrained models were not compared on the same pairs of seeds")
    stacks = [pair_stacks(*matrices, keys) for matrices in (trained, untrained)]
    rho = [row_correlations(w.mean(axis=1), c.mean(axis=1)) for w, c in stacks]  # (P, L) each
    samples, level = specificity_samples(stacks, keys, references, layer, draws, seed)
    reference = np.array([a for a, _ in keys])
    models = len({s for key in keys for s in key})
    rows = []
    for scope, name, columns in (
        ("layer_of_interest", "rho_layer", [layer]),
        ("all_layers", "rho_overall", slice(None)),
    ):
        per_pair = [np.nanmean(r[:, columns], axis=1) for r in rho]  # (P,) each condition
        per_seed = [np.nanmean(per_pair[0][reference == a] - per_pair[1][reference == a]) for a in references]
        low, high = percentile_interval(samples[name][:, 0] - samples[name][:, 1], level)
        trained_rho, untrained_rho = (float(np.nanmean(r[:, columns])) for r in rho)
        rows.append(
            {
                "scope": scope,
                "layer_of_interest": layer,
                "trained": trained_rho,
                "untrained": untrained_rho,
                "difference": trained_rho - untrained_rho,
                "ci_low": low,
                "ci_high": high,
                "p_value": sign_flip_p_value(np.array(per_seed), permutations, seed),
                "models": models,
                "ci_method": MODEL_SCHEME,
                "conclusion": conclusion(low, high, models),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.difference", description=__doc__)
    parser.add_argument("--trained-within", type=Path, nargs="+", required=True, help="within-model matrices (.npz)")
    parser.add_argument("--trained-cross", type=Path, nargs="+", required=True, help="cross-model matrices (.npz)")
    parser.add_argument("--untrained-within", type=Path, nargs="+", required=True)
    parser.add_argument("--untrained-cross", type=Path, nargs="+", required=True)
    add_test_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="output: one row per scope (.csv)")
    args = parser.parse_args(argv)
    trained = load_matrices(args.trained_within, args.trained_cross)
    untrained = load_matrices(args.untrained_within, args.untrained_cross)
    if trained[:2] != untrained[:2]:
        raise ValueError(f"trained {trained[:2]} and untrained {untrained[:2]} matrices are of different measures")
    statistics = (args.bootstrap, args.permutations, args.seed)
    rows = trained_minus_untrained(trained[4:], untrained[4:], args.references, args.layer, *statistics)
    write_table(args.out, [{"metric": trained[0], "representation": trained[1], **row} for row in rows])
    for row in rows:
        print(
            f"{trained[0]} ({trained[1]}), {row['scope']}: trained - untrained = {row['difference']:.3f} "
            f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}], sign-flip p = {row['p_value']:.3f}: {row['conclusion']}"
        )


if __name__ == "__main__":
    run_step(main)
