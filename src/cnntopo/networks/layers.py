"""The layer tables of the study's networks, computed without torch.

The workflow plans jobs and sizes their resources from these tables when it parses
(no torch import); :func:`cnntopo.networks.models.model_layers` finds the same layers by
running a network, and a test holds the two equal.

Both architectures (``resnet18_option_a``, ``resnet18_conv_shortcut``) share one
layout: a 3x3 stem conv of ``width`` channels at stride 1, then four stages of
``STAGE_BLOCKS`` BasicBlocks with ``STAGE_WIDTHS`` x ``width`` channels, the first
block of every stage but the first at stride 2. Layer kinds:

- ``conv``: the Conv2d outputs in forward order (stem, then conv1 and conv2 of each
  block; shortcut projections left out): 17 layers, the PH branch's;
- ``block_bn``: the bn1 and bn2 outputs of each block (bn2 before the residual add):
  16 layers, the mapper branch's.
"""

from __future__ import annotations

from dataclasses import dataclass

ARCHITECTURES = ("resnet18_option_a", "resnet18_conv_shortcut")

# docs/method.md, Generalisation: the last layer of the Figure 13 networks by feature-extraction node name
# (cnntopo.networks.feature_nodes), and its channels at 224 px. resnet18 before its last residual add (like
# the CIFAR mapper model), the inception blocks' concatenations (the module alone yields one
# branch), alexnet's ReLU after conv5.
TORCHVISION_LAST_LAYERS = {
    "resnet18": ("layer4.1.bn2", 512),
    "googlenet": ("inception5b.cat", 1024),
    "inception_v3": ("Mixed_7c.cat_2", 2048),
    "alexnet": ("features.11", 256),
}
STAGE_BLOCKS = (2, 2, 2, 2)
STAGE_WIDTHS = (1, 2, 4, 8)
LAYER_KINDS = ("conv", "block_bn")


def default_nodes(arch: str) -> list[str]:
    """The last layer (docs/method.md, Generalisation) of a torchvision ``arch`` (:data:`TORCHVISION_LAST_LAYERS`); other
    architectures must name their nodes."""
    if arch not in TORCHVISION_LAST_LAYERS:
        raise ValueError(
            f"no default layer for {arch!r} (known: {', '.join(TORCHVISION_LAST_LAYERS)}):"
            " list its feature nodes in the config"
        )
    return [TORCHVISION_LAST_LAYERS[arch][0]]


@dataclass(frozen=True)
class LayerInfo:
    index: int  # position in forward order among the layers of its kind
    name: str  # module path, e.g. "layer2.0.conv1"
    channels: int
    height: int
    width: int


def planned_layers(arch: str, width: int, image_size: int, kind: str = "conv") -> list[LayerInfo]:
    """The layers of ``kind`` of an ``arch`` network of stem ``width`` on square ``image_size`` inputs."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {list(ARCHITECTURES)}")
    if kind not in LAYER_KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; known: {list(LAYER_KINDS)}")
    names: list[tuple[str, int, int]] = [("conv1", width, image_size)] if kind == "conv" else []
    side = image_size
    for stage, (blocks, factor) in enumerate(zip(STAGE_BLOCKS, STAGE_WIDTHS)):
        for block in range(blocks):
            if stage > 0 and block == 0:
                side = -(-side // 2)  # 3x3 conv, padding 1, stride 2
            prefix = f"layer{stage + 1}.{block}"
            parts = ("conv1", "conv2") if kind == "conv" else ("bn1", "bn2")
            names += [(f"{prefix}.{part}", factor * width, side) for part in parts]
    return [LayerInfo(i, name, channels, s, s) for i, (name, channels, s) in enumerate(names)]


def layer_count(arch: str, kind: str = "conv") -> int:
    """How many layers of ``kind`` an ``arch`` network has (independent of width and image size)."""
    return len(planned_layers(arch, 1, 32, kind))
