"""The mapper graphs a config asks for, by name, and where each one's points come from.

A graph's *variant* names its point cloud: a sampling mode of the project's mapper model (``full``;
with input noise ``full_sigma0.5``) or of a generalisation model (``resnet18/full``). The names are
made here and only here; the workflow looks a variant up in :func:`graph_sources` and never parses
one. Torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLEAN = "0"  # the noise level of the clean images


@dataclass(frozen=True)
class GraphSource:
    """The points of one variant: sampling ``mode`` of one extraction job, which writes every mode of
    its model (and, for the project model, of its noise level ``sigma``) from one pass over the images."""

    mode: str
    sigma: str = CLEAN
    model: str | None = None  # a generalisation model's name; None: the project's mapper model

    @property
    def noisy(self) -> bool:
        return self.sigma != CLEAN


def project_variant(mode: str, sigma: str = CLEAN) -> str:
    return mode if sigma == CLEAN else f"{mode}_sigma{sigma}"


def generalisation_variant(model: str, mode: str) -> str:
    return f"{model}/{mode}"


def mapper_noise_levels(mapper: Mapping[str, Any]) -> dict[str, list[str]]:
    """The sampling modes of each input noise level of the mapper branch, ``{"0": clean, "<sigma>": noisy}``:
    one mapper_activations job each. The clean images also serve the noise figure's sigma = 0 column."""
    noise = mapper["noise"]
    clean = [*mapper["sampling"], *(noise["sampling"] if noise["sigmas"] else [])]
    return {CLEAN: list(dict.fromkeys(clean)), **{str(s): list(noise["sampling"]) for s in noise["sigmas"]}}


def graph_sources(config: Mapping[str, Any]) -> dict[str, GraphSource]:
    """Every variant the config's mapper and generalisation sections define, in order: the project
    model's modes by noise level, then each generalisation model's modes."""
    project = {
        project_variant(mode, sigma): GraphSource(mode, sigma)
        for sigma, modes in mapper_noise_levels(config["mapper"]).items()
        for mode in modes
    }
    generalisation = config["generalisation"]
    return project | {
        generalisation_variant(m["name"], mode): GraphSource(mode, model=m["name"])
        for m in generalisation["models"]
        for mode in generalisation["sampling"]
    }
