"""Helpers for the tests that run Snakemake: a workflow copy as in a fresh clone, a run, its plan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def workflow_copy(target: Path) -> Path:
    """A copy of the workflow files (as in a fresh clone) in ``target``, for Snakemake runs."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", "profiles", "src", "environment.yml"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


def snakemake_env(slurm: bool = False) -> dict[str, str]:
    """The environment of a test's Snakemake: this environment's python first on PATH (the rules run it).

    Unless ``slurm``, ``scontrol`` is a stub that fails at once: the SLURM executor plugin runs
    ``scontrol show config`` whenever Snakemake starts, whichever executor is used, and where a SLURM
    client has no controller to reach (here, once the SLURM test has stopped its cluster) each start
    waits 9 s for it. The local runs never use SLURM, so the stub changes nothing but that wait.
    """
    path = [str(Path(sys.executable).parent), os.environ["PATH"]]
    if not slurm:
        path.insert(0, str(_failing_scontrol()))
    return {**os.environ, "PATH": os.pathsep.join(path)}


def run_snakemake(workdir: Path, *args: str, check: bool = True, slurm: bool = False) -> subprocess.CompletedProcess:
    """Run this environment's Snakemake in ``workdir`` (on SLURM only with ``slurm``: see snakemake_env)."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=snakemake_env(slurm),
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _failing_scontrol() -> Path:
    folder = Path(tempfile.gettempdir()) / "cnntopo-tests-no-scontrol"
    stub = folder / "scontrol"
    if not stub.exists():
        folder.mkdir(exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 1\n")
        stub.chmod(0o755)
    return folder


def planned_jobs(stdout: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}; empty when there is nothing to do."""
    if "Nothing to be done" in stdout:
        return {}
    table = stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE)}
