"""Training throughput (images/s) of the paper's recipe on synthetic CIFAR-shaped tensors.

Runs the project's own training loop (cnntopo.train.train_seed_models: device-resident data,
augmentation on a device generator, triangular schedule, channels_last, AMP on CUDA) over
random 32x32 RGB images, and reports images per second of training, summed over the seeds
trained at once (the per-epoch test pass over a 64-image test set is included and negligible).

    python benchmarks/train_throughput.py --device cpu --widths 16 64 --images 512
    python benchmarks/train_throughput.py --device cuda --widths 64 --images 50000 --batch-size 1024 --epochs 3
    python benchmarks/train_throughput.py --device cuda ... --precision bfloat16 --compile --concurrent-seeds 1 2 4
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
from cnntopo.networks.devices import resolve_device
from cnntopo.provenance import library_versions
from cnntopo.train import Recipe, train_seed_models
from summary import record

PAPER_RECIPE = dict(lr_peak=1.0, lr_peak_epoch=5, momentum=0.9, weight_decay=5e-4, flip=True, translate=2, cutout=8)


def synthetic_cifar(n: int, seed: int) -> ImageSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return ImageSet(
        images, rng.integers(0, 10, n).astype(np.int64), tuple(map(str, range(10))), CIFAR10_MEAN, CIFAR10_STD
    )


def measure(
    width: int,
    images: int,
    batch_size: int,
    epochs: int,
    device: torch.device,
    precision: str = "float16",
    compile: bool = False,
    seeds: int = 1,
) -> dict:
    train, test = synthetic_cifar(images, 0), synthetic_cifar(64, 1)
    recipe = Recipe(epochs=epochs, batch_size=batch_size, precision=precision, compile=compile, **PAPER_RECIPE)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        trained = train_seed_models(
            train,
            test,
            "resnet18_option_a",
            width,
            list(range(seeds)),
            recipe,
            [Path(tmp) / f"{s}.ckpt" for s in range(seeds)],
            device,
            progress=False,
        )
        wall = time.perf_counter() - started
    # Every seed's epoch spans the same wall time; the slowest seed's is the run's. The first epoch
    # includes warm-up (cuDNN autotuning, compilation); the last is the steady state.
    histories = [metrics["history"] for _, metrics in trained]
    total = max(h[-1]["seconds"] for h in histories)
    last = max(h[-1]["seconds"] - (h[-2]["seconds"] if epochs > 1 else 0.0) for h in histories)
    return {
        "width": width,
        "images": images,
        "batch_size": batch_size,
        "epochs": epochs,
        "precision": trained[0][1]["precision"],
        "compiled": compile,
        "concurrent_seeds": seeds,
        "images_per_second_all_epochs": seeds * epochs * images / total,
        "images_per_second_last_epoch": seeds * images / last,
        "wall_seconds": wall,
        "device": trained[0][1]["device"],
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--precision", choices=["float16", "bfloat16"], default="float16", help="CUDA autocast dtype")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--concurrent-seeds", type=int, nargs="+", default=[1], help="seeds trained at once")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, help="write the measurements as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    rows = [
        measure(w, args.images, args.batch_size, args.epochs, device, args.precision, args.compile, k)
        for w in args.widths
        for k in args.concurrent_seeds
    ]
    print(
        f"{'width':>5} {'batch':>5} {'seeds':>5} {'images':>7} {'img/s (last epoch)':>19} {'100 seeds x 24 epochs (min)':>28}  device"
    )
    for r in rows:
        print(
            f"{r['width']:>5} {r['batch_size']:>5} {r['concurrent_seeds']:>5} {r['images']:>7} "
            f"{r['images_per_second_last_epoch']:>19.1f} {100 * 24 * 50_000 / r['images_per_second_last_epoch'] / 60:>28.1f}"
            f"  {r['device']} ({r['threads']} threads, {r['precision']}{', compiled' if r['compiled'] else ''})"
        )
    record(
        "train_throughput",
        [
            {
                "measure": f"training, width {r['width']}, batch {r['batch_size']}, {r['concurrent_seeds']} seed(s) at once,"
                f" {r['precision']}{', compiled' if r['compiled'] else ''}, {r['device']}",
                "ours": r["images_per_second_last_epoch"],
                "unit": "images/s (last epoch, all seeds)",
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
