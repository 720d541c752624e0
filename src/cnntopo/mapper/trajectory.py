"""Purity across training: the mapper model's graphs at every mapper layer after each epoch of its training.

The mapper model's training job saves it after the epochs of ``mapper.trajectory.epochs``; each
snapshot's points (one sampling mode of the clean images, as the finished model's) are made into a
mapper graph per layer with the mapper branch's graph settings, and the graph's purity measured
(:mod:`cnntopo.mapper.purity`). The table has one row per (epoch, layer); the figure draws mean node
purity, and the class-wise purity of ``mapper.purity_class``, against the epoch, one line per layer.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import write_table
from cnntopo.mapper.graph import mapper_graph
from cnntopo.mapper.purity import purity_summary
from cnntopo.store import layer_key, open_store


def purity_by_layer(
    store_path: Path, layers: Sequence[int], intervals: int, overlap: float, min_samples: int, eps: float | None
) -> list[dict]:
    """One row per layer of a mapper store: its sampling mode, its graph's size and purity (class-wise as
    ``class_purity_<k>``)."""
    store = open_store(store_path)
    rows = []
    for layer in layers:
        points, labels = store.layer(layer)[0], store.array(f"{layer_key(layer)}_label")
        graph = mapper_graph(points, intervals, overlap, min_samples, eps)
        purity = purity_summary(graph.nodes, labels)
        rows.append(
            {
                "sampling": store.attrs["sampling"],
                "layer": layer,
                "layer_name": store.layer_attrs(layer)["name"],
                "points": len(points),
                "nodes": len(graph.nodes),
                "mean_node_purity": purity["mean_node_purity"],
                "mean_point_purity": purity["mean_point_purity"],
                **{f"class_purity_{k}": v for k, v in sorted(purity["class_purity"].items())},
            }
        )
    return rows


def figure_purity_by_epoch(rows: Sequence[dict], purity_class: int, out: Path) -> None:
    import matplotlib.pyplot as plt

    from cnntopo.plotting import save_figure

    epochs = sorted({r["epoch"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True, sharey=True)
    for ax, name, title in (
        (axes[0], "mean_node_purity", "mean node-wise purity"),
        (axes[1], f"class_purity_{purity_class}", f"class-wise purity of class {purity_class}"),
    ):
        for layer in sorted({r["layer"] for r in rows}):
            mine = sorted((r for r in rows if r["layer"] == layer), key=lambda r: r["epoch"])
            label = f"layer {layer} ({mine[0]['layer_name']})"
            ax.plot([r["epoch"] for r in mine], [r.get(name, np.nan) for r in mine], "o-", label=label)
        ax.set(xlabel="epochs of training (0: initialisation)", xticks=epochs, ylim=(0, 1.05), title=title)
        ax.title.set_fontsize(9)
    axes[0].set_ylabel("purity")
    axes[0].legend(fontsize=7)
    fig.suptitle(
        f"Mapper purity across training ({rows[0]['sampling']} sampling, {rows[0]['points']} points a layer): "
        "when do the graphs separate the classes?",
        fontsize=10,
    )
    save_figure(fig, out)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.mapper.trajectory", description=__doc__)
    parser.add_argument("--epochs", type=int, nargs="+", required=True)
    parser.add_argument("--stores", type=Path, nargs="+", required=True, help="a mapper store per epoch, in order")
    parser.add_argument("--layers", type=int, nargs="+", required=True)
    parser.add_argument("--intervals", type=int, default=40)
    parser.add_argument("--overlap", type=float, default=0.3)
    parser.add_argument("--min-samples", type=int, default=5)
    parser.add_argument("--eps", type=float, default=None, help="DBSCAN radius (default: knee of 1-NN distances)")
    parser.add_argument("--purity-class", type=int, default=4, help="the class whose class-wise purity is drawn")
    parser.add_argument("--table", type=Path, required=True, help="output: purity_by_epoch.csv")
    parser.add_argument("--figure", type=Path, required=True, help="output: purity against epoch (.png)")
    args = parser.parse_args(argv)
    if len(args.epochs) != len(args.stores):
        parser.error("one store per epoch")
    from cnntopo.plotting import use_file_backend

    use_file_backend()
    graph = (args.intervals, args.overlap, args.min_samples, args.eps)
    rows = []
    for epoch, store in zip(args.epochs, args.stores):
        for row in purity_by_layer(store, args.layers, *graph):
            rows.append({"epoch": epoch, **row})
            print(
                f"epoch {epoch:3d}, layer {row['layer']:2d}: {row['nodes']} nodes, "
                f"mean node purity {row['mean_node_purity']:.3f}"
            )
    write_table(args.table, rows)
    figure_purity_by_epoch(rows, args.purity_class, args.figure)


if __name__ == "__main__":
    run_step(main)
