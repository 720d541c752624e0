"""PH backends on paper-sized clouds: ripser.py (reference) against giotto-ph, in one run.

Both get the same exact float64 distance matrix (cnntopo.ph.persistence). Prints the time
per cloud of each backend, the ratio, and whether the diagrams are identical.

    python benchmarks/persistence_backends.py [--points 1000] [--layers 0 8 16] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from cnntopo.ph.persistence import persistence_diagrams
from paper_scale_clouds import PAPER_WIDTHS, paper_scale_clouds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--layers", type=int, nargs="+", default=[0, 8, 16])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    clouds = paper_scale_clouds(args.points, widths=[PAPER_WIDTHS[i] for i in args.layers])
    rows = []
    for layer, cloud in zip(args.layers, clouds):
        timings, results = {}, {}
        for backend in ("ripser", "giotto"):
            started = time.perf_counter()
            results[backend] = persistence_diagrams(cloud, backend=backend)
            timings[backend] = time.perf_counter() - started
        identical = all(np.array_equal(a, b) for a, b in zip(results["ripser"], results["giotto"]))
        rows.append(
            {
                "layer": layer,
                "points": args.points,
                "channels": cloud.shape[1],
                **timings,
                "ratio": timings["ripser"] / timings["giotto"],
                "identical": identical,
                "h1_points": len(results["ripser"][1]),
            }
        )
        r = rows[-1]
        print(
            f"layer {layer:2d} ({args.points} x {r['channels']}): ripser {r['ripser']:.2f} s, giotto {r['giotto']:.2f} s,"
            f" ratio {r['ratio']:.2f}x, identical diagrams: {identical}, H1 points {r['h1_points']}"
        )
    total = sum(r["ripser"] for r in rows) / sum(r["giotto"] for r in rows)
    print(f"overall: giotto-ph is {total:.2f}x faster than ripser.py")
    if args.out:
        args.out.write_text(json.dumps({"clouds": rows, "overall_ratio": total}, indent=2))


if __name__ == "__main__":
    main()
