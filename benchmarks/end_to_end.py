"""The PH branch end to end at paper settings, stage by stage, with each stage's wall time.

config/paper-ph.yaml with ``--seeds`` models (4: the issue's GPU check) on a synthetic CIFAR-10
written in the real on-disk format (cnntopo.data.write_cifar10_format: 50,000 training and 10,000
test images), which the workflow accepts through its checksums (``data.checksums``): the real
archive cannot be fetched here. Every other setting is paper-ph's. Each stage is one Snakemake
call for the outputs of that stage's rules (what they need was made by the stages before), so a
machine lent for a few minutes a call can run one stage per call, and a stage done is not redone:

    python benchmarks/end_to_end.py --workdir /tmp/e2e --stage data
    python benchmarks/end_to_end.py --workdir /tmp/e2e --stage train    # then extract, persistence,
                                                                        # distances, tests
``--stage all`` runs them in turn. Each stage's wall time, and its jobs' summed time per rule (of
the rules that keep Snakemake benchmark files: training, extraction, PH, distances, sensitivity),
are appended to WORKDIR/stages.csv; a paper-settings run appends the wall times to
benchmarks/results/summary.csv too. At paper size the stores of 4 models and their untrained
controls take about 1.3 GB: on a device machine keep WORKDIR outside what comes back and copy
stages.csv. ``--smoke`` shrinks the data, the model, the epochs and N so that a CPU runs the
script in about a minute: its times say nothing of paper scale and go to stages.csv only.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from cnntopo.data import write_cifar10_format  # noqa: E402
from summary import machine, record  # noqa: E402
from workflow_helpers import snakemake_env  # noqa: E402

# The rules whose outputs each stage asks for (regular expressions; "all": the workflow's default target).
# The rules upstream of them run too, and were done by the stages before.
STAGES = {
    "data": None,
    "train": r"train_models?(_\d+_\d+)?|init_model",
    "extract": r"extract_activations",
    "persistence": r"persistence_diagrams",
    "distances": r"layer_distances",
    "tests": "all",
}
SMOKE = {
    "images_per_file": 100,
    "ph": {
        "model": {"width": 4},
        "train": {"epochs": 1, "batch_size": 128},
        "activations": {"n_images": 40, "batches": 2, "extract_batch": 40},
        "distance_threads": 1,
        "statistics": {"bootstrap": 50, "permutations": 50},
    },
}


def overlay_config(seeds: int, data_root: Path, checksums: dict[str, str], smoke: bool) -> dict:
    """paper-ph's settings with ``seeds`` models on the synthetic copy (and, for ``smoke``, small sizes)."""
    config = yaml.safe_load((REPO / "config/paper-ph.yaml").read_text())
    config["seeds"] = seeds
    config["data"].update(root=str(data_root), download=False, checksums=checksums)
    # random images with random labels cannot be learnt: every model ends at chance, which is accepted here
    config["ph"]["train"]["min_test_accuracy"] = 0
    if smoke:
        config["device"] = "cpu"
        config["resources"]["gpu"] = False
        for key, values in SMOKE["ph"].items():
            config["ph"][key] = {**config["ph"].get(key, {}), **values} if isinstance(values, dict) else values
    return config


def stage_targets(snakemake: list[str], workdir: Path, rules: str) -> list[str]:
    """The outputs of the jobs of ``rules`` in the DAG, from Snakemake's ``--summary`` (one row per output
    file: path, date, rule, ...). Files rather than ``--until``, which stops with "Out of jobs ready"
    when jobs of one rule depend on each other (an extraction reads the reference model's store)."""
    summary = subprocess.run(
        [*snakemake, "--summary"], cwd=workdir, env=snakemake_env(), capture_output=True, text=True, check=True
    )
    rows = [line.split("\t") for line in summary.stdout.splitlines()[1:] if "\t" in line]
    return [row[0] for row in rows if re.fullmatch(rules, row[2])]


def job_seconds(results: Path, since: float) -> dict[str, float]:
    """Summed wall seconds per rule of the jobs whose benchmark file was written after ``since``."""
    per_rule: dict[str, float] = {}
    for path in (results / "benchmarks").rglob("*.tsv"):
        if path.stat().st_mtime >= since:
            rule = path.relative_to(results / "benchmarks").parts[0]
            with open(path, newline="") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t"))
            per_rule[rule] = per_rule.get(rule, 0.0) + sum(float(row["s"]) for row in rows)
    return per_rule


def run_stage(stage: str, workdir: Path, seeds: int, cores: str, smoke: bool) -> dict:
    """Run one stage in ``workdir``; its wall time and jobs' seconds per rule. ``seeds`` and ``smoke``
    are the data stage's: it writes the config (WORKDIR/config.yaml) the later stages run, and whether
    it is a smoke run (WORKDIR/smoke.json), which the config does not say."""
    started_at, started = time.time(), time.perf_counter()
    config_path = workdir / "config.yaml"
    if stage == "data":
        images = SMOKE["images_per_file"] if smoke else 10_000
        checksums = write_cifar10_format(workdir / "cifar10", images)
        config = overlay_config(seeds, workdir / "cifar10", checksums, smoke)
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        (workdir / "smoke.json").write_text(json.dumps(smoke))
    else:
        snakemake = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(config_path)]
        rules = STAGES[stage]
        targets = [] if rules == "all" else stage_targets(snakemake, workdir, rules)
        command = [*snakemake, "--cores", cores, "--", *targets]  # "--": --configfile takes a list
        log = workdir / f"stage_{stage}.log"
        with open(log, "w") as handle:
            result = subprocess.run(command, cwd=workdir, env=snakemake_env(), stdout=handle, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            sys.exit(f"error: stage {stage} failed (exit {result.returncode}); see {log}")
    return {
        "stage": stage,
        "wall_s": time.perf_counter() - started,
        "jobs": job_seconds(workdir / "results", started_at) if stage != "data" else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True, help="where the data, config and results go")
    parser.add_argument("--stage", choices=[*STAGES, "all"], required=True)
    parser.add_argument("--seeds", type=int, default=4, help="models (read by the data stage; later ones reuse it)")
    parser.add_argument("--cores", default="all")
    parser.add_argument("--smoke", action="store_true", help="small sizes, to check the script on a CPU (data stage)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    here = machine()
    for stage in STAGES if args.stage == "all" else [args.stage]:
        if stage != "data":  # the settings the data stage wrote the config with
            config, smoke = args.workdir / "config.yaml", args.workdir / "smoke.json"
            if not (config.exists() and smoke.exists()):
                sys.exit(f"error: {config} or {smoke} is missing: run --stage data first")
            args.seeds = yaml.safe_load(config.read_text())["seeds"]
            args.smoke = json.loads(smoke.read_text())
        outcome = run_stage(stage, args.workdir, args.seeds, args.cores, args.smoke)
        jobs = ", ".join(f"{rule} {seconds:.1f} s" for rule, seconds in sorted(outcome["jobs"].items()))
        print(f"{stage}: {outcome['wall_s']:.1f} s" + (f" (jobs: {jobs})" if jobs else ""), flush=True)
        table = args.workdir / "stages.csv"
        new = not table.exists()
        with open(table, "a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["stage", "wall_s", "job_seconds_by_rule", "seeds", "smoke", "machine"])
            writer.writerow([stage, f"{outcome['wall_s']:.1f}", jobs, args.seeds, args.smoke, here])
        if not args.smoke:
            measure = f"config/paper-ph.yaml, {args.seeds} seeds, synthetic CIFAR-10: {stage}"
            record("end_to_end", [{"measure": measure, "ours": outcome["wall_s"], "unit": "s (wall)"}])


if __name__ == "__main__":
    main()
