"""Figure files: every figure is a PNG with the same figure as PDF beside it, and the CSV of its numbers.

Drawing code imports ``matplotlib.pyplot`` as usual; the command-line entry points
call :func:`use_file_backend` first, so a job without a display writes files, while
importing a figure module (in a notebook, say) leaves the user's backend alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def use_file_backend() -> None:
    """Draw with matplotlib's non-interactive Agg backend (figures are written to files, jobs have no display)."""
    import matplotlib

    matplotlib.use("Agg")


def save_figure(fig, out: Path) -> None:
    """Write ``out`` (PNG) and the same figure as PDF beside it, then close it."""
    import matplotlib.pyplot as plt

    out = Path(out)
    fig.savefig(out, dpi=150)
    # The PDF keeps the layout the PNG computed: laying out again cost a figure job about 0.4 s.
    fig.set_layout_engine("none")
    # No creation date: a figure made again from the same numbers is the same file, byte for byte.
    fig.savefig(out.with_suffix(".pdf"), metadata={"CreationDate": None})
    plt.close(fig)


def add_figure_outputs(*commands: argparse.ArgumentParser) -> None:
    """``--out`` (the PNG; a PDF is written beside it) and ``--table`` (its numbers) for figure commands."""
    for command in commands:
        command.add_argument("--out", type=Path, required=True, help="output figure (.png; a .pdf beside it)")
        command.add_argument("--table", type=Path, required=True, help="output: the numbers plotted (.csv)")
