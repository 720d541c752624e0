"""What a finished run prints: the outputs of settings no longer in the config are listed, not deleted."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from cnntopo.workflow.config import load_schema, validate_config
from cnntopo.workflow.run_summary import run_summary, stale_outputs
from workflow_helpers import REPO


def _default() -> dict:
    schema = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
    return validate_config(yaml.safe_load((REPO / "config" / "config.yaml").read_text()), schema)


def _touch(results: Path, *names: str) -> None:
    for name in names:
        path = results / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def test_outputs_of_removed_kinds_variants_metrics_and_models_are_listed(tmp_path):
    results = tmp_path / "results"
    kept = [
        "profiles/ph-seed0/element.npz",
        "profiles/ph-seed0/element/topology.csv",
        "profiles/ph-seed0/images.npz",
        "profiles/ph-seed0/profiles.csv",
        "mapper/graphs/full/layer15.json",
        "mapper/graphs/full_sigma0.5/layer15.json",
        "specificity/ph/sw/top_l2/specificity_summary.csv",
        "figures/ph/cka/mean_pool/figure5_within.png",
    ]
    removed = [
        "profiles/ph-seed0/svd.npz",
        "profiles/ph-seed0/svd/topology.csv",
        "profiles/ph-seed3/element.npz",
        "mapper/graphs/background5/layer15.json",
        "mapper/graphs/alexnet/full/layer00.json",
        "specificity/ph/wasserstein/top_l2/specificity_summary.csv",
        "figures/ph/sw/mean_pool/figure5_within.png",
    ]
    _touch(results, *kept, *removed)
    config = copy.deepcopy(_default())
    config["profile"]["kinds"] = ["element", "channel"]
    config["mapper"]["sampling"] = ["random", "full"]
    stale = {p.relative_to(results).as_posix() for p in stale_outputs(results, config)}
    assert stale == {
        "profiles/ph-seed0/svd.npz",
        "profiles/ph-seed0/svd",
        "profiles/ph-seed3",
        "mapper/graphs/background5",
        "mapper/graphs/alexnet",
        "specificity/ph/wasserstein",
        "figures/ph/sw/mean_pool",
    }
    config["generalisation"]["models"] = [{"name": "alexnet", "arch": "alexnet", "weights": None, "nodes": None}]
    assert "mapper/graphs/alexnet" not in {p.relative_to(results).as_posix() for p in stale_outputs(results, config)}
    printed = run_summary(results, [], stale_outputs(results, config))
    assert "no longer in the config, left in place" in printed and str(results / "profiles/ph-seed3") in printed
    assert all((results / name).exists() for name in removed)  # listed, never deleted


def test_a_run_of_the_config_as_it_is_lists_nothing(tmp_path):
    results = tmp_path / "results"
    _touch(results, "profiles/ph-seed0/svd.npz", "mapper/graphs/foreground5/layer15.json")
    assert stale_outputs(results, _default()) == []
    assert "no longer in the config" not in run_summary(results, [], [])
