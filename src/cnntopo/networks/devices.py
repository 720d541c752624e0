"""Where a network runs: ``--device`` and ``--threads`` of the steps that run one."""

from __future__ import annotations

import argparse

import torch


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> the first CUDA device if there is one, else the CPU; otherwise ``torch.device(name)``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was asked for but this torch build sees no CUDA device")
    return device


def add_device_options(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--threads``, shared by the commands that run the network."""
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:k]")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the same count gives the same bits)")


def device_from_options(args: argparse.Namespace) -> torch.device:
    """Apply ``--threads`` and resolve ``--device``."""
    torch.set_num_threads(args.threads)
    return resolve_device(args.device)
