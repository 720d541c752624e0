"""Every config of config/examples/ plans as is on the inputs its header names, and the Figure 13 example runs
end to end: a tiny image tree and random-init weights are written at the documented paths of a fresh copy."""

from __future__ import annotations

import pytest
import torch

from cnntopo.io import read_table
from cnntopo.networks.torchvision_compat import torchvision_submodule
from workflow_helpers import REPO, planned_jobs, run_snakemake, workflow_copy, write_image_tree

EXAMPLES = sorted(p.name for p in (REPO / "config" / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A workflow copy holding what the examples' headers ask for: resources/my-images/{train,test}/<class>/
    and resources/weights/*.pth (state_dicts of the architectures they name, random init, 3 classes for
    the user's own seeds)."""
    workdir = workflow_copy(tmp_path_factory.mktemp("examples"))
    images = workdir / "resources" / "my-images"
    for split in ("train", "test"):
        write_image_tree(images / split, classes=("ant", "bee", "cow"), per_class=4, side=72)
    weights = workdir / "resources" / "weights"
    weights.mkdir(parents=True)
    models = torchvision_submodule("models")
    torch.manual_seed(0)
    torch.save(models.resnet18().state_dict(), weights / "resnet18.pth")
    torch.save(models.alexnet().state_dict(), weights / "alexnet.pth")
    for seed in range(4):
        torch.manual_seed(seed)
        torch.save(models.resnet18(num_classes=3).state_dict(), weights / f"seed{seed}.pth")
    return workdir


def test_every_example_is_listed_in_their_readme():
    readme = (REPO / "config" / "examples" / "README.md").read_text()
    assert EXAMPLES and all(f"`{name}`" in readme for name in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_plans_its_own_branches_only(workdir, example):
    plan = planned_jobs(run_snakemake(workdir, "-n", "--configfile", f"config/examples/{example}").stdout)
    assert plan, example
    if example != "cifar10.yaml":  # the user's data and weights: nothing of the project's own models
        assert "train_model" not in plan and "mapper_activations" not in plan


@pytest.mark.slow
def test_the_figure13_example_runs_end_to_end_as_documented(workdir):
    run_snakemake(workdir, "--cores", "2", "--configfile", "config/examples/figure13-your-images.yaml")
    results = workdir / "results"
    table = read_table(results / "figures/generalisation/figure13.csv")
    assert [(r["row"], r["column"]) for r in table] == [
        (model, mode) for model in ("resnet18", "alexnet") for mode in ("random", "full", "foreground1", "background1")
    ]
    assert (results / "mapper/graphs/alexnet/full/layer00.html").exists()
    assert not (results / "models").exists()  # nothing of the project's own models ran
    report = run_snakemake(
        workdir, "--configfile", "config/examples/figure13-your-images.yaml", "--report", "results/report.zip"
    )
    assert report.returncode == 0 and (results / "report.zip").stat().st_size > 100_000
