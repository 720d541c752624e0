"""What a finished run prints: specificity beside the paper's values, the comparison of metrics, mapper purity,
and the outputs of settings no longer in the config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cnntopo.io import read_table
from cnntopo.workflow.config import metric_representations, profile_model_names
from cnntopo.workflow.graphs import graph_sources

_PH_RESULTS = ("distances", "specificity", "sensitivity", "figures")


def stale_outputs(results: Path, config: Mapping[str, Any]) -> list[Path]:
    """Outputs under ``results`` that the config no longer makes, whichever branches run: profiles of a model
    or kind, mapper graphs of a variant, PH results of a metric or representation that it does not name.
    They are left in place (a run never deletes what it did not write in this run) and listed."""
    stale = []
    profile = config["profile"]
    models = set(profile_model_names(profile))
    kept = {*profile["kinds"], "images", "profiles"}  # a model's kind files and folders, its images and table
    for folder in sorted(p for p in (results / "profiles").glob("*") if p.is_dir()):
        if folder.name not in models:
            stale.append(folder)
            continue
        stale += sorted(p for p in folder.iterdir() if p.name.split(".")[0] not in kept)
    variants = set(graph_sources(config))
    graphs = results / "mapper" / "graphs"
    for folder in sorted(p for p in graphs.glob("*") if p.is_dir()):
        if folder.name in variants:
            continue
        inner = sorted(p for p in folder.iterdir() if p.is_dir())
        if not inner or not any(f"{folder.name}/{p.name}" in variants for p in inner):
            stale.append(folder)
        else:
            stale += [p for p in inner if f"{folder.name}/{p.name}" not in variants]
    ph = config["ph"]
    for kind in _PH_RESULTS:
        for folder in sorted(p for p in (results / kind / "ph").glob("*") if p.is_dir()):
            if folder.name not in ph["metrics"]:
                stale.append(folder)
                continue
            known = set(metric_representations(ph, folder.name))
            stale += sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in known)
    return stale


def run_summary(results: Path, metrics: Sequence[str], stale: Sequence[Path] = ()) -> str:
    """The summary of the results under ``results`` (the PH branch's ``metrics``) and the ``stale`` outputs;
    empty parts are left out."""
    parts = []
    purity = results / "figures/mapper/figure12_purity.csv"
    if purity.exists():
        parts.append(f"Mapper purity by layer ({purity}):\n{purity.read_text()}")
    for metric in metrics:
        summary = results / f"specificity/ph/{metric}/specificity_summary.csv"
        for row in read_table(summary) if summary.exists() else []:
            paper = (
                f" (paper: {row['paper_rho_layer_9']} and {row['paper_rho_overall']})"
                if (metric, row["representation"]) == ("sw", "top_l2")
                else ""
            )
            parts.append(
                f"Specificity of {metric} on {row['representation']} clouds ({row['pairs']} pairs of {row['models']} "
                f"models): rho at layer {row['layer_of_interest']} = {row['rho_layer']:.3f} "
                f"[{row['rho_layer_ci_low']:.3f}, {row['rho_layer_ci_high']:.3f}], over all layers = "
                f"{row['rho_overall']:.3f} [{row['rho_overall_ci_low']:.3f}, {row['rho_overall_ci_high']:.3f}]{paper}"
            )
    if metrics:
        parts.append("(95 % intervals: models and image batches resampled; the model is the unit of variation)")
    difference = results / "controls/ph/untrained/difference.csv"
    for row in read_table(difference) if difference.exists() else []:
        scope = f"layer {row['layer_of_interest']}" if row["scope"] == "layer_of_interest" else "all layers"
        parts.append(
            f"Trained - untrained, {row['metric']} on {row['representation']}, {scope}: {row['difference']:.3f} "
            f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}], sign-flip p = {row['p_value']:.3f}: {row['conclusion']}"
        )
    for table in (results / "comparison/ph/comparison.csv", results / "paper_vs_run.csv"):
        if table.exists():
            parts.append(f"\n{table}:\n{table.read_text()}")
    if stale:
        listed = "\n".join(f"  {path}" for path in stale)
        parts.append(
            f"\nOutputs of settings no longer in the config, left in place (delete them if unwanted):\n{listed}"
        )
    return "\n".join(parts)
