"""Figure files: every figure is a PNG with the same figure as PDF beside it, and the CSV of its numbers.

Drawing code imports ``matplotlib.pyplot`` as usual; the command-line entry points
call :func:`use_file_backend` first, so a job without a display writes files, while
importing a figure module (in a notebook, say) leaves the user's backend alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# Okabe and Ito's eight colours, told apart under the common colour-vision deficiencies.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")


def class_colour(label: int) -> str:
    """The colour (hex) of class ``label`` in every figure and page: Okabe-Ito for classes 0-7; classes 8-15
    take the same colours mixed halfway with white, 16 and up repeat the cycle. Beyond eight classes
    colour alone does not tell every class apart for every reader: legends and tooltips name them."""
    base = OKABE_ITO[label % 8]
    if (label // 8) % 2 == 0:
        return base
    return "#" + "".join(f"{(int(base[k : k + 2], 16) + 255) // 2:02X}" for k in (1, 3, 5))


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
