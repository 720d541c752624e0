"""Extract the point clouds of every Conv2d layer of a trained model into a Zarr store.

For each of B random batches of N test images (the same images for every model,
fixed by ``data_seed``), the raw Conv2d outputs (before BatchNorm and ReLU) are
reduced on the fly to one c-vector per image under each representation asked for
(:mod:`cnntopo.ph.sampling`): ``top_l2`` always (the store's own clouds, ``layerLL``),
``mean_pool`` and ``shared_position`` beside it (``layerLL_mean_pool``, ...). The store
also records each image's top-l2 position per layer (``layerLL_position``, (B, N)), which
is what ``shared_position`` reads from the position-reference model's store. Only one
extraction batch of full activation tensors is ever in memory, whatever N and B.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnntopo.data import ImageSet, dataset_fingerprint, load_dataset, normalize
from cnntopo.layers import LayerInfo
from cnntopo.models import load_model, model_layers
from cnntopo.ph.sampling import REPRESENTATIONS, at_positions, mean_pool, top_l2_positions
from cnntopo.provenance import add_device_options, device_from_options, progress_bar
from cnntopo.store import StoreWriter, cloud_key, layer_key, open_store


def choose_image_batches(n_available: int, n_images: int, batches: int, data_seed: int) -> np.ndarray:
    """``(batches, n_images)`` dataset indices: each row a random subset without repeats, fixed by ``data_seed``."""
    if n_images > n_available:
        raise ValueError(f"n_images = {n_images} exceeds the {n_available} images available in the test split")
    rng = np.random.default_rng(data_seed)
    return np.stack([rng.permutation(n_available)[:n_images] for _ in range(batches)])


class CloudRecorder:
    """Forward hooks that keep, for each hooked layer, the clouds of its last output as float32 numpy:
    ``samples[cloud_key(i, r)]`` per representation r, and ``positions[layer_key(i)]`` (top-l2, row-major).

    For ``shared_position``, set ``shared[layer_key(i)]`` to the reference positions of the coming
    batch first; where none are set, the model's own top-l2 positions are used.
    """

    def __init__(self, model: nn.Module, layers: list[LayerInfo], representations: Sequence[str]) -> None:
        unknown = set(representations) - set(REPRESENTATIONS)
        if unknown:
            raise ValueError(f"unknown representations {sorted(unknown)}; known: {REPRESENTATIONS}")
        modules = dict(model.named_modules())
        self.representations = [r for r in representations if r != "top_l2"]
        self.samples: dict[str, np.ndarray] = {}
        self.positions: dict[str, np.ndarray] = {}
        self.shared: dict[str, torch.Tensor] = {}
        self.handles = [modules[layer.name].register_forward_hook(self._hook(layer.index)) for layer in layers]

    def _hook(self, index: int):
        def record(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            output = output.float()
            positions = top_l2_positions(output)
            self.positions[layer_key(index)] = positions.cpu().numpy()
            self.samples[cloud_key(index)] = at_positions(output, positions).cpu().numpy()
            for representation in self.representations:
                if representation == "mean_pool":
                    cloud = mean_pool(output)
                else:  # without reference positions the model is its own reference
                    shared = self.shared.get(layer_key(index))
                    cloud = at_positions(output, positions if shared is None else shared.to(output.device))
                self.samples[cloud_key(index, representation)] = cloud.cpu().numpy()

        return record

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def extract_layer_clouds(
    model: nn.Module,
    images: ImageSet,
    image_index: np.ndarray,
    out: Path,
    attrs: dict,
    device: torch.device,
    extract_batch: int = 256,
    progress: bool = True,
    representations: Sequence[str] = ("top_l2",),
    reference_positions: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write the store ``out`` holding ``(B, N, c)`` clouds of every Conv2d layer of ``model``.

    ``reference_positions`` (``{layer key: (B, N)}``, from the position-reference model's store)
    are the positions of ``shared_position``; without them the model is its own reference.
    """
    model = model.to(device).eval()
    layers = model_layers(model, int(images.images.shape[1]), "conv")
    recorder = CloudRecorder(model, layers, representations)
    batches, rows = image_index.shape
    positions = {layer_key(l.index): np.zeros((batches, rows), dtype=np.int64) for l in layers}
    try:
        arrays = {"image_index": image_index, "label": images.labels[image_index]}
        extra = recorder.representations
        attrs = {**attrs, "representation": "top_l2"}
        with StoreWriter(out, layers, batches, rows, arrays, attrs, extra) as writer, torch.no_grad():
            bar = progress_bar(total=batches * rows, desc=f"clouds {out.name}", unit="img", disable=not progress)
            for b in range(batches):
                for start in range(0, rows, extract_batch):
                    index = image_index[b, start : start + extract_batch]
                    x = normalize(torch.from_numpy(images.images[index]).to(device), images.mean, images.std)
                    if reference_positions is not None:
                        recorder.shared = {
                            key: torch.from_numpy(np.ascontiguousarray(p[b, start : start + len(index)]))
                            for key, p in reference_positions.items()
                        }
                    model(x)
                    writer.append(recorder.samples)
                    for key, p in recorder.positions.items():
                        positions[key][b, start : start + len(index)] = p
                    bar.update(len(index))
            bar.close()
            for key, p in positions.items():
                writer.put_array(f"{key}_position", p)
            return writer.commit()
    finally:
        recorder.close()


def reference_positions_of(store_path: Path, image_index: np.ndarray) -> dict[str, np.ndarray]:
    """The top-l2 positions recorded in the position-reference model's store, checked to be of the same images."""
    store = open_store(store_path)
    if not np.array_equal(store.image_index(), image_index):
        raise ValueError(f"{store_path} holds other images than this extraction: its batches differ")
    return {key: store.array(f"{key}_position") for key in store.layer_keys}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.activations", description=__doc__)
    parser.add_argument("--weights", type=Path, required=True, help="trained model (.pt) from cnntopo.train")
    parser.add_argument("--data", required=True, help="JSON of the config's data section")
    parser.add_argument("--n-images", type=int, required=True, help="N: images per batch")
    parser.add_argument("--batches", type=int, required=True, help="B: random batches of N test images")
    parser.add_argument("--data-seed", type=int, required=True, help="fixes which images form each batch")
    parser.add_argument("--extract-batch", type=int, default=256, help="images per forward pass (bounds memory)")
    parser.add_argument("--config-digest", default="", help="digest of the settings, stored in the attributes")
    parser.add_argument(
        "--representations", nargs="+", choices=REPRESENTATIONS, default=["top_l2"], help="clouds to store"
    )
    parser.add_argument(
        "--position-reference",
        type=Path,
        default=None,
        help="shared_position: the store of the model whose top-l2 positions every model uses (default: this one)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output: Zarr store directory")
    add_device_options(parser)
    args = parser.parse_args(argv)

    device = device_from_options(args)
    test_set = load_dataset(json.loads(args.data), train=False)
    try:
        image_index = choose_image_batches(len(test_set), args.n_images, args.batches, args.data_seed)
    except ValueError as error:
        sys.exit(f"error: {error} (lower the config's activations.n_images)")
    model, spec, info = load_model(args.weights, device=str(device))
    seed = info.get("seed")
    attrs = {
        "seed": seed,
        "weights": str(args.weights),
        "arch": spec.arch,
        "width": spec.width,
        "sampling": "top_l2_p1",
        "activation": "conv2d_output_before_bn",
        "data_seed": args.data_seed,
        "data_fingerprint": dataset_fingerprint(test_set),
        "config_digest": args.config_digest,
        "classes": list(test_set.classes),
    }
    reference = None
    if "shared_position" in args.representations and args.position_reference is not None:
        reference = reference_positions_of(args.position_reference, image_index)
        attrs["position_reference"] = str(args.position_reference)
    path = extract_layer_clouds(
        model, test_set, image_index, args.out, attrs, device, args.extract_batch, True, args.representations, reference
    )
    print(f"wrote {path}: {args.batches} batches x {args.n_images} images, seed {seed}", file=sys.stderr)


if __name__ == "__main__":
    main()
