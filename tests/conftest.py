from __future__ import annotations

from pathlib import Path

import pytest

from workflow_helpers import REPO, run_snakemake, workflow_copy


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """A workflow copy that ran config/test.yaml to the end (its output in run.log); tests must not change it."""
    workdir = workflow_copy(tmp_path_factory.mktemp("workflow"))
    result = run_snakemake(workdir, "--cores", "2", "--configfile", "config/test.yaml")
    (workdir / "run.log").write_text(result.stdout + result.stderr)
    return workdir
