"""Training throughput (images/s) of the paper's recipe on synthetic CIFAR-shaped tensors.

Runs the project's own training loop (cnntopo.train.train_seed_model: augmentation,
triangular schedule, AMP + channels_last on CUDA) for one epoch over random 32x32
RGB images, and reports images per second of training (the per-epoch test pass
over a 64-image test set is included and negligible).

    python benchmarks/train_throughput.py --device cpu --widths 16 64 --images 512
    python benchmarks/train_throughput.py --device cuda --widths 64 --images 50000 --batch-size 1024
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cnntopo.data import CIFAR10_MEAN, CIFAR10_STD, ImageSet
from cnntopo.provenance import library_versions, resolve_device
from cnntopo.train import Recipe, train_seed_model
from summary import record

PAPER_RECIPE = dict(lr_peak=1.0, lr_peak_epoch=5, momentum=0.9, weight_decay=5e-4, flip=True, translate=2, cutout=8)


def synthetic_cifar(n: int, seed: int) -> ImageSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return ImageSet(
        images, rng.integers(0, 10, n).astype(np.int64), tuple(map(str, range(10))), CIFAR10_MEAN, CIFAR10_STD
    )


def measure(width: int, images: int, batch_size: int, epochs: int, device: torch.device) -> dict:
    train, test = synthetic_cifar(images, 0), synthetic_cifar(64, 1)
    recipe = Recipe(epochs=epochs, batch_size=batch_size, **PAPER_RECIPE)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        _, metrics = train_seed_model(
            train, test, "resnet18_option_a", width, 0, recipe, Path(tmp) / "c.ckpt", device, progress=False
        )
        wall = time.perf_counter() - started
    # The first epoch includes warm-up (cuDNN autotuning); the last is the steady state.
    last = metrics["history"][-1]["seconds"] - (metrics["history"][-2]["seconds"] if epochs > 1 else 0.0)
    return {
        "width": width,
        "images": images,
        "batch_size": batch_size,
        "epochs": epochs,
        "images_per_second_all_epochs": epochs * images / metrics["seconds"],
        "images_per_second_last_epoch": images / last,
        "wall_seconds": wall,
        "device": metrics["device"],
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, help="write the measurements as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    rows = [measure(w, args.images, args.batch_size, args.epochs, device) for w in args.widths]
    print(f"{'width':>5} {'batch':>5} {'images':>7} {'img/s (last epoch)':>19} {'epoch of 50k (min)':>19}  device")
    for r in rows:
        print(
            f"{r['width']:>5} {r['batch_size']:>5} {r['images']:>7} {r['images_per_second_last_epoch']:>19.1f} "
            f"{50_000 / r['images_per_second_last_epoch'] / 60:>19.1f}  {r['device']} ({r['threads']} threads)"
        )
    record(
        "train_throughput",
        [
            {
                "measure": f"training, width {r['width']}, batch {r['batch_size']}, {r['device']}",
                "ours": r["images_per_second_last_epoch"],
                "unit": "images/s (last epoch)",
            }
            for r in rows
        ],
    )
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "measurements": rows,
                    "platform": platform.platform(),
                    "processor": platform.processor(),
                    "versions": library_versions(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
