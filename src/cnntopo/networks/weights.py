"""Reading weights files, with errors that name the file and say what is wrong in one line."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnntopo.entrypoint import StepError

SHOWN_KEYS = 5


class WeightsError(StepError, ValueError):
    """A weights file is missing, unreadable or of another architecture."""


def read_weights_file(path: str | Path) -> Any:
    """``torch.load`` of a weights file (tensors only), or :class:`WeightsError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise WeightsError(
            f"weights file {path} cannot be read: it is truncated or not a file saved by torch.save ({first})"
        ) from error


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:SHOWN_KEYS])
    return f"{len(keys)} ({shown}{', ...' if len(keys) > SHOWN_KEYS else ''})"


def load_checked(model: nn.Module, state: dict[str, torch.Tensor], path: str | Path, what: str) -> None:
    """``model.load_state_dict(state)``, or :class:`WeightsError` that names ``path`` and ``what`` the model is,
    with the counts and the first five of the missing and unexpected keys and of the shape mismatches."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        parts = [
            f"{name} {_listed(keys)}"
            for name, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes))
            if keys
        ]
        raise WeightsError(f"weights in {path} do not fit {what}: {'; '.join(parts)}")
    model.load_state_dict(state)
