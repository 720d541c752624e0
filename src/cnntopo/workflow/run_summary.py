"""What a finished run prints: specificity beside the paper's values, the comparison of metrics, mapper purity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cnntopo.io import read_table


def run_summary(results: Path, metrics: Sequence[str]) -> str:
    """The summary of the results under ``results`` (the PH branch's ``metrics``); empty parts are left out."""
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
    return "\n".join(parts)
