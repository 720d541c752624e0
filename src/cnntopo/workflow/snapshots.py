"""Where a training job keeps the model after given epochs (``ph.trajectory.epochs``); no torch imported,
so the workflow can name the files while it plans."""

from __future__ import annotations

from pathlib import Path


def snapshot_folder(checkpoint: Path) -> Path:
    """Where a run keeps its snapshots until it ends: beside its checkpoint, which no rerun removes."""
    return Path(f"{checkpoint}.snapshots")


def snapshot_name(epoch: int) -> str:
    """A snapshot's file name in its folder: the model after ``epoch`` epochs (0: the initialisation)."""
    return f"epoch{epoch}.pt"
