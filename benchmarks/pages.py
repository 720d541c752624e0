"""The mapper explorer and the profile viewer at the embedded default's size and at the paper's: page
size, load and interaction times.

Writes synthetic pages and opens each in headless Chromium (offline). Each interaction is timed in
the page (``performance.now()`` around the event and a forced layout), best of 3.

- Explorer (``cnntopo.mapper.explorer.explorer_page`` on generated graphs: random layouts, ten
  classes, a sprite of noise images, which compresses worst): the time from navigation to the page's
  ``ready`` mark, to select the largest node (a click, its images listed), and to switch graph.
- Viewer (``cnntopo.profile.viewer.viewer_html`` on generated profiles, shaped as the default's:
  element graphs of about 150 neurons, channel 40, spatial 18; thumbnails of 224-pixel crops of
  scikit-learn's sample photographs): load, scroll to the middle of the rows, switch neuron kind (its
  rows parsed then), choose one class; and how many rows the document holds after each.

    python benchmarks/pages.py [--scale default paper viewer-default viewer-imagenet] [--out ...]

Needs Chromium and websocket-client (the page tests' dependencies) and a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from browser import Browser  # noqa: E402
from cnntopo.mapper.explorer import explorer_page  # noqa: E402
from cnntopo.pages import png_data_uri, thumbnail_data_uri  # noqa: E402
from cnntopo.plotting import class_colour  # noqa: E402
from cnntopo.profile.viewer import diagram_entry, short, viewer_html  # noqa: E402
from summary import record  # noqa: E402

# graphs, nodes per graph, points per node, images used by the run, sprite images (the explorer's cap)
SCALES = {
    "default": (30, 180, 25, 1347, 1347),  # the embedded default: 30 graphs, 5,404 nodes, 137k points
    "paper": (36, 1000, 800, 50000, 2048),  # paper-mapper.yaml: 36 graphs of up to 800,000 points
}
# models, classes, images per class: the default's 2 models of 10 digit classes; a torchvision model
# profiled on 20 images of each ImageNet class (20,000 rows per kind)
VIEWER_SCALES = {"viewer-default": (2, 10, 10), "viewer-imagenet": (1, 1000, 20)}
GRAPH_NEURONS = {"element": 150, "channel": 40, "spatial": 18}


def synthetic_explorer(graphs: int, nodes: int, points: int, images: int, sprite_images: int, seed: int = 0) -> dict:
    """Explorer data shaped as ``build_explorer`` makes it."""
    rng = np.random.default_rng(seed)
    sprite = rng.integers(0, 256, (32 * int(np.ceil(np.sqrt(sprite_images))),) * 2 + (3,), dtype=np.uint8)
    in_sprite = np.sort(rng.choice(images, sprite_images, replace=False))
    entries = []
    for g in range(graphs):
        node_list = []
        for i in range(nodes):
            counts = rng.multinomial(points, rng.dirichlet(np.full(10, 0.3)))
            ids = np.unique(rng.choice(images, points))
            shown = ids[np.isin(ids, in_sprite)]
            node_list.append(
                {
                    "id": i,
                    "x": round(float(rng.uniform(-1, 1)), 4),
                    "y": round(float(rng.uniform(-1, 1)), 4),
                    "size": points,
                    "interval": int(i % 10),
                    "lens": [0.1, 0.2],
                    "norms": [1.0, 2.0],
                    "counts": {str(c): int(n) for c, n in enumerate(counts) if n},
                    "purity": 1 / int((counts > 0).sum()),
                    "images": len(ids),
                    "image_ids": shown.tolist(),
                    "members": [[int(k % sprite_images), int(im), int(im % 10), 0] for k, im in enumerate(shown[:12])],
                }
            )
        edges = [[int(a), int(b)] for a, b in rng.integers(0, nodes, (2 * nodes, 2)) if a != b]
        entries.append(
            {
                "id": f"mode{g % 6}/layer{g:02d}",
                "title": f"graph {g}",
                "params": {
                    "layer": g,
                    "layer_name": "x",
                    "sampling": "full",
                    "sigma": 0.0,
                    "points": nodes * points,
                    "lens": "l2",
                    "norm_range": [0, 3],
                    "n_intervals": 10,
                    "overlap": 0.3,
                    "min_samples": 5,
                    "eps": 0.5,
                    "eps_from": "knee",
                },
                "purity": {"points_in_nodes": 1.0, "mean_node_purity": 0.5},
                "rf": [[0, 0, 31, 31]],
                "nodes": node_list,
                "edges": edges,
                "same_as": [],
            }
        )
    return {
        "classes": [f"class {c}" for c in range(10)],
        "palette": [class_colour(c) for c in range(10)],
        "labels": {str(i): int(i % 10) for i in in_sprite.tolist()},
        "sprite": {
            "uri": png_data_uri(sprite),
            "cols": int(np.ceil(np.sqrt(sprite_images))),
            "side": 32,
            "count": sprite_images,
            "images": in_sprite.tolist(),
        },
        "rf_level": 0.1,
        "graphs": entries,
    }


def synthetic_viewer(models: int, classes: int, per_class: int, layers: int = 22, seed: int = 0) -> dict:
    """Viewer data shaped as ``cnntopo.profile.viewer.model_entry`` makes it."""
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    photos = load_sample_images().images
    n = classes * per_class
    grid = (5, 20)

    def row(i: int, neurons: int | None) -> dict:
        if neurons is None:  # svd: no graph
            return {"image": i, "neurons": 20, "synapses": 0}
        spread = min(layers, neurons)  # a spatial profile keeps about one position per layer
        counts = rng.multinomial(neurons - spread, np.full(spread, 1 / spread)) + 1
        edges = rng.integers(0, neurons, 2 * (neurons + 15)).tolist()
        return {
            "image": i,
            "neurons": neurons,
            "synapses": neurons + 15,
            "h1": 8,
            "components": 1,
            "graph": {"layers": [[k, int(c)] for k, c in enumerate(counts)], "e": edges},
            "dgm": diagram_entry(
                np.column_stack([np.zeros(neurons), np.r_[np.inf, rng.uniform(0, 9, neurons - 1)]]),
                np.sort(rng.uniform(0, 9, (8, 2))),
            ),
            "image_values": short(rng.exponential(0.1, grid[0] * grid[1])),
        }

    def thumbnail(i: int) -> str:
        photo = photos[i % len(photos)]
        y, x = rng.integers(0, photo.shape[0] - 224), rng.integers(0, photo.shape[1] - 224)
        return thumbnail_data_uri(photo[y : y + 224, x : x + 224])

    entries = {}
    for m in range(models):
        labels = np.repeat(np.arange(classes), per_class)
        jaccard = rng.uniform(0, 0.2, (classes, classes)).round(3)
        np.fill_diagonal(jaccard, 1.0)
        kinds = {}
        for kind in ("element", "channel", "spatial", "svd"):
            record = {"jaccard": jaccard.tolist(), "rows": [row(i, GRAPH_NEURONS.get(kind)) for i in range(n)]}
            if kind != "svd":
                record |= {
                    "diagram_max": 9.5,
                    "mean_images": [short(m) for m in rng.exponential(0.1, (classes, grid[0] * grid[1]))],
                    "image_max": 1.0,
                }
            kinds[kind] = record
        entries[f"model{m}"] = {
            "classes": [f"class {c}" for c in range(classes)],
            "prediction_classes": [f"class {c}" for c in range(classes)],
            "outputs_are_classes": True,
            "labels": labels.tolist(),
            "index": list(range(n)),
            "thumbnails": [thumbnail(i) for i in range(n)],
            "kinds": kinds,
            "layers": layers,
            "predictions": np.where(rng.random(n) < 0.1, rng.integers(0, classes, n), labels).tolist(),
        }
    return {"kinds": ["element", "channel", "spatial", "svd"], "grid": {"shape": list(grid)}, "models": entries}


TIMED = """(() => {{ const start = performance.now(); {action}; document.body.offsetHeight;
  return performance.now() - start; }})()"""
CHANGE = "const s = document.getElementById('{id}'); s.value = '{value}'; s.dispatchEvent(new Event('change'))"
BUILT = "document.querySelectorAll('#rows .row').length"


def measure_explorer(scale: str, folder: Path) -> dict:
    graphs, nodes, points, images, sprite_images = SCALES[scale]
    page = folder / f"explorer_{scale}.html"
    page.write_text(explorer_page(synthetic_explorer(graphs, nodes, points, images, sprite_images)))
    with Browser(1400, 900) as browser:
        loads, selects, switches = [], [], []
        for _ in range(3):
            start = time.perf_counter()
            browser.open(page, "document.body.dataset.ready === 'true'", timeout=600)
            loads.append(time.perf_counter() - start)
            largest = "document.querySelector('g.node[data-node=\"0\"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))"
            selects.append(browser.evaluate(TIMED.format(action=largest)))
            switches.append(browser.evaluate(TIMED.format(action=CHANGE.format(id="graph", value="1"))))
    return {
        "scale": scale,
        "graphs": graphs,
        "nodes": graphs * nodes,
        "points": graphs * nodes * points,
        "sprite_images": sprite_images,
        "page_mb": page.stat().st_size / 2**20,
        "load_s": min(loads),
        "select_node_ms": min(selects),
        "switch_graph_ms": min(switches),
    }


def measure_viewer(scale: str, folder: Path) -> dict:
    models, classes, per_class = VIEWER_SCALES[scale]
    page = folder / f"{scale}.html"
    data = synthetic_viewer(models, classes, per_class)
    page.write_text(viewer_html(data, "viewer"))

    def megabytes(part) -> float:
        return len(json.dumps(part, separators=(",", ":"))) / 2**20

    models_data = list(data["models"].values())
    parts = {
        "thumbnails_mb": sum(megabytes(m["thumbnails"]) for m in models_data),
        "rows_mb": sum(megabytes(r["rows"]) for m in models_data for r in m["kinds"].values()),
        "class_tables_mb": sum(
            megabytes([r["jaccard"], r.get("mean_images", [])]) for m in models_data for r in m["kinds"].values()
        ),
    }
    scroll = "window.scrollTo(0, document.getElementById('rows').offsetTop + document.getElementById('rows').offsetHeight / 2); place()"
    with Browser(1400, 900) as browser:
        times: dict[str, list[float]] = {"load_s": [], "scroll_ms": [], "switch_kind_ms": [], "one_class_ms": []}
        for _ in range(3):
            start = time.perf_counter()
            browser.open(page, "document.body.dataset.ready === 'true'", timeout=600)
            times["load_s"].append(time.perf_counter() - start)
            built_at_load = browser.evaluate(BUILT)
            times["scroll_ms"].append(browser.evaluate(TIMED.format(action=scroll)))
            built_scrolled = browser.evaluate(BUILT)
            times["switch_kind_ms"].append(
                browser.evaluate(TIMED.format(action=CHANGE.format(id="kind", value="channel")))
            )
            times["one_class_ms"].append(
                browser.evaluate(TIMED.format(action=CHANGE.format(id="class", value=classes // 2)))
            )
            rows = browser.evaluate("document.getElementById('rows').dataset.rows")
    return {
        "scale": scale,
        "models": models,
        "rows_per_kind": classes * per_class,
        "page_mb": page.stat().st_size / 2**20,
        **parts,
        **{key: min(values) for key, values in times.items()},
        "rows_built_at_load": built_at_load,
        "rows_built_after_scroll": built_scrolled,
        "rows_of_one_class": int(rows),
    }


LOAD = "s (headless Chromium, to the ready mark)"
# (key of the measurement, what it is, unit): the rows each page adds to summary.csv
EXPLORER_MEASURES = [
    ("page_mb", "page size", "MB"),
    ("load_s", "load", LOAD),
    ("select_node_ms", "select the largest node", "ms"),
    ("switch_graph_ms", "switch graph", "ms"),
]
VIEWER_MEASURES = [
    ("page_mb", "page size", "MB"),
    ("load_s", "load", LOAD),
    ("scroll_ms", "scroll to the middle", "ms"),
    ("switch_kind_ms", "switch neuron kind", "ms"),
    ("one_class_ms", "choose one class", "ms"),
    ("rows_built_after_scroll", "rows in the document after scrolling", "rows"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", nargs="+", choices=sorted(SCALES | VIEWER_SCALES), default=[*SCALES, *VIEWER_SCALES])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pages.json"))
    args = parser.parse_args()
    rows, summary = [], []
    with tempfile.TemporaryDirectory() as folder:
        for scale in args.scale:
            if scale in SCALES:
                r = measure_explorer(scale, Path(folder))
                cell = f"mapper explorer, {r['scale']} scale ({r['graphs']} graphs, {r['nodes']:,} nodes)"
                measures = EXPLORER_MEASURES
            else:
                r = measure_viewer(scale, Path(folder))
                cell = f"profile viewer, {r['scale']} ({r['models']} models, {r['rows_per_kind']:,} rows per kind)"
                measures = VIEWER_MEASURES
                print(
                    f"{cell}: thumbnails {r['thumbnails_mb']:.1f} MB, rows {r['rows_mb']:.1f} MB, class tables "
                    f"{r['class_tables_mb']:.1f} MB; rows built at load {r['rows_built_at_load']}",
                    flush=True,
                )
            print(f"{cell}: " + ", ".join(f"{label} {r[key]:.3g} {unit}" for key, label, unit in measures), flush=True)
            summary += [{"measure": f"{cell}: {label}", "ours": r[key], "unit": unit} for key, label, unit in measures]
            rows.append(r)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    record("pages", summary)


if __name__ == "__main__":
    main()
