"""What a finished run prints: specificity beside the paper's values, the comparison of metrics, mapper purity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cnntopo.provenance import read_table


def run_summary(results: Path, metrics: Sequence[str]) -> str:
    """The summary of the results under ``results`` (the PH branch's ``metrics``); empty parts are left out."""
    parts = []
    purity = results / "figures/mapper/figure12_purity.csv"
    if purity.exists():
        parts.append(f"Mapper purity by layer ({purity}):\n{purity.read_text()}")
    for metric in metrics:
        summary = results / f"specificity/ph/{metric}/specificity_summary.csv"
        if summary.exists():
            row = read_table(summary)[0]
            paper = f" (paper: {row['paper_rho_layer_9']} and {row['paper_rho_overall']})" if metric == "sw" else ""
            parts.append(
                f"Specificity of {metric} ({row['pairs']} model pairs): rho at layer {row['layer_of_interest']} = "
                f"{row['rho_layer']:.3f}, over all layers = {row['rho_overall']:.3f}{paper}"
            )
    comparison = results / "comparison/ph/comparison.csv"
    if comparison.exists():
        parts.append(f"\n{comparison}:\n{comparison.read_text()}")
    return "\n".join(parts)
