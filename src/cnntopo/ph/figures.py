"""The paper's PH figures, for any layer metric, each written as PNG and PDF with its CSV beside it.

- Figure 5: a model's within-model heatmap, mean over the batches, with the
  coefficient of variation (CV) of every entry.
- Figure 6: the specificity test for two models: A's within-model heatmap beside
  the A-vs-B cross heatmap (one colour scale), and row i of both as lines.
- Figure 7: the sensitivity test: distance against the fraction of principal
  components deleted, one panel per layer, the baseline as a horizontal line.
- Comparison: specificity and sensitivity of every metric side by side.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from cnntopo.ph.specificity import row_correlations
from cnntopo.plotting import add_figure_outputs, save_figure, use_file_backend
from cnntopo.provenance import read_table, write_table


def _heatmap(ax, matrix: np.ndarray, title: str, vmin: float, vmax: float, label: str, cmap: str = "viridis"):
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, origin="upper")
    ticks = np.arange(matrix.shape[0])
    ax.set_xticks(ticks[::2])
    ax.set_yticks(ticks[::2])
    ax.set_xlabel("layer j (Conv2d index)")
    ax.set_ylabel("layer i (Conv2d index)")
    ax.set_title(title, fontsize=9)
    plt.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=label)


PAPER_CV_BOUND = 0.17  # the paper's Figure 5: CV < 0.17 for SW at N = 1000


def figure_within_heatmap(within: Path, out: Path, table: Path) -> None:
    """Figure 5 from one within-model ``.npz`` (keys ``mean``, ``cv``, ``per_batch``, ``seed``, ``label``).

    The CV is std / mean over the batches with the population std (ddof 0); entries above the
    paper's bound are marked with a white dot.
    """
    with np.load(within) as data:
        mean, cv, seed, batches = data["mean"], data["cv"], int(data["seed"]), data["per_batch"].shape[0]
        metric_label = str(data["label"])
    off_diagonal = ~np.eye(len(mean), dtype=bool)
    above = (cv > PAPER_CV_BOUND) & off_diagonal
    verdict = (
        f"all {off_diagonal.sum()} entries below the paper's {PAPER_CV_BOUND}"
        if not above.any()
        else f"{above.sum()} of {off_diagonal.sum()} entries above the paper's {PAPER_CV_BOUND} (dots)"
    )
    fig, (ax_mean, ax_cv) = plt.subplots(1, 2, figsize=(10, 4.8), constrained_layout=True)
    _heatmap(ax_mean, mean, f"Mean over {batches} batches of N images", 0, mean.max(), metric_label)
    _heatmap(
        ax_cv,
        cv,
        f"Coefficient of variation over the batches (std ddof 0 / mean)\nmax {cv[off_diagonal].max():.3f}: {verdict}",
        0,
        max(cv.max(), PAPER_CV_BOUND, 1e-12),
        "CV",
        cmap="magma",
    )
    rows, cols = np.nonzero(above)
    ax_cv.plot(cols, rows, "o", color="white", ms=3, mec="black", mew=0.5)
    fig.suptitle(
        f"Figure 5: distances between the layers of model seed {seed} ({metric_label}); dark = similar layers.\n"
        "The paper finds a grid that follows the residual stages, with CV < 0.17 at N = 1000",
        fontsize=10,
    )
    save_figure(fig, out)
    n = len(mean)
    write_table(
        table,
        [{"layer_i": i, "layer_j": j, "mean": mean[i, j], "cv_ddof0": cv[i, j]} for i in range(n) for j in range(n)],
    )


def figure_specificity_heatmaps(within: Path, cross: Path, other: int, layer: int, out: Path, table: Path) -> None:
    """Figure 6 from A's within-model ``.npz`` and A's cross-model ``.npz`` (model ``other`` as B)."""
    with np.load(within) as data:
        w, seed, metric_label = data["mean"], int(data["seed"]), str(data["label"])
    with np.load(cross) as data:
        others = data["others"].tolist()
        if other not in others:
            raise ValueError(f"{cross} has no cross matrix against seed {other}; it has {others}")
        c = data["mean"][others.index(other)]
    rho = row_correlations(w, c)
    vmax = max(w.max(), c.max())
    fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.5), constrained_layout=True)
    fig.get_layout_engine().set(w_pad=0.12, wspace=0.06)  # room between a colour bar's label and the next panel
    _heatmap(axes[0], w, f"Model A (seed {seed}) vs itself", 0, vmax, metric_label)
    _heatmap(axes[1], c, f"Model A (seed {seed}) vs model B (seed {other})", 0, vmax, metric_label)
    layers = np.arange(len(w))
    axes[2].plot(layers, w[layer], "o-", label=f"A vs A: row {layer}")
    axes[2].plot(layers, c[layer], "s--", label=f"A vs B: row {layer}")
    axes[2].set(
        xlabel="layer j (Conv2d index)",
        ylabel=metric_label,
        xticks=layers[::2],
        title=f"Row {layer} of both matrices: Pearson rho = {rho[layer]:.3f}",
    )
    axes[2].title.set_fontsize(9)
    axes[2].legend(fontsize=8)
    fig.suptitle(
        f"Figure 6: specificity test. Near-identical heatmaps mean the distances reflect the architecture, "
        f"not the initialisation (mean rho over layers {np.nanmean(rho):.3f})",
        fontsize=10,
    )
    save_figure(fig, out)
    n = len(w)
    write_table(
        table,
        [
            {"layer_i": i, "layer_j": j, "within_A": w[i, j], "cross_A_B": c[i, j], "rho_row_i": rho[i]}
            for i in range(n)
            for j in range(n)
        ],
    )


def figure_sensitivity(curves: Path, metric_label: str, out: Path, table: Path) -> None:
    """Figure 7 from a sensitivity curves CSV, copied beside the figure as its table."""
    rows = read_table(curves)
    write_table(table, rows)
    layers = sorted({r["layer"] for r in rows})
    fig, axes = plt.subplots(1, len(layers), figsize=(4.2 * len(layers), 3.6), squeeze=False, constrained_layout=True)
    for ax, layer in zip(axes[0], layers):
        mine = [r for r in rows if r["layer"] == layer]
        fraction = [r["fraction_deleted"] for r in mine]
        baseline = mine[0]["baseline"]
        ax.plot(fraction, [r["distance"] for r in mine], "o-", ms=3, label="original vs reduced")
        ax.axhline(baseline, color="crimson", ls="--", label="baseline: same layer, other models")
        detectable = [f for f, r in zip(fraction, mine) if r["detectable"]]
        verdict = f"first detectable at {min(detectable):.2f}" if detectable else "no deletion detectable"
        ax.set(
            xlabel="fraction of principal components deleted (k / c)",
            ylabel=metric_label,
            title=f"layer {layer} (c = {mine[0]['channels']}): {verdict}",
            xlim=(0, 1),
        )
        ax.title.set_fontsize(9)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Figure 7: sensitivity of {metric_label} to deleting the lowest principal components", fontsize=10)
    save_figure(fig, out)


def comparison(
    specificity_summaries: Sequence[Path], sensitivity_summaries: Sequence[Path], out: Path, table: Path
) -> None:
    """Metric x (specificity rho at the layer of interest and overall, first detectable deletion per layer).

    Summaries are joined on their ``metric`` column, in the order of ``specificity_summaries``. A first
    detectable fraction is NaN where no deletion exceeded the baseline or where none was made (c <= step).
    """
    sensitivity: dict[str, list[dict]] = {}
    for path in sensitivity_summaries:
        for r in read_table(path):
            sensitivity.setdefault(r["metric"], []).append(r)
    rows, deletions = [], {}
    for path in specificity_summaries:
        spec = read_table(path)[0]
        if spec["metric"] not in sensitivity:
            raise ValueError(f"{path}: no sensitivity summary of metric {spec['metric']!r} was given")
        row = {
            "metric": spec["metric"],
            "rho_layer_of_interest": spec["rho_layer"],
            "layer_of_interest": spec["layer_of_interest"],
            "rho_overall": spec["rho_overall"],
        }
        for r in sensitivity[spec["metric"]]:
            row[f"first_detectable_layer_{r['layer']}"] = r["first_detectable_fraction"]
            deletions[spec["metric"], r["layer"]] = r["deletions"]
        rows.append(row)
    write_table(table, rows)

    metrics = [r["metric"] for r in rows]
    layers = [r["layer"] for r in sensitivity[metrics[0]]]
    fig, (ax_spec, ax_sens) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    x = np.arange(len(metrics))
    ax_spec.bar(x - 0.2, [r["rho_layer_of_interest"] for r in rows], 0.4, label=f"layer {rows[0]['layer_of_interest']}")
    ax_spec.bar(x + 0.2, [r["rho_overall"] for r in rows], 0.4, label="all layers")
    ax_spec.set(
        xticks=x,
        xticklabels=metrics,
        ylabel="mean Pearson rho over model pairs",
        ylim=(0, 1.05),
        title="Specificity (higher: less dependent on the seed)\n ",
    )
    ax_spec.title.set_fontsize(9)
    ax_spec.legend(fontsize=8)
    width = 0.8 / len(layers)
    for i, layer in enumerate(layers):
        values = [r[f"first_detectable_layer_{layer}"] for r in rows]
        undetected = [np.isnan(v) and deletions[m, layer] > 0 for m, v in zip(metrics, values)]
        heights = [1.0 if none else 0.0 if np.isnan(v) else v for v, none in zip(values, undetected)]
        bars = ax_sens.bar(x + (i - (len(layers) - 1) / 2) * width, heights, width, label=f"layer {layer}")
        for bar, none in zip(bars, undetected):
            if none:
                bar.set_hatch("//")
                bar.set_alpha(0.4)
    ax_sens.set(
        xticks=x,
        xticklabels=metrics,
        ylabel="first detectable fraction of PCs deleted",
        ylim=(0, 1.05),
        title="Sensitivity (lower: detects smaller deletions)\nhatched: no deletion detected; absent: c <= step",
    )
    ax_sens.title.set_fontsize(9)
    ax_sens.legend(fontsize=8)
    fig.suptitle(
        "Topology (SW) beside CKA and Procrustes on the same point clouds (this project's result)", fontsize=10
    )
    save_figure(fig, out)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.figures", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fig5 = sub.add_parser("within-heatmap", help="Figure 5")
    fig5.add_argument("--within", type=Path, required=True)
    fig6 = sub.add_parser("specificity-heatmaps", help="Figure 6")
    fig6.add_argument("--within", type=Path, required=True, help="model A's within-model matrices")
    fig6.add_argument("--cross", type=Path, required=True, help="model A's cross-model matrices")
    fig6.add_argument("--other", type=int, required=True, help="seed of model B")
    fig6.add_argument("--layer", type=int, default=9, help="layer whose rows are plotted")
    fig7 = sub.add_parser("sensitivity", help="Figure 7 (its numbers: the curves CSV)")
    fig7.add_argument("--curves", type=Path, required=True)
    fig7.add_argument("--label", required=True, help="the metric, as the y axis names it")
    compare = sub.add_parser("comparison", help="specificity and sensitivity of every metric")
    compare.add_argument("--specificity", type=Path, nargs="+", required=True, help="specificity summaries (.csv)")
    compare.add_argument("--sensitivity", type=Path, nargs="+", required=True, help="sensitivity summaries, same order")
    add_figure_outputs(fig5, fig6, fig7, compare)
    args = parser.parse_args(argv)
    use_file_backend()
    if args.command == "within-heatmap":
        figure_within_heatmap(args.within, args.out, args.table)
    elif args.command == "specificity-heatmaps":
        figure_specificity_heatmaps(args.within, args.cross, args.other, args.layer, args.out, args.table)
    elif args.command == "sensitivity":
        figure_sensitivity(args.curves, args.label, args.out, args.table)
    else:
        comparison(args.specificity, args.sensitivity, args.out, args.table)


if __name__ == "__main__":
    main()
