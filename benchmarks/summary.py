"""benchmarks/results/summary.csv: the one table of measured figures that docs/benchmarks.md is generated from.

Each benchmark appends its rows (benchmark, measure, ours, reference, ratio, unit, machine, date);
a rerun on the same machine replaces that benchmark's earlier rows for the same measures.
"""

from __future__ import annotations

import csv
import datetime
import os
from pathlib import Path

from cnntopo.provenance import cpu_model

SUMMARY = Path(__file__).parent / "results" / "summary.csv"
COLUMNS = ("benchmark", "measure", "ours", "reference", "ratio", "unit", "machine", "date")


def machine() -> str:
    """CPU model and core count (and the GPU, when torch sees one)."""
    description = f"{cpu_model()}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            description += f", {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return description


def record(benchmark: str, rows: list[dict], path: Path = SUMMARY) -> None:
    """Append ``rows`` (keys: measure, ours, reference, unit; ratio = ours / reference unless given)."""
    here, today = machine(), datetime.date.today().isoformat()
    new = []
    for row in rows:
        ratio = row.get("ratio")
        if ratio is None and row.get("reference"):
            ratio = row["ours"] / row["reference"]
        new.append({"benchmark": benchmark, "machine": here, "date": today, **row, "ratio": ratio})
    replaced = {(r["benchmark"], r["measure"], r["machine"]) for r in new}
    old = []
    if path.exists():
        with open(path, newline="") as handle:
            old = [r for r in csv.DictReader(handle) if (r["benchmark"], r["measure"], r["machine"]) not in replaced]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in old + new:
            writer.writerow({key: _format(row.get(key)) for key in COLUMNS})


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
