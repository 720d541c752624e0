"""The SLURM profile against a real one-node SLURM on localhost (started and stopped by this test).

The tiny config runs once through `--profile profiles/slurm` (every non-local job by sbatch) and
once locally; the scheduler's records must show the jobs, and the results must be equal. To stay
within a few minutes (each sbatch job starts its own Snakemake, and the executor's status polls
back off by 10 s), the config is config/test.yaml's PH branch with two metrics and one batch:
12 cluster jobs.
"""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest
import torch
import yaml

import slurm_cluster
from workflow_helpers import REPO, run_snakemake, workflow_copy

pytestmark = pytest.mark.slow

CLUSTER_RULES = {
    "train_model": 2,
    "extract_activations": 2,
    "persistence_diagrams": 2,
    "layer_distances": 4,
    "sensitivity": 2,
}


@pytest.fixture(scope="module")
def cluster():
    reason = slurm_cluster.cannot_run_reason()
    if reason:
        pytest.skip(f"no real SLURM test here: {reason}")
    slurm_cluster.install()
    slurm_cluster.write_config()
    started = slurm_cluster.start()
    yield
    slurm_cluster.stop(started)


def _config(tmp_path):
    config = yaml.safe_load((REPO / "config/test.yaml").read_text())
    config["branches"] = ["ph"]
    config["ph"]["metrics"] = ["sw", "cka"]
    config["ph"]["activations"]["batches"] = 1
    config["ph"]["representations"] = ["top_l2"]
    config["ph"]["controls"] = {"untrained": False}
    config["ph"]["trajectory"] = {"epochs": []}  # the snapshots' chain is tested on the local runs
    path = tmp_path / "slurm-test.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _same_results(a, b):
    for path in sorted((a / "results").rglob("*")):
        relative = path.relative_to(a)
        other = b / relative
        if path.suffix == ".pt":
            x, y = torch.load(path, weights_only=True), torch.load(other, weights_only=True)
            assert all(torch.equal(x["state_dict"][k], y["state_dict"][k]) for k in x["state_dict"]), relative
        elif path.suffix == ".npz":
            with np.load(path) as x, np.load(other) as y:
                assert all(np.array_equal(x[k], y[k]) for k in x.files), relative
        elif path.suffix == ".csv" and "training" not in path.name:  # training tables hold seconds
            assert path.read_text() == other.read_text(), relative
        elif path.name.startswith("layer") and path.parent.suffix == ".zarr":  # clouds and position arrays
            from cnntopo.store import open_store

            assert np.array_equal(
                open_store(path.parent).array(path.name), open_store(other.parent).array(path.name)
            ), relative


def test_the_slurm_profile_runs_every_job_through_sbatch_with_local_results(cluster, tmp_path):
    started = time.monotonic()
    config = _config(tmp_path)
    before = max((int(job["JobId"]) for job in slurm_cluster.submitted_jobs()), default=0)

    on_slurm = workflow_copy(tmp_path / "slurm")
    result = run_snakemake(
        on_slurm,
        "--profile",
        "profiles/slurm",
        "--configfile",
        str(config),
        "--slurm-init-seconds-before-status-checks",
        "1",
        check=False,
        slurm=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]

    jobs = [job for job in slurm_cluster.submitted_jobs() if int(job["JobId"]) > before]
    by_rule: dict[str, int] = {}
    for job in jobs:
        assert job["JobState"] == "COMPLETED", job
        rule = job.get("Comment", "").removeprefix("rule_").split("_wildcards", 1)[0]
        by_rule[rule] = by_rule.get(rule, 0) + 1
    assert by_rule == CLUSTER_RULES
    gpu_jobs = [job for job in jobs if "gpu" in job.get("TresPerNode", "") + job.get("TresPerJob", "")]
    assert gpu_jobs == []  # resources.gpu is false in the test config: no GPU is asked for

    local = workflow_copy(tmp_path / "local")
    run_snakemake(local, "--cores", "2", "--configfile", str(config))
    _same_results(local, on_slurm)
    with open(on_slurm / "results/comparison/ph/comparison.csv") as handle:
        assert [row["metric"] for row in csv.DictReader(handle)] == ["sw", "cka"]
    print(f"SLURM profile test: {len(jobs)} sbatch jobs, {time.monotonic() - started:.0f} s with the local run")
