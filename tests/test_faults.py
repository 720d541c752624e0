"""Interrupted and faulty runs of the tiny config: killed at random moments, a full disk, bad inputs."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from workflow_helpers import (
    full_disk_run,
    killed_run,
    output_digests,
    partial_files,
    readme_command,
    tmpfs_unavailable,
    workflow_copy,
)

TINY = ("--configfile", "config/test.yaml")


@pytest.mark.slow
def test_a_run_killed_five_times_ends_with_the_uninterrupted_outputs(finished_run, tmp_path):
    """SIGKILL to Snakemake and its jobs at 5 seeded random moments, each rerun with what `make run` does
    (a stale lock removed, then Snakemake): the last run completes with the reference's outputs."""
    workdir = workflow_copy(tmp_path / "killed")
    moments = np.random.default_rng(0).uniform(3, 15, 5)
    kills = sum(killed_run(workdir, readme_command(*TINY), after) is None for after in moments)
    assert kills == 5, "the run ended before its fifth kill: the moments need to be earlier"
    assert killed_run(workdir, readme_command(*TINY), 600) == 0, (workdir / "killed.log").read_text()[-3000:]
    assert "removed the stale lock" in (workdir / "killed.log").read_text()
    assert partial_files(workdir) == []
    assert output_digests(workdir) == output_digests(finished_run)


@pytest.mark.slow
@pytest.mark.skipif(tmpfs_unavailable() is not None, reason=str(tmpfs_unavailable()))
def test_a_full_disk_fails_the_job_cleanly_and_a_rerun_completes(finished_run, tmp_path):
    outcome = full_disk_run(workflow_copy(tmp_path / "full"), *TINY)
    assert outcome["failed"] and outcome["said_no_space"]
    assert outcome["partial_files"] == []
    assert outcome["rerun"].returncode == 0, outcome["rerun"].stdout + outcome["rerun"].stderr
    assert outcome["digests"] == output_digests(finished_run)


DIGITS = (
    '{"dataset": "digits", "image_size": 16, "test_fraction": 0.25, "split_seed": 0, "root": "", "download": false,'
    ' "resize": null, "mean": null, "std": null}'
)


def _step(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300)


def _error_line(result: subprocess.CompletedProcess) -> str:
    """The one line a failed step prints, after checking that it printed no traceback."""
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return line


def _extract(weights, out) -> subprocess.CompletedProcess:
    return _step(
        "cnntopo.ph.activations", "--weights", str(weights), "--data", DIGITS, "--n-images", "8", "--batches", "1",
        "--data-seed", "0", "--out", str(out),
    )  # fmt: skip


@pytest.mark.parametrize("damage", ["truncated", "not_torch", "other_architecture"])
def test_a_bad_weights_file_gives_one_line_naming_it(tmp_path, damage):
    from dataclasses import asdict

    import torch

    from cnntopo.networks.models import ModelSpec, build_model, save_weights

    spec = ModelSpec("resnet18_option_a", 4, 10, 16)
    path = tmp_path / "seed0.pt"
    save_weights(path, build_model(spec.arch, spec.width, spec.num_classes), spec, {"seed": 0})
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif damage == "not_torch":
        path.write_text("not a weights file\n")
    else:
        # the file says resnet18_option_a but holds the weights of the 1x1-conv shortcut variant
        torch.save(
            {"spec": asdict(spec), "state_dict": build_model("resnet18_conv_shortcut", 4, 10).state_dict()}, path
        )
    line = _error_line(_extract(path, tmp_path / "seed0.zarr"))
    assert str(path) in line and len(line) < 700
    if damage == "other_architecture":
        assert "do not fit" in line
    else:
        assert "cannot be read: it is truncated or not a file saved by torch.save" in line
    assert not (tmp_path / "seed0.zarr").exists() and not (tmp_path / "seed0.zarr.partial").exists()


def test_a_truncated_cifar_batch_is_named(tmp_path):
    import json

    from cnntopo.data import write_cifar10_format

    checksums = write_cifar10_format(tmp_path, images_per_file=20)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:1000])
    line = _error_line(
        _step("cnntopo.data", "download-cifar10", "--root", str(tmp_path), "--checksums", json.dumps(checksums))
    )
    assert line.endswith(")") and f"failing its checksum or absent: {batch}" in line


def test_an_unwritable_results_folder_gives_one_line_naming_it(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    if os.geteuid() == 0:  # root writes through permission bits: a read-only mount instead
        if shutil.which("mount") is None:
            pytest.skip("root without mount: cannot make an unwritable folder")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], check=True)
    else:
        folder.chmod(0o500)
    try:
        out = folder / "seed0.pt"
        line = _error_line(
            _step("cnntopo.train", "--untrained", "--data", DIGITS, "--arch", "resnet18_option_a", "--width", "4",
                  "--seed", "0", "--weights", str(out))
        )  # fmt: skip
        assert str(folder) in line and ("Read-only file system" in line or "Permission denied" in line)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        else:
            folder.chmod(0o700)
