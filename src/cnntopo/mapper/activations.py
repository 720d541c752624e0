"""Point clouds of the mapper branch (docs/method.md, The mapper branch): BatchNorm outputs under several samplings.

Layers: the outputs of bn1 and bn2 of the 8 BasicBlocks (16 layers, bn2 before the
residual add), ReLU applied, numbered 0..15 in forward order. For a torchvision classifier
(the generalisation branch, ``--arch``): its feature nodes (:mod:`cnntopo.networks.feature_nodes`),
ReLU applied, numbered in the order given.

Sampling modes, per image and layer (all seeded, the choice fixed before extraction):
- ``random``: one spatial position, uniformly;
- ``full``: every position; if the cloud would exceed ``full_cap`` points, ``full_cap``
  (image, position) pairs are drawn without replacement (the authors drew with replacement);
- ``foreground{p}`` / ``background{p}``: the p positions whose receptive field holds the
  most foreground (background) (:mod:`cnntopo.mapper.foreground`), ties broken at random;
  for a torchvision classifier, the positions whose image cell holds the most (the cell share
  stands in for the receptive field: :func:`~cnntopo.mapper.foreground.grid_position_weights`).

Extraction streams over the images in batches: only one batch of activation tensors is in
memory, and each layer's selected points are appended to a Zarr store as they come, one store
per sampling mode, all of them from the same pass.
Optional Gaussian input noise (std ``sigma``, added after normalisation as the authors did)
is drawn per image from a generator seeded by (noise seed, image index).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.data import ImageSet, dataset_fingerprint, load_dataset, normalize
from cnntopo.entrypoint import progress_bar, run_step
from cnntopo.mapper.foreground import grid_position_weights, position_weights
from cnntopo.mapper.sampling import SAMPLING_MODES, top_weight_mode
from cnntopo.networks.devices import add_device_options, device_from_options
from cnntopo.networks.feature_nodes import feature_extractor, node_shapes
from cnntopo.networks.layers import LayerInfo, default_nodes
from cnntopo.networks.models import load_model, model_layers
from cnntopo.networks.torchvision_models import load_torchvision_model
from cnntopo.provenance import stable_digest
from cnntopo.store import StoreWriter, layer_key


def select_points(
    mode: str,
    n_images: int,
    positions: int,
    seed: int,
    layer: int,
    weights: np.ndarray | None = None,
    full_cap: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(image, position) int64 arrays of the points of one layer, ordered by image.

    ``weights``: ``(n_images, positions)`` foreground or background weights for those modes.
    """
    # Seeded by the mode's name, not its place in SAMPLING_MODES: adding or reordering modes moves no cloud.
    rng = np.random.default_rng([seed, layer, int(stable_digest(mode), 16)])
    if mode == "random":
        return np.arange(n_images), rng.integers(0, positions, n_images)
    if mode == "full":
        total = n_images * positions
        flat = (
            np.sort(rng.choice(total, full_cap, replace=False)) if full_cap and total > full_cap else np.arange(total)
        )
        return flat // positions, flat % positions
    top = top_weight_mode(mode)
    if top is None:
        raise ValueError(f"unknown sampling mode {mode!r}; known: {SAMPLING_MODES}")
    if weights is None or weights.shape != (n_images, positions):
        raise ValueError(f"{mode} needs ({n_images}, {positions}) weights")
    p = min(top[1], positions)
    order = np.lexsort((rng.random(weights.shape), -weights), axis=-1)  # by weight, ties at random
    return np.repeat(np.arange(n_images), p), order[:, :p].ravel()


def mode_weights(mode: str, masks: np.ndarray, weigh: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """Foreground or background weights of one layer for the top-p modes, None for the others.

    ``weigh`` maps ``(n, H, W)`` bool masks to ``(n, positions)`` weights: the receptive-field
    norm (:func:`~cnntopo.mapper.foreground.position_weights`) or the cell share
    (:func:`~cnntopo.mapper.foreground.grid_position_weights`).
    """
    top = top_weight_mode(mode)
    if top is None:
        return None
    return weigh(masks if top[0] == "foreground" else ~masks)


def image_noise(index: int, shape: tuple[int, ...], sigma: float, seed: int) -> np.ndarray:
    return sigma * np.random.default_rng([seed, index]).standard_normal(shape).astype(np.float32)


def hooked_layers(model: nn.Module, layers: Sequence[LayerInfo]) -> Callable[[torch.Tensor], dict[int, torch.Tensor]]:
    """``x -> {layer index: ReLU of that module's output}`` for modules of ``model`` named by ``layers``
    (forward hooks, left on the model: a job extracts from one model)."""
    modules = dict(model.named_modules())
    outputs: dict[int, torch.Tensor] = {}
    for l in layers:
        modules[l.name].register_forward_hook(lambda _m, _i, o, key=l.index: outputs.__setitem__(key, F.relu(o)))

    def features(x: torch.Tensor) -> dict[int, torch.Tensor]:
        model(x)
        return dict(outputs)

    return features


def node_layers(extractor: nn.Module, nodes: Sequence[str]) -> Callable[[torch.Tensor], dict[int, torch.Tensor]]:
    """``x -> {i: ReLU of feature node nodes[i]}`` from a feature extractor (:mod:`cnntopo.networks.feature_nodes`);
    the ReLU changes nothing at nodes that follow one (alexnet's features.11, the inception concatenations)."""

    def features(x: torch.Tensor) -> dict[int, torch.Tensor]:
        out = extractor(x)
        return {i: F.relu(out[node]) for i, node in enumerate(nodes)}

    return features


def extract_mapper_stores(
    features: Callable[[torch.Tensor], dict[int, torch.Tensor]],
    images: ImageSet,
    layers: Sequence[LayerInfo],
    selections: Mapping[Path, dict[int, tuple[np.ndarray, np.ndarray]]],
    attrs: Mapping[Path, dict],
    device: torch.device,
    extract_batch: int = 256,
    sigma: float = 0.0,
    noise_seed: int = 0,
    progress: bool = True,
) -> list[Path]:
    """Write the selected points of every layer to each Zarr store of ``selections``, from one pass over the images.

    ``selections[out]``: per layer index, the ``(image, position)`` rows of store ``out`` (one sampling mode);
    ``attrs[out]``: its attributes. ``features`` maps a batch (on ``device``) to ``{layer index: (batch, c, h, w)}``
    activations (:func:`hooked_layers`, :func:`node_layers`).
    """
    n = len(images)
    with contextlib.ExitStack() as stack, torch.no_grad():
        writers = {}
        for out, chosen in selections.items():
            arrays = {}
            for l in layers:
                image, position = chosen[l.index]
                key = layer_key(l.index)
                arrays.update(
                    {f"{key}_image": image, f"{key}_position": position, f"{key}_label": images.labels[image]}
                )
            rows = {l.index: len(chosen[l.index][0]) for l in layers}
            writers[out] = stack.enter_context(StoreWriter(out, layers, 1, rows, arrays, attrs[out]))
        names = ", ".join(out.name for out in selections)
        bar = progress_bar(total=n, desc=f"mapper {names}", unit="img", disable=not progress)
        for start in range(0, n, extract_batch):
            stop = min(start + extract_batch, n)
            x = normalize(torch.from_numpy(images.images[start:stop]), images.mean, images.std)
            if sigma > 0:
                x = x + torch.from_numpy(
                    np.stack([image_noise(i, tuple(x.shape[1:]), sigma, noise_seed) for i in range(start, stop)])
                )
            outputs = {index: acts.flatten(2) for index, acts in features(x.to(device)).items()}  # (batch, c, h * w)
            for out, writer in writers.items():
                block = {}
                for l in layers:
                    image, position = selections[out][l.index]
                    lo, hi = np.searchsorted(image, [start, stop])
                    rows_i = torch.from_numpy(image[lo:hi] - start).to(device)
                    cols = torch.from_numpy(position[lo:hi]).to(device)
                    block[layer_key(l.index)] = outputs[l.index][rows_i, :, cols].float().cpu().numpy()
                writer.append(block)
            bar.update(stop - start)
        bar.close()
        return [writer.commit() for writer in writers.values()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.mapper.activations", description=__doc__)
    parser.add_argument("--weights", type=Path, help="a project weights file, or the --arch model's state_dict")
    parser.add_argument("--data", required=True, help="JSON of the config's data section")
    parser.add_argument("--masks", type=Path, required=True, help="foreground masks (.npz) of the images used")
    model_kind = parser.add_mutually_exclusive_group(required=True)
    model_kind.add_argument(
        "--receptive-fields", type=Path, help="a project model: its receptive fields (.npz); layers: the block BNs"
    )
    model_kind.add_argument("--arch", help="a torchvision classifier (weights: --weights or torchvision's own file)")
    parser.add_argument(
        "--nodes", nargs="+", help="--arch: the feature nodes (default: the architecture's last layer, docs/method.md)"
    )
    parser.add_argument("--mode", choices=SAMPLING_MODES, nargs="+", required=True, help="one store per mode")
    parser.add_argument("--sigma", type=float, default=0.0, help="std of Gaussian input noise (normalised units)")
    parser.add_argument("--noise-seed", type=int, default=0)
    parser.add_argument("--sampling-seed", type=int, default=0)
    parser.add_argument("--full-cap", type=int, default=None, help="full mode: most points per layer")
    parser.add_argument("--extract-batch", type=int, default=256)
    parser.add_argument("--out", type=Path, nargs="+", required=True, help="output: a Zarr store per --mode")
    add_device_options(parser)
    args = parser.parse_args(argv)
    if args.arch is None and args.weights is None:
        parser.error("--weights is required for a project model")
    if len(args.out) != len(args.mode):
        parser.error(f"--out needs one store per --mode ({len(args.mode)}), got {len(args.out)}")

    device = device_from_options(args)
    with np.load(args.masks) as saved:
        index, masks = saved["image_index"], saved["masks"]
    train = load_dataset(json.loads(args.data), train=True)
    images = ImageSet(train.images[index], train.labels[index], train.classes, train.mean, train.std)
    if args.arch is None:
        model, spec, info = load_model(args.weights, device=str(device))
        layers = model_layers(model, spec.image_size, "block_bn")
        features = hooked_layers(model, layers)
        with np.load(args.receptive_fields) as saved:
            fields = {l.index: saved[layer_key(l.index)] for l in layers}
        weighers = {l.index: functools.partial(position_weights, fields[l.index]) for l in layers}
        described = {"seed": info.get("seed"), "arch": spec.arch, "width": spec.width, "activation": "relu(batchnorm)"}
    else:
        model, classifier = load_torchvision_model(args.arch, args.weights)
        nodes = args.nodes or default_nodes(args.arch)
        side = images.images.shape[1]
        pre = classifier.preprocessing
        if (pre.crop, pre.mean, pre.std) != (side, images.mean, images.std):
            # One image size for every model, so that masks and points refer to the same pixels.
            print(
                f"note: {args.arch}'s weights enum preprocesses to {pre.crop} px (mean {pre.mean}, std {pre.std});"
                f" this run's images are {side} px (mean {images.mean}, std {images.std}), as data sets them",
                file=sys.stderr,
            )
        shapes = node_shapes(model, nodes, side, args.arch)
        flat = {node: shape for node, shape in shapes.items() if len(shape) != 3}
        if flat:
            parser.error(f"mapper points are positions of c x h x w activations; these nodes are not: {flat}")
        layers = [LayerInfo(i, node, *shapes[node]) for i, node in enumerate(nodes)]
        features = node_layers(feature_extractor(model.to(device), nodes, args.arch), nodes)
        weighers = {l.index: functools.partial(grid_position_weights, height=l.height, width=l.width) for l in layers}
        described = {"seed": None, "arch": args.arch, "width": None, "activation": "relu(feature node)"}
        args.weights = classifier.weights
    selections = {
        out: {
            l.index: select_points(
                mode,
                len(images),
                l.height * l.width,
                args.sampling_seed,
                l.index,
                mode_weights(mode, masks, weighers[l.index]),
                args.full_cap,
            )
            for l in layers
        }
        for mode, out in zip(args.mode, args.out)
    }
    shared = {
        **described,
        "weights": str(args.weights),
        "sigma": args.sigma,
        "noise_seed": args.noise_seed,
        "sampling_seed": args.sampling_seed,
        "split": "train",
        "data_fingerprint": dataset_fingerprint(images),
        "classes": list(images.classes),
    }
    attrs = {out: {**shared, "sampling": mode} for mode, out in zip(args.mode, args.out)}
    paths = extract_mapper_stores(
        features, images, layers, selections, attrs, device, args.extract_batch, args.sigma, args.noise_seed
    )
    for path, chosen in zip(paths, selections.values()):
        sizes = ", ".join(str(len(chosen[l.index][0])) for l in layers)
        print(f"wrote {path}: points per layer {sizes}", file=sys.stderr)


if __name__ == "__main__":
    run_step(main)
