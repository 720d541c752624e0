"""PH backends on paper-sized clouds: ripser.py (reference) against giotto-ph, in one run.

Both get the same exact float64 distance matrix (cnntopo.ph.persistence). Prints the time
per cloud of each backend, the ratio, and whether the diagrams are identical; then giotto-ph's
scaling with its threads (``--threads``, up to the machine's cores) on the same clouds, and the
projected wall time of the paper's 17,000 clouds (100 models x 10 batches x 17 layers, the
layers' widths in proportion) on ``--project-cores`` cores, jobs side by side at one thread each,
from giotto-ph's one-thread time per cloud when it runs alone, cloud after cloud, as a job does.
Appends the figures to benchmarks/results/summary.csv.

    python benchmarks/persistence_backends.py [--points 1000] [--layers 0 8 16] [--threads 1 2]
        [--project-cores 16] [--repeats 3] [--out results.json]

Each time is the median of ``--repeats`` runs (one run's time on a shared machine is an upper bound).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from cnntopo.ph.persistence import persistence_diagrams
from paper_scale_clouds import PAPER_WIDTHS, paper_scale_clouds
from summary import record

PAPER_CLOUDS = 100 * 10 * len(PAPER_WIDTHS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--layers", type=int, nargs="+", default=[0, 8, 16])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--project-cores", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the median is reported")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    def timed(run, *run_args, **run_kwargs):
        times, result = [], None
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = run(*run_args, **run_kwargs)
            times.append(time.perf_counter() - started)
        return float(np.median(times)), result

    clouds = paper_scale_clouds(args.points, widths=[PAPER_WIDTHS[i] for i in args.layers])
    for backend in ("ripser", "giotto"):  # first calls load and set up the libraries: untimed
        persistence_diagrams(clouds[0][:200], backend=backend)
    rows = []
    for layer, cloud in zip(args.layers, clouds):
        timings, results = {}, {}
        for backend in ("ripser", "giotto"):
            timings[backend], results[backend] = timed(persistence_diagrams, cloud, backend=backend)
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
    # giotto-ph alone, cloud after cloud, as a persistence job runs; its 1-thread times per width make
    # the projection.
    alone = {t: [timed(persistence_diagrams, cloud, threads=t)[0] for cloud in clouds] for t in args.threads}
    scaling = {t: sum(times) for t, times in alone.items()}
    for threads in args.threads:
        print(
            f"giotto-ph alone, {threads} thread(s): {scaling[threads]:.2f} s for the {len(clouds)} clouds", flush=True
        )
    # The measured layers stand for their widths' share of the paper's 17 layers.
    per_cloud = {c.shape[1]: t for c, t in zip(clouds, alone[1 if 1 in alone else args.threads[0]])}
    paper_cpu_s = 100 * 10 * sum(per_cloud.get(w, max(per_cloud.values())) for w in PAPER_WIDTHS)
    projected_min = paper_cpu_s / args.project_cores / 60
    print(f"projected: the paper's {PAPER_CLOUDS} clouds take {projected_min:.1f} min on {args.project_cores} cores")
    summary = [
        {
            "measure": f"PH of {len(rows)} clouds, N = {args.points}",
            "ours": sum(r["giotto"] for r in rows),
            "reference": sum(r["ripser"] for r in rows),
            "ratio": total,
            "unit": "s (ours giotto-ph, reference ripser.py)",
        },
        *[
            {
                "measure": f"giotto-ph with {t} threads vs 1, {len(clouds)} clouds",
                "ours": scaling[t],
                "reference": scaling[args.threads[0]],
                "ratio": scaling[args.threads[0]] / scaling[t],
                "unit": "s",
            }
            for t in args.threads[1:]
        ],
        {
            "measure": f"paper's {PAPER_CLOUDS} clouds projected on {args.project_cores} cores",
            "ours": projected_min,
            "unit": "min (one thread per job)",
        },
    ]
    record("persistence_backends", summary)
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "clouds": rows,
                    "overall_ratio": total,
                    "thread_seconds": scaling,
                    "projected_paper_minutes": projected_min,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
