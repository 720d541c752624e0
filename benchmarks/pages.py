"""The mapper explorer at the embedded default's size and at the paper's: page size, load and interaction times.

Writes synthetic explorers (``cnntopo.mapper.explorer.explorer_page`` on generated graphs: random
layouts, ten classes, a sprite of noise images, which compresses worst) and opens each in headless
Chromium (offline): the time from navigation to the page's ``ready`` mark, to select the largest
node (a click, its images listed), and to switch to another graph. Each interaction is timed in
the page (``performance.now()`` around the event and a forced layout), best of 3.

    python benchmarks/pages.py [--scale default paper] [--out benchmarks/results/pages.json]

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
from cnntopo.pages import png_data_uri  # noqa: E402
from cnntopo.plotting import class_colour  # noqa: E402
from summary import record  # noqa: E402

# graphs, nodes per graph, points per node, images used by the run, sprite images (the explorer's cap)
SCALES = {
    "default": (30, 180, 25, 1347, 1347),  # the embedded default: 30 graphs, 5,404 nodes, 137k points
    "paper": (36, 1000, 800, 50000, 2048),  # paper-mapper.yaml: 36 graphs of up to 800,000 points
}


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


TIMED = """(() => {{ const start = performance.now(); {action}; document.body.offsetHeight;
  return performance.now() - start; }})()"""


def measure(scale: str, folder: Path) -> dict:
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
            switch = "const s = document.getElementById('graph'); s.value = '1'; s.dispatchEvent(new Event('change'))"
            switches.append(browser.evaluate(TIMED.format(action=switch)))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", nargs="+", choices=sorted(SCALES), default=["default", "paper"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pages.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for scale in args.scale:
            row = measure(scale, Path(folder))
            rows.append(row)
            print(
                f"{scale}: {row['graphs']} graphs, {row['nodes']:,} nodes, {row['points']:,} points: page "
                f"{row['page_mb']:.1f} MB, loads in {row['load_s']:.2f} s, selects a node in "
                f"{row['select_node_ms']:.0f} ms, switches graph in {row['switch_graph_ms']:.0f} ms",
                flush=True,
            )
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    summary = []
    for r in rows:
        cell = f"mapper explorer, {r['scale']} scale ({r['graphs']} graphs, {r['nodes']:,} nodes)"
        summary += [
            {"measure": f"{cell}: page size", "ours": r["page_mb"], "unit": "MB"},
            {"measure": f"{cell}: load", "ours": r["load_s"], "unit": "s (headless Chromium, to the ready mark)"},
            {"measure": f"{cell}: select the largest node", "ours": r["select_node_ms"], "unit": "ms"},
            {"measure": f"{cell}: switch graph", "ours": r["switch_graph_ms"], "unit": "ms"},
        ]
    record("pages", summary)


if __name__ == "__main__":
    main()
