"""make run's first step: a stale Snakemake lock is removed, a live one is named."""

import subprocess
import time
from pathlib import Path

import pytest

from cnntopo.entrypoint import StepError
from cnntopo.workflow.locks import clear_stale_lock, is_snakemake


def _lock(directory):
    locks = directory / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("results/x\n")
    (locks / "0.output.lock").write_text("results/y\n")
    return locks


def test_a_stale_lock_is_removed_and_no_lock_is_left_alone(tmp_path):
    assert clear_stale_lock(tmp_path) is None
    locks = _lock(tmp_path)
    assert "removed the stale lock" in clear_stale_lock(tmp_path)
    assert not list(locks.glob("*.lock"))


def test_a_lock_held_by_a_running_snakemake_is_named(tmp_path):
    locks = _lock(tmp_path)
    # a process named snakemake, running in the directory
    fake = subprocess.Popen(["bash", "-c", "exec -a snakemake sleep 60"], cwd=tmp_path)
    cmdline = Path(f"/proc/{fake.pid}/cmdline")
    deadline = time.monotonic() + 10
    while not cmdline.read_bytes().startswith(b"snakemake") and time.monotonic() < deadline:
        time.sleep(0.01)  # until bash has exec'd
    try:
        with pytest.raises(StepError, match=rf"locked by a running Snakemake process {fake.pid}"):
            clear_stale_lock(tmp_path)
        assert len(list(locks.glob("*.lock"))) == 2
    finally:
        fake.kill()
        fake.wait()


def test_what_counts_as_a_snakemake_process():
    assert is_snakemake(["/work/.venv/bin/snakemake", "--cores", "2"])
    assert is_snakemake(["/usr/bin/python3", "-m", "snakemake", "--cores", "2"])
    assert is_snakemake(["python3.11", "/work/.venv/bin/snakemake", "-n"])
    # a shell that will start Snakemake, and a job that Snakemake started, are not Snakemake
    assert not is_snakemake(["bash", "-c", "python -m cnntopo.workflow.locks . && python -m snakemake --cores 2"])
    assert not is_snakemake(["python", "-m", "cnntopo.train", "--out", "snakemake"])
