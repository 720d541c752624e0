"""The paper's PH figures, each written as PNG and PDF with the CSV of its numbers beside it.

- Figure 5: a model's within-model SW heatmap, mean over the batches, with the
  coefficient of variation (CV) of every entry.
- Figure 6: the specificity test for two models: A's within-model heatmap beside
  the A-vs-B cross heatmap (one colour scale), and row i of both as lines.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cnntopo.specificity import row_correlations  # noqa: E402


def _heatmap(ax, matrix: np.ndarray, title: str, vmin: float, vmax: float, label: str, cmap: str = "viridis"):
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, origin="upper")
    ticks = np.arange(matrix.shape[0])
    ax.set_xticks(ticks[::2])
    ax.set_yticks(ticks[::2])
    ax.set_xlabel("layer j (Conv2d index)")
    ax.set_ylabel("layer i (Conv2d index)")
    ax.set_title(title, fontsize=9)
    plt.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=label)


def _save(fig, out: Path) -> None:
    fig.savefig(out, dpi=150)
    fig.savefig(out.with_suffix(".pdf"))
    plt.close(fig)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def figure_within_heatmap(within: Path, out: Path, table: Path, metric_label: str = "SW distance, H1") -> None:
    """Figure 5 from one within-model ``.npz`` (keys ``mean``, ``cv``, ``per_batch``, ``seed``)."""
    with np.load(within) as data:
        mean, cv, seed, batches = data["mean"], data["cv"], int(data["seed"]), data["per_batch"].shape[0]
    off_diagonal = ~np.eye(len(mean), dtype=bool)
    fig, (ax_mean, ax_cv) = plt.subplots(1, 2, figsize=(10, 4.3), constrained_layout=True)
    _heatmap(ax_mean, mean, f"Mean over {batches} batches", 0, mean.max(), metric_label)
    _heatmap(ax_cv, cv, f"Coefficient of variation over batches (max {cv[off_diagonal].max():.3f})", 0,
             max(cv.max(), 1e-12), "std / mean", cmap="magma")
    fig.suptitle(
        f"Figure 5: distances between the layers of model seed {seed} ({metric_label}). Dark = similar layers; "
        f"the paper finds a grid that follows the residual stages, CV < 0.17", fontsize=10)
    _save(fig, out)
    n = len(mean)
    _write_csv(table, ["layer_i", "layer_j", "mean", "cv"],
               [[i, j, mean[i, j], cv[i, j]] for i in range(n) for j in range(n)])


def figure_specificity_heatmaps(
    within: Path, cross: Path, other: int, layer: int, out: Path, table: Path, metric_label: str = "SW distance, H1"
) -> None:
    """Figure 6 from A's within-model ``.npz`` and A's cross-model ``.npz`` (model ``other`` as B)."""
    with np.load(within) as data:
        w, seed = data["mean"], int(data["seed"])
    with np.load(cross) as data:
        others = data["others"].tolist()
        if other not in others:
            raise ValueError(f"{cross} has no cross matrix against seed {other}; it has {others}")
        c = data["mean"][others.index(other)]
    rho = row_correlations(w, c)
    vmax = max(w.max(), c.max())
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3), constrained_layout=True)
    _heatmap(axes[0], w, f"Model A (seed {seed}) vs itself", 0, vmax, metric_label)
    _heatmap(axes[1], c, f"Model A (seed {seed}) vs model B (seed {other})", 0, vmax, metric_label)
    layers = np.arange(len(w))
    axes[2].plot(layers, w[layer], "o-", label=f"A vs A: row {layer}")
    axes[2].plot(layers, c[layer], "s--", label=f"A vs B: row {layer}")
    axes[2].set(xlabel="layer j (Conv2d index)", ylabel=metric_label, xticks=layers[::2],
                title=f"Row {layer} of both matrices: Pearson rho = {rho[layer]:.3f}")
    axes[2].title.set_fontsize(9)
    axes[2].legend(fontsize=8)
    fig.suptitle(
        f"Figure 6: specificity test. Near-identical heatmaps mean the distances reflect the architecture, "
        f"not the initialisation (mean rho over layers {np.nanmean(rho):.3f})", fontsize=10)
    _save(fig, out)
    n = len(w)
    _write_csv(table, ["layer_i", "layer_j", "within_A", "cross_A_B", "rho_row_i"],
               [[i, j, w[i, j], c[i, j], rho[i]] for i in range(n) for j in range(n)])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.figures", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fig5 = sub.add_parser("within-heatmap", help="Figure 5")
    fig5.add_argument("--within", type=Path, required=True)
    fig6 = sub.add_parser("specificity-heatmaps", help="Figure 6")
    fig6.add_argument("--within", type=Path, required=True, help="model A's within-model matrices")
    fig6.add_argument("--cross", type=Path, required=True, help="model A's cross-model matrices")
    fig6.add_argument("--other", type=int, required=True, help="seed of model B")
    fig6.add_argument("--layer", type=int, default=9, help="layer whose rows are plotted")
    for command in (fig5, fig6):
        command.add_argument("--out", type=Path, required=True, help="output figure (.png; a .pdf beside it)")
        command.add_argument("--table", type=Path, required=True, help="output: the numbers plotted (.csv)")
    args = parser.parse_args(argv)
    if args.command == "within-heatmap":
        figure_within_heatmap(args.within, args.out, args.table)
    else:
        figure_specificity_heatmaps(args.within, args.cross, args.other, args.layer, args.out, args.table)


if __name__ == "__main__":
    main()
