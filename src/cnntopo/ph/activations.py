"""Extract the point clouds of every Conv2d layer of a trained model into a Zarr store (of the
feature nodes a user names, for their own torchvision models: ``--arch``, ``--nodes``).

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
from cnntopo.entrypoint import progress_bar, run_step
from cnntopo.networks.devices import add_device_options, device_from_options
from cnntopo.networks.feature_nodes import feature_extractor, node_shapes
from cnntopo.networks.layers import LayerInfo
from cnntopo.networks.models import load_model, model_layers
from cnntopo.networks.torchvision_compat import torchvision_submodule
from cnntopo.networks.torchvision_models import load_torchvision_model
from cnntopo.ph.sampling import REPRESENTATIONS, at_positions, mean_pool, top_l2_positions
from cnntopo.store import StoreWriter, cloud_key, layer_key, open_store


def choose_image_batches(n_available: int, n_images: int, batches: int, data_seed: int) -> np.ndarray:
    """``(batches, n_images)`` dataset indices: each row a random subset without repeats, fixed by ``data_seed``."""
    if n_images > n_available:
        raise ValueError(f"n_images = {n_images} exceeds the {n_available} images available in the test split")
    rng = np.random.default_rng(data_seed)
    return np.stack([rng.permutation(n_available)[:n_images] for _ in range(batches)])


class CloudRecorder:
    """Keeps, for each layer, the clouds of its last output as float32 numpy: ``samples[cloud_key(i, r)]``
    per representation r, and ``positions[layer_key(i)]`` (top-l2, row-major). ``forward(x)`` runs the
    model: forward hooks on the modules named by ``layers``, or, given ``nodes``, a feature extractor
    of those nodes (layer i = nodes[i]).

    For ``shared_position``, set ``shared[layer_key(i)]`` to the reference positions of the coming
    batch first; where none are set, the model's own top-l2 positions are used.
    """

    def __init__(
        self,
        model: nn.Module,
        layers: list[LayerInfo],
        representations: Sequence[str],
        nodes: Sequence[str] | None = None,
    ) -> None:
        unknown = set(representations) - set(REPRESENTATIONS)
        if unknown:
            raise ValueError(f"unknown representations {sorted(unknown)}; known: {REPRESENTATIONS}")
        self.representations = [r for r in representations if r != "top_l2"]
        self.samples: dict[str, np.ndarray] = {}
        self.positions: dict[str, np.ndarray] = {}
        self.shared: dict[str, torch.Tensor] = {}
        self.handles = []
        if nodes is None:
            modules = dict(model.named_modules())
            self.handles = [
                modules[layer.name].register_forward_hook(
                    lambda _m, _i, output, index=layer.index: self.record(index, output)
                )
                for layer in layers
            ]
            self.forward = model
        else:
            extractor = feature_extractor(model, nodes)

            def forward(x: torch.Tensor) -> None:
                outputs = extractor(x)
                for index, node in enumerate(nodes):
                    self.record(index, outputs[node])

            self.forward = forward

    def record(self, index: int, output: torch.Tensor) -> None:
        """Keep the clouds of layer ``index``'s output ``(n, c, h, w)``."""
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
    nodes: Sequence[str] | None = None,
) -> Path:
    """Write the store ``out`` holding ``(B, N, c)`` clouds of every Conv2d layer of ``model`` (of
    its feature ``nodes``, if given: :mod:`cnntopo.networks.feature_nodes`).

    ``reference_positions`` (``{layer key: (B, N)}``, from the position-reference model's store)
    are the positions of ``shared_position``; without them the model is its own reference.
    """
    model = model.to(device).eval()
    side = int(images.images.shape[1])
    if nodes is None:
        layers = model_layers(model, side, "conv")
    else:
        shapes = node_shapes(model, nodes, side)
        layers = [LayerInfo(i, node, *shapes[node]) for i, node in enumerate(nodes)]
    recorder = CloudRecorder(model, layers, representations, nodes)
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
                    recorder.forward(x)
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
    parser.add_argument("--weights", type=Path, help="trained model (.pt) from cnntopo.train, or the --arch state_dict")
    parser.add_argument("--arch", help="a torchvision classifier (your own models): needs --nodes")
    parser.add_argument("--nodes", nargs="+", help="--arch: the layers, by feature-extraction node name")
    parser.add_argument("--init-seed", type=int, help="--arch without --weights: the random initialisation of seed S")
    parser.add_argument("--seed", type=int, help="--arch: the model's seed, stored in the attributes")
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
        sys.exit(f"error: {error} (lower ph.activations.n_images in the config)")
    if args.arch is None:
        if args.weights is None:
            parser.error("--weights is required for a project model")
        model, spec, info = load_model(args.weights, device=str(device))
        seed = info.get("seed")
        described = {"arch": spec.arch, "width": spec.width, "activation": "conv2d_output_before_bn"}
    else:
        if not args.nodes or (args.weights is None) == (args.init_seed is None):
            parser.error("--arch needs --nodes and one of --weights (trained) and --init-seed (untrained)")
        if args.weights is not None:
            model, _ = load_torchvision_model(args.arch, args.weights)
        else:
            torch.manual_seed(args.init_seed)
            model = torchvision_submodule("models").get_model(args.arch, weights=None)
        seed = args.seed
        described = {"arch": args.arch, "width": None, "activation": "feature nodes: " + " ".join(args.nodes)}
    attrs = {
        "seed": seed,
        "weights": str(args.weights),
        **described,
        "sampling": "top_l2_p1",
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
        model,
        test_set,
        image_index,
        args.out,
        attrs,
        device,
        args.extract_batch,
        True,
        args.representations,
        reference,
        args.nodes if args.arch is not None else None,
    )
    print(f"wrote {path}: {args.batches} batches x {args.n_images} images, seed {seed}", file=sys.stderr)


if __name__ == "__main__":
    run_step(main)
