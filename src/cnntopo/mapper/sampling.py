"""The mapper branch's sampling modes, named once: the config schema's choices (``x-enum-from``), the
workflow's wildcards and the extraction's ``--mode`` all read :data:`SAMPLING_MODES`. Torch-free."""

from __future__ import annotations

import re

SAMPLING_MODES = ("random", "full", "foreground1", "foreground5", "background1", "background5")
_TOP_WEIGHT = re.compile(r"(foreground|background)(\d+)")


def top_weight_mode(mode: str) -> tuple[str, int] | None:
    """``("foreground" | "background", p)`` for the modes that keep the p positions of most foreground
    (background) per image; None for ``random`` and ``full``."""
    match = _TOP_WEIGHT.fullmatch(mode)
    return None if match is None else (match.group(1), int(match.group(2)))
