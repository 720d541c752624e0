"""The profile viewer: one self-contained HTML page (``results/profiles/viewer.html``).

One row per profiled image: the input image, its profile graph drawn by layer (input on the
left, logits on the right), its persistence diagram (H0 blue, H1 red) and its H1 persistence
image, grouped by class and filterable by model, neuron kind and class; above the rows, the
class-by-class Jaccard heatmap and the mean persistence image per class. Data and
thumbnails are embedded and drawn by ``viewer.js``: the page opens from the file system with
no network.
"""

from __future__ import annotations

import argparse
import html
import json
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import atomic_write_text, read_table
from cnntopo.pages import json_script, png_data_uri
from cnntopo.profile.profiles import load_profiles

GRAPH_KINDS = ("element", "channel", "spatial")  # SVD profiles have no synapses (docs/method.md, SVD neurons)


def graph_layout(neurons: np.ndarray, synapses: np.ndarray) -> dict:
    """Vertices as (layer, height in [0, 1]) and edges as vertex index pairs, for drawing."""
    order = np.lexsort((neurons[:, 1], neurons[:, 0]))
    neurons = neurons[order]
    heights = np.zeros(len(neurons))
    for layer in np.unique(neurons[:, 0]):
        members = np.flatnonzero(neurons[:, 0] == layer)
        heights[members] = 0.5 if len(members) == 1 else np.linspace(0, 1, len(members))
    index = {(int(layer), int(n)): i for i, (layer, n) in enumerate(neurons)}
    edges = [[index[(int(s[0]), int(s[1]))], index[(int(s[2]), int(s[3]))]] for s in synapses]
    return {"v": [[int(layer), round(float(h), 3)] for (layer, _), h in zip(neurons, heights)], "e": edges}


def _diagram(h0: np.ndarray, h1: np.ndarray) -> dict:
    return {
        "h0": [None if not np.isfinite(d) else round(float(d), 4) for d in h0[:, 1]],
        "h1": [[round(float(b), 4), round(float(d), 4)] for b, d in h1],
    }


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
            "thumbnails": [png_data_uri(im) for im in images["images"]],
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
            "jaccard": [[row[k] for k in row if k.startswith("jaccard_")] for row in jaccard],
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
                            "dgm": _diagram(d[f"h0_{i}"], d[f"h1_{i}"]),
                            "image_values": [round(float(v), 5) for v in images[i].ravel()],
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
                record["mean_images"] = [[round(float(v), 5) for v in m.ravel()] for m in means]
                record["image_max"] = float(images.max()) if images.size else 1.0
        else:
            rows += [
                {"image": i, "neurons": int(counts_n[i]), "synapses": int(counts_s[i])} for i in range(len(profiles))
            ]
        entry["kinds"][kind] = record
    return entry


def viewer_html(data: dict, title: str) -> str:
    script = (Path(__file__).with_name("viewer.js")).read_text()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 13px sans-serif; margin: 16px; color: #222; }}
.controls select {{ margin-right: 12px; }}
.panel {{ display: inline-block; vertical-align: top; margin: 8px 16px 8px 0; }}
figure {{ display: inline-block; margin: 2px; text-align: center; }}
.row {{ display: flex; align-items: center; gap: 8px; margin: 4px 0; border-bottom: 1px solid #eee; }}
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
{json_script(data, "profile-data")}
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
