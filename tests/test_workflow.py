"""The workflow end to end on config/test.yaml, in a temporary copy of the repository's workflow files."""

import csv
import json
import math
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

from cnntopo.io import read_table
from cnntopo.store import open_store
from workflow_helpers import REPO, json_element, planned_jobs, run_snakemake, snakemake_env, workflow_copy

pytestmark = pytest.mark.slow


def test_the_tiny_config_runs_end_to_end(finished_run):
    results = finished_run / "results"
    with open(results / "models/ph/training_summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["seed"] for row in rows] == ["0", "1"]
    assert all(0.0 < float(row["test_accuracy"]) <= 1.0 for row in rows)
    for seed in (0, 1):
        store = open_store(results / f"activations/ph/seed{seed}.zarr")
        assert store.attrs["seed"] == seed and len(store.layer_keys) == 17
        assert store.layer(16).shape == (2, 64, 32)  # B = 2, N = 64, c = 8 x width 4
        assert (results / f"logs/train_model/ph/seed{seed}.log").read_text().count("epoch 2/2") >= 1
        assert (results / f"benchmarks/train_model/ph/seed{seed}.tsv").exists()
        assert not (results / f"models/ph/seed{seed}.ckpt").exists()
    # Row k is the same image in every model.
    first, second = (open_store(results / f"activations/ph/seed{s}.zarr") for s in (0, 1))
    assert (first.image_index() == second.image_index()).all()
    assert (results / "models/ph/training_curves.png").stat().st_size > 10_000
    assert (results / "models/ph/training_curves.pdf").exists()


@pytest.mark.parametrize(
    "metric, representation",
    [("sw", "top_l2"), ("cka", "top_l2"), ("cka", "mean_pool"), ("procrustes", "shared_position")],
)
def test_distances_specificity_sensitivity_and_figures_of_every_measure(finished_run, metric, representation):
    import numpy as np

    results = finished_run / "results"
    measure = f"{metric}/{representation}"
    within = np.load(results / f"distances/ph/{measure}/within/seed0.npz")
    assert within["per_batch"].shape == (2, 17, 17) and np.isfinite(within["per_batch"]).all()
    assert np.all(np.diag(within["mean"]) == 0) and np.array_equal(within["mean"], within["mean"].T)
    assert str(within["representation"]) == representation
    cross = np.load(results / f"distances/ph/{measure}/cross/seed0.npz")
    assert cross["others"].tolist() == [1] and cross["mean"].shape == (1, 17, 17)
    # the pair (0, 1) is computed once: the last seed's cross file compares it with no model
    assert np.load(results / f"distances/ph/{measure}/cross/seed1.npz")["others"].tolist() == []
    with open(results / f"specificity/ph/{measure}/specificity_pairs.csv") as handle:
        assert {(row["reference"], row["other"]) for row in csv.DictReader(handle)} == {("0", "1"), ("1", "0")}
    with open(results / f"specificity/ph/{measure}/specificity_by_layer.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [int(row["layer"]) for row in table] == list(range(17)) and all(row["pairs"] == "2" for row in table)
    (row,) = [
        r
        for r in read_table(results / f"specificity/ph/{metric}/specificity_summary.csv")
        if r["representation"] == representation
    ]
    # two models: no model-level interval (under four models none is given); the pair bootstrap's beside it
    assert math.isnan(row["rho_overall_ci_low"]) and row["models"] == 2 and row["ci_method"] == "models_and_batches"
    assert row["rho_overall_pair_ci_low"] <= row["rho_overall"] <= row["rho_overall_pair_ci_high"]
    assert row["rho_layer_pair_ci_low"] <= row["rho_layer_pair_ci_high"] and 0 < row["p_value"] <= 1
    assert {"spearman_overall", "rho_overall_offdiag", "rho_layer_offdiag"} <= set(row)
    with open(results / f"sensitivity/ph/{measure}/sensitivity_curves.csv") as handle:
        curves = list(csv.DictReader(handle))
    # Width 4: layers 0, 8, 16 have 4, 8, 32 channels, so k = 4 (none for c = 4), 4, and 4..28.
    assert sorted({(r["layer"], r["k"]) for r in curves}) == sorted(
        {("8", "4")} | {("16", str(k)) for k in range(4, 32, 4)}
    )
    summary = read_table(results / f"sensitivity/ph/{measure}/sensitivity_summary.csv")
    assert [r["deletions"] for r in summary] == [0, 1, 7] and math.isnan(summary[0]["first_detectable_fraction"])
    assert all(r["baseline"] <= r["baseline_max"] for r in summary) and {r["models"] for r in summary} == {1}
    assert all(
        isinstance(r["detectable"], bool)
        for r in read_table(results / f"sensitivity/ph/{measure}/sensitivity_curves.csv")
    )
    for name in ("figure5_within", "figure6_specificity", "figure7_sensitivity"):
        assert (results / f"figures/ph/{measure}/{name}.png").stat().st_size > 20_000
        assert (results / f"figures/ph/{measure}/{name}.pdf").exists()
        assert (results / f"figures/ph/{measure}/{name}.csv").exists()
    assert (
        f"Specificity of {metric} on {representation} clouds (2 pairs of 2 models): rho at layer 9 ="
        in (finished_run / "run.log").read_text()
    )


def test_the_untrained_control_and_the_paper_table(finished_run):
    results = finished_run / "results"
    weights = results / "models/ph_untrained/seed1.pt"
    import torch

    from cnntopo.train import initial_model

    saved = torch.load(weights, weights_only=True)
    fresh = initial_model("resnet18_option_a", 4, 10, 1).state_dict()
    assert saved["untrained"] and all(torch.equal(saved["state_dict"][k], fresh[k]) for k in fresh)
    control = read_table(results / "controls/ph/untrained/specificity.csv")
    assert {(r["metric"], r["representation"], r["models_are"]) for r in control} == {
        (m, r, t)
        for m, r in [("sw", "top_l2")]
        + [(m, r) for m in ("cka", "procrustes") for r in ("top_l2", "mean_pool", "shared_position")]
        for t in ("trained", "untrained")
    }
    assert (results / "controls/ph/untrained/specificity.png").stat().st_size > 20_000
    assert {r["models_are"] for r in read_table(results / "controls/ph/untrained/sensitivity.csv")} == {
        "trained",
        "untrained",
    }
    difference = read_table(results / "controls/ph/untrained/difference.csv")
    assert {(r["metric"], r["representation"], r["scope"]) for r in difference} == {
        (m, r, scope)
        for m, r, _ in {(c["metric"], c["representation"], 0) for c in control}
        for scope in ("layer_of_interest", "all_layers")
    }
    assert all(r["difference"] == pytest.approx(r["trained"] - r["untrained"]) for r in difference)
    assert all(r["p_value"] == 1 or r["p_value"] == 0.5 for r in difference)  # 2 seeds: 4 sign patterns
    assert all("needs 4 models or more, the run has 2" in r["conclusion"] for r in difference)
    assert (results / "controls/ph/untrained/difference.png").stat().st_size > 20_000
    needed = read_table(results / "specificity/ph/sw/seeds_needed.csv")
    assert [r["models"] for r in needed] == [2] and (results / "specificity/ph/sw/seeds_needed.png").exists()
    run_log = (finished_run / "run.log").read_text()
    assert "Trained - untrained, sw on top_l2, all layers:" in run_log
    paper = read_table(results / "paper_vs_run.csv")
    claims = [r["claim"] for r in paper]
    assert any("rho at layer 9" in c for c in claims) and any("CV" in str(r["paper"]) for r in paper)
    assert any("purity" in c for c in claims) and {r["agrees"] for r in paper} <= {"yes", "no", "n/a"}
    assert all("models" in r["scale"] or "sampling modes" in r["scale"] for r in paper)
    assert all(r["interval_method"].startswith("models_and_batches") for r in paper if r["interval_95"])


def test_topology_across_training(finished_run):
    import json

    results = finished_run / "results"
    rows = read_table(results / "trajectory/ph/sw/specificity_by_epoch.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert list(rows[0])[:8] == [
        "epoch",
        "test_accuracy",
        "rho_layer",
        "rho_layer_ci_low",
        "rho_layer_ci_high",
        "rho_overall",
        "rho_overall_ci_low",
        "rho_overall_ci_high",
    ]
    # epoch 0 is the untrained control and epoch 2 the trained models: the same specificity as theirs
    for epoch, branch in ((0, "ph_untrained"), (2, "ph")):
        (summary,) = read_table(results / f"specificity/{branch}/sw/top_l2/specificity_summary.csv")
        assert rows[epoch]["rho_overall"] == summary["rho_overall"]
    metrics = [json.loads((results / f"models/ph/seed{s}.metrics.json").read_text()) for s in (0, 1)]
    assert rows[2]["test_accuracy"] == pytest.approx(sum(m["history"][1]["test_accuracy"] for m in metrics) / 2)
    assert [s["epoch"] for s in metrics[0]["snapshots"]] == [0, 1]
    assert sorted(p.name for p in (results / "models/ph/seed0.snapshots").glob("*.pt")) == ["epoch0.pt", "epoch1.pt"]
    snapshot_store = open_store(results / "activations/ph_epoch1/seed1.zarr")
    assert snapshot_store.attrs["extra_representations"] == []  # SW's clouds only
    assert (results / "trajectory/ph/sw/grids_by_epoch.png").stat().st_size > 20_000
    assert len(read_table(results / "trajectory/ph/sw/grids_by_epoch.csv")) == 3 * 17 * 17


def test_mapper_purity_across_training(finished_run):
    import json

    results = finished_run / "results"
    rows = read_table(results / "trajectory/mapper/purity_by_epoch.csv")
    assert [(r["epoch"], r["layer"]) for r in rows] == [(0, 7), (0, 15), (2, 7), (2, 15)]
    assert all(r["sampling"] == "random" and r["points"] == 200 for r in rows)
    # the trained model's graphs are the mapper branch's random-sampling graphs
    for row in rows[2:]:
        graph = json.loads((results / f"mapper/graphs/random/layer{row['layer']:02d}.json").read_text())
        assert row["nodes"] == len(graph["nodes"])
        assert row["mean_node_purity"] == pytest.approx(graph["purity"]["mean_node_purity"])
    assert (results / "trajectory/mapper/purity_by_epoch.png").stat().st_size > 20_000


def test_comparison_table_has_every_measure(finished_run):
    rows = read_table(finished_run / "results/comparison/ph/comparison.csv")
    representations = ["top_l2", "mean_pool", "shared_position"]
    assert [(r["metric"], r["representation"]) for r in rows] == [("sw", "top_l2")] + [
        (m, r) for m in ("cka", "procrustes") for r in representations
    ]
    assert set(rows[0]) >= {
        "rho_layer",
        "rho_layer_ci_low",
        "rho_overall",
        "rho_overall_ci_high",
        "p_value",
        "first_detectable_layer_0",
        "first_detectable_layer_8",
        "first_detectable_beyond_every_model_layer_16",
    }
    assert (finished_run / "results/comparison/ph/comparison.png").exists()


def test_the_mapper_branch_end_to_end(finished_run):
    import json

    results = finished_run / "results"
    for variant, layers in (("random", [7, 15]), ("full", [7, 15]), ("foreground1", [7, 15]), ("full_sigma0.5", [15])):
        for layer in layers:
            graph = json.loads((results / f"mapper/graphs/{variant}/layer{layer:02d}.json").read_text())
            assert graph["params"]["layer"] == layer and graph["params"]["sampling"] == variant.split("_")[0]
            assert graph["params"]["n_intervals"] == 10 and graph["params"]["eps"] > 0
            assert all(sum(n["label_counts"].values()) == n["size"] == len(n["members"]) for n in graph["nodes"])
            assert 0 <= graph["purity"]["mean_point_purity"] <= 1
            page = (results / f"mapper/graphs/{variant}/layer{layer:02d}.html").read_text()
            # Self-contained, works offline: the figure embedded, nothing loaded.
            assert "src='data:image/png;base64," in page and "<script src" not in page and "http" not in page
            assert (results / f"mapper/graphs/{variant}/layer{layer:02d}.png").stat().st_size > 10_000
            with open(results / f"mapper/graphs/{variant}/layer{layer:02d}.csv") as handle:
                assert [int(row["size"]) for row in csv.DictReader(handle)] == [n["size"] for n in graph["nodes"]]
    assert (
        json.loads((results / "mapper/graphs/full_sigma0.5/layer15.json").read_text())["params"]["overlap"] == 0.25
    )  # noise_overlap
    from cnntopo.store import open_store

    store = open_store(results / "activations/mapper/sigma0/random.zarr")  # one folder per input noise level
    assert len(store.layer_keys) == 16 and store.layer(15).shape == (1, 200, 32)
    assert open_store(results / "activations/mapper/sigma0/full.zarr").layer(7).shape[1] == 2000  # the full cap
    with open(results / "figures/mapper/figure12_purity.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["sampling"], r["layer"]) for r in rows) == sorted(
        (m, str(l)) for m in ("random", "full", "foreground1") for l in (7, 15)
    )
    for name in (
        "figure4_foreground",
        "figure8",
        "figure9",
        "figure10_noise_examples",
        "figure11_noise",
        "figure12_purity",
    ):
        assert (results / f"figures/mapper/{name}.png").stat().st_size > 10_000, name
        assert (results / f"figures/mapper/{name}.csv").stat().st_size > 20, name  # its numbers beside it


def test_the_paper_mapper_config_plans_the_cifar10_mapper_study(tmp_path):
    workdir = workflow_copy(tmp_path)
    jobs = planned_jobs(run_snakemake(workdir, "-n", "--configfile", "config/paper-mapper.yaml").stdout)
    assert jobs["download_cifar10"] == 1 and jobs["train_model"] == 1 and jobs["foreground_masks"] == 1
    assert jobs["mapper_activations"] == 1 + 3  # one per input noise level: the clean images, three sigmas
    assert jobs["mapper_graph"] == 6 * 5 + 2 * 3 and "persistence_diagrams" not in jobs


def test_the_report_holds_every_figure_and_opens_the_pages(finished_run):
    import zipfile

    from browser import Browser, chromium_executable

    # As make run builds it: a zip report, extracted beside the results.
    run_snakemake(finished_run, "--configfile", "config/test.yaml", "--report", "results/report.zip")
    with zipfile.ZipFile(finished_run / "results/report.zip") as archive:
        archive.extractall(finished_run / "results")
        names = {Path(name).name for name in archive.namelist()}
    for name in (
        "figure5_within.png",
        "figure6_specificity.png",
        "figure7_sensitivity.png",
        "comparison.png",
        "training_curves.png",
        "specificity_by_layer.csv",
        "comparison.csv",
        "figure4_foreground.png",
        "figure8.png",
        "figure9.png",
        "figure11_noise.png",
        "figure12_purity.png",
        "layer15.html",
        "explorer.html",
        "viewer.html",
        "paper_vs_run.csv",
    ):
        assert name in names, name
    if chromium_executable() is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    report = finished_run / "results/report/report.html"
    pages = {
        # the page, what shows it rendered (read in its frame), and its category in the report
        "explorer.html": ("document.querySelectorAll('#scene g.node').length", "Mapper explorer"),
        "viewer.html": ("document.getElementById('count').textContent", "Profile viewer"),
    }
    with Browser(1400, 1000) as browser:
        browser.open(report, "typeof app !== 'undefined' && typeof results !== 'undefined'")
        for name, (rendered, category) in pages.items():
            entry = browser.evaluate(f"Object.values(results).find((r) => JSON.stringify(r).includes('/{name}'))")
            assert entry["data_uri"].startswith("data/raw/") and entry["data_uri"].endswith(name), entry
            assert browser.evaluate(f"JSON.stringify(categories[{json.dumps(category)}] || {{}}).includes('/{name}')")
            # What the report's own button does when the entry is clicked.
            browser.evaluate(
                f"app.setView({{content: 'html', contentPath: {json.dumps(entry['data_uri'])}, resultPath: 'x'}})"
            )
            browser.wait(f"({rendered}) && document.body.dataset.ready === 'true'", in_frame=True)
            shown = browser.evaluate_in_frame(rendered)
            if name == "explorer.html":
                assert shown > 0
            else:
                assert shown == "30 images"
        browser.screenshot(finished_run / "results/report_viewer_screenshot.png")
        # A graph page inside the report links to the explorer, its node table and JSON in the results folder.
        entry = browser.evaluate("Object.values(results).find((r) => r.data_uri.endsWith('/layer15.html'))")
        browser.evaluate(
            f"app.setView({{content: 'html', contentPath: {json.dumps(entry['data_uri'])}, resultPath: 'x'}})"
        )
        browser.wait("document.readyState === 'complete' && document.querySelector('a.results')", in_frame=True)
        links = browser.evaluate_in_frame("[...document.querySelectorAll('a.results')].map((a) => a.href)")
        assert len(links) == 3 and "explorer.html#graph=" in links[0]
        for link in links:
            assert Path(urllib.parse.unquote(urllib.parse.urlparse(link).path)).is_file(), link
        assert all(url.startswith(("file:", "data:")) for url in browser.requested), browser.requested


def test_a_finished_run_has_nothing_left_to_do(finished_run):
    out = run_snakemake(finished_run, "-n", "--configfile", "config/test.yaml").stdout
    assert planned_jobs(out) == {}


# config/test.yaml: 2 seeds, 2 batches; SW on top_l2, CKA and Procrustes on 3 representations: 7 measures,
# each run on the trained models and on the untrained control (figures for the trained ones only).
MEASURES, SW_MEASURES, BRANCHES = 7, 1, 2


def per_measure(measures: int, branches: int = BRANCHES) -> dict[str, int]:
    return {
        "layer_distances": 2 * measures * branches,
        "specificity": measures * branches,
        "sensitivity": measures * branches,
        "figure_within": measures,
        "figure_specificity": measures,
        "figure_sensitivity": measures,
        "specificity_difference": measures,
    }


def combined(*plans: dict[str, int]) -> dict[str, int]:
    """Job counts of several parts of a plan, added rule by rule."""
    total: dict[str, int] = {}
    for plan in plans:
        for rule, jobs in plan.items():
            total[rule] = max(total.get(rule, 0), jobs) if rule == "all" else total.get(rule, 0) + jobs
    return total


# ph.trajectory.epochs [0, 1, 2]: the models after epoch 1 (branch ph_epoch1) through SW on top_l2, then the
# trajectory table (epoch 0 is the untrained control, epoch 2 the trained models)
SNAPSHOT_SW = {"layer_distances": 2, "specificity": 1, "trajectory": 1}
SNAPSHOT_PERSISTENCE_AND_AFTER = {"persistence_diagrams": 2, **SNAPSHOT_SW}
SNAPSHOT_CHAIN = {"extract_activations": 2, **SNAPSHOT_PERSISTENCE_AND_AFTER}
COMPARISONS = {"comparison": 1, "control_comparison": 1, "paper_vs_run": 1, "all": 1}
# after new distances: the trained-minus-untrained table, and seeds needed per metric of the trained models
DIFFERENCE = {"control_difference": 1}
SW_AND_AFTER = combined(
    per_measure(SW_MEASURES),
    {"specificity_summary": 1, "seeds_needed": 1, **COMPARISONS, **DIFFERENCE},
    SNAPSHOT_SW,
)
EXTRACTION_AND_AFTER = combined(
    {"extract_activations": 2 * BRANCHES, "persistence_diagrams": 2 * BRANCHES},
    per_measure(MEASURES),
    {"specificity_summary": 3, "seeds_needed": 3, **COMPARISONS, **DIFFERENCE},
    SNAPSHOT_CHAIN,
)
# Mapper branch of config/test.yaml: 3 clean samplings x layers 7, 15, and full with noise 0.5 at layer 15.
MAPPER_GRAPHS_AND_AFTER = {
    "mapper_graph": 7,
    "mapper_explorer": 1,
    "figure_mapper_grid": 2,
    "figure_noise_graphs": 1,
    "figure_purity": 1,
    "paper_vs_run": 1,
    "all": 1,
}
# mapper.trajectory: the model's initialisation and the trained model (epochs 0 and 2), their purity table
MAPPER_TRAJECTORY = {"mapper_epoch_activations": 2, "mapper_trajectory": 1}
MAPPER_AFTER_TRAINING = {"mapper_activations": 2, **MAPPER_GRAPHS_AND_AFTER, **MAPPER_TRAJECTORY}  # sigma 0, 0.5
# Profile branch of config/test.yaml: models ph/seed1 and mapper/seed0, kinds element, channel (graphs) and svd.
PROFILE_AFTER_TRAINING = {
    "profile_model": 2,
    "profile_topology": 4,
    "persistence_images": 1,
    "class_similarity": 6,
    "profile_viewer": 1,
}
TRAINED_PH_AND_AFTER = combined(  # training reruns the trained models' chain and the snapshots', not the control's
    {"extract_activations": 2, "persistence_diagrams": 2},
    per_measure(MEASURES, branches=1),
    {"specificity_summary": 3, "seeds_needed": 3, **COMPARISONS, **DIFFERENCE},
    SNAPSHOT_CHAIN,
)


@pytest.mark.parametrize(
    "rule, expected",
    [
        (
            "train_model",
            {
                "train_model": 3,
                "summarize_training": 2,
                **TRAINED_PH_AND_AFTER,
                **MAPPER_AFTER_TRAINING,
                **PROFILE_AFTER_TRAINING,
            },
        ),
        ("extract_activations", EXTRACTION_AND_AFTER),
        ("persistence_diagrams", combined({"persistence_diagrams": 2 * BRANCHES + 2}, SW_AND_AFTER)),
        ("summarize_training", {"summarize_training": 2, "all": 1}),
        ("mapper_graph", MAPPER_GRAPHS_AND_AFTER),
        (
            "specificity",
            {
                "specificity": MEASURES * BRANCHES + 1,
                "figure_specificity": MEASURES,
                "specificity_summary": 3,
                "seeds_needed": 3,
                "trajectory": 1,
                **COMPARISONS,
            },
        ),
    ],
)
def test_forcerun_reruns_the_rule_and_its_dependents_only(finished_run, rule, expected):
    out = run_snakemake(finished_run, "-n", "--configfile", "config/test.yaml", "--forcerun", rule).stdout
    assert planned_jobs(out) == expected


@pytest.mark.parametrize(
    "branch, section, key, value, expected",
    [
        ("ph", "activations", "n_images", 32, EXTRACTION_AND_AFTER),
        ("ph", "sw", "directions", 20, SW_AND_AFTER),
        ("ph", "persistence", "backend", "ripser", combined({"persistence_diagrams": 2 * BRANCHES + 2}, SW_AND_AFTER)),
        ("mapper", "graph", "intervals", 12, {**MAPPER_GRAPHS_AND_AFTER, "mapper_trajectory": 1}),
    ],
)
def test_changing_a_setting_reruns_its_rules_and_what_depends_on_them_only(
    finished_run, tmp_path, branch, section, key, value, expected
):
    config = yaml.safe_load((finished_run / "config/test.yaml").read_text())
    config[branch].setdefault(section, {})[key] = value
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    out = run_snakemake(finished_run, "-n", "--configfile", str(changed)).stdout
    assert planned_jobs(out) == expected


def test_seeds_trained_together_by_one_job_get_the_weights_of_one_job_each(finished_run, tmp_path):
    import torch

    workdir = workflow_copy(tmp_path / "together")
    config = yaml.safe_load((workdir / "config/test.yaml").read_text())
    config["ph"]["train"]["concurrent_seeds"] = 2
    (workdir / "together.yaml").write_text(yaml.safe_dump(config))
    targets = [f"results/models/ph/seed{seed}.pt" for seed in (0, 1)]
    plan = planned_jobs(run_snakemake(workdir, *targets, "-n", "--configfile", "together.yaml").stdout)
    assert plan == {"train_models_0_1": 1}
    run_snakemake(workdir, *targets, "--cores", "1", "--configfile", "together.yaml")
    assert "seed 1 epoch 2/2" in (workdir / "results/logs/train_models/ph/seeds0-1.log").read_text()
    for target in targets:
        together = torch.load(workdir / target, weights_only=True)["state_dict"]
        alone = torch.load(finished_run / target, weights_only=True)["state_dict"]
        assert all(torch.equal(together[k], alone[k]) for k in alone)


def test_a_cifar10_copy_of_your_own_runs_with_its_checksums(tmp_path):
    from cnntopo.data import write_cifar10_format

    workdir = workflow_copy(tmp_path / "cifar")
    checksums = write_cifar10_format(tmp_path / "cifar10", 40)
    config = yaml.safe_load((workdir / "config/test.yaml").read_text())
    config["branches"] = ["ph"]
    config["data"] = {"dataset": "cifar10", "root": str(tmp_path / "cifar10"), "checksums": checksums}
    config["ph"]["activations"]["n_images"] = 20
    (workdir / "cifar.yaml").write_text(yaml.safe_dump(config))
    target = "results/activations/ph/seed0.zarr"
    plan = planned_jobs(run_snakemake(workdir, target, "-n", "--configfile", "cifar.yaml").stdout)
    assert plan == {"train_model": 1, "extract_activations": 1}  # the copy is there: nothing to download
    run_snakemake(workdir, target, "--cores", "2", "--configfile", "cifar.yaml")
    store = open_store(workdir / target)
    assert store.layer(0).shape == (2, 20, 4)  # B = 2 batches of N = 20 of the 40 test images, width 4
    assert "200 training / 40 test images" in (workdir / "results/logs/train_model/ph/seed0.log").read_text()


def test_a_bad_config_stops_before_any_job_with_one_clear_message(tmp_path):
    workdir = workflow_copy(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("seeds: 0\nph:\n  train:\n    epochz: 3\n")
    result = run_snakemake(workdir, "--cores", "1", "--configfile", str(bad), check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "invalid configuration" in message and "seeds: 0 is less than the minimum of 1" in message
    assert "unknown key ph.train.epochz" in message
    assert not (workdir / "results").exists()


def test_the_paper_config_plans_100_models_after_the_cifar10_download(tmp_path):
    workdir = workflow_copy(tmp_path)
    out = run_snakemake(workdir, "-n", "--configfile", "config/paper-ph.yaml").stdout
    jobs = planned_jobs(out)
    assert jobs["download_cifar10"] == 1 and jobs["train_model"] == 100 and jobs["init_model"] == 100
    # the trained models, the untrained control and the snapshots after epochs 2, 5 and 10 (ph.trajectory)
    assert jobs["extract_activations"] == 500 and jobs["trajectory"] == 1
    assert not (workdir / "resources").exists()


def test_the_imagenet_config_plans_figure_13_and_its_first_jobs_say_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no weights anywhere
    workdir = workflow_copy(tmp_path / "workflow")
    jobs = planned_jobs(run_snakemake(workdir, "-n", "--configfile", "config/paper-imagenet.yaml").stdout)
    # One extraction per architecture writes its 4 modes; a graph per architecture and mode.
    assert jobs["generalisation_activations"] == 4 and jobs["mapper_graph"] == 16
    assert jobs["check_image_folder"] == 1 and jobs["check_weights"] == 1
    assert jobs["figure_generalisation"] == 1 and "train_model" not in jobs
    result = run_snakemake(
        workdir, "--cores", "2", "--keep-going", "--configfile", "config/paper-imagenet.yaml", check=False
    )
    assert result.returncode != 0
    logs = workdir / "results/logs"
    assert "resources/imagenet10/train does not exist" in (logs / "check_image_folder.log").read_text()
    weights = (logs / "check_weights.log").read_text()
    for name in ("resnet18-f37072fd.pth", "googlenet-1378be20.pth", "alexnet-owt-7be5be79.pth", "deeplabv3_resnet50"):
        assert f"{tmp_path / 'torch_home'}/hub/checkpoints/{name}" in weights
    assert not (workdir / "results/activations").exists()


def test_lint_is_clean(repo, tmp_path):
    workdir = workflow_copy(tmp_path)
    result = run_snakemake(workdir, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_mapper_explorer_works_offline_in_a_real_browser(finished_run):

    from browser import Browser, chromium_executable

    if chromium_executable() is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    page = finished_run / "results/mapper/explorer.html"
    html = page.read_text()
    # Nothing to fetch (the SVG namespace URI in the script is a name, not a request).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|url\(\s*["']?https?:|@import|<script src""", html)
    data = json_element(html, "data")  # each graph's id and the element that holds it, parsed when first drawn
    assert [g["id"] for g in data["graphs"]] == [
        "random/layer07",
        "random/layer15",
        "full/layer07",
        "full/layer15",
        "foreground1/layer07",
        "foreground1/layer15",
        "full_sigma0.5/layer15",
    ]
    with Browser() as browser:
        browser.open(page, "document.body.dataset.ready === 'true'")
        browser.evaluate(
            "document.getElementById('graph').value = '3';"
            "document.getElementById('graph').dispatchEvent(new Event('change'))"
        )
        graph = json_element(html, data["graphs"][3]["element"])
        node = max(graph["nodes"], key=lambda n: len(n["members"]))
        box = browser.evaluate(
            f"(() => {{ const r = document.querySelector('g.node[data-node=\"{node['id']}\"]')"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        browser.click(*box)
        listed = browser.evaluate(
            "Array.from(document.querySelectorAll('#members .thumb')).map(t => Number(t.dataset.image))"
        )
        assert listed and listed == node["image_ids"][:12]  # the first page of the node's images
        assert browser.evaluate("document.querySelector('#node h2').textContent") == f"Node {node['id']}"
        sampled = {m[1] for m in node["members"]}
        assert browser.evaluate("document.querySelectorAll('#members .rf').length") == len(sampled & set(listed))
        shot = browser.screenshot(finished_run / "results/mapper/explorer_screenshot.png")
        assert all(url.startswith(("file:", "data:")) for url in browser.requested), browser.requested
    assert shot.stat().st_size > 20_000


def test_the_profile_branch_and_its_viewer_in_a_real_browser(finished_run):

    from browser import Browser, chromium_executable
    from cnntopo.io import read_table
    from cnntopo.profile.profiles import load_profiles

    root = finished_run / "results/profiles"
    for model in ("ph-seed1", "mapper-seed0"):
        for kind in ("element", "channel", "svd"):
            profiles = load_profiles(root / model / f"{kind}.npz")
            assert len(profiles) == 30 and set(profiles.labels.tolist()) == set(range(10))
            assert len(profiles.neurons) >= 30
            jaccard = read_table(root / model / kind / "class_jaccard.csv")
            assert [row[f"jaccard_{row['class']}"] for row in jaccard] == [1.0] * 10
        assert not (root / model / "svd" / "diagrams.npz").exists()  # SVD profiles have no synapses
        topology = read_table(root / model / "element" / "topology.csv")
        assert all(row["components"] == 1 for row in topology)  # backward tracing: one connected graph
    html = (root / "viewer.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|<script src""", html)
    if chromium_executable() is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    first = json_element(html, "profile-data")["models"]["ph-seed1"]
    element = json_element(html, first["kinds"]["element"])  # each kind in its own element, parsed when shown
    wrong = sum(p != label for p, label in zip(first["predictions"], first["labels"]))
    assert first["outputs_are_classes"]
    rows = "document.querySelectorAll('#rows .row')"
    with Browser(1400, 1000) as browser:
        browser.open(root / "viewer.html", "document.getElementById('count').textContent.length > 0")
        assert browser.evaluate("document.getElementById('count').textContent") == "30 images"
        # A virtual list: the document holds the rows near the window, each with its three drawings.
        built = browser.evaluate(f"{rows}.length")
        assert 0 < built < 30 and browser.evaluate(f"{rows}[0].querySelectorAll('canvas').length") == 3
        last = [r["image"] for r in element["rows"] if first["labels"][r["image"]] == max(first["labels"])][-1]
        assert browser.evaluate(f"[...{rows}].every((r) => r.dataset.image !== '{last}')")
        browser.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        browser.wait(f"[...{rows}].some((r) => r.dataset.image === '{last}')")
        # Misclassified rows are marked, and the filter shows them alone.
        assert browser.evaluate("document.getElementById('rows').dataset.misclassified") == str(wrong)
        browser.evaluate(
            "window.scrollTo(0, 0); document.getElementById('wrong').checked = true;"
            "document.getElementById('wrong').dispatchEvent(new Event('change'))"
        )
        assert browser.evaluate("document.getElementById('count').textContent") == f"{wrong} images"
        assert browser.evaluate(f"[...{rows}].every((r) => r.matches('.misclassified'))")
        assert (browser.evaluate(f"{rows}.length") > 0) == (wrong > 0)
        browser.evaluate(
            "document.getElementById('wrong').checked = false;"
            "document.getElementById('wrong').dispatchEvent(new Event('change'))"
        )
        # A kind whose graphs have no cycle says so instead of showing blank images.
        acyclic = all(r["h1"] == 0 for r in element["rows"])
        assert browser.evaluate("document.querySelectorAll('#summary .note').length") == int(acyclic)
        # Colour bars beside the Jaccard heatmap and the persistence images.
        assert browser.evaluate("document.querySelectorAll('canvas[title^=\"colour scale\"]').length") == 2
        browser.evaluate(
            "document.getElementById('class').value = '4';"
            "document.getElementById('class').dispatchEvent(new Event('change'))"
        )
        assert browser.evaluate(f"{rows}.length") == 3
        browser.evaluate(
            "document.getElementById('kind').value = 'svd';"
            "document.getElementById('kind').dispatchEvent(new Event('change'))"
        )
        assert (
            browser.evaluate(f"{rows}.length") == 3
            and browser.evaluate("document.querySelectorAll('.row canvas').length") == 0
        )
        shot = browser.screenshot(root / "viewer_screenshot.png")
        assert all(url.startswith(("file:", "data:")) for url in browser.requested), browser.requested
        # At a device pixel ratio of 2 a canvas has twice the pixels of its CSS size: it stays sharp.
        browser.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=2, mobile=False)
        browser.open(root / "viewer.html", "document.getElementById('count').textContent.length > 0")
        sizes = browser.evaluate(
            "(() => { const c = document.querySelector('.row canvas'); return [c.width, c.style.width]; })()"
        )
        assert sizes == [520, "260px"]
    assert shot.stat().st_size > 20_000


def test_the_paper_ph_benchmark_runs_every_stage_on_a_synthetic_cifar10(tmp_path):
    workdir = tmp_path / "e2e"
    command = [sys.executable, str(REPO / "benchmarks/end_to_end.py"), "--workdir", str(workdir)]
    subprocess.run(
        [*command, "--stage", "all", "--smoke", "--seeds", "2", "--cores", "2"], env=snakemake_env(), check=True
    )
    stages = read_table(workdir / "stages.csv")
    assert [row["stage"] for row in stages] == ["data", "train", "extract", "persistence", "distances", "tests"]
    assert "train_model" in stages[1]["job_seconds_by_rule"] and "layer_distances" in stages[4]["job_seconds_by_rule"]
    summary = read_table(workdir / "results/specificity/ph/sw/top_l2/specificity_summary.csv")
    assert summary[0]["models"] == 2
    log = (workdir / "results/logs/train_model/ph/seed1.log").read_text()
    assert "500 training / 100 test images" in log  # the synthetic copy, accepted by its checksums
