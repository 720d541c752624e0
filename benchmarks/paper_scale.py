"""Projected wall time of the paper configs, per stage, from unit costs measured on this machine.

The trajectory's stage (the models' training snapshots through extraction, PH and SW) is projected
apart from the stages of the finished models.
Measures, in one run: training images/s of the paper's model (width 64, the paper recipe, synthetic
CIFAR-shaped data), extraction (forward) images/s, one PH job (the 17 layers' clouds at N = 1000
from benchmarks/paper_scale_clouds.py), one layer pair of each metric (SW of two of their diagrams;
CKA and Procrustes of two of the clouds, averaged over the 136 pairs of the 17 layers) and one
mapper graph (50,000 x 512, scaled with the square of a graph's points).
The job counts per rule come from the DAG itself (``snakemake -n``), so the projection follows
the configs as they are. CPU stages run ``--cores`` jobs side by side, and last at least as long as
their longest job (the layer distances of a reference model against all others, on its
ph.distance_threads cores); training and extraction
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
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from cnntopo.mapper.graph import knee_eps, mapper_graph, nearest_neighbour_distances  # noqa: E402
from cnntopo.networks.models import build_model  # noqa: E402
from cnntopo.ph.pairwise import pairwise_matrix  # noqa: E402
from cnntopo.ph.persistence import persistence_diagrams  # noqa: E402
from cnntopo.ph.similarity import METRICS, make_metric  # noqa: E402
from cnntopo.ph.sliced_wasserstein import sliced_wasserstein_matrix  # noqa: E402
from cnntopo.workflow.config import load_schema, trajectory_branch, trajectory_epochs, validate_config  # noqa: E402
from cnntopo.workflow.resources import distance_partners, distance_threads, layer_distance_pairs  # noqa: E402
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


def snapshot_branches(settings: dict) -> list[str]:
    """The branches of the models' training snapshots (ph_epochE) that the trajectory adds."""
    ph = settings["ph"]
    if "ph" not in settings["branches"] or ph["user_models"] is not None:
        return []
    branches = {trajectory_branch(ph, e) for e in trajectory_epochs(ph)}
    return sorted(b for b in branches if b.startswith("ph_epoch"))


def layer_distance_counts(settings: dict, layers: int) -> tuple[float, float]:
    """Layer-to-layer distances of one measure (metric, representation) in a validated config: in all
    (trained models and the untrained control), and per core of its longest job, the model with the
    most partners (cnntopo.workflow.resources.layer_distance_pairs)."""
    ph = settings["ph"]
    partners = [len(distance_partners(settings, seed)) for seed in range(settings["seeds"])]
    batches = ph["activations"]["batches"]
    branches = 2 if ph["controls"]["untrained"] else 1
    total = branches * sum(layer_distance_pairs(layers, p, batches) for p in partners)
    busiest = int(np.argmax(partners))
    return total, layer_distance_pairs(layers, partners[busiest], batches, distance_threads(settings, busiest))


def layer_distances_seconds(settings: dict, pair_seconds: dict[str, float], layers: int, cores: int) -> float:
    """Wall time of the layer_distances jobs on ``cores``: their work shared out, but no less than the longest."""
    if "ph" not in settings["branches"]:
        return 0.0
    ph = settings["ph"]
    total, longest = layer_distance_counts(settings, layers)
    work, slowest = 0.0, 0.0
    for metric in ph["metrics"]:
        reads_diagrams = METRICS[metric].reads == "diagrams"
        representations = ph["sw"]["representations"] if reads_diagrams else ph["representations"]
        work += len(representations) * total * pair_seconds[metric]
        slowest = max(slowest, longest * pair_seconds[metric])
    return max(work / cores, slowest)


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
    within_pairs = len(clouds) * (len(clouds) - 1) // 2  # 136 for the 17 layers
    started = time.perf_counter()
    sliced_wasserstein_matrix(diagrams)
    pair_seconds = {"sw": (time.perf_counter() - started) / within_pairs}
    for name in METRICS:
        if METRICS[name].reads == "store":
            metric = make_metric(name)
            prepared = [metric.prepare(c) for c in clouds]
            with threadpool_limits(1):  # as in a job: BLAS on one core (Snakemake sets it to the job's threads)
                started = time.perf_counter()
                pairwise_matrix(prepared, metric.distance)
                pair_seconds[name] = (time.perf_counter() - started) / within_pairs
    cloud = activation_like_cloud(50_000, 512)
    eps, _ = knee_eps(nearest_neighbour_distances(cloud))
    started = time.perf_counter()
    mapper_graph(cloud, 40, 0.3, 5, eps)
    graph_50k = time.perf_counter() - started
    print(
        f"units: training {cpu_train:.0f} img/s, forward {cpu_forward:.0f} img/s (CPU, {torch.get_num_threads()}"
        f" threads); PH job (17 clouds) {ph_job:.1f} s; layer pair "
        + ", ".join(f"{name} {seconds * 1e3:.2f} ms" for name, seconds in pair_seconds.items())
        + f"; mapper graph 50k x 512 {graph_50k:.1f} s"
    )

    train_rate = args.gpus * args.gpu_train_rate if args.gpus else cpu_train
    extract_rate = args.gpus * args.gpu_extract_rate if args.gpus else cpu_forward
    where = f"{args.gpus} GPU(s) at the given rates" if args.gpus else "this CPU"
    rows = []
    for config, epochs in (("config/paper-ph.yaml", 24), ("config/paper-mapper.yaml", 350)):
        jobs, settings = dag_jobs(config), settings_of(config)
        batches = settings["ph"]["activations"]["batches"]
        # the snapshots' extraction and PH jobs (one per model and snapshot) are the trajectory's stage
        snapshot_jobs = len(snapshot_branches(settings)) * settings["seeds"]
        one_branch = {**settings, "ph": {**settings["ph"], "controls": {"untrained": False}}}
        trajectory_metrics = {"sw": pair_seconds["sw"]}  # SW on top-l2 clouds, one branch per snapshot
        snapshot_distances = len(snapshot_branches(settings)) * layer_distances_seconds(
            {**one_branch, "ph": {**one_branch["ph"], "metrics": settings["ph"]["trajectory"]["metrics"]}},
            {**pair_seconds, **trajectory_metrics},
            len(clouds),
            args.cores,
        )
        stages = {
            "train_model": jobs.get("train_model", 0) * epochs * 50_000 / train_rate,
            "extract_activations": (jobs.get("extract_activations", 0) - snapshot_jobs) * batches * 1000 / extract_rate,
            # a job computes one model's batches, each a PH job of the measurement
            "persistence_diagrams": (jobs.get("persistence_diagrams", 0) - snapshot_jobs)
            * batches
            * ph_job
            / args.cores,
            "layer_distances": layer_distances_seconds(settings, pair_seconds, len(clouds), args.cores),
            "trajectory (snapshots' extraction, PH, SW)": snapshot_jobs
            * batches
            * (1000 / extract_rate + ph_job / args.cores)
            + snapshot_distances,
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
