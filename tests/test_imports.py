"""The workflow's parse and the jobs that need no network import no torch (each import costs ~1-2 s a job),
and a mapper graph job no scikit-learn (1.5 s)."""

import subprocess
import sys

import pytest

from workflow_helpers import REPO, snakemake_env, workflow_copy

TORCH_FREE = [
    "cnntopo.workflow.config",
    "cnntopo.networks.layers",
    "cnntopo.provenance",
    "cnntopo.workflow.resources",
    "cnntopo.workflow.run_summary",
    "cnntopo.store",
    "cnntopo.plotting",
    "cnntopo.training_summary",
    "cnntopo.ph.persistence",
    "cnntopo.ph.sliced_wasserstein",
    "cnntopo.ph.pairwise",
    "cnntopo.ph.similarity",
    "cnntopo.ph.layer_distances",
    "cnntopo.ph.specificity",
    "cnntopo.ph.sensitivity",
    "cnntopo.ph.figures",
    "cnntopo.mapper.graph",
    "cnntopo.mapper.purity",
    "cnntopo.mapper.figures",
]


def _imports(code: str, cwd=REPO, module: str = "torch") -> bool:
    """Whether running ``code`` in a fresh interpreter imports ``module``; the code must succeed."""
    probe = f"import atexit, sys\natexit.register(lambda: print({module!r} in sys.modules))\n{code}"
    result = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=snakemake_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize("module", TORCH_FREE)
def test_module_imports_no_torch(module):
    assert not _imports(f"import {module}")


def test_the_probe_sees_torch_where_it_is_imported():
    assert _imports("import cnntopo.networks.models")


def test_a_mapper_graph_imports_no_scikit_learn():
    graph = "import numpy as np\nfrom cnntopo.mapper.graph import mapper_graph\n"
    assert not _imports(f"{graph}mapper_graph(np.random.default_rng(0).random((300, 4)), 5, 0.3)", module="sklearn")
    assert _imports(f"{graph}import sklearn.cluster", module="sklearn")


def test_parsing_the_workflow_imports_no_torch(tmp_path):
    workdir = workflow_copy(tmp_path)
    run = "from snakemake.cli import main\nsys.argv = ['snakemake', '-n', '--configfile', 'config/test.yaml']\nmain()"
    assert not _imports(run, cwd=workdir)
