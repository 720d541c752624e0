"""Coverage of the specificity test's 95 % intervals on simulated models with a known spread between them.

The model bootstrap (models and batches resampled, expanded percentile) against the pair bootstrap
(pairs resampled as if independent), at several numbers of models, on the simulation of
:mod:`cnntopo.ph.simulation`. Writes benchmarks/results/interval_coverage.json and the summary rows.

    python benchmarks/interval_coverage.py [--repeats 400] [--draws 500] [--models 4 8 16]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cnntopo.ph.simulation import interval_coverage
from cnntopo.ph.statistics import MODEL_SCHEME, PAIR_SCHEME
from summary import record

RESULTS = Path(__file__).parent / "results" / "interval_coverage.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=400, help="simulated runs per setting")
    parser.add_argument("--draws", type=int, default=500, help="bootstrap draws per run")
    parser.add_argument("--models", type=int, nargs="+", default=[4, 8, 16])
    args = parser.parse_args()
    found = []
    for models in args.models:
        for scheme in (MODEL_SCHEME, PAIR_SCHEME):
            start = time.perf_counter()
            coverage = interval_coverage(models, args.repeats, args.draws, scheme)
            found.append({"models": models, "scheme": scheme, "coverage": coverage, "repeats": args.repeats})
            print(f"{models:3d} models, {scheme}: coverage {coverage:.3f} ({time.perf_counter() - start:.0f} s)")
    RESULTS.write_text(json.dumps({"draws": args.draws, "nominal": 0.95, "results": found}, indent=2) + "\n")
    record(
        "interval_coverage",
        [
            {
                "measure": f"coverage of the 95 % interval, {r['models']} models, {r['scheme']}",
                "ours": r["coverage"],
                "reference": 0.95,
                "unit": f"share of {r['repeats']} simulated runs (reference: nominal)",
            }
            for r in found
        ],
    )


if __name__ == "__main__":
    main()
