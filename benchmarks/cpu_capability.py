"""Does the headline result survive another CPU? The default's PH branch rerun under another CPU capability.

Training is bit-identical only for the same CPU capability (the vector instructions torch's kernels
dispatch to), thread count and versions: the same commit gave SW rho 0.817 on an Intel Xeon and
0.851 on an AMD EPYC. This script reproduces that on one machine. It runs the embedded default's PH
branch twice in two working directories: first as the machine is, then with
``ATEN_CPU_CAPABILITY`` (torch's kernels) and ``ONEDNN_MAX_CPU_ISA`` (oneDNN's convolutions) set to
another capability. It checks that the weights really differ, and reports whether each headline rho
of the second run lies inside the first run's model-level 95 % interval (and inside the pair
bootstrap's, for comparison). Writes benchmarks/results/cpu_capability.json and summary rows.

    python benchmarks/cpu_capability.py --workdir /tmp/capability [--other avx2] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from cnntopo.provenance import read_table  # noqa: E402
from summary import record  # noqa: E402
from workflow_helpers import snakemake_env  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "cpu_capability.json"
# oneDNN names its instruction-set caps in capitals, torch in lower case
ONEDNN_ISA = {"default": "SSE41", "avx2": "AVX2", "avx512": "AVX512_CORE"}


def run_branch(workdir: Path, cores: str, capability: str | None) -> float:
    """The embedded default's PH branch in ``workdir``, under ``capability`` (None: the machine's); seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    overlay = workdir / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"branches": ["ph"]}))
    env = snakemake_env()
    if capability is not None:
        env.update(ATEN_CPU_CAPABILITY=capability, ONEDNN_MAX_CPU_ISA=ONEDNN_ISA[capability])
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(overlay)]
    start = time.perf_counter()
    with open(workdir / "snakemake.log", "w") as log:
        subprocess.run(
            [*command, "--cores", cores], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, check=True
        )
    return time.perf_counter() - start


def weight_difference(first: Path, second: Path) -> float:
    """The largest absolute difference between two weights files' tensors."""
    a, b = (torch.load(path, weights_only=True)["state_dict"] for path in (first, second))
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())


def compare(first: Path, second: Path) -> list[dict]:
    """Per (metric, representation) and scope: the second run's rho against the first run's intervals."""
    rows = []
    for summary in sorted((first / "results/specificity/ph").glob("*/*/specificity_summary.csv")):
        (a,) = read_table(summary)
        (b,) = read_table(second / summary.relative_to(first))
        for name in ("rho_layer", "rho_overall"):
            rows.append(
                {
                    "metric": a["metric"],
                    "representation": a["representation"],
                    "scope": name,
                    "first": a[name],
                    "second": b[name],
                    "first_ci": [a[f"{name}_ci_low"], a[f"{name}_ci_high"]],
                    "inside_model_interval": bool(a[f"{name}_ci_low"] <= b[name] <= a[f"{name}_ci_high"]),
                    "first_pair_ci": [a[f"{name}_pair_ci_low"], a[f"{name}_pair_ci_high"]],
                    "inside_pair_interval": bool(a[f"{name}_pair_ci_low"] <= b[name] <= a[f"{name}_pair_ci_high"]),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True, help="two runs are made in WORKDIR/first, /second")
    parser.add_argument("--other", default="avx2", choices=sorted(ONEDNN_ISA), help="the second run's capability")
    parser.add_argument("--cores", default="2")
    args = parser.parse_args()
    first, second = args.workdir / "first", args.workdir / "second"
    seconds = [run_branch(first, args.cores, None), run_branch(second, args.cores, args.other)]
    metrics = [json.loads((run / "results/models/ph/seed0.metrics.json").read_text()) for run in (first, second)]
    capabilities = [m["cpu_capability"] for m in metrics]
    if capabilities[0] == capabilities[1]:
        raise SystemExit(f"both runs used {capabilities[0]}: pick another --other than the machine's own")
    seeds = sorted(path.name for path in (first / "results/models/ph").glob("seed*.pt"))
    differences = {
        s: weight_difference(first / "results/models/ph" / s, second / "results/models/ph" / s) for s in seeds
    }
    rows = compare(first, second)
    result = {
        "cpu_model": metrics[0]["cpu_model"],
        "capabilities": capabilities,
        "threads": [m["threads"] for m in metrics],
        "seconds": seconds,
        "largest_weight_difference": differences,
        "test_accuracy": [m["test_accuracy"] for m in metrics],
        "rho": rows,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for r in rows:
        print(
            f"{r['metric']:>10} {r['representation']:>15} {r['scope']:>11}: {capabilities[0]} {r['first']:.3f} "
            f"[{r['first_ci'][0]:.3f}, {r['first_ci'][1]:.3f}], {capabilities[1]} {r['second']:.3f}: "
            f"{'inside' if r['inside_model_interval'] else 'OUTSIDE'} the model-level interval, "
            f"{'inside' if r['inside_pair_interval'] else 'outside'} the pair interval"
        )
    print(f"largest weight differences: {differences}")
    inside = sum(r["inside_model_interval"] for r in rows)
    inside_pairs = sum(r["inside_pair_interval"] for r in rows)
    record(
        "cpu_capability",
        [
            {
                "measure": f"headline rho of a {capabilities[1]} rerun inside the {capabilities[0]} run's interval",
                "ours": inside,
                "reference": len(rows),
                "unit": "of the (metric, representation, scope) rhos, model-level interval",
            },
            {
                "measure": f"headline rho of a {capabilities[1]} rerun inside the {capabilities[0]} run's pair interval",
                "ours": inside_pairs,
                "reference": len(rows),
                "unit": "of the (metric, representation, scope) rhos, pair bootstrap",
            },
        ],
    )


if __name__ == "__main__":
    main()
