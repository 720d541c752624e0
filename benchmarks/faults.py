"""Interrupted and faulty runs of the tiny config, counted: benchmarks/results/faults.csv.

- ``kill``: K independent trials (default 5). Each copies the workflow, starts what `make run`
  does (``python -m cnntopo.workflow.locks .`` then Snakemake on config/test.yaml), SIGKILLs Snakemake and
  its jobs at a seeded random moment, and reruns the same command to the end. A trial is
  *completed* when the rerun ends without error, *identical* when every output's SHA-256 equals an
  uninterrupted run's (logs and Snakemake benchmark files left out; the time fields of the training
  metrics and summaries left out of their digests: they differ between any two runs);
  *partial files* counts temporary files left under results/ after the rerun.
- ``full_disk`` (root only): results/ on a 6 MB tmpfs; the run must fail saying "no space left on
  device", leave no partial file, and complete with identical outputs once the tmpfs is enlarged.

    python benchmarks/faults.py --workdir /tmp/faults [--trials 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from workflow_helpers import (  # noqa: E402
    full_disk_run,
    killed_run,
    output_digests,
    partial_files,
    readme_command,
    run_snakemake,
    tmpfs_unavailable,
    workflow_copy,
)

RESULTS = Path(__file__).parent / "results" / "faults.csv"
TINY = ("--configfile", "config/test.yaml")


def kill_trials(workdir: Path, reference: dict[str, str], trials: int, seed: int) -> dict:
    moments = np.random.default_rng(seed).uniform(3, 40, trials)
    counts = {"fault": "SIGKILL at a random moment", "trials": trials, "killed": 0, "completed": 0}
    counts.update(outputs_identical=0, partial_files_found=0)
    for trial, after in enumerate(moments):
        copy = workflow_copy(workdir / f"kill{trial}")
        counts["killed"] += killed_run(copy, readme_command(*TINY), after) is None
        counts["completed"] += killed_run(copy, readme_command(*TINY), 1800) == 0
        counts["outputs_identical"] += output_digests(copy) == reference
        counts["partial_files_found"] += len(partial_files(copy))
        print(f"trial {trial}: killed after {after:.1f} s, rerun identical: {output_digests(copy) == reference}")
    counts["note"] = f"kill moments uniform in [3, 40] s (seed {seed}); Snakemake and its jobs killed together"
    return counts


def full_disk_trial(workdir: Path, reference: dict[str, str]) -> dict:
    counts = {"fault": "results/ on a full 6 MB tmpfs", "trials": 1, "killed": 0, "completed": 0}
    counts.update(outputs_identical=0, partial_files_found=0)
    skipped = tmpfs_unavailable()
    if skipped:
        return {**counts, "trials": 0, "note": f"skipped: {skipped}"}
    outcome = full_disk_run(workflow_copy(workdir / "full"), *TINY)
    return {
        **counts,
        "completed": int(outcome["rerun"].returncode == 0),
        "outputs_identical": int(outcome["digests"] == reference),
        "partial_files_found": len(outcome["partial_files"]),
        "note": f"first run failed: {outcome['failed']}; said 'no space left on device': {outcome['said_no_space']}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    reference_copy = workflow_copy(args.workdir / "reference")
    run_snakemake(reference_copy, "--cores", "2", *TINY)
    reference = output_digests(reference_copy)
    rows = [kill_trials(args.workdir, reference, args.trials, args.seed), full_disk_trial(args.workdir, reference)]
    with open(RESULTS, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
