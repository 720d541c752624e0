"""The profile viewer: one self-contained HTML page (``results/profiles/viewer.html``).

One row per profiled image: the input image, its profile graph drawn by layer (input on the
left, logits on the right), its persistence diagram (H0 blue, H1 red) and its H1 persistence
image, grouped by class and filterable by model, neuron kind and class; above the rows, the
class-by-class Jaccard heatmap and the mean persistence image per class. Data and
thumbnails are embedded and drawn by ``viewer.js``: the page opens from the file system with
no network.

At scale (a profile run over ImageNet classes makes tens of thousands of rows) the page stays usable:
each model's thumbnails and each of its neuron kinds sit in their own JSON element, parsed when first
shown; only the rows near the window are built (a virtual list); thumbnails are at most 64 pixels.
"""

from __future__ import annotations

import argparse
import html
import json
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import atomic_write_text, read_table
from cnntopo.pages import json_script, thumbnail_data_uri
from cnntopo.profile.profiles import load_profiles

GRAPH_KINDS = ("element", "channel", "spatial")  # SVD profiles have no synapses (docs/method.md, SVD neurons)


def graph_layout(neurons: np.ndarray, synapses: np.ndarray) -> dict:
    """A profile graph as the page draws it: ``layers``, ``[layer, neurons]`` pairs in layer order (the
    vertices, numbered layer by layer, each layer's spread evenly from bottom to top), and ``e``, the
    synapses as a flat list of vertex number pairs ``[a0, b0, a1, b1, ...]``. Compact: a page may hold
    tens of thousands of graphs."""
    order = np.lexsort((neurons[:, 1], neurons[:, 0]))
    neurons = neurons[order]
    layers, counts = np.unique(neurons[:, 0], return_counts=True)
    index = {(int(layer), int(n)): i for i, (layer, n) in enumerate(neurons)}
    edges = [index[(int(s[k]), int(s[k + 1]))] for s in synapses for k in (0, 2)]
    return {"layers": [[int(a), int(b)] for a, b in zip(layers, counts)], "e": edges}


def short(values: np.ndarray) -> list:
    """Numbers to 3 significant digits (what a 110-pixel drawing resolves), ``None`` for infinities: a
    page may hold tens of thousands of diagrams and persistence images."""
    return [float(f"{v:.3g}") if np.isfinite(v) else None for v in np.ravel(values).tolist()]


def diagram_entry(h0: np.ndarray, h1: np.ndarray) -> dict:
    """A diagram as the page draws it: the H0 deaths (births are 0; ``None`` for the infinite bar) and
    the H1 ``[birth, death]`` pairs."""
    return {"h0": short(h0[:, 1]), "h1": np.reshape(short(h1), (-1, 2)).tolist()}


def model_entry(root: Path, model: str, kinds: list[str]) -> dict:
    """Everything the page shows for one model."""
    with np.load(root / model / "images.npz") as images:
        entry = {
            "classes": [str(c) for c in images["classes"]],  # the labels: this model's image folders
            "prediction_classes": [str(c) for c in images["prediction_classes"]],  # the model's outputs
            # Only where the outputs are the folders' classes can a prediction be called wrong.
            "outputs_are_classes": images["prediction_classes"].tolist() == images["classes"].tolist(),
            "labels": images["labels"].tolist(),
            "index": images["index"].tolist(),
            "thumbnails": [thumbnail_data_uri(im) for im in images["images"]],
            "kinds": {},
        }
    for kind in kinds:
        profiles = load_profiles(root / model / f"{kind}.npz")
        entry["layers"] = len(profiles.layer_names)
        entry["predictions"] = profiles.predictions.tolist()
        jaccard = read_table(root / model / kind / "class_jaccard.csv")
        rows = []
        counts_n = np.bincount(profiles.neurons[:, 0], minlength=len(profiles))
        counts_s = np.bincount(profiles.synapses[:, 0], minlength=len(profiles))
        record = {
            # 3 decimals: the heatmap writes 2, and 1000 classes make a million entries
            "jaccard": [[round(row[k], 3) for k in row if k.startswith("jaccard_")] for row in jaccard],
            "rows": rows,
        }
        if kind in GRAPH_KINDS:
            topology = read_table(root / model / kind / "topology.csv")
            with (
                np.load(root / model / kind / "diagrams.npz") as d,
                np.load(root / model / kind / "persistence_images.npz") as p,
            ):
                images = p["images"]
                for i in range(len(profiles)):
                    one = profiles.profile(i)
                    rows.append(
                        {
                            "image": i,
                            "neurons": int(counts_n[i]),
                            "synapses": int(counts_s[i]),
                            "h1": topology[i]["h1_points"],
                            "components": topology[i]["components"],
                            "graph": graph_layout(one.neurons, one.synapses),
                            "dgm": diagram_entry(d[f"h0_{i}"], d[f"h1_{i}"]),
                            "image_values": short(images[i]),
                        }
                    )
                finite = [
                    v
                    for r in rows
                    for v in [x for x in r["dgm"]["h0"] if x is not None] + [p[1] for p in r["dgm"]["h1"]]
                ]
                record["diagram_max"] = max(finite, default=1.0) * 1.05 or 1.0
                labels = profiles.labels
                means = [
                    images[labels == c].mean(axis=0) if np.any(labels == c) else np.zeros(images.shape[1:])
                    for c in range(int(labels.max()) + 1)
                ]
                record["mean_images"] = [short(m) for m in means]
                record["image_max"] = float(images.max()) if images.size else 1.0
        else:
            rows += [
                {"image": i, "neurons": int(counts_n[i]), "synapses": int(counts_s[i])} for i in range(len(profiles))
            ]
        entry["kinds"][kind] = record
    return entry


def viewer_html(data: dict, title: str) -> str:
    """The page for ``data`` (``kinds``, ``grid`` and ``models`` as :func:`model_entry` makes them). Each
    model's ``thumbnails`` and each of its kinds go to their own JSON element, which the script parses
    when it first shows them; ``data`` is not changed."""
    script = (Path(__file__).with_name("viewer.js")).read_text()
    blocks, models = [], {}
    for m, (name, model) in enumerate(data.get("models", {}).items()):
        kinds = {}
        for k, (kind, record) in enumerate(model["kinds"].items()):
            kinds[kind] = f"kind-{m}-{k}"
            blocks.append(json_script(record, kinds[kind]))
        blocks.append(json_script(model["thumbnails"], f"thumbnails-{m}"))
        models[name] = model | {"kinds": kinds, "thumbnails": f"thumbnails-{m}"}
    head = json_script(data | {"models": models}, "profile-data")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 13px sans-serif; margin: 16px; color: #222; }}
.controls select {{ margin-right: 12px; }}
.panel {{ display: inline-block; vertical-align: top; margin: 8px 16px 8px 0; }}
figure {{ display: inline-block; margin: 2px; text-align: center; }}
#rows {{ position: relative; }}
.item {{ position: absolute; left: 0; right: 0; margin: 0; box-sizing: border-box; overflow: hidden; }}
h2.item {{ padding-top: 12px; font-size: 18px; }}
.row {{ display: flex; align-items: center; gap: 8px; border-bottom: 1px solid #eee; }}
.row canvas {{ border: 1px solid #ddd; }}
img.input {{ width: 64px; height: 64px; image-rendering: pixelated; border: 1px solid #ddd; }}
.numbers {{ font-size: 11px; color: #444; }}
.row.misclassified {{ border-left: 4px solid #d55e00; padding-left: 4px; }}
.wrong {{ color: #a33c00; font-weight: bold; }}
.note {{ background: #fff7e0; border: 1px solid #e6c270; padding: 6px 10px; max-width: 60em; }}
#count {{ margin-left: 12px; color: #555; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Each row: the input image, its profile graph (neurons by layer, input left, logits right; edges are
synapses), the persistence diagram of the graph's shortest-path metric (H0 blue, infinite bars on the
dashed line; H1 red) and its H1 persistence image on the run's common grid (birth across, persistence up).</p>
<div class="controls">model <select id="model"></select> neuron kind <select id="kind"></select>
class <select id="class"></select> <label><input type="checkbox" id="wrong"> misclassified only</label>
<span id="count"></span></div>
<div id="summary"></div><div id="rows"></div>
{head}
{"".join(blocks)}
<script>{script}</script>
</body></html>
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.profile.viewer", description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="results/profiles")
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--kinds", nargs="+", required=True)
    parser.add_argument("--grid", type=Path, required=True, help="the persistence-image grid JSON")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    grid = json.loads(args.grid.read_text())
    data = {
        "kinds": args.kinds,
        "grid": {"shape": [len(grid["birth_edges"]) - 1, len(grid["persistence_edges"]) - 1]},
        "models": {model: model_entry(args.root, model, args.kinds) for model in args.models},
    }
    atomic_write_text(args.out, viewer_html(data, "DeepDataProfiler profiles"))


if __name__ == "__main__":
    run_step(main)
