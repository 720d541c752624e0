"""The profile layers of a network, found from its module graph (docs/method.md, Profile layers and neuron kinds).

A profile layer is a Conv2d / Linear / pool / residual-add node of the ``torch.fx`` graph
together with the single-successor element-wise or reshaping nodes after it (BatchNorm,
ReLU, dropout, flatten). Its *head* is the node's raw output, its *tail* the output after
those folded nodes; layer 0 is the input image. Nothing is listed per architecture: the
project's CIFAR ResNet-18s, torchvision's ResNets and VGGs and any network built from these
operations are read the same way; anything else is refused, naming the module and its type.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn

from cnntopo.networks.models import ZeroPadShortcut

LAYER_OPS = ("input", "conv", "linear", "maxpool", "avgpool", "add", "shortcut")

_MODULE_OPS: dict[type, str] = {
    nn.Conv2d: "conv",
    nn.Linear: "linear",
    nn.MaxPool2d: "maxpool",
    nn.AvgPool2d: "avgpool",
    nn.AdaptiveAvgPool2d: "avgpool",
    ZeroPadShortcut: "shortcut",
}
# Element-wise or reshaping: folded into the layer before them.
_FOLDED_MODULES = (nn.BatchNorm2d, nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Flatten)
_FUNCTION_OPS = {
    operator.add: "add",
    torch.add: "add",
    F.adaptive_avg_pool2d: "avgpool",
    F.avg_pool2d: "avgpool",
    F.max_pool2d: "maxpool",
}
_FOLDED_FUNCTIONS = (F.relu, torch.relu, F.dropout, torch.flatten)
_FOLDED_METHODS = ("relu", "flatten", "view", "reshape", "contiguous")
_RESHAPING = (nn.Flatten, torch.flatten, "flatten", "view", "reshape", "contiguous")


class UnsupportedLayerError(ValueError):
    """A module or function of the network that has no contribution rule."""


@dataclass(frozen=True)
class ProfileLayer:
    """One profile layer. ``inputs``: indices of the layers whose tails feed its head."""

    index: int
    name: str
    op: str
    head: str
    tail: str
    inputs: tuple[int, ...]
    module: nn.Module | None = None
    call: fx.Node | None = None


@dataclass
class Network:
    """A traced network and its profile layers in topological (forward) order."""

    graph: fx.GraphModule
    layers: list[ProfileLayer]
    # U of each Conv2d/Linear weight, computed once per network (SVD neurons).
    svd_bases: dict[int, torch.Tensor] = field(default_factory=dict)

    def shapes(self, image_shape: Sequence[int]) -> list[tuple[int, ...]]:
        """Per-image shape of every layer's tail for inputs of ``image_shape`` (c, h, w)."""
        record = self.record(torch.zeros(1, *image_shape))
        return [tuple(record.tails[layer.index].shape[1:]) for layer in self.layers]

    def record(self, images: torch.Tensor) -> Recording:
        """Run ``images`` (N, c, h, w) through the network, keeping every head and tail."""
        return _Recorder(self).record(images)


@dataclass
class Recording:
    """Heads and tails (N, ...) per layer index, and the logits (N, classes)."""

    heads: dict[int, torch.Tensor]
    tails: dict[int, torch.Tensor]
    logits: torch.Tensor


def _node_kind(gm: fx.GraphModule, node: fx.Node) -> str:
    """The layer op a node starts, ``"fold"``, ``"alias"`` (nn.Identity), ``"output"`` or ``"input"``.

    Raises :class:`UnsupportedLayerError` for anything else.
    """
    if node.op == "placeholder":
        return "input"
    if node.op == "output":
        return "output"
    if node.op == "call_module":
        module = gm.get_submodule(node.target)
        for kind, op in _MODULE_OPS.items():
            if type(module) is kind:
                return op
        if isinstance(module, nn.Identity):
            return "alias"
        if isinstance(module, _FOLDED_MODULES):
            return "fold"
        raise UnsupportedLayerError(
            f"module {node.target!r} of type {type(module).__name__} has no profiling rule "
            f"(supported: Conv2d, Linear, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, residual adds, "
            f"and BatchNorm/ReLU/Dropout/Flatten folded into the layer before them)"
        )
    if node.op == "call_function":
        if node.target in _FUNCTION_OPS:
            return _FUNCTION_OPS[node.target]
        if node.target in _FOLDED_FUNCTIONS:
            return "fold"
    if node.op == "call_method":
        if node.target == "add":
            return "add"
        if node.target in _FOLDED_METHODS:
            return "fold"
    name = getattr(node.target, "__name__", str(node.target))
    raise UnsupportedLayerError(f"{node.op} {name!r} (node {node.name!r}) has no profiling rule")


def _tensor_inputs(node: fx.Node) -> list[fx.Node]:
    return [a for a in node.args if isinstance(a, fx.Node)]


def trace_network(model: nn.Module) -> Network:
    """Trace ``model`` (eval mode) and group its nodes into profile layers.

    Raises :class:`UnsupportedLayerError` for a node without a rule, or for an element-wise
    node whose input also feeds another node (it cannot be folded into one layer).
    """
    model = model.eval()
    # ZeroPadShortcut is one profile layer (a fixed selection), not traced into slicing and padding.
    tracer = _LeafTracer()
    gm = fx.GraphModule(model, tracer.trace(model))
    layers: list[ProfileLayer] = []
    layer_of: dict[str, int] = {}
    for node in gm.graph.nodes:
        kind = _node_kind(gm, node)
        if kind == "output":
            continue
        if kind == "alias":
            layer_of[node.name] = layer_of[_tensor_inputs(node)[0].name]
            continue
        if kind == "fold":
            source = _tensor_inputs(node)[0]
            index = layer_of[source.name]
            layer = layers[index]
            if len(source.users) != 1:
                raise UnsupportedLayerError(
                    f"node {node.name!r} ({node.target}) follows {source.name!r}, which feeds "
                    f"{len(source.users)} nodes: it cannot be folded into one profile layer"
                )
            reshaping = (node.op == "call_module" and isinstance(gm.get_submodule(node.target), nn.Flatten)) or (
                node.target in _RESHAPING
            )
            if not reshaping:
                layers[index] = ProfileLayer(
                    layer.index, layer.name, layer.op, layer.head, node.name, layer.inputs, layer.module, layer.call
                )
            layer_of[node.name] = index
            continue
        inputs = tuple(sorted({layer_of[a.name] for a in _tensor_inputs(node)}))
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        if kind == "input":
            name = "input"
        elif node.op == "call_module":
            name = node.target
        else:
            # A function node is named after the module whose forward calls it (torch.fx records the module
            # stack): the residual add of a block with a downsample branch is layer2.0.add, not a part of
            # the branch that its latest input comes from.
            stack = list(node.meta.get("nn_module_stack", {}).values())
            parent = stack[-1][0] if stack else ""
            name = f"{parent}.{node.name.rstrip('_0123456789')}" if parent else node.name
        layers.append(ProfileLayer(len(layers), name, kind, node.name, node.name, inputs, module, node))
        layer_of[node.name] = len(layers) - 1
    if layers[-1].op not in ("linear", "conv"):
        raise UnsupportedLayerError(f"the network's last layer {layers[-1].name!r} is not a Linear (the logits)")
    return Network(gm, layers)


class _LeafTracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, ZeroPadShortcut) or super().is_leaf_module(m, qualname)


class _Recorder(fx.Interpreter):
    def __init__(self, network: Network) -> None:
        super().__init__(network.graph)
        self.keep: dict[str, list[tuple[str, int]]] = {}
        for layer in network.layers:
            self.keep.setdefault(layer.head, []).append(("head", layer.index))
            self.keep.setdefault(layer.tail, []).append(("tail", layer.index))
        self.heads: dict[int, torch.Tensor] = {}
        self.tails: dict[int, torch.Tensor] = {}

    # Every op runs out of place (an in-place ReLU would overwrite a kept head), so what is kept needs no
    # copy: cloning each head and tail instead cost 15-20 % of a forward pass.
    def call_module(self, target, args, kwargs):
        module = self.fetch_attr(target)
        if not getattr(module, "inplace", False):
            return super().call_module(target, args, kwargs)
        module.inplace = False
        try:
            return super().call_module(target, args, kwargs)
        finally:
            module.inplace = True

    def call_function(self, target, args, kwargs):
        return super().call_function(target, args, {**kwargs, "inplace": False} if kwargs.get("inplace") else kwargs)

    def run_node(self, n: fx.Node):
        value = super().run_node(n)
        for role, index in self.keep.get(n.name, ()):
            (self.heads if role == "head" else self.tails)[index] = value.detach()
        return value

    def record(self, images: torch.Tensor) -> Recording:
        with torch.no_grad():
            logits = self.run(images)
        return Recording(self.heads, self.tails, logits)
