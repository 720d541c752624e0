"""Foreground masks (cv2.grabCut) and effective receptive fields, for foreground/background sampling.

Masks (docs/method.md, Foreground masks and receptive fields): grabCut on the image with the rectangle "whole image minus a
1-pixel border", 5 iterations, GC_INIT_WITH_RECT; foreground = definite + probable
foreground. Default: the real uint8 RGB image. ``faithful=True`` reproduces the authors'
quirk: grabCut on the *normalised* image cast to uint8 (negative values wrap around),
with height and width swapped, the mask used as it comes out (i.e. transposed).
``method="otsu"`` thresholds the grey level instead (Otsu's threshold): for small grey
images such as the digits, where grabCut marks no pixel as foreground (the paper likewise
replaced grabCut, by DeepLabV3, where it failed on ImageNet).

Effective receptive fields: a copy of the network with every conv weight set to a small
constant, BatchNorm removed (identity) and biases zeroed is fed one-pixel impulse images;
the response of position q of a layer to the impulse at pixel x is ERF[q, x]. A position's
foreground weight is the norm of its receptive field restricted to the foreground pixels.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnntopo.data import DataError, image_subset, load_dataset
from cnntopo.entrypoint import run_step
from cnntopo.io import atomic_savez, write_table
from cnntopo.networks.layers import LayerInfo
from cnntopo.networks.models import build_model, model_layers
from cnntopo.store import layer_key

MASK_METHODS = ("grabcut", "otsu", "deeplabv3")
FALLBACK_METHOD = "grabcut"  # where a segmentation model finds no foreground (docs/method.md, Generalisation)


def grabcut_mask(image: np.ndarray, iterations: int = 5) -> np.ndarray:
    """``(H, W)`` bool foreground of a ``(H, W, 3)`` uint8 image (the rectangle leaves a 1-px border)."""
    import cv2

    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # cv2 wants BGR; the channel order does not change the segmentation of a colour model, but be exact.
    cv2.grabCut(
        np.ascontiguousarray(image[..., ::-1]),
        mask,
        (1, 1, w - 2, h - 2),
        background,
        foreground,
        iterations,
        cv2.GC_INIT_WITH_RECT,
    )
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def otsu_mask(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: grey level above Otsu's threshold."""
    import cv2

    grey = np.ascontiguousarray(image.mean(axis=2).round().astype(np.uint8))
    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary > 0


def segmentation_masks(
    images: np.ndarray, segmenter: nn.Module, mean: Sequence[float], std: Sequence[float], batch: int = 8
) -> np.ndarray:
    """``(n, H, W)`` bool: pixels a torchvision segmentation model (DeepLabV3) assigns to any class but
    0, the background, of ``(n, H, W, 3)`` uint8 images normalised by ``mean`` and ``std``."""
    from cnntopo.data import normalize

    masks = np.empty(images.shape[:3], dtype=bool)
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = normalize(torch.from_numpy(images[start : start + batch]), tuple(mean), tuple(std))
            masks[start : start + batch] = (segmenter(x)["out"].argmax(dim=1) != 0).numpy()
    return masks


def masks_with_fallback(
    images: np.ndarray,
    segmenter: nn.Module,
    mean: Sequence[float],
    std: Sequence[float],
    iterations: int = 5,
    batch: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Segmentation masks, grabCut where one is empty; and per image the method that made its mask.

    Most ImageNet classes are no VOC class, so DeepLabV3 finds no foreground in many images.
    """
    masks = segmentation_masks(images, segmenter, mean, std, batch)
    empty = ~masks.reshape(len(masks), -1).any(axis=1)
    if empty.any():
        masks[empty] = foreground_masks(images[empty], mean, std, iterations=iterations, method=FALLBACK_METHOD)
    return masks, np.where(empty, FALLBACK_METHOD, "deeplabv3")


def foreground_masks(
    images: np.ndarray,
    mean: Sequence[float],
    std: Sequence[float],
    faithful: bool = False,
    iterations: int = 5,
    method: str = "grabcut",
) -> np.ndarray:
    """``(n, H, W)`` bool masks of ``(n, H, W, 3)`` uint8 images (module docstring for the options);
    ``deeplabv3`` needs a model: :func:`masks_with_fallback`."""
    if method not in ("grabcut", "otsu"):
        raise ValueError(f"foreground_masks makes grabcut or otsu masks, not {method!r}")
    masks = np.empty(images.shape[:3], dtype=bool)
    for i, image in enumerate(images):
        if method == "otsu":
            masks[i] = otsu_mask(image)
        elif faithful:
            normalised = (image / 255.0 - np.asarray(mean)) / np.asarray(std)
            quirky = np.ascontiguousarray(normalised.transpose(1, 0, 2)).astype(np.int64).astype(np.uint8)
            masks[i] = grabcut_mask(quirky, iterations)
        else:
            masks[i] = grabcut_mask(image, iterations)
    return masks


def _impulse_copy(model: nn.Module, constant: float) -> nn.Module:
    probe = copy.deepcopy(model).float().eval()
    for name, module in list(probe.named_modules()):
        if isinstance(module, nn.Conv2d):
            nn.init.constant_(module.weight, constant)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            parent = probe.get_submodule(name.rsplit(".", 1)[0]) if "." in name else probe
            setattr(parent, name.rsplit(".", 1)[-1], nn.Identity())
    return probe


def receptive_fields(
    model: nn.Module, layers: Sequence[LayerInfo], image_size: int, constant: float = 0.01, batch: int = 256
) -> dict[int, np.ndarray]:
    """``{layer index: (h_l * w_l, image_size ** 2)}`` float32 impulse responses (module docstring).

    ``layers`` name modules of ``model`` whose outputs are probed (Conv2d, or BatchNorm2d,
    which the probe replaces by the identity). The response of a position is summed over
    channels (all weights are equal and positive, so every channel agrees).
    """
    probe = _impulse_copy(model, constant)
    modules = dict(probe.named_modules())
    pixels = image_size * image_size
    responses: dict[int, list[np.ndarray]] = {layer.index: [] for layer in layers}
    current: dict[int, torch.Tensor] = {}
    handles = [
        modules[layer.name].register_forward_hook(
            lambda _m, _inputs, output, key=layer.index: current.__setitem__(key, output)
        )
        for layer in layers
    ]
    try:
        with torch.no_grad():
            for start in range(0, pixels, batch):
                count = min(batch, pixels - start)
                impulses = torch.zeros(count, 3, pixels)
                impulses[torch.arange(count), :, torch.arange(start, start + count)] = 1.0
                probe(impulses.view(count, 3, image_size, image_size))
                for key, tensor in current.items():
                    responses[key].append(tensor.sum(dim=1).flatten(1).numpy())  # (count, h*w)
    finally:
        for handle in handles:
            handle.remove()
    return {key: np.concatenate(parts).T.astype(np.float32) for key, parts in responses.items()}


def position_weights(field: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``(n, positions)`` norm of each position's receptive field restricted to each image's mask.

    ``field``: ``(positions, pixels)`` from :func:`receptive_fields`; ``masks``: ``(n, H, W)`` bool.
    """
    squared = field.astype(np.float64) ** 2
    return np.sqrt(masks.reshape(len(masks), -1).astype(np.float64) @ squared.T)


def grid_position_weights(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(n, height * width)`` foreground share of each position's cell of ``(n, H, W)`` bool masks.

    For networks where the impulse receptive fields cost too much (one forward pass per pixel:
    50,176 at 224 px), a position of a ``height x width`` layer stands for its cell of the image,
    the adaptive average pool of the mask (the last layers of the Figure 13 networks are 5 x 5 to 13 x 13).
    """
    pooled = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(masks).double().unsqueeze(1), (height, width))
    return pooled.flatten(1).numpy()


def mask_method_shares(labels: np.ndarray, methods: np.ndarray, classes: Sequence[str]) -> list[dict]:
    """Per class (and overall): images, and the share of them whose mask each method made."""
    rows = []
    for label, name in [*enumerate(classes), (None, "all")]:
        chosen = methods if label is None else methods[labels == label]
        shares = {f"share_{m}": float(np.mean(chosen == m)) if len(chosen) else 0.0 for m in MASK_METHODS}
        rows.append({"class": name, "images": len(chosen), **shares})
    return rows


def mask_method(method: str, dataset: str) -> str:
    """The mask method that ``method`` (a config value) stands for on ``dataset``: ``auto`` is Otsu's
    threshold for the digits (grabCut marks none of their 16x16 grey pixels as foreground), grabCut else."""
    if method == "auto":
        return "otsu" if dataset == "digits" else "grabcut"
    if method not in MASK_METHODS:
        raise ValueError(f"unknown mask method {method!r}; choose auto or one of {MASK_METHODS}")
    return method


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.mapper.foreground", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    masks = sub.add_parser("masks", help="grabCut masks of the training images used by the mapper branch")
    masks.add_argument("--data", required=True, help="JSON of the config's data section")
    masks.add_argument("--n-images", type=int, default=None, help="a seeded subset of the training split")
    masks.add_argument("--subset-seed", type=int, default=0)
    masks.add_argument("--faithful", action="store_true", help="the authors' quirk (module docstring)")
    masks.add_argument("--iterations", type=int, default=5)
    masks.add_argument("--method", choices=("auto", *MASK_METHODS), default="auto", help="see mask_method")
    masks.add_argument("--segmenter-arch", default="deeplabv3_resnet50", help="deeplabv3: the torchvision model")
    masks.add_argument(
        "--segmenter-weights", type=Path, default=None, help="deeplabv3: its state_dict (default: torchvision's file)"
    )
    masks.add_argument("--table", type=Path, default=None, help="also write the share of each mask method per class")
    fields = sub.add_parser("receptive-fields", help="impulse receptive fields of the 16 mapper layers")
    fields.add_argument("--arch", required=True)
    fields.add_argument("--width", type=int, required=True)
    fields.add_argument("--image-size", type=int, required=True)
    for command in (masks, fields):
        command.add_argument("--out", type=Path, required=True, help="output (.npz)")
    args = parser.parse_args(argv)
    if args.command == "masks":
        data = json.loads(args.data)
        method = mask_method(args.method, data["dataset"])
        train = load_dataset(data, train=True)
        try:
            index = image_subset(len(train), args.n_images, args.subset_seed)
        except DataError as error:
            sys.exit(f"error: mapper.n_images: {error} (set it to null for all of them)")
        images = train.images[index]
        if method == "deeplabv3":
            from cnntopo.networks.torchvision_models import load_torchvision_model

            segmenter, info = load_torchvision_model(args.segmenter_arch, args.segmenter_weights)
            pre = info.preprocessing
            result, methods = masks_with_fallback(images, segmenter, pre.mean, pre.std, args.iterations)
        else:
            result = foreground_masks(images, train.mean, train.std, args.faithful, args.iterations, method)
            methods = np.full(len(index), method)
        atomic_savez(
            args.out,
            compressed=True,
            image_index=index,
            masks=result,
            faithful=np.array(args.faithful),
            method=np.array(method),
            methods=methods,
        )
        if args.table is not None:
            write_table(args.table, mask_method_shares(train.labels[index], methods, train.classes))
        made = ", ".join(f"{np.mean(methods == m):.1%} by {m}" for m in MASK_METHODS if np.any(methods == m))
        print(f"{len(index)} masks ({made}), mean foreground fraction {result.mean():.3f}", file=sys.stderr)
    else:
        model = build_model(args.arch, args.width, 10)
        layers = model_layers(model, args.image_size, "block_bn")
        result = receptive_fields(model, layers, args.image_size)
        atomic_savez(
            args.out,
            **{layer_key(k): v for k, v in result.items()},
            names=np.array([l.name for l in layers]),
            image_size=np.array(args.image_size),
        )
        print(f"receptive fields of {len(layers)} layers", file=sys.stderr)


if __name__ == "__main__":
    run_step(main)
