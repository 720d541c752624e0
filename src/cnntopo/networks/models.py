"""CIFAR-style ResNet-18 in the two variants of the study.

``resnet18_option_a`` (PH branch; docs/method.md, Models): 3x3 stem conv, no max-pool,
4 stages of 2 BasicBlocks, parameter-free option-A shortcuts (stride-2
subsampling plus zero channels), global average pool, linear head. It has
exactly 17 Conv2d layers, numbered 0..16 in forward order.

``resnet18_conv_shortcut`` (mapper branch; docs/method.md, Models): the same network
with the standard 1x1-conv + BatchNorm projection shortcuts.

``width`` is the stem's channel count (64 in the paper); the stages have
width, 2 width, 4 width and 8 width channels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.io import atomic_torch_save
from cnntopo.networks.layers import STAGE_BLOCKS, STAGE_WIDTHS, LayerInfo
from cnntopo.networks.weights import WeightsError, load_checked, read_weights_file

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
        for index, (blocks, factor) in enumerate(zip(STAGE_BLOCKS, STAGE_WIDTHS)):
            planes = factor * width
            strides = [1 if index == 0 else 2] + [1] * (blocks - 1)
            stages.append(
                nn.Sequential(
                    *[
                        BasicBlock(p, planes, s, shortcut)
                        for p, s in zip([in_planes] + [planes] * (blocks - 1), strides)
                    ]
                )
            )
            in_planes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(in_planes, num_classes)

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


def model_layers(model: nn.Module, image_size: int, kind: str = "conv") -> list[LayerInfo]:
    """The layers of ``kind`` (:mod:`cnntopo.networks.layers`) of a network, found by running it, numbered from 0.

    ``conv``: every Conv2d but the shortcut projections; ``block_bn``: the BatchNorm layers
    inside the residual stages (bn1 and bn2 of each block), the stem's bn1 left out.
    """
    if kind == "conv":
        return layers_in_forward_order(model, image_size, nn.Conv2d)
    if kind != "block_bn":
        raise ValueError(f"unknown layer kind {kind!r}")
    bns = [l for l in layers_in_forward_order(model, image_size, nn.BatchNorm2d) if l.name.startswith("layer")]
    return [LayerInfo(i, l.name, l.channels, l.height, l.width) for i, l in enumerate(bns)]


@dataclass(frozen=True)
class ModelSpec:
    """What is needed to rebuild a trained network from its weights file."""

    arch: str
    width: int
    num_classes: int
    image_size: int


def save_weights(path: Path, model: nn.Module, spec: ModelSpec, extra: Mapping[str, Any]) -> None:
    """Write ``{"spec", "state_dict", **extra}`` atomically (temporary file, then rename)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_torch_save({"spec": asdict(spec), "state_dict": state, **extra}, path)


def load_model(
    path: str | Path, spec: ModelSpec | None = None, device: str = "cpu"
) -> tuple[nn.Module, ModelSpec, dict[str, Any]]:
    """Rebuild a network from a weights file, in eval mode; also return the file's other entries.

    Reads this project's weights files (which carry their :class:`ModelSpec`, seed
    and class names) or a bare ``state_dict`` saved by the user, in which case
    ``spec`` must be given and the returned entries are empty.
    """
    path = Path(path)
    payload = read_weights_file(path)
    extra: dict[str, Any] = {}
    if "state_dict" in payload and "spec" in payload:
        spec = ModelSpec(**payload["spec"])
        state = payload["state_dict"]
        extra = {k: v for k, v in payload.items() if k not in ("spec", "state_dict")}
    elif spec is None:
        raise WeightsError(f"{path} is a bare state_dict: give the architecture, width, classes and image size")
    else:
        state = payload
    model = build_model(spec.arch, spec.width, spec.num_classes)
    load_checked(model, state, path, str(spec))
    return model.to(device).eval(), spec, extra
