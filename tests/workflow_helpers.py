"""Helpers for the tests that run Snakemake: a workflow copy as in a fresh clone, a run, its plan."""

from __future__ import annotations

import json
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


# Outputs that differ between two uninterrupted runs, by design: logs and Snakemake's benchmark files
# (times), and the training metrics and summaries, whose time columns are compared apart (TIMING_KEYS).
# The report is no output of the run: `--report` makes it afterwards.
VOLATILE_FOLDERS = ("results/logs/", "results/benchmarks/", "results/report.zip", "results/report/")
TIMING_KEYS = ("seconds", "images_per_second")


def output_digests(workdir: Path) -> dict[str, str]:
    """SHA-256 of every file under ``workdir/results`` but the volatile folders, by relative path; JSON and
    CSV files with time fields are hashed without them (:func:`timeless_bytes`)."""
    import hashlib

    digests = {}
    for path in sorted((workdir / "results").rglob("*")):
        name = path.relative_to(workdir).as_posix()
        if path.is_file() and not name.startswith(VOLATILE_FOLDERS):
            digests[name] = hashlib.sha256(timeless_bytes(path)).hexdigest()
    return digests


def timeless_bytes(path: Path) -> bytes:
    """The file's bytes, or for a JSON or CSV file that holds time fields, its content without them."""
    import csv
    import io
    import json

    data = path.read_bytes()
    if path.suffix == ".json" and any(key.encode() in data for key in TIMING_KEYS):

        def strip(obj):
            if isinstance(obj, dict):
                return {k: strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
            return [strip(v) for v in obj] if isinstance(obj, list) else obj

        return json.dumps(strip(json.loads(data)), sort_keys=True).encode()
    if path.suffix == ".csv" and any(key.encode() in data.split(b"\n", 1)[0] for key in TIMING_KEYS):
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        return json.dumps([{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]).encode()
    return data


def partial_files(workdir: Path) -> list[str]:
    """Half-written outputs under ``workdir/results``: the temporary names of the atomic writers."""
    patterns = ("*.partial", "*.tmp", "*.ckpt.tmp")
    return sorted(
        p.relative_to(workdir).as_posix() for pattern in patterns for p in (workdir / "results").rglob(pattern)
    )


def killed_run(workdir: Path, command: list[str], after: float) -> int | None:
    """Start ``command`` in ``workdir`` in its own process group and SIGKILL the group ``after`` seconds
    in (Snakemake and the jobs it runs, as when a session dies): None if it was killed, else its exit status."""
    import signal
    import time

    with open(workdir / "killed.log", "a") as log:
        process = subprocess.Popen(
            command, cwd=workdir, env=snakemake_env(), stdout=log, stderr=log, start_new_session=True
        )
        try:
            return process.wait(timeout=after)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            time.sleep(0.5)  # let the killed jobs' processes go
            return None


def readme_command(*args: str) -> list[str]:
    """What `make run` does, for a config: clear a stale lock, then run Snakemake (on 2 cores)."""
    return [
        "bash",
        "-c",
        f"{sys.executable} -m cnntopo.workflow.locks . && {sys.executable} -m snakemake --cores 2 " + " ".join(args),
    ]


def tmpfs_unavailable() -> str | None:
    """Why a tmpfs cannot be mounted here, or None (it needs root and the mount command)."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    return "no mount command" if shutil.which("mount") is None else None


def full_disk_run(workdir: Path, *args: str) -> dict:
    """Snakemake with ``args`` in ``workdir`` with results/ on a 6 MB tmpfs that fills, then again after it
    grows to 512 MB: whether the first run failed and said "no space left on device" (its output and every
    job log), the partial files it left, and the second run's result and output digests."""
    results = workdir / "results"
    results.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(results)], check=True)
    try:
        failed = run_snakemake(workdir, "--cores", "2", "--keep-going", *args, check=False)
        logs = "".join(p.read_text(errors="replace") for p in (results / "logs").rglob("*.log"))
        partial = partial_files(workdir)
        subprocess.run(["mount", "-o", "remount,size=512m", str(results)], check=True)
        rerun = run_snakemake(workdir, "--cores", "2", *args, check=False)
        return {
            "failed": failed.returncode != 0,
            "said_no_space": "no space left on device" in (failed.stdout + failed.stderr + logs).lower(),
            "partial_files": partial,
            "rerun": rerun,
            "digests": output_digests(workdir),
        }
    finally:
        subprocess.run(["umount", "-l", str(results)], check=False)


def write_image_tree(root: Path, classes=("cat", "dog"), per_class: int = 2, side: int = 40) -> Path:
    """``root/<class>/<image>``, alternating JPEG and PNG, random pixels."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (side, side + 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{'jpg' if i % 2 else 'png'}")
    return root


def json_element(html: str, element_id: str):
    """The JSON of a page's ``<script type="application/json" id=element_id>`` element."""
    return json.loads(html.split(f'<script type="application/json" id="{element_id}">', 1)[1].split("</script>", 1)[0])
