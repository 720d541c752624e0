"""Projected wall time of the paper configs, per stage, from unit costs measured on this machine.

Measures, in one run: training images/s of the paper's model (width 64, the paper recipe, synthetic
CIFAR-shaped data), extraction (forward) images/s, one PH job (the 17 layers' clouds at N = 1000
from benchmarks/paper_scale_clouds.py), one SW layer-distance job (a 17 x 17 matrix against one
other model) and one mapper graph (50,000 x 512, scaled with the square of a graph's points).
The job counts per rule come from the DAG itself (``snakemake -n``), so the projection follows
the configs as they are. CPU stages run ``--cores`` jobs side by side; training and extraction
use ``--gpus`` devices at ``--gpu-train-rate`` / ``--gpu-extract-rate`` images/s when given (the
issue's H100 measurement: 47,300 training images/s), else this machine's CPU rate on all cores.
Appends the projections to benchmarks/results/summary.csv.

    python benchmarks/paper_scale.py [--cores 16] [--gpus 1] [--gpu-train-rate 47300]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from cnntopo.config import load_schema, validate_config  # noqa: E402
from cnntopo.mapper.graph import knee_eps, mapper_graph, nearest_neighbour_distances  # noqa: E402
from cnntopo.models import build_model  # noqa: E402
from cnntopo.ph.persistence import persistence_diagrams  # noqa: E402
from cnntopo.ph.sliced_wasserstein import sliced_wasserstein_matrix  # noqa: E402
from mapper import activation_like_cloud  # noqa: E402
from paper_scale_clouds import paper_scale_clouds  # noqa: E402
from summary import record  # noqa: E402
from train_throughput import measure as training_rate  # noqa: E402
from workflow_helpers import planned_jobs  # noqa: E402

REPO = Path(__file__).parents[1]
SCHEMA = "workflow/schemas/config.schema.yaml"
MAPPER_POINTS = {"random": 50_000, "full": 800_000, "foreground1": 50_000, "background1": 50_000,
                 "foreground5": 250_000, "background5": 250_000}  # fmt: skip


def dag_jobs(config: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", config], cwd=REPO, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"snakemake -n --configfile {config} failed:\n{out.stderr}")
    return planned_jobs(out.stdout)


def settings_of(config: str) -> dict:
    return validate_config(yaml.safe_load((REPO / config).read_text()), load_schema(REPO / SCHEMA))


def sw_evaluations(settings: dict) -> int:
    """SW distances of a validated config: per model and batch the 136 within pairs, per compared model
    pair and batch the 17 x 17 cross pairs; trained models and the untrained control."""
    ph = settings["ph"]
    if "ph" not in settings["branches"] or "sw" not in ph["metrics"]:
        return 0
    seeds, references, batches = settings["seeds"], ph["specificity"]["references"], ph["activations"]["batches"]
    pairs = seeds * (seeds - 1) // 2 if references == "all" else len(references) * (seeds - 1)
    branches = 2 if ph["controls"]["untrained"] else 1
    return branches * batches * (seeds * 136 + pairs * 289)


def forward_rate(width: int, images: int, batch: int) -> float:
    model = build_model("resnet18_option_a", width, 10).eval()
    x = torch.randn(batch, 3, 32, 32)
    with torch.no_grad():
        model(x)  # set-up
        started = time.perf_counter()
        for _ in range(max(1, images // batch)):
            model(x)
    return max(1, images // batch) * batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=16)
    parser.add_argument("--gpus", type=int, default=0)
    parser.add_argument("--gpu-train-rate", type=float, default=47_300.0, help="images/s of one GPU's training")
    parser.add_argument("--gpu-extract-rate", type=float, default=150_000.0, help="images/s of one GPU's forward")
    parser.add_argument("--train-images", type=int, default=512, help="images of the CPU training measurement")
    args = parser.parse_args()

    print("measuring unit costs on this machine ...", flush=True)
    cpu_train = training_rate(64, args.train_images, 256, 1, torch.device("cpu"))["images_per_second_all_epochs"]
    cpu_forward = forward_rate(64, 1024, 256)
    clouds = paper_scale_clouds()
    persistence_diagrams(clouds[0][:200])
    started = time.perf_counter()
    diagrams = [persistence_diagrams(c)[1] for c in clouds]
    ph_job = time.perf_counter() - started
    started = time.perf_counter()
    sliced_wasserstein_matrix(diagrams)  # 136 pairs; a cross job compares 17 x 17 = 289
    sw_pair = (time.perf_counter() - started) / 136
    cloud = activation_like_cloud(50_000, 512)
    eps, _ = knee_eps(nearest_neighbour_distances(cloud))
    started = time.perf_counter()
    mapper_graph(cloud, 40, 0.3, 5, eps)
    graph_50k = time.perf_counter() - started
    print(
        f"units: training {cpu_train:.0f} img/s, forward {cpu_forward:.0f} img/s (CPU, {torch.get_num_threads()}"
        f" threads); PH job (17 clouds) {ph_job:.1f} s; SW pair {sw_pair * 1e3:.2f} ms; mapper graph 50k x 512"
        f" {graph_50k:.1f} s"
    )

    train_rate = args.gpus * args.gpu_train_rate if args.gpus else cpu_train
    extract_rate = args.gpus * args.gpu_extract_rate if args.gpus else cpu_forward
    where = f"{args.gpus} GPU(s) at the given rates" if args.gpus else "this CPU"
    rows = []
    for config, epochs in (("config/paper-ph.yaml", 24), ("config/paper-mapper.yaml", 350)):
        jobs, settings = dag_jobs(config), settings_of(config)
        stages = {
            "train_model": jobs.get("train_model", 0) * epochs * 50_000 / train_rate,
            "extract_activations": jobs.get("extract_activations", 0) * 10 * 1000 / extract_rate,
            # a job computes one model's batches, each a PH job of the measurement
            "persistence_diagrams": jobs.get("persistence_diagrams", 0)
            * settings["ph"]["activations"]["batches"]
            * ph_job
            / args.cores,
            "layer_distances (SW only)": sw_evaluations(settings) * sw_pair / args.cores,
            "mapper_activations": jobs.get("mapper_activations", 0) * 50_000 / extract_rate,
        }
        if jobs.get("mapper_graph"):
            per_graph = np.mean([(p / 50_000) ** 2 for p in MAPPER_POINTS.values()]) * graph_50k
            stages["mapper_graph"] = jobs["mapper_graph"] * per_graph / args.cores
        total = sum(stages.values())
        print(f"\n{config}: {sum(jobs.values())} jobs; projected on {args.cores} cores and {where}:")
        for stage, seconds in stages.items():
            if seconds:
                print(f"  {stage:24s} {seconds / 3600:8.2f} h")
                rows.append(
                    {"measure": f"{config} {stage}, {args.cores} cores, {where}", "ours": seconds / 3600, "unit": "h"}
                )
        print(f"  {'total (stages in sequence)':24s} {total / 3600:8.2f} h")
        rows.append({"measure": f"{config} total, {args.cores} cores, {where}", "ours": total / 3600, "unit": "h"})
    record("paper_scale", rows)


if __name__ == "__main__":
    main()
