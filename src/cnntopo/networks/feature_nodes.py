"""Layers of any torchvision-style network by feature-extraction node name (``layer4.1.bn2``).

Node names are those of ``torchvision.models.feature_extraction.get_graph_node_names`` in eval
mode: module paths for module calls, and names such as ``inception5b.cat`` or ``x.add`` for the
functions the forward pass calls. The last layer (docs/method.md, Generalisation) of the four architectures of the paper's
Figure 13 is :func:`cnntopo.networks.layers.default_nodes` (torch-free, for the workflow's parse too).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import torch
from torch import nn

from cnntopo.networks.torchvision_compat import torchvision_submodule


def _feature_extraction():
    return torchvision_submodule("models.feature_extraction")


def feature_node_names(model: nn.Module) -> list[str]:
    """Every node name of ``model``'s eval-mode graph, in execution order."""
    return list(_feature_extraction().get_graph_node_names(model)[1])


def check_nodes(model: nn.Module, nodes: Sequence[str], arch: str = "the model") -> None:
    """Raise ``ValueError`` naming every node not in the graph, with the valid names nearest to it."""
    names = feature_node_names(model)
    known = set(names)
    problems = []
    for node in nodes:
        if node not in known:
            near = difflib.get_close_matches(node, names, n=8, cutoff=0.4)
            problems.append(f"{node!r} is not a node of {arch}; nearest: {', '.join(near) or '(none)'}")
    if problems:
        raise ValueError(
            "; ".join(problems) + f" ({len(names)} nodes in all: cnntopo.networks.feature_nodes.feature_node_names)"
        )


def feature_extractor(model: nn.Module, nodes: Sequence[str], arch: str = "the model") -> nn.Module:
    """A module returning ``{node: tensor}`` for ``nodes`` of ``model`` (checked first)."""
    check_nodes(model, nodes, arch)
    return _feature_extraction().create_feature_extractor(model.eval(), return_nodes=list(nodes)).eval()


def node_shapes(model: nn.Module, nodes: Sequence[str], image_size: int, arch: str = "the model") -> dict[str, tuple]:
    """The output shape (without the batch) of each node for one ``image_size`` squared RGB image."""
    extractor = feature_extractor(model, nodes, arch)
    parameter = next(model.parameters())
    with torch.no_grad():
        out = extractor(torch.zeros(1, 3, image_size, image_size, dtype=parameter.dtype, device=parameter.device))
    return {node: tuple(out[node].shape[1:]) for node in nodes}
