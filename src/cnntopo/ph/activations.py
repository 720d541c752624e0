"""Extract top-l2 point clouds of every Conv2d layer of a trained model into a Zarr store.

For each of B random batches of N test images (the same images for every model,
fixed by ``data_seed``), the raw Conv2d outputs (before BatchNorm and ReLU) are
reduced on the fly to one c-vector per image by top-l2 sampling. Only one
extraction batch of full activation tensors is ever in memory, whatever N and B.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnntopo.data import ImageSet, dataset_fingerprint, load_dataset, normalize
from cnntopo.layers import LayerInfo
from cnntopo.models import load_model, model_layers
from cnntopo.ph.sampling import top_l2_sample
from cnntopo.provenance import add_device_options, device_from_options, progress_bar
from cnntopo.store import StoreWriter, layer_key


def choose_image_batches(n_available: int, n_images: int, batches: int, data_seed: int) -> np.ndarray:
    """``(batches, n_images)`` dataset indices: each row a random subset without repeats, fixed by ``data_seed``."""
    if n_images > n_available:
        raise ValueError(f"n_images = {n_images} exceeds the {n_available} images available in the test split")
    rng = np.random.default_rng(data_seed)
    return np.stack([rng.permutation(n_available)[:n_images] for _ in range(batches)])


class TopL2Recorder:
    """Forward hooks that keep, for each hooked layer, the top-l2 sample of its last output as float32 numpy."""

    def __init__(self, model: nn.Module, layers: list[LayerInfo]) -> None:
        modules = dict(model.named_modules())
        self.samples: dict[str, np.ndarray] = {}
        self.handles = [
            modules[layer.name].register_forward_hook(self._hook(layer_key(layer.index))) for layer in layers
        ]

    def _hook(self, key: str):
        def record(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            self.samples[key] = top_l2_sample(output.float()).cpu().numpy()

        return record

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def extract_top_l2_store(
    model: nn.Module,
    images: ImageSet,
    image_index: np.ndarray,
    out: Path,
    attrs: dict,
    device: torch.device,
    extract_batch: int = 256,
    progress: bool = True,
) -> Path:
    """Write the store ``out`` holding ``(B, N, c)`` top-l2 clouds of every Conv2d layer of ``model``."""
    model = model.to(device).eval()
    layers = model_layers(model, int(images.images.shape[1]), "conv")
    recorder = TopL2Recorder(model, layers)
    batches, rows = image_index.shape
    try:
        arrays = {"image_index": image_index, "label": images.labels[image_index]}
        with StoreWriter(out, layers, batches, rows, arrays, attrs) as writer, torch.no_grad():
            bar = progress_bar(total=batches * rows, desc=f"top-l2 {out.name}", unit="img", disable=not progress)
            for b in range(batches):
                for start in range(0, rows, extract_batch):
                    index = image_index[b, start : start + extract_batch]
                    x = normalize(torch.from_numpy(images.images[index]).to(device), images.mean, images.std)
                    model(x)
                    writer.append(recorder.samples)
                    bar.update(len(index))
            bar.close()
            return writer.commit()
    finally:
        recorder.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.activations", description=__doc__)
    parser.add_argument("--weights", type=Path, required=True, help="trained model (.pt) from cnntopo.train")
    parser.add_argument("--data", required=True, help="JSON of the config's data section")
    parser.add_argument("--n-images", type=int, required=True, help="N: images per batch")
    parser.add_argument("--batches", type=int, required=True, help="B: random batches of N test images")
    parser.add_argument("--data-seed", type=int, required=True, help="fixes which images form each batch")
    parser.add_argument("--extract-batch", type=int, default=256, help="images per forward pass (bounds memory)")
    parser.add_argument("--config-digest", default="", help="digest of the settings, stored in the attributes")
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
    path = extract_top_l2_store(model, test_set, image_index, args.out, attrs, device, args.extract_batch)
    print(f"wrote {path}: {args.batches} batches x {args.n_images} images, seed {seed}", file=sys.stderr)


if __name__ == "__main__":
    main()
