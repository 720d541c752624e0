"""The profile type (docs/method.md, Profiles): sparse neurons and synapses per layer.

A :class:`Profile` holds two tables of one input or of a sum of inputs:
- neurons: ``layer`` (int), ``neuron`` (int, the index in the layer's neuron space of its
  kind), ``count`` (inputs it appears in) and ``weight`` (count-weighted mean);
- synapses: ``layer`` and ``out`` (the neuron it feeds), ``in_layer`` and ``inn`` (the
  contributing neuron), ``count`` and ``weight``.
Profiles add (counts add, weights become count-weighted means), an empty profile is the
identity of ``+`` (so ``sum(profiles, Profile.empty(...))`` works), and a class profile is the
sum over the class's images with their number in ``num_inputs``.

:class:`ProfileSet` is what the profiler returns and what is stored: the same tables with an
``image`` column, for many inputs of one network and one neuron kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import atomic_savez

NEURON_KINDS = ("element", "channel", "spatial", "svd")
TRACING_MODES = ("backward", "layerwise")

NEURON_COLUMNS = ("layer", "neuron")
SYNAPSE_COLUMNS = ("layer", "out", "in_layer", "inn")


def _group(keys: np.ndarray, counts: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique rows of ``keys`` (n, k) with their counts summed and weights count-weighted."""
    if len(keys) == 0:
        return keys.reshape(0, keys.shape[1]), counts[:0], weights[:0]
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    total = np.bincount(inverse, weights=counts, minlength=len(unique))
    weighted = np.bincount(inverse, weights=counts * weights, minlength=len(unique))
    return unique, total.astype(np.int64), weighted / total


@dataclass
class Profile:
    """Neurons and synapses of one input, or of a sum of ``num_inputs`` inputs."""

    kind: str
    layer_names: tuple[str, ...]
    neurons: np.ndarray  # (n, 2) int64: layer, neuron
    neuron_counts: np.ndarray  # (n,) int64
    neuron_weights: np.ndarray  # (n,) float64
    synapses: np.ndarray  # (s, 4) int64: layer, out, in_layer, inn
    synapse_counts: np.ndarray  # (s,) int64
    synapse_weights: np.ndarray  # (s,) float64
    num_inputs: int = 1

    @classmethod
    def empty(cls, kind: str, layer_names: Sequence[str]) -> Profile:
        return cls(
            kind,
            tuple(layer_names),
            np.zeros((0, 2), np.int64),
            np.zeros(0, np.int64),
            np.zeros(0),
            np.zeros((0, 4), np.int64),
            np.zeros(0, np.int64),
            np.zeros(0),
            num_inputs=0,
        )

    def __add__(self, other: Profile) -> Profile:
        if (other.kind, other.layer_names) != (self.kind, self.layer_names):
            raise ValueError(f"cannot add a {other.kind} profile of another network to a {self.kind} profile")
        neurons, n_counts, n_weights = _group(
            np.concatenate([self.neurons, other.neurons]),
            np.concatenate([self.neuron_counts, other.neuron_counts]),
            np.concatenate([self.neuron_weights, other.neuron_weights]),
        )
        synapses, s_counts, s_weights = _group(
            np.concatenate([self.synapses, other.synapses]),
            np.concatenate([self.synapse_counts, other.synapse_counts]),
            np.concatenate([self.synapse_weights, other.synapse_weights]),
        )
        return Profile(
            self.kind,
            self.layer_names,
            neurons,
            n_counts,
            n_weights,
            synapses,
            s_counts,
            s_weights,
            self.num_inputs + other.num_inputs,
        )

    def layer_neurons(self, layer: int) -> np.ndarray:
        """Sorted neuron indices of one layer."""
        return np.sort(self.neurons[self.neurons[:, 0] == layer, 1])

    def neuron_count_per_layer(self) -> np.ndarray:
        return np.bincount(self.neurons[:, 0], minlength=len(self.layer_names))


def jaccard(a: Profile, b: Profile) -> tuple[np.ndarray, float]:
    """Jaccard index (IoU) of the neuron sets: per layer (NaN where both are empty) and overall."""
    per_layer = np.full(len(a.layer_names), np.nan)
    for layer in range(len(a.layer_names)):
        x, y = a.layer_neurons(layer), b.layer_neurons(layer)
        union = np.union1d(x, y).size
        if union:
            per_layer[layer] = np.intersect1d(x, y).size / union
    keys_a = {tuple(row) for row in a.neurons}
    keys_b = {tuple(row) for row in b.neurons}
    union = len(keys_a | keys_b)
    return per_layer, (len(keys_a & keys_b) / union) if union else float("nan")


@dataclass
class ProfileSet:
    """Profiles of many inputs of one network and kind, as flat tables with an ``image`` column.

    ``neurons``: (n, 3) int64 image, layer, neuron; ``synapses``: (s, 5) int64 image, layer,
    out, in_layer, inn. ``layer_shapes``: per layer the tail's shape, padded with 0 to 3 axes.
    """

    kind: str
    tracing: str
    theta: float
    layer_names: tuple[str, ...]
    layer_ops: tuple[str, ...]
    layer_shapes: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    neurons: np.ndarray
    neuron_weights: np.ndarray
    synapses: np.ndarray
    synapse_weights: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def profile(self, image: int) -> Profile:
        """The profile of one input (every count 1)."""
        n = self.neurons[:, 0] == image
        s = self.synapses[:, 0] == image
        return Profile(
            self.kind,
            self.layer_names,
            self.neurons[n, 1:],
            np.ones(int(n.sum()), np.int64),
            self.neuron_weights[n].astype(np.float64),
            self.synapses[s, 1:],
            np.ones(int(s.sum()), np.int64),
            self.synapse_weights[s].astype(np.float64),
        )

    def profiles(self, images: Iterable[int] | None = None) -> list[Profile]:
        return [self.profile(i) for i in (range(len(self)) if images is None else images)]

    def class_profile(self, label: int) -> Profile:
        """Sum of the profiles of the inputs labelled ``label``."""
        total = Profile.empty(self.kind, self.layer_names)
        for image in np.flatnonzero(self.labels == label):
            total = total + self.profile(int(image))
        return total


def concatenate_sets(parts: list[ProfileSet]) -> ProfileSet:
    """One :class:`ProfileSet` of consecutive batches (image numbers offset)."""
    offsets = np.cumsum([0] + [len(p) for p in parts[:-1]])
    first = parts[0]
    return ProfileSet(
        kind=first.kind,
        tracing=first.tracing,
        theta=first.theta,
        layer_names=first.layer_names,
        layer_ops=first.layer_ops,
        layer_shapes=first.layer_shapes,
        labels=np.concatenate([p.labels for p in parts]),
        predictions=np.concatenate([p.predictions for p in parts]),
        neurons=np.concatenate([p.neurons + [o, 0, 0] for p, o in zip(parts, offsets)]),
        neuron_weights=np.concatenate([p.neuron_weights for p in parts]),
        synapses=np.concatenate([p.synapses + [o, 0, 0, 0, 0] for p, o in zip(parts, offsets)]),
        synapse_weights=np.concatenate([p.synapse_weights for p in parts]),
    )


def save_profiles(path: str | Path, profiles: ProfileSet) -> None:
    """Write a :class:`ProfileSet` as one ``.npz``, one array per field (the format: docs/outputs.md, Profiles)."""
    atomic_savez(path, compressed=True, **{f.name: np.asarray(getattr(profiles, f.name)) for f in fields(ProfileSet)})


def load_profiles(path: str | Path) -> ProfileSet:
    """Read a :class:`ProfileSet` written by :func:`save_profiles`."""
    with np.load(path, allow_pickle=False) as data:
        stored = {f.name: data[f.name] for f in fields(ProfileSet)}
    return ProfileSet(
        **{
            **stored,
            "kind": str(stored["kind"]),
            "tracing": str(stored["tracing"]),
            "theta": float(stored["theta"]),
            "layer_names": tuple(str(n) for n in stored["layer_names"]),
            "layer_ops": tuple(str(n) for n in stored["layer_ops"]),
        }
    )


def class_jaccard(profiles: ProfileSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classes present (k,), their image counts (k,), and the overall Jaccard matrix (k, k) of class profiles."""
    classes = np.unique(profiles.labels)
    summed = [profiles.class_profile(int(c)) for c in classes]
    matrix = np.ones((len(classes), len(classes)))
    for a in range(len(classes)):
        for b in range(a + 1, len(classes)):
            matrix[a, b] = matrix[b, a] = jaccard(summed[a], summed[b])[1]
    return classes, np.array([p.num_inputs for p in summed]), matrix


def main(argv: list[str] | None = None) -> None:
    import argparse

    from cnntopo.io import write_table
    from cnntopo.plotting import add_figure_outputs, save_figure, use_file_backend

    parser = argparse.ArgumentParser(prog="python -m cnntopo.profile.profiles", description=__doc__)
    parser.add_argument("--profiles", type=Path, required=True, help="KIND.npz from cnntopo.profile.profiler")
    parser.add_argument("--class-names-from", type=Path, help="images.npz of the profiled model (its class names)")
    parser.add_argument("--title", default="")
    add_figure_outputs(parser)
    args = parser.parse_args(argv)
    use_file_backend()
    import matplotlib.pyplot as plt

    profiles = load_profiles(args.profiles)
    classes, counts, matrix = class_jaccard(profiles)
    all_names = None
    if args.class_names_from:
        with np.load(args.class_names_from) as images:
            all_names = [str(c) for c in images["classes"]]
    names = [all_names[c] if all_names else str(c) for c in classes]
    write_table(
        args.table,
        [
            {"class": n, "images": int(k), **{f"jaccard_{m}": float(v) for m, v in zip(names, row)}}
            for n, k, row in zip(names, counts, matrix)
        ],
    )
    fig, ax = plt.subplots(figsize=(5.2, 4.4), constrained_layout=True)
    shown = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=90 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(len(names)), names)
    for a in range(len(names)):
        for b in range(len(names)):
            ax.text(
                b,
                a,
                f"{matrix[a, b]:.2f}",
                ha="center",
                va="center",
                fontsize=6,
                color="black" if matrix[a, b] > 0.6 else "white",
            )
    fig.colorbar(shown, ax=ax, label="Jaccard index of the class profiles' neuron sets")
    ax.set_title(
        f"{args.title}\n{profiles.kind} neurons, {profiles.tracing} tracing, theta = {profiles.theta:g}", fontsize=9
    )
    save_figure(fig, args.out)


if __name__ == "__main__":
    run_step(main)
