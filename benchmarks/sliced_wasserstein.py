"""Our sliced-Wasserstein against persim.sliced_wasserstein on a 17 x 17 H1 matrix, in one run.

Prints both times, the ratio, the largest relative difference, and the projected
wall time of the cross-model work of the paper's specificity test at 100 models on
this machine's cores (one SW per layer pair, 17 x 17 per model pair):
  - the paper's test: 1 reference model against the other 99;
  - every pair of the 100 models (4,950 unordered pairs), for 1 batch and for 10 batches.

    python benchmarks/sliced_wasserstein.py [--diagrams results/persistence/ph/seed0/batch0.npz] [--repeats 3] [--out r.json]

Without --diagrams, H1 diagrams of synthetic paper-sized clouds (N = 1000) are used.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from persim import sliced_wasserstein as persim_sw

from cnntopo.ph.persistence import load_diagrams, persistence_diagrams
from cnntopo.ph.sliced_wasserstein import sliced_wasserstein_matrix
from paper_scale_clouds import paper_scale_clouds
from summary import record

MODELS, LAYERS = 100, 17


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--diagrams", type=Path, help="a diagram file of cnntopo.ph.persistence (17 layers)")
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs of each")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.diagrams:
        diagrams, _ = load_diagrams(args.diagrams, dim=1)
        source = str(args.diagrams)
    else:
        diagrams = [persistence_diagrams(c)[1] for c in paper_scale_clouds()]
        source = "synthetic paper-sized clouds (N = 1000)"
    sizes = [len(d) for d in diagrams]
    print(f"{len(diagrams)} H1 diagrams from {source}: {min(sizes)}-{max(sizes)} points")

    ours_times, persim_times = [], []
    n = len(diagrams)
    for _ in range(args.repeats):  # alternated, so that a slower spell of the machine hits both
        started = time.perf_counter()
        ours = sliced_wasserstein_matrix(diagrams)
        ours_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        reference = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                reference[i, j] = reference[j, i] = persim_sw(diagrams[i], diagrams[j], M=50)
        persim_times.append(time.perf_counter() - started)
    ours_seconds, persim_seconds = min(ours_times), min(persim_times)
    print(
        f"best of {args.repeats}: ours {[round(s, 3) for s in ours_times]} s, persim {[round(s, 1) for s in persim_times]} s"
    )
    off = ~np.eye(n, dtype=bool)
    rel = float(np.max(np.abs(ours[off] - reference[off]) / np.abs(reference[off])))
    pairs = n * (n - 1) // 2
    print(
        f"17 x 17 matrix ({pairs} pairs): persim {persim_seconds:.2f} s, ours {ours_seconds:.3f} s, "
        f"ratio {persim_seconds / ours_seconds:.0f}x, max relative difference {rel:.1e}"
    )

    per_pair = {"ours": ours_seconds / pairs, "persim": persim_seconds / pairs}
    workloads = {
        "paper test: 1 reference x 99 models, 10 batches": (MODELS - 1) * LAYERS**2 * 10,
        "all 4,950 model pairs, 1 batch": MODELS * (MODELS - 1) // 2 * LAYERS**2,
        "all 4,950 model pairs, 10 batches": MODELS * (MODELS - 1) // 2 * LAYERS**2 * 10,
    }
    projection = {}
    for name, count in workloads.items():
        hours = {k: count * v / args.cores / 3600 for k, v in per_pair.items()}
        projection[name] = {"sw_evaluations": count, **{f"{k}_hours": h for k, h in hours.items()}}
        print(
            f"projected on {args.cores} cores, {name} ({count:,} SW): ours {hours['ours'] * 60:.1f} min, "
            f"persim {hours['persim'] / 24:.1f} days"
        )
    record(
        "sliced_wasserstein",
        [
            {
                "measure": f"17 x 17 SW matrix, {source}",
                "ours": ours_seconds,
                "reference": persim_seconds,
                "ratio": persim_seconds / ours_seconds,
                "unit": "s (reference: persim.sliced_wasserstein, M = 50)",
            },
            *[
                {
                    "measure": f"projected on {args.cores} cores: {name}",
                    "ours": p["ours_hours"] * 60,
                    "reference": p["persim_hours"] * 60,
                    "ratio": p["persim_hours"] / p["ours_hours"],
                    "unit": "min",
                }
                for name, p in projection.items()
            ],
        ],
    )
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "source": source,
                    "diagram_points": sizes,
                    "persim_seconds": persim_seconds,
                    "ours_seconds": ours_seconds,
                    "ratio": persim_seconds / ours_seconds,
                    "max_relative_difference": rel,
                    "cores": args.cores,
                    "projection": projection,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
