"""Every quantitative claim of the paper beside this run's value, its interval and a verdict.

The claims (Purvine et al., AAAI 2023) and how each is checked here:

- specificity of SW on top-l2 clouds: rho ~ 0.907 at layer 9 and ~ 0.910 over all layers
  (100 models, N = 1000). Agrees when the paper's value lies in this run's model-level 95 % interval
  (models and batches resampled; the ``interval_method`` column names it);
- the specificity is real, not a property of any two matrices: the permutation p-value < 0.05;
- Figure 5: the within-model distances vary little over image batches, CV < 0.17. Agrees when
  the largest off-diagonal CV (population std) of this run is below 0.17;
- Figure 7: "the sensitivity of this metric is heavily dependent on layer depth". Agrees when
  the first detectable fractions of the sensitivity layers differ by at least 0.1;
- Figure 12: node-wise purity is larger in deeper layers (for every sampling mode), class-wise
  purity of the chosen class rises with depth (for most modes), and foreground top-5 sampling
  is purer than random sampling (mean node purity over the layers).

Every row carries the scale it was measured at: a small run can disagree for want of models or
images, and the table says so instead of hiding it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import read_table, write_table
from cnntopo.ph.layer_distances import PAPER_CV_BOUND
from cnntopo.ph.specificity import PAPER_LAYER_OF_INTEREST, PAPER_RHO_LAYER_9, PAPER_RHO_OVERALL

DEPTH_DIFFERENCE = 0.1


def _row(
    claim: str, paper: str, run: str, interval: str, agrees: bool | None, scale: str, how: str, method: str = ""
) -> dict:
    verdict = "n/a" if agrees is None else "yes" if agrees else "no"
    return {
        "claim": claim,
        "paper": paper,
        "this_run": run,
        "interval_95": interval,
        "interval_method": method,
        "agrees": verdict,
        "scale": scale,
        "checked_as": how,
    }


def _paper_layer(layer: int) -> str:
    return "" if layer == PAPER_LAYER_OF_INTEREST else f" (the paper's: layer {PAPER_LAYER_OF_INTEREST})"


def specificity_rows(summary: dict, scale: str) -> list[dict]:
    rows = []
    layer = summary["layer_of_interest"]
    for name, paper, label in (
        ("rho_layer", PAPER_RHO_LAYER_9, f"at layer {layer}" + _paper_layer(layer)),
        ("rho_overall", PAPER_RHO_OVERALL, "over all layers"),
    ):
        low, high = summary[f"{name}_ci_low"], summary[f"{name}_ci_high"]
        rows.append(
            _row(
                f"SW specificity (Pearson rho {label})",
                f"{paper}",
                f"{summary[name]:.3f}",
                f"[{low:.3f}, {high:.3f}]",
                bool(low <= paper <= high),
                scale,
                "the paper's value lies in the model-level interval",
                f"{summary['ci_method']}: models resampled (expanded percentile), with the image batches",
            )
        )
    rows.append(
        _row(
            "SW specificity is more than chance",
            "passes the test",
            f"p = {summary['p_value']:.4f}",
            "",
            bool(summary["p_value"] < 0.05),
            scale,
            "permutation p-value < 0.05 (layers of B shuffled)",
        )
    )
    return rows


def cv_row(within_table: Sequence[dict], scale: str) -> dict:
    cv = max(r["cv_ddof0"] for r in within_table if r["layer_i"] != r["layer_j"])
    return _row(
        "Figure 5: within-model SW varies little over image batches",
        f"CV < {PAPER_CV_BOUND}",
        f"max CV {cv:.3f}",
        "",
        bool(cv < PAPER_CV_BOUND),
        scale,
        "largest off-diagonal CV (population std / mean) of the reference model",
    )


def sensitivity_row(summary: Sequence[dict], scale: str) -> dict:
    fractions = {r["layer"]: r["first_detectable_fraction"] for r in summary if r["deletions"] > 0}
    shown = ", ".join(f"layer {k}: {'none' if np.isnan(v) else f'{v:.2f}'}" for k, v in fractions.items())
    values = [1.0 if np.isnan(v) else v for v in fractions.values()]  # none detected counts as all deleted
    agrees = bool(max(values) - min(values) >= DEPTH_DIFFERENCE) if len(values) > 1 else None
    return _row(
        "Figure 7: SW sensitivity depends heavily on layer depth",
        "first detectable deletion varies",
        shown,
        "",
        agrees,
        scale,
        f"first detectable fractions differ by >= {DEPTH_DIFFERENCE}",
    )


def purity_rows(purity: Sequence[dict]) -> list[dict]:
    modes = list(dict.fromkeys(r["sampling"] for r in purity))
    by_mode = {m: sorted((r for r in purity if r["sampling"] == m), key=lambda r: r["layer"]) for m in modes}
    layers = [r["layer"] for r in by_mode[modes[0]]]
    scale = f"{len(modes)} sampling modes, layers {layers}"
    node = {m: (rows[0]["mean_node_purity"], rows[-1]["mean_node_purity"]) for m, rows in by_mode.items()}
    cls = {m: (rows[0]["class_purity"], rows[-1]["class_purity"]) for m, rows in by_mode.items()}
    name = purity[0]["class"]
    rows = [
        _row(
            "Figure 12: node-wise purity is larger in deeper layers",
            "rises with depth",
            "; ".join(f"{m} {a:.2f} -> {b:.2f}" for m, (a, b) in node.items()),
            "",
            all(b > a for a, b in node.values()),
            scale,
            "last layer above the first, for every mode",
        ),
        _row(
            f"Figure 12: class-wise purity (class {name}) rises in deeper layers",
            "rises with depth",
            "; ".join(f"{m} {a:.2f} -> {b:.2f}" for m, (a, b) in cls.items()),
            "",
            sum(b > a for a, b in cls.values()) > len(cls) / 2,
            scale,
            "last layer above the first, for most modes",
        ),
    ]
    if {"foreground5", "random"} <= set(modes):
        mean = {m: float(np.mean([r["mean_node_purity"] for r in by_mode[m]])) for m in ("foreground5", "random")}
        rows.append(
            _row(
                "Figure 12: top-5 foreground sampling is purer than random",
                "foreground5 > random",
                f"foreground5 {mean['foreground5']:.3f}, random {mean['random']:.3f}",
                "",
                mean["foreground5"] > mean["random"],
                scale,
                "mean node purity over the layers",
            )
        )
    return rows


def paper_vs_run(
    specificity: Path | None, within: Path | None, sensitivity: Path | None, purity: Path | None, scale: dict
) -> list[dict]:
    ph_scale = f"{scale['models']} models, N = {scale['n_images']}, {scale['batches']} batches, {scale['dataset']}"
    rows = []
    if specificity is not None:
        rows += specificity_rows(read_table(specificity)[0], ph_scale)
    if within is not None:
        rows.append(cv_row(read_table(within), ph_scale))
    if sensitivity is not None:
        rows.append(sensitivity_row(read_table(sensitivity), ph_scale))
    if purity is not None:
        rows += purity_rows(read_table(purity))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.paper_vs_run", description=__doc__)
    parser.add_argument("--specificity", type=Path, help="SW top-l2 specificity summary (.csv)")
    parser.add_argument("--within", type=Path, help="SW top-l2 Figure 5 table (.csv)")
    parser.add_argument("--sensitivity", type=Path, help="SW top-l2 sensitivity summary (.csv)")
    parser.add_argument("--purity", type=Path, help="Figure 12 table (.csv)")
    parser.add_argument("--scale", required=True, help="JSON: models, n_images, batches, dataset")
    parser.add_argument("--out", type=Path, required=True, help="output (.csv)")
    args = parser.parse_args(argv)
    rows = paper_vs_run(args.specificity, args.within, args.sensitivity, args.purity, json.loads(args.scale))
    if not rows:
        parser.error("nothing to compare: give at least one of the tables")
    write_table(args.out, rows)
    for r in rows:
        print(f"{r['agrees']:>3}  {r['claim']}: paper {r['paper']}, this run {r['this_run']} {r['interval_95']}")


if __name__ == "__main__":
    run_step(main)
