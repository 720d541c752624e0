"""CIFAR-style ResNet-18 in the two variants of the study.

``resnet18_option_a`` (PH branch, SPEC branch 1): 3x3 stem conv, no max-pool,
4 stages of 2 BasicBlocks, parameter-free option-A shortcuts (stride-2
subsampling plus zero channels), global average pool, linear head. It has
exactly 17 Conv2d layers, numbered 0..16 in forward order.

``resnet18_conv_shortcut`` (mapper branch, SPEC branch 2): the same network
with the standard 1x1-conv + BatchNorm projection shortcuts.

``width`` is the stem's channel count (64 in the paper); the stages have
width, 2 width, 4 width and 8 width channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

Shortcut = Literal["A", "B"]


class ZeroPadShortcut(nn.Module):
    """Option-A shortcut: subsample by ``stride`` and append zero channels, no parameters."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra = planes - in_planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        front = self.extra // 2
        return F.pad(x, (0, 0, 0, 0, front, self.extra - front))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, shortcut: Shortcut) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride == 1 and in_planes == planes:
            self.shortcut: nn.Module = nn.Identity()
        elif shortcut == "A":
            self.shortcut = ZeroPadShortcut(in_planes, planes, stride)
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet18(nn.Module):
    def __init__(self, width: int = 64, num_classes: int = 10, shortcut: Shortcut = "A") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        stages = []
        in_planes = width
        for index, planes in enumerate((width, 2 * width, 4 * width, 8 * width)):
            stride = 1 if index == 0 else 2
            stages.append(
                nn.Sequential(
                    BasicBlock(in_planes, planes, stride, shortcut), BasicBlock(planes, planes, 1, shortcut)
                )
            )
            in_planes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(8 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        # Global pooling: the paper's 4x4 average pool on 32x32 inputs, any input size here.
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet18_option_a": lambda width, num_classes: CifarResNet18(width, num_classes, shortcut="A"),
    "resnet18_conv_shortcut": lambda width, num_classes: CifarResNet18(width, num_classes, shortcut="B"),
}


def build_model(arch: str, width: int, num_classes: int) -> nn.Module:
    """A freshly initialised network (initialisation drawn from torch's global RNG)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch](width, num_classes)


@dataclass(frozen=True)
class LayerInfo:
    index: int  # position in forward order
    name: str  # module path, e.g. "layer2.0.conv1"
    channels: int
    height: int
    width: int


def layers_in_forward_order(
    model: nn.Module, image_size: int, kind: type[nn.Module] = nn.Conv2d, exclude_shortcuts: bool = True
) -> list[LayerInfo]:
    """The modules of type ``kind`` in the order a forward pass calls them, with output shapes.

    Found by running one zero image through the model, so the order is that of
    execution, not of registration. Shortcut projections are left out by default.
    """
    named = {
        module: name
        for name, module in model.named_modules()
        if isinstance(module, kind) and not (exclude_shortcuts and ".shortcut" in name)
    }
    seen: list[LayerInfo] = []

    def record(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        _, c, h, w = output.shape
        seen.append(LayerInfo(len(seen), named[module], c, h, w))

    handles = [module.register_forward_hook(record) for module in named]
    was_training = model.training
    try:
        model.eval()
        parameter = next(model.parameters())
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, dtype=parameter.dtype, device=parameter.device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return seen
