"""Figures of the mapper branch, each a PNG and PDF with the CSV of its numbers beside it.

- grids of mapper graphs (paper Figures 8, 9, 11): rows = sampling mode or noise level,
  columns = layers; nodes are pie charts of class labels, sized by their point count;
- purity across layers (Figure 12): class-wise purity of one class and mean node-wise
  purity, one line per sampling mode;
- foreground masks and weights (Figure 4); noisy example images (Figure 10).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Patch, Wedge

from cnntopo.entrypoint import run_step
from cnntopo.io import atomic_write_text, write_table
from cnntopo.plotting import add_figure_outputs, class_colour, save_figure, use_file_backend


def graph_positions(graph: dict) -> np.ndarray:
    """``(nodes, 2)``: the layout :mod:`cnntopo.mapper.graph` stored in a graph JSON, row ``i`` for node ``i``."""
    if "layout" not in graph:
        raise ValueError(
            "this graph JSON holds no layout (it was written before layouts were stored): "
            "rerun its job, e.g. snakemake --forcerun mapper_graph"
        )
    return np.asarray(graph["layout"], dtype=float).reshape(-1, 2)


def graph_id(params: dict) -> str:
    """``<variant>/layer<LL>``: a graph's name in the explorer, as its files are named."""
    noise = f"_sigma{params['sigma']}" if params["sigma"] else ""
    return f"{params['sampling']}{noise}/layer{params['layer']:02d}"


def graph_title(graph: dict) -> str:
    """What a graph JSON shows: layer, sampling mode and noise level."""
    p = graph["params"]
    noise = f", noise sigma = {p['sigma']}" if p["sigma"] else ""
    return f"Mapper graph: layer {p['layer']} ({p['layer_name']}), {p['sampling']} sampling{noise}"


def draw_mapper_graph(ax, graph: dict) -> None:
    """The graph's stored spring layout; each node a pie chart of its class labels, area ~ point count."""
    ax.set_axis_off()
    ax.set_aspect("equal")
    pos = graph_positions(graph)
    if not len(pos):
        ax.text(0.5, 0.5, "no nodes", ha="center", va="center", transform=ax.transAxes)
        return
    # Collections, not one artist per edge and wedge: adding 353 wedges one by one took 1.1 s of a page.
    ax.add_collection(LineCollection([pos[list(e)] for e in graph["edges"]], colors="0.6", linewidths=0.5, zorder=1))
    biggest = max(n["size"] for n in graph["nodes"])
    wedges, colours = [], []
    for node in graph["nodes"]:
        radius = 0.015 + 0.05 * np.sqrt(node["size"] / biggest)
        counts = node["label_counts"]
        total = sum(counts.values())
        angle = 90.0
        for label, count in sorted(counts.items(), key=lambda kv: int(kv[0])):
            sweep = 360.0 * count / total
            wedges.append(Wedge(pos[node["id"]], radius, angle, angle + sweep))
            colours.append(class_colour(int(label)))
            angle += sweep
    ax.add_collection(PatchCollection(wedges, facecolors=colours, edgecolors="none", zorder=2))
    xs, ys = pos.T
    margin = 0.1 + 0.065  # the largest glyph's radius, and air between it and a neighbouring panel's title
    ax.set_xlim(min(xs) - margin, max(xs) + margin)
    ax.set_ylim(min(ys) - margin, max(ys) + margin)


def _class_legend(fig, names: Sequence[str]) -> None:
    fig.legend(
        handles=[Patch(color=class_colour(i), label=n) for i, n in enumerate(names)],
        loc="lower center",
        ncol=min(len(names), 10),
        fontsize=8,
        title="class (pie slices)",
    )


def node_table(graph: dict) -> list[dict]:
    """One row per node of a graph JSON: its lens interval, size, majority class and purity."""
    names = graph.get("class_names") or []
    rows = []
    for node in graph["nodes"]:
        counts = node["label_counts"]
        majority = int(max(counts, key=counts.get))
        rows.append(
            {
                "node": node["id"],
                "interval": node["interval"],
                "size": node["size"],
                "classes": len(counts),
                "node_purity": 1.0 / len(counts),
                "majority_class": names[majority] if names else majority,
                "majority_share": counts[str(majority)] / node["size"],
            }
        )
    return rows


def _purity_text(value: float | None) -> str:
    """A purity for a title: strict JSON writes the NaN purity of a graph without nodes as null."""
    return "- (no nodes)" if value is None or value != value else f"{value:.2f}"


def figure_single_graph(graph: dict, out: Path, table: Path) -> None:
    """One mapper graph as a static figure: pie-chart nodes and a legend of class names; its node table beside it."""
    fig, ax = plt.subplots(figsize=(6.5, 7))
    draw_mapper_graph(ax, graph)
    ax.set_title(
        f"{graph_title(graph)}\n{len(graph['nodes'])} nodes, {len(graph['edges'])} edges, "
        f"eps {graph['params']['eps']:.3g}, mean node purity {_purity_text(graph['purity']['mean_node_purity'])}",
        fontsize=9,
    )
    _class_legend(fig, graph.get("class_names") or [str(i) for i in range(10)])
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(fig, out)
    write_table(
        table,
        node_table(graph),
        ["node", "interval", "size", "classes", "node_purity", "majority_class", "majority_share"],
    )


def write_graph_page(graph: dict, html: Path, out: Path, table: Path) -> None:
    """A graph JSON drawn: its static figure ``out`` (PNG and PDF), node ``table``, and the offline page
    ``html`` that shows the figure and links to the explorer."""
    use_file_backend()
    figure_single_graph(graph, out, table)
    # The page's folder under results/mapper/graphs/: a mode (full), or a generalisation model's mode (alexnet/full).
    parts = Path(html).resolve().parent.parts
    variant = "/".join(parts[len(parts) - 1 - parts[::-1].index("graphs") + 1 :]) if "graphs" in parts else ""
    page = graph_html(graph, Path(out).read_bytes(), Path(table).name, Path(html).name, variant or None)
    atomic_write_text(html, page)


def graph_html(graph: dict, png: bytes, table_name: str, page_name: str, variant: str | None = None) -> str:
    """The page of one graph (offline; one line of script mends its links inside an extracted report): its figure (pie glyphs: slice = class share, area =
    points), the class legend, the parameters as a table, and links to the explorer, the node table and
    the JSON (``variant``: the page's folder under results/mapper/graphs/). The explorer, which has the interactions (zoom, members, filters), is the graph's
    interactive view; this page keeps one drawing so that there is one glyph."""
    import html

    from cnntopo.pages import png_data_uri

    escape = html.escape
    title = graph_title(graph)
    names = graph.get("class_names") or []
    legend = "".join(
        f"<span class='class'><span class='swatch' style='background:{class_colour(i)}'></span>{escape(str(n))}</span>"
        for i, n in enumerate(names)
    )
    p = graph["params"]
    purity = graph.get("purity", {})
    rows = [
        ("layer", f"{p.get('layer')} ({p.get('layer_name', '')})"),
        ("sampling", p.get("sampling")),
        ("noise sigma", p.get("sigma")),
        ("points", p.get("points")),
        ("lens", p.get("lens")),
        ("intervals", p.get("n_intervals")),
        ("overlap", p.get("overlap")),
        ("DBSCAN min_samples", p.get("min_samples")),
        ("eps", f"{p.get('eps')} ({p.get('eps_from')})"),
        ("nodes, edges", f"{len(graph['nodes'])}, {len(graph['edges'])}"),
        ("mean node purity", purity.get("mean_node_purity")),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    variant = variant or graph_id(p).rsplit("/", 1)[0]  # its folder under mapper/graphs/
    explorer = f"{'../' * (variant.count('/') + 2)}explorer.html#graph={escape(graph_id(p))}"
    json_name = escape(Path(page_name).with_suffix(".json").name)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;color:#222;margin:12px}th,td{text-align:left;padding:1px 8px}"
        ".class{margin-right:12px;white-space:nowrap}.swatch{display:inline-block;width:12px;height:12px;"
        "margin-right:4px;border:1px solid #555;vertical-align:-1px}img{max-width:100%}</style></head><body>"
        f"<h3>{escape(title)}</h3><p>Each node is a pie of the classes of its points (slice = class share), its "
        "area proportional to its number of points; an edge joins nodes that share points. "
        f"<a class='results' href='{explorer}'>Open it in the mapper explorer</a> (zoom, the images of each node, "
        f"class filter), or read the <a class='results' href='{escape(table_name)}'>node table</a> and the "
        f"<a class='results' href='{json_name}'>graph JSON</a> (in the run's results/mapper/graphs folder).</p>"
        f"<p>{legend}</p><img alt='{escape(title)}' src='{png_data_uri(png)}'>"
        f"<h4>Parameters</h4><table>{table}</table>"
        # In an extracted zip report the page sits at results/report/data/raw/<id>/, without its neighbours:
        # the links then lead to the run's results folder, four levels up.
        "<script>if (location.pathname.includes('/data/raw/')) for (const a of document.querySelectorAll('a.results'))"
        f" a.href = '../../../../mapper/graphs/{escape(variant)}/' + a.getAttribute('href');</script>"
        "</body></html>"
    )


def figure_graph_grid(
    graphs: Sequence[Path], rows: Sequence[str], columns: Sequence[str], title: str, out: Path, table: Path
) -> None:
    """``graphs`` in row-major order (len(rows) x len(columns) JSON files)."""
    loaded = [json.loads(Path(p).read_text()) for p in graphs]
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(3.2 * len(columns), 3.2 * len(rows) + 0.8), squeeze=False
    )
    numbers = []
    for k, graph in enumerate(loaded):
        r, c = divmod(k, len(columns))
        ax = axes[r][c]
        draw_mapper_graph(ax, graph)
        purity = graph["purity"]
        ax.set_title(
            f"{rows[r]}, {columns[c]}\n{len(graph['nodes'])} nodes, node purity {_purity_text(purity['mean_node_purity'])}",
            fontsize=8,
        )
        numbers.append(
            {
                "row": rows[r],
                "column": columns[c],
                "points": graph["params"]["points"],
                "nodes": len(graph["nodes"]),
                "edges": len(graph["edges"]),
                "eps": graph["params"]["eps"],
                "points_in_nodes": purity["points_in_nodes"],
                "mean_node_purity": purity["mean_node_purity"],
                "mean_point_purity": purity["mean_point_purity"],
            }
        )
    _class_legend(fig, loaded[0].get("class_names") or [str(i) for i in range(10)])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97), h_pad=2.5)  # air between a row's lowest nodes and the next titles
    save_figure(fig, out)
    write_table(table, numbers)


def coinciding_modes(rows: Sequence[dict], keys: Sequence[str]) -> list[tuple[int, list[str]]]:
    """``(layer, modes)`` where several sampling modes have the same values of ``keys`` (their lines coincide)."""
    groups: dict[tuple, list[str]] = {}
    for r in rows:
        groups.setdefault((r["layer"], *(round(r[k], 12) for k in keys)), []).append(r["sampling"])
    return sorted((key[0], modes) for key, modes in groups.items() if len(modes) > 1)


def figure_purity(graphs: Sequence[Path], class_index: int, out: Path, table: Path) -> None:
    """Figure 12 from graph JSON files of several sampling modes and layers: the class-wise purity of one class,
    the fraction of that class's points in a node (the rest are DBSCAN noise), and the mean node-wise purity."""
    rows = []
    for path in graphs:
        graph = json.loads(Path(path).read_text())
        p, purity = graph["params"], graph["purity"]
        rows.append(
            {
                "sampling": p["sampling"],
                "layer": p["layer"],
                "layer_name": p["layer_name"],
                "nodes": len(graph["nodes"]),
                "points_in_nodes": purity["points_in_nodes"],
                "mean_node_purity": purity["mean_node_purity"],
                "class": class_index,
                "class_purity": purity["class_purity"].get(str(class_index), float("nan")),
                "class_points_in_nodes": purity["class_points_in_nodes"].get(str(class_index), float("nan")),
            }
        )
    rows.sort(key=lambda r: (r["sampling"], r["layer"]))
    name = (json.loads(Path(graphs[0]).read_text()).get("class_names") or [str(class_index)])[class_index]
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(7.5, 8.6), sharex=True, constrained_layout=True)
    for mode in dict.fromkeys(r["sampling"] for r in rows):
        mine = [r for r in rows if r["sampling"] == mode]
        layers = [r["layer"] for r in mine]
        top.plot(layers, [r["class_purity"] for r in mine], "o-", label=mode)
        middle.plot(layers, [r["class_points_in_nodes"] for r in mine], "o-", label=mode)
        bottom.plot(layers, [r["mean_node_purity"] for r in mine], "o-", label=mode)
    noise = [r for r in rows if r["class_points_in_nodes"] == 0]
    top.plot([r["layer"] for r in noise], [0] * len(noise), "kx", ms=9, label="class entirely DBSCAN noise")
    top.set(
        ylabel=f"class-wise purity of '{name}'",
        ylim=(-0.03, 1.05),
        title="Figure 12: purity of the mapper graphs across layers",
    )
    middle.set(ylabel=f"fraction of '{name}' points\nin a node (rest: noise)", ylim=(-0.03, 1.05))
    bottom.set(xlabel="layer (block BatchNorm output, 0..15)", ylabel="mean node-wise purity", ylim=(0, 1.05))
    top.legend(fontsize=7, title="sampling", title_fontsize=8, ncol=2)
    notes = [
        f"layer {layer}: {', '.join(modes)} coincide (same points: a top-p mode keeps every position of a layer "
        "with at most p positions, which is the full cloud)"
        for layer, modes in coinciding_modes(rows, ("class_purity", "mean_node_purity", "points_in_nodes"))
    ]
    if notes:
        bottom.text(0.01, 0.02, "\n".join(notes), transform=bottom.transAxes, fontsize=7, va="bottom", wrap=True)
    save_figure(fig, out)
    write_table(table, rows)


def figure_masks(
    images: np.ndarray, index: np.ndarray, masks: np.ndarray, field: np.ndarray, layer: str, out: Path, table: Path
) -> None:
    """Figure 4: images, their foreground masks, and the foreground weight of each position of a layer;
    the table holds every plotted weight and each image's foreground fraction."""
    from cnntopo.mapper.foreground import position_weights

    count = len(images)
    weights = position_weights(field, masks)
    side = int(np.sqrt(field.shape[0]))
    write_table(
        table,
        [
            {
                "image_index": int(index[i]),
                "foreground_fraction": float(masks[i].mean()),
                "row": q // side,
                "column": q % side,
                "foreground_weight": float(weights[i, q]),
            }
            for i in range(count)
            for q in range(weights.shape[1])
        ],
    )
    fig, axes = plt.subplots(3, count, figsize=(1.8 * count + 1.2, 5.8), squeeze=False, constrained_layout=True)
    top = weights.max() if weights.size else 1.0
    for i in range(count):
        axes[0][i].imshow(images[i])
        axes[0][i].set_title(f"image {int(index[i])}\n{masks[i].mean():.0%} foreground", fontsize=8)
        axes[1][i].imshow(masks[i], cmap="gray", vmin=0, vmax=1)
        shown = axes[2][i].imshow(weights[i].reshape(side, side), cmap="viridis", vmin=0, vmax=top)
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0][0].set_ylabel("image")
    axes[1][0].set_ylabel("foreground mask\n(white)")
    axes[2][0].set_ylabel(f"weight per position\n{layer}")
    fig.colorbar(
        shown, ax=axes[2, :].tolist(), shrink=0.9, label="foreground weight\n(norm of the receptive\nfield on the mask)"
    )
    fig.suptitle("Figure 4: bright positions see mostly foreground and are kept by foreground sampling", fontsize=9)
    save_figure(fig, out)


def figure_noise_examples(
    images: np.ndarray, mean, std, sigmas: Sequence[float], seed: int, out: Path, table: Path
) -> None:
    """Figure 10: example images with Gaussian noise of each sigma (added after normalisation); the table
    gives, per image and sigma, the noise's measured std and the mean absolute change in pixel units (0-255)."""
    from cnntopo.mapper.activations import image_noise

    numbers = []
    fig, axes = plt.subplots(
        len(images),
        len(sigmas) + 1,
        figsize=(1.8 * (len(sigmas) + 1), 1.8 * len(images)),
        squeeze=False,
        constrained_layout=True,
    )
    m, s = np.asarray(mean), np.asarray(std)
    for r, image in enumerate(images):
        normalised = (image / 255.0 - m) / s
        for c, sigma in enumerate([0.0, *sigmas]):
            noise = image_noise(r, normalised.transpose(2, 0, 1).shape, sigma, seed).transpose(1, 2, 0)
            shown = np.clip((normalised + noise) * s + m, 0, 1)
            numbers.append(
                {
                    "image": r,
                    "sigma": sigma,
                    "noise_std": float(noise.std()),
                    "mean_abs_pixel_change": float(np.abs(shown * 255 - image).mean()),
                }
            )
            axes[r][c].imshow(shown)
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if r == 0:
                axes[r][c].set_title("original" if sigma == 0 else f"sigma = {sigma}", fontsize=9)
    fig.suptitle("Figure 10: Gaussian noise per pixel (std in normalised units)", fontsize=9)
    save_figure(fig, out)
    write_table(table, numbers)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.mapper.figures", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    grid = sub.add_parser("grid", help="a grid of mapper graphs (Figures 8, 9, 11)")
    grid.add_argument("--graphs", type=Path, nargs="+", required=True, help="JSON files, row-major")
    grid.add_argument("--rows", nargs="+", required=True)
    grid.add_argument("--columns", nargs="+", required=True)
    grid.add_argument("--title", required=True)
    purity = sub.add_parser("purity", help="Figure 12")
    purity.add_argument("--graphs", type=Path, nargs="+", required=True)
    purity.add_argument("--class-index", type=int, required=True)
    masks = sub.add_parser("masks", help="Figure 4")
    masks.add_argument("--data", required=True)
    masks.add_argument("--masks", type=Path, required=True)
    masks.add_argument("--receptive-fields", type=Path, required=True)
    masks.add_argument("--layer", type=int, default=0)
    masks.add_argument("--count", type=int, default=6)
    noise = sub.add_parser("noise", help="Figure 10")
    noise.add_argument("--data", required=True)
    noise.add_argument("--sigmas", type=float, nargs="+", required=True)
    noise.add_argument("--noise-seed", type=int, default=0)
    noise.add_argument("--count", type=int, default=3)
    add_figure_outputs(grid, purity, masks, noise)
    args = parser.parse_args(argv)
    use_file_backend()
    if args.command == "grid":
        figure_graph_grid(args.graphs, args.rows, args.columns, args.title, args.out, args.table)
    elif args.command == "purity":
        figure_purity(args.graphs, args.class_index, args.out, args.table)
    else:
        from cnntopo.data import load_dataset

        train = load_dataset(json.loads(args.data), train=True)
        if args.command == "masks":
            from cnntopo.store import layer_key

            with np.load(args.masks) as saved, np.load(args.receptive_fields) as fields:
                index, mask = saved["image_index"][: args.count], saved["masks"][: args.count]
                figure_masks(
                    train.images[index],
                    index,
                    mask,
                    fields[layer_key(args.layer)],
                    str(fields["names"][args.layer]),
                    args.out,
                    args.table,
                )
        else:
            figure_noise_examples(
                train.images[: args.count], train.mean, train.std, args.sigmas, args.noise_seed, args.out, args.table
            )


if __name__ == "__main__":
    run_step(main)
