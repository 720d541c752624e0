"""Profiles of images (DeepDataProfiler, docs: method): the tracer that walks a network's recording from
the logits down (``backward``) or layer by layer (``layerwise``) with the contribution rules of
:mod:`cnntopo.profile.contributions`, and the step that profiles a model's images.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np
import torch

from cnntopo.entrypoint import run_step
from cnntopo.profile.contributions import (
    Targets,
    contributions,
    influential_neurons,
    sum_by_pair,
    svd_basis,
    svd_neurons,
)
from cnntopo.profile.network import Network, Recording
from cnntopo.profile.profiles import NEURON_KINDS, TRACING_MODES, ProfileSet, concatenate_sets


def _layer_shapes(record: Recording, n_layers: int) -> np.ndarray:
    shapes = np.zeros((n_layers, 3), np.int64)
    for index, tail in record.tails.items():
        shape = tuple(tail.shape[1:])
        shapes[index, : len(shape)] = shape
    return shapes


@torch.no_grad()
def profile_images(
    network: Network,
    images: torch.Tensor,
    labels: np.ndarray,
    kind: str,
    theta: float = 0.1,
    tracing: str = "backward",
    channel_norm: float | None = None,
    record: Recording | None = None,
) -> ProfileSet:
    """Profiles of ``images`` (N, c, h, w): one :class:`ProfileSet` of N inputs.

    ``tracing``: ``backward`` starts at the predicted class's logit and follows contributors
    down to the input (neuron weight = the share of the class's influence that flows through
    it); ``layerwise`` takes each layer's own influential neurons (weight = normalised score;
    0 for a neuron that is only a contributor) and their synapses to the layer below.
    """
    if kind not in NEURON_KINDS:
        raise ValueError(f"unknown neuron kind {kind!r}; expected one of {NEURON_KINDS}")
    if tracing not in TRACING_MODES:
        raise ValueError(f"unknown tracing {tracing!r}; expected one of {TRACING_MODES}")
    if not 0 < theta <= 1:
        raise ValueError(f"theta must be in (0, 1], got {theta}")
    record = network.record(images) if record is None else record
    predictions = record.logits.argmax(dim=1)
    layers = network.layers
    neurons: list[tuple[int, Targets]] = []
    synapses: list[tuple] = []  # layer, input layer, image, out, inn, weight
    if kind == "svd":
        for index, basis in svd_bases(network).items():
            neurons.append((index, svd_neurons(layers[index], record.heads[index], theta, basis)))
    else:
        pending: dict[int, list[Targets]] = {i: [] for i in range(len(layers))}
        top = layers[-1].index
        pending[top].append(
            Targets(torch.arange(len(images), device=images.device), predictions, images.new_ones(len(images)))
        )
        for layer in reversed(layers):
            if layer.op == "input":
                continue
            if tracing == "layerwise":
                own = influential_neurons(
                    record.heads[layer.index], record.tails[layer.index], kind, theta, channel_norm
                )
                neurons.append((layer.index, own))
                targets = own
            else:
                targets = _merge(pending[layer.index])
                if targets is None:
                    continue
                neurons.append((layer.index, targets))
            found = contributions(layer, record, targets, kind, theta)
            for slot, source in enumerate(layer.inputs):
                rows, inn, weight = found.row, found.inn, found.weight
                if len(layer.inputs) > 1:
                    chosen = found.slot == slot
                    rows, inn, weight = rows[chosen], inn[chosen], weight[chosen]
                image = targets.image[rows]
                synapses.append((layer.index, source, image, targets.neuron[rows], inn, weight))
                if tracing == "backward":
                    pending[source].append(Targets(image, inn, targets.weight[rows] * weight))
                else:
                    neurons.append((source, Targets(image, inn, weight.new_zeros(len(rows)))))
        reached_input = _merge(pending[0]) if tracing == "backward" else None
        if reached_input is not None:
            neurons.append((0, reached_input))
    return _profile_set(network, record, labels, predictions, kind, tracing, theta, neurons, synapses)


def keep_freed_memory() -> None:
    """Have the C library's malloc keep freed memory for the process's next allocations.

    A profile keeps every head and tail of a batch and makes large temporary terms. By default glibc
    gives large blocks back to the system when they are freed, and the next batch faults every page
    in again. Recording cost 1.18-1.36 forward passes; with this and the recorder's out-of-place
    ReLUs, 0.92-1.03 (resnet18, resnet34, vgg11; 224 px, one thread). It speeds up the forward pass
    too (resnet18: 41 ms an image against 47 ms). Large blocks come from the heap and the heap is not trimmed,
    so resident memory stays at the process's peak between batches. Nothing happens where the C
    library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 2**31 - 1)


def svd_bases(network: Network) -> dict[int, torch.Tensor]:
    """U of every Conv2d/Linear layer by layer index, computed on the first call and kept on ``network``."""
    for layer in network.layers:
        if layer.op in ("conv", "linear") and layer.index not in network.svd_bases:
            network.svd_bases[layer.index] = svd_basis(layer.module)
    return network.svd_bases


def _merge(parts: list[Targets]) -> Targets | None:
    """One row per (image, neuron), weights summed."""
    if not parts:
        return None
    image = torch.cat([p.image for p in parts])
    if len(image) == 0:
        return None
    return Targets(*sum_by_pair(image, torch.cat([p.neuron for p in parts]), torch.cat([p.weight for p in parts])))


def _profile_set(network, record, labels, predictions, kind, tracing, theta, neurons, synapses) -> ProfileSet:
    merged = {}
    for layer, targets in neurons:
        merged.setdefault(layer, []).append(targets)
    neuron_parts, neuron_weights = [], []
    for layer in sorted(merged):
        m = _merge(merged[layer])
        if m is not None:
            neuron_parts.append((m.image, layer, m.neuron))
            neuron_weights.append(m.weight)
    neuron_table, neuron_weights = sorted_table(neuron_parts, neuron_weights, 3)
    synapse_table, synapse_weights = sorted_table(
        [(image, layer, out, source, inn) for layer, source, image, out, inn, _ in synapses],
        [weight for *_, weight in synapses],
        5,
    )
    return ProfileSet(
        kind=kind,
        tracing=tracing,
        theta=theta,
        layer_names=tuple(layer.name for layer in network.layers),
        layer_ops=tuple(layer.op for layer in network.layers),
        layer_shapes=_layer_shapes(record, len(network.layers)),
        labels=np.asarray(labels, np.int64),
        predictions=predictions.cpu().numpy().astype(np.int64),
        neurons=neuron_table,
        neuron_weights=neuron_weights,
        synapses=synapse_table,
        synapse_weights=synapse_weights,
    )


def sorted_table(
    parts: Sequence[Sequence[torch.Tensor | int]], weights: Sequence[torch.Tensor], n_columns: int
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a table given in parts, sorted lexicographically, and their weights in the same order.

    ``parts``: per part ``n_columns`` columns of non-negative integers, each a tensor (R_p,) or an
    int that every row of the part shares; ``weights``: per part (R_p,). Returns the table (R, n_columns)
    int64 and the weights (R,) float32. The columns are packed into as few int64 keys as their
    ranges allow (one for every profile table here), the keys are sorted by numpy's stable sort,
    whose timsort takes the sorted runs the tracer makes rows in at little more than a copy (four
    times faster than torch's sort on resnet34's element synapses), and the sorted columns are
    unpacked from the sorted keys rather than gathered.
    """
    counts = [len(w) for w in weights]
    columns = [[c.cpu().numpy() if isinstance(c, torch.Tensor) else c for c in part] for part in parts]
    widths = [
        max((int(np.max(part[i], initial=0)) for part in columns), default=0).bit_length() for i in range(n_columns)
    ]
    groups: list[list[int]] = []  # the columns packed into each key, most significant first
    for i, width in enumerate(widths):
        if groups and sum(widths[j] for j in groups[-1]) + width <= 62:
            groups[-1].append(i)
        else:
            groups.append([i])
    keys = []
    for group in groups:
        packed = []
        for part, rows in zip(columns, counts):
            key = np.zeros(rows, np.int64)
            for i in group:
                key <<= widths[i]
                key |= part[i]
            packed.append(key)
        keys.append(np.concatenate(packed) if packed else np.zeros(0, np.int64))
    order = np.lexsort(keys[::-1])
    table = np.empty((len(order), n_columns), np.int64)
    for key, group in zip(keys, groups):
        key = key[order]
        for i in reversed(group):
            table[:, i] = key & ((1 << widths[i]) - 1)
            key >>= widths[i]
    weight = torch.cat(list(weights)).cpu().to(torch.float32).numpy() if weights else np.zeros(0, np.float32)
    return table, weight[order]


def profile_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` images of every class (all of a class that has fewer), seeded."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        chosen.append(rng.choice(members, min(per_class, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def main(argv: list[str] | None = None) -> None:
    import argparse
    import json
    import sys
    from pathlib import Path

    from cnntopo.data import load_dataset, normalize, read_class_folders
    from cnntopo.entrypoint import progress_bar
    from cnntopo.io import atomic_savez, write_table
    from cnntopo.networks.devices import add_device_options, device_from_options
    from cnntopo.networks.models import load_model
    from cnntopo.networks.torchvision_models import load_torchvision_model
    from cnntopo.profile.network import trace_network
    from cnntopo.profile.profiles import save_profiles

    parser = argparse.ArgumentParser(prog="python -m cnntopo.profile.profiler", description=__doc__)
    parser.add_argument("--weights", type=Path, help="a project weights file (.pt), or the --arch model's state_dict")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="JSON of the config's data section: profile its test split")
    source.add_argument("--image-folder", type=Path, help="profile this <class>/<image> tree (needs --arch)")
    parser.add_argument(
        "--arch", help="a torchvision classifier; without --weights its file under $TORCH_HOME/hub/checkpoints/"
    )
    parser.add_argument("--images-per-class", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0, help="fixes which test images are profiled")
    parser.add_argument("--kinds", nargs="+", choices=NEURON_KINDS, required=True)
    parser.add_argument("--theta", type=float, default=0.1)
    parser.add_argument("--tracing", choices=TRACING_MODES, default="backward")
    parser.add_argument("--channel-norm", type=float, default=None, help="score channels by this p-norm, not the max")
    parser.add_argument("--batch", type=int, default=32, help="images per forward pass (bounds memory)")
    parser.add_argument("--out-dir", type=Path, required=True, help="writes KIND.npz, images.npz, profiles.csv")
    add_device_options(parser)
    args = parser.parse_args(argv)
    if (args.image_folder is None) != (args.arch is None):
        parser.error("--image-folder goes with --arch (a torchvision model); --data with a project --weights file")
    if args.arch is None and args.weights is None:
        parser.error("--weights is required for a project model")
    device = device_from_options(args)
    keep_freed_memory()

    if args.arch is not None:
        model, info = load_torchvision_model(args.arch, args.weights)
        pre = info.preprocessing
        test_set = read_class_folders(args.image_folder, pre.crop, pre.resize, pre.mean, pre.std)
        described = f"torchvision {args.arch} ({info.weights})"
        predicted = info.output_names(test_set.classes)
    else:
        test_set = load_dataset(json.loads(args.data), train=False)
        model, spec, _ = load_model(args.weights)
        described = f"{args.weights} ({spec.arch})"
        predicted = list(test_set.classes)  # the project's models are trained on the data's classes
    network = trace_network(model.to(device))
    chosen = profile_subset(test_set.labels, args.images_per_class, args.seed)
    sets: dict[str, list[ProfileSet]] = {kind: [] for kind in args.kinds}
    for start in progress_bar(range(0, len(chosen), args.batch), desc="profiling", unit="batch"):
        index = chosen[start : start + args.batch]
        x = normalize(torch.from_numpy(test_set.images[index]), test_set.mean, test_set.std).to(device)
        record = network.record(x)
        for kind in args.kinds:
            sets[kind].append(
                profile_images(
                    network, x, test_set.labels[index], kind, args.theta, args.tracing, args.channel_norm, record
                )
            )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for kind, parts in sets.items():
        merged = concatenate_sets(parts)
        save_profiles(args.out_dir / f"{kind}.npz", merged)
        neurons = np.bincount(merged.neurons[:, 0], minlength=len(merged))
        synapses = np.bincount(merged.synapses[:, 0], minlength=len(merged))
        rows += [
            {
                "kind": kind,
                "image": int(chosen[i]),
                "label": int(merged.labels[i]),
                "prediction": int(merged.predictions[i]),
                "neurons": int(neurons[i]),
                "synapses": int(synapses[i]),
            }
            for i in range(len(merged))
        ]
    atomic_savez(
        args.out_dir / "images.npz",
        images=test_set.images[chosen],
        labels=test_set.labels[chosen],
        index=chosen,
        classes=np.array(test_set.classes),
        prediction_classes=np.array(predicted),
    )
    write_table(args.out_dir / "profiles.csv", rows)
    print(f"profiled {len(chosen)} images of {described} on {device}, kinds {args.kinds}", file=sys.stderr)


if __name__ == "__main__":
    run_step(main)
