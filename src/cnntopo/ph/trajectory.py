"""Topology across training: when does the layer grid appear, and when does it become specific to its model?

The training job saves every seed's model after the epochs of ``ph.trajectory.epochs``; each
snapshot goes through the same extraction, PH, distances and specificity test as the finished
models (epoch 0 is the untrained control, the last epoch the trained models). This step gathers,
per epoch, the specificity with its model-level intervals (models and batches resampled:
:mod:`cnntopo.ph.statistics`) beside the models' test accuracy after that epoch, and draws

- rho at the layer of interest and over all layers against the epoch, with their intervals, beside
  the test accuracy (mean over seeds, each seed's as a dot);
- the reference model's within-model matrix after each epoch, side by side on one colour scale.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import read_table, write_table
from cnntopo.ph.figures import SPECIFICITY_COLUMNS
from cnntopo.plotting import save_figure, use_file_backend

# The specificity means and their model-level intervals, named as in every specificity summary
COLUMNS = ("epoch", "test_accuracy", *SPECIFICITY_COLUMNS[:6])


def accuracy_after(metrics: dict, epoch: int) -> float:
    """A seed's test accuracy after ``epoch`` epochs (no flip averaging, as during training), from its
    training metrics: the snapshot's record, else the epoch's history record."""
    for snapshot in metrics.get("snapshots", []):
        if snapshot["epoch"] == epoch:
            return float(snapshot["test_accuracy"])
    for record in metrics["history"]:
        if record["epoch"] == epoch:
            return float(record["test_accuracy"])
    raise ValueError(f"seed {metrics['seed']}: no test accuracy after epoch {epoch} in its training metrics")


def specificity_by_epoch(summaries: dict[int, dict], metrics: Sequence[dict]) -> list[dict]:
    """One row per epoch: the mean test accuracy of the seeds and the specificity summary's rho and
    model-level intervals (``summaries[epoch]``: a row of a specificity summary)."""
    rows = []
    for epoch in sorted(summaries):
        summary = summaries[epoch]
        accuracies = [accuracy_after(m, epoch) for m in metrics]
        rows.append(
            {
                **{name: summary[name] for name in COLUMNS[2:]},
                "epoch": epoch,
                "test_accuracy": float(np.mean(accuracies)),
                "test_accuracy_per_seed": " ".join(f"{a:.4f}" for a in accuracies),
                "layer_of_interest": summary["layer_of_interest"],
                "models": summary["models"],
                "ci_method": summary["ci_method"],
            }
        )
    return [{**{c: r[c] for c in COLUMNS}, **r} for r in rows]


def figure_trajectory(rows: Sequence[dict], metric: str, representation: str, out: Path) -> None:
    epochs = np.array([r["epoch"] for r in rows])
    fig, (ax_rho, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for name, label, marker in (
        ("rho_layer", f"layer {rows[0]['layer_of_interest']}", "o"),
        ("rho_overall", "all layers", "s"),
    ):
        values = np.array([r[name] for r in rows])
        ax_rho.plot(epochs, values, marker + "-", label=f"rho, {label}")
        low, high = (np.array([r[f"{name}_ci_{end}"] for r in rows]) for end in ("low", "high"))
        ax_rho.fill_between(epochs, low, high, alpha=0.2)
    ax_rho.set(
        xlabel="epochs of training (0: initialisation)",
        ylabel="mean Pearson rho over model pairs",
        title=f"Specificity of {metric} on {representation} clouds\nbands: 95 % intervals, models and batches resampled",
        xticks=epochs,
    )
    ax_rho.legend(fontsize=8)
    per_seed = [[float(a) for a in str(r["test_accuracy_per_seed"]).split()] for r in rows]
    for epoch, accuracies in zip(epochs, per_seed):
        ax_acc.plot([epoch] * len(accuracies), accuracies, ".", color="grey", alpha=0.6)
    ax_acc.plot(epochs, [r["test_accuracy"] for r in rows], "o-", color="black", label="mean over seeds")
    ax_acc.set(
        xlabel="epochs of training (0: initialisation)",
        ylabel="test accuracy",
        ylim=(0, 1),
        xticks=epochs,
        title="Test accuracy after each epoch\ndots: each seed",
    )
    ax_acc.legend(fontsize=8)
    for ax in (ax_rho, ax_acc):
        ax.title.set_fontsize(9)
    fig.suptitle(f"Topology across training: specificity beside accuracy ({rows[0]['models']} models)", fontsize=10)
    save_figure(fig, out)


def figure_grids(within: dict[int, np.ndarray], seed: int, label: str, out: Path, table: Path) -> None:
    """The reference model's within-model matrix after each epoch, one panel each. Each panel has its own
    colour scale: the distances grow a hundredfold during training, and the pattern is what appears."""
    epochs = sorted(within)
    fig, axes = plt.subplots(1, len(epochs), figsize=(3.2 * len(epochs), 3.2), constrained_layout=True)
    axes = np.atleast_1d(axes)
    for ax, epoch in zip(axes, epochs):
        image = ax.imshow(within[epoch], cmap="viridis", vmin=0)
        ax.set_title(f"after epoch {epoch}" if epoch else "initialisation", fontsize=9)
        ax.set_xlabel("layer j", fontsize=8)
        ax.set_xticks(range(0, len(within[epoch]), 4))
        ax.set_yticks(range(0, len(within[epoch]), 4))
        ax.tick_params(labelsize=7)
        fig.colorbar(image, ax=ax, shrink=0.75).ax.tick_params(labelsize=7)
    axes[0].set_ylabel("layer i", fontsize=8)
    fig.suptitle(
        f"Model {seed} against itself across training ({label}; each panel on its own scale): when the layer grid"
        " appears",
        fontsize=10,
    )
    save_figure(fig, out)
    write_table(
        table,
        [
            {"epoch": e, "layer_i": i, "layer_j": j, "distance": float(within[e][i, j])}
            for e in epochs
            for i in range(len(within[e]))
            for j in range(len(within[e]))
        ],
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.trajectory", description=__doc__)
    parser.add_argument("--epochs", type=int, nargs="+", required=True, help="the epochs, in the order of the files")
    parser.add_argument("--summaries", type=Path, nargs="+", required=True, help="specificity summary per epoch")
    parser.add_argument("--within", type=Path, nargs="+", required=True, help="reference model's within matrices")
    parser.add_argument("--metrics", type=Path, nargs="+", required=True, help="training metrics (.json) per seed")
    parser.add_argument("--table", type=Path, required=True, help="output: specificity_by_epoch.csv")
    parser.add_argument("--figure", type=Path, required=True, help="output: rho and accuracy against epoch (.png)")
    parser.add_argument("--grids", type=Path, required=True, help="output: within-model matrices by epoch (.png)")
    parser.add_argument("--grids-table", type=Path, required=True, help="output: their numbers (.csv)")
    args = parser.parse_args(argv)
    if not len(args.epochs) == len(args.summaries) == len(args.within):
        parser.error("one specificity summary and one within-model file per epoch")
    use_file_backend()
    summaries = {e: read_table(path)[0] for e, path in zip(args.epochs, args.summaries)}
    metrics = [json.loads(path.read_text()) for path in args.metrics]
    rows = specificity_by_epoch(summaries, metrics)
    write_table(args.table, rows)
    first = summaries[args.epochs[0]]
    figure_trajectory(rows, first["metric"], first["representation"], args.figure)
    within, seed, label = {}, 0, ""
    for epoch, path in zip(args.epochs, args.within):
        with np.load(path) as data:
            within[epoch], seed, label = data["mean"], int(data["seed"]), str(data["label"])
    figure_grids(within, seed, label, args.grids, args.grids_table)
    for r in rows:
        print(
            f"epoch {r['epoch']:3d}: test accuracy {r['test_accuracy']:.3f}, rho(layer {r['layer_of_interest']}) "
            f"{r['rho_layer']:.3f} [{r['rho_layer_ci_low']:.3f}, {r['rho_layer_ci_high']:.3f}], rho(all) "
            f"{r['rho_overall']:.3f} [{r['rho_overall_ci_low']:.3f}, {r['rho_overall_ci_high']:.3f}]"
        )


if __name__ == "__main__":
    run_step(main)
