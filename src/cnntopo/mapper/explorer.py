"""The mapper explorer: one self-contained, offline HTML page for every mapper graph of a run.

The page (no network, no library: its JavaScript is ``explorer.js`` beside this module,
inlined) lets a reader switch between the graphs (layer, sampling mode, noise level), draws
each node as a pie chart of its class labels (the paper's glyph), pans (drag) and zooms
(wheel), lists a node's label counts on hover, and on a click shows the images whose points
the node holds as thumbnails, each with the effective receptive field of its sampled position
outlined. Each graph is drawn in the layout its JSON holds, as in the static figures.

Thumbnails come from one sprite image per run, embedded in the page: the images the graphs
use, at most ``sprite_images`` of them (a seeded choice when there are more). A node lists
every image of the sprite its points come from (paged; all of them when every image fits), and
a seeded sample of up to ``thumbnails`` of its (image, position) points whose image is in the
sprite, whose receptive fields are drawn.

The effective receptive field of a position is the box around the input pixels whose impulse
response (:mod:`cnntopo.mapper.foreground`) is at least ``RF_LEVEL`` of the position's peak.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import atomic_write_text
from cnntopo.mapper.figures import graph_id, graph_positions, graph_title
from cnntopo.mapper.graph import cover_intervals
from cnntopo.pages import json_script, png_data_uri
from cnntopo.plotting import class_colour
from cnntopo.store import layer_key, open_store

RF_LEVEL = 0.1
_SCRIPT = Path(__file__).with_name("explorer.js")
_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{padding:8px 12px;background:#f3f3f3;border-bottom:1px solid #ccc;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
header h1{font-size:16px;margin:0}
html,body{height:100%}body{display:flex;flex-direction:column}
#main{display:flex;flex:1;min-height:0}
#legend{display:flex;gap:8px;align-items:center;font-size:12px}
#left{flex:1;position:relative;min-width:300px;display:flex}
#view,#view2{flex:1;min-width:0;height:100%;cursor:grab;background:#fff}#view2{border-left:1px solid #ccc}
#tooltip{position:absolute;pointer-events:none;background:rgba(255,255,255,.95);border:1px solid #888;
 padding:4px 6px;font-size:12px;display:none;max-width:260px}
aside{width:min(400px,40vw);overflow-y:auto;border-left:1px solid #ccc;padding:8px 12px;font-size:13px}
g.node:focus{outline:none}
aside h2{font-size:14px;margin:10px 0 4px}
table{border-collapse:collapse}td,th{padding:1px 6px;text-align:left}
.thumbs{display:flex;flex-wrap:wrap;gap:6px}
.thumb{width:64px;font-size:10px;text-align:center}
.img{width:64px;height:64px;position:relative;background-repeat:no-repeat;image-rendering:pixelated;border:1px solid #999}
.rf{position:absolute;border:2px solid #e00;box-sizing:border-box}
.thumb{cursor:zoom-in}
#large{position:fixed;inset:0;background:rgba(0,0,0,.6);display:none;align-items:center;justify-content:center}
#large>div{background:#fff;padding:12px;max-width:90vw}
g.node.found .outline{stroke:#D55E00;stroke-width:4}
.swatch{display:inline-block;width:10px;height:10px;margin-right:3px}
.dim{opacity:.15}
"""


def receptive_field_boxes(field: np.ndarray, side: int, level: float = RF_LEVEL) -> list[list[int]]:
    """``[row0, col0, row1, col1]`` (inclusive, pixels) per position of an ``(positions, side**2)`` field."""
    boxes = []
    for response in np.abs(field):
        support = (response >= level * response.max()).reshape(side, side) if response.max() > 0 else None
        if support is None:
            boxes.append([0, 0, side - 1, side - 1])
            continue
        rows, cols = np.flatnonzero(support.any(axis=1)), np.flatnonzero(support.any(axis=0))
        boxes.append([int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])])
    return boxes


def sprite(images: np.ndarray, chosen: np.ndarray) -> tuple[str, int]:
    """A PNG data URI of ``images[chosen]`` tiled row by row, and the number of columns."""
    side = images.shape[1]
    cols = max(1, int(np.ceil(np.sqrt(len(chosen)))))
    rows = max(1, -(-len(chosen) // cols))
    canvas = np.full((rows * side, cols * side, 3), 255, dtype=np.uint8)
    for k, image in enumerate(images[chosen]):
        r, c = divmod(k, cols)
        canvas[r * side : (r + 1) * side, c * side : (c + 1) * side] = image
    return png_data_uri(canvas, optimize=True), cols


def graph_entry(
    graph: dict,
    image: np.ndarray,
    position: np.ndarray,
    labels: np.ndarray,
    in_sprite: dict[int, int],
    boxes: list[list[int]],
    thumbnails: int,
    seed: int = 0,
) -> dict:
    """The explorer's record of one graph: layout, nodes (glyph, interval, purity, sample of members), edges.

    ``image``/``position``/``labels``: per point of the graph's cloud, its image (index into the run's
    images), spatial position and class; ``in_sprite`` maps an image to its tile in the sprite.
    """
    p = graph["params"]
    layout = graph_positions(graph)
    intervals = cover_intervals(p["n_intervals"], p["overlap"])
    low, high = p["norm_range"]
    rng = np.random.default_rng(seed)
    nodes = []
    for node in graph["nodes"]:
        members = np.asarray(node["members"])
        shown = members[np.isin(image[members], list(in_sprite))]
        if len(shown) > thumbnails:
            shown = np.sort(rng.choice(shown, thumbnails, replace=False))
        lens = intervals[node["interval"]]
        x, y = layout[node["id"]]
        nodes.append(
            {
                "id": node["id"],
                "x": round(float(x), 4),
                "y": round(float(y), 4),
                "size": node["size"],
                "interval": node["interval"],
                "lens": [float(v) for v in lens],
                "norms": [float(low + v * (high - low)) for v in lens],
                "counts": node["label_counts"],
                "purity": 1.0 / len(node["label_counts"]),
                "images": len(np.unique(image[members])),
                # The page lists and searches the images it can show: those of the sprite (every image of the
                # embedded default's graphs; at most sprite_images at the paper's scale, which bounds the page).
                "image_ids": [i for i in np.unique(image[members]).tolist() if i in in_sprite],
                "members": [[in_sprite[int(image[m])], int(image[m]), int(labels[m]), int(position[m])] for m in shown],
            }
        )
    return {
        "id": graph_id(p),
        "title": graph_title(graph),
        "params": p,
        "purity": graph["purity"],
        "rf": boxes,
        "nodes": nodes,
        "edges": graph["edges"],
    }


def graph_signature(graph: dict, image: np.ndarray, position: np.ndarray) -> str:
    """A digest of a graph's nodes (the (image, position) points of each) and edges: equal for two menu entries
    that are one graph, e.g. the full and foreground samplings of a layer where every position is foreground."""
    nodes = sorted(sorted(zip(image[n["members"]].tolist(), position[n["members"]].tolist())) for n in graph["nodes"])
    return hashlib.sha256(json.dumps([nodes, sorted(map(sorted, graph["edges"]))]).encode()).hexdigest()


def explorer_page(data: dict) -> str:
    """The page: the style and the script inlined, the data as JSON in script elements: each graph in its
    own, which the script parses when the graph is first drawn (a paper-scale run has 36 graphs of
    1,000 nodes), the rest with each graph's ``id`` and the id of its element."""
    graphs = data.get("graphs", [])
    head = data | {"graphs": [{"id": graph["id"], "element": f"graph-{i}"} for i, graph in enumerate(graphs)]}
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Mapper explorer</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<header><h1>Mapper explorer</h1><label>graph <select id='graph'></select></label>"
        "<button id='fit' title='fit the graph to the pane (key 0)'>Fit</button>"
        "<label>beside it <select id='compare'><option value=''>nothing</option></select></label>"
        "<label>image id <input id='search' type='number' min='0' style='width:6em'></label><span id='found'></span>"
        "<a id='report' href='#'>report</a><a id='table' href='#'>node table</a>"
        "<span id='summary'></span></header>"
        "<div id='main'><div id='left'><svg id='view'><g id='scene'></g></svg>"
        "<svg id='view2' style='display:none'><g id='scene2'></g></svg><div id='tooltip'></div></div>"
        "<aside><section id='legend'></section><section id='params'></section><section id='classes'></section>"
        "<section id='node'><h2>Node</h2><p>Click a node to see the images whose points it holds.</p></section>"
        "</aside></div><div id='large' role='dialog'></div>"
        f"{json_script(head, 'data')}"
        + "".join(json_script(graph, f"graph-{i}") for i, graph in enumerate(graphs))
        + f"<script>{_SCRIPT.read_text()}</script></body></html>"
    )


def build_explorer(
    graph_paths: Sequence[Path],
    store_paths: Sequence[Path],
    images: np.ndarray,
    class_names: Sequence[str],
    fields: dict[str, np.ndarray],
    sprite_images: int = 2048,
    thumbnails: int = 12,
    seed: int = 0,
) -> dict:
    """The explorer's data from graph JSONs and their mapper stores (same order), the run's ``(n, H, W, 3)``
    images (indexed as the stores' ``layerXX_image``) and the receptive fields (``layerXX`` arrays)."""
    graphs = [json.loads(Path(p).read_text()) for p in graph_paths]
    points = []
    for graph, store_path in zip(graphs, store_paths):
        store, key = open_store(store_path), layer_key(graph["params"]["layer"])
        points.append((store.array(f"{key}_image"), store.array(f"{key}_position"), store.array(f"{key}_label")))
    used = np.unique(np.concatenate([image for image, _, _ in points]))
    if len(used) > sprite_images:
        used = np.sort(np.random.default_rng(seed).choice(used, sprite_images, replace=False))
    in_sprite = {int(i): k for k, i in enumerate(used)}
    uri, cols = sprite(images, used)
    side = images.shape[1]
    boxes = {}
    entries = []
    for graph, (image, position, labels) in zip(graphs, points):
        key = layer_key(graph["params"]["layer"])
        if key not in boxes:
            boxes[key] = receptive_field_boxes(fields[key], side)
        entries.append(graph_entry(graph, image, position, labels, in_sprite, boxes[key], thumbnails, seed))
    signatures = [graph_signature(graph, image, position) for graph, (image, position, _) in zip(graphs, points)]
    for entry, signature in zip(entries, signatures):
        entry["same_as"] = [
            other["id"] for other, theirs in zip(entries, signatures) if theirs == signature and other is not entry
        ]
    image_labels = {}
    for image, _, labels in points:
        image_labels.update(zip(image.tolist(), labels.tolist()))
    return {
        "classes": list(class_names),
        "palette": [class_colour(i) for i in range(len(class_names))],
        "labels": {str(k): v for k, v in sorted(image_labels.items())},
        "sprite": {"uri": uri, "cols": cols, "side": side, "count": len(used), "images": used.tolist()},
        "rf_level": RF_LEVEL,
        "graphs": entries,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.mapper.explorer", description=__doc__)
    parser.add_argument("--graphs", type=Path, nargs="+", required=True, help="graph JSONs")
    parser.add_argument("--stores", type=Path, nargs="+", required=True, help="their mapper stores, same order")
    parser.add_argument("--data", required=True, help="JSON of the config's data section")
    parser.add_argument("--masks", type=Path, required=True, help="masks (.npz): which training images were used")
    parser.add_argument("--receptive-fields", type=Path, required=True)
    parser.add_argument("--sprite-images", type=int, default=2048, help="most images in the thumbnail sprite")
    parser.add_argument("--thumbnails", type=int, default=12, help="most thumbnails listed per node")
    parser.add_argument("--out", type=Path, required=True, help="output: the page (.html)")
    args = parser.parse_args(argv)
    if len(args.graphs) != len(args.stores):
        parser.error(f"{len(args.graphs)} graphs but {len(args.stores)} stores")
    from cnntopo.data import load_dataset

    train = load_dataset(json.loads(args.data), train=True)
    with np.load(args.masks) as saved:
        index = saved["image_index"]
    with np.load(args.receptive_fields) as saved:
        fields = {key: saved[key] for key in saved.files if key.startswith("layer")}
    data = build_explorer(
        args.graphs, args.stores, train.images[index], train.classes, fields, args.sprite_images, args.thumbnails
    )
    atomic_write_text(args.out, explorer_page(data))
    nodes = sum(len(g["nodes"]) for g in data["graphs"])
    print(
        f"{args.out}: {len(data['graphs'])} graphs, {nodes} nodes, {data['sprite']['count']} images in the sprite "
        f"({args.out.stat().st_size // 1024} KiB)"
    )


if __name__ == "__main__":
    run_step(main)
