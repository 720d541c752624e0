"""Summarise the seed models of one branch: a per-seed accuracy table and training curves."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnntopo.entrypoint import run_step
from cnntopo.io import write_table
from cnntopo.plotting import save_figure, use_file_backend

SUMMARY_COLUMNS = (
    "seed",
    "train_accuracy",
    "test_accuracy",
    "test_accuracy_no_flip_average",
    "epochs",
    "seconds",
    "images_per_second",
    "device",
)
CURVE_COLUMNS = ("seed", "epoch", "loss", "train_accuracy_augmented", "test_accuracy", "seconds")


def read_metrics(paths: Sequence[Path]) -> list[dict[str, Any]]:
    return sorted((json.loads(Path(p).read_text()) for p in paths), key=lambda m: m["seed"])


def plot_training_curves(metrics: Sequence[dict[str, Any]], figure: Path) -> None:
    """Loss and test accuracy per epoch, one line per seed; written as PNG and PDF."""
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    for m in metrics:
        epochs = [h["epoch"] for h in m["history"]]
        ax_loss.plot(epochs, [h["loss"] for h in m["history"]], label=f"seed {m['seed']}", lw=1)
        ax_acc.plot(epochs, [h["test_accuracy"] for h in m["history"]], lw=1)
    ax_loss.set(xlabel="epoch", ylabel="training loss (augmented batches)", yscale="log", title="Training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (no flip averaging)", title="Test accuracy", ylim=(0, 1))
    if len(metrics) <= 10:
        ax_loss.legend(fontsize=7)
    accuracies = [m["test_accuracy"] for m in metrics]
    fig.suptitle(
        f"{len(metrics)} seed models: final test accuracy {min(accuracies):.3f}-{max(accuracies):.3f}", fontsize=10
    )
    save_figure(fig, figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.training_summary", description=__doc__)
    parser.add_argument("--metrics", type=Path, nargs="+", required=True)
    parser.add_argument("--table", type=Path, required=True, help="output: per-seed accuracies (.csv)")
    parser.add_argument("--curves-table", type=Path, required=True, help="output: per-epoch values (.csv)")
    parser.add_argument("--figure", type=Path, required=True, help="output: training curves (.png; a .pdf beside it)")
    args = parser.parse_args(argv)
    metrics = read_metrics(args.metrics)
    write_table(args.table, metrics, SUMMARY_COLUMNS)
    write_table(args.curves_table, [{"seed": m["seed"], **h} for m in metrics for h in m["history"]], CURVE_COLUMNS)
    use_file_backend()
    plot_training_curves(metrics, args.figure)
    for m in metrics:
        print(f"seed {m['seed']}: train {m['train_accuracy']:.4f}, test {m['test_accuracy']:.4f}, {m['seconds']:.1f} s")


if __name__ == "__main__":
    run_step(main)
