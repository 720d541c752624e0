"""Train one seed model: the authors' recipe, deterministic per seed, resumable per epoch.

The seed fixes the initialisation (torch's RNG at model construction) and, for
every epoch, the data order and the augmentation (a generator seeded by
``(seed, epoch)``). Because an epoch's randomness does not depend on earlier
epochs, a run resumed from its epoch checkpoint ends with the same weights as
an uninterrupted run. On CPU, with the same thread count, the same seed gives
bit-identical weights.

Recipe (SPEC, branch 1): SGD with momentum and weight decay, a per-iteration
triangular learning rate (0 -> ``lr_peak`` at ``lr_peak_epoch`` -> 0 at the last
epoch), horizontal flip + random translation + Cutout, flip-averaged test
accuracy; mixed precision and channels_last on CUDA, fp32 on CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.data import ImageSet, dataset_fingerprint, load_dataset, normalize
from cnntopo.models import ModelSpec, build_model, save_weights
from cnntopo.provenance import (
    add_device_options,
    atomic_write_json,
    device_from_options,
    library_versions,
    progress_bar,
    stable_digest,
)


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr_peak: float
    lr_peak_epoch: float
    momentum: float
    weight_decay: float
    nesterov: bool = False
    label_smoothing: float = 0.0
    flip: bool = True
    translate: int = 2  # pixels of zero padding (= mean colour after normalisation) to shift within
    cutout: int = 8  # side of the square set to zero; 0 disables
    flip_tta: bool = True
    schedule: str = "triangular"  # or "step": lr_peak x gamma at each milestone epoch (the mapper model's recipe)
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1

    @classmethod
    def from_config(cls, train: Mapping[str, Any]) -> Recipe:
        values = {f.name: train[f.name] for f in fields(cls) if f.name in train}
        if "milestones" in values:
            values["milestones"] = tuple(values["milestones"])
        return cls(**values)


def learning_rate(step: int, steps_per_epoch: int, recipe: Recipe) -> float:
    """Learning rate at optimiser step ``step`` (0-based) under the recipe's schedule."""
    if recipe.schedule == "step":
        epoch = step // steps_per_epoch
        return recipe.lr_peak * recipe.gamma ** sum(epoch >= m for m in recipe.milestones)
    if recipe.schedule != "triangular":
        raise ValueError(f"unknown schedule {recipe.schedule!r}")
    return triangular_lr(step, steps_per_epoch, recipe)


def triangular_lr(step: int, steps_per_epoch: int, recipe: Recipe) -> float:
    """Learning rate at optimiser step ``step`` (0-based): linear 0 -> peak -> 0 over the run."""
    return float(
        np.interp(
            step,
            [0, recipe.lr_peak_epoch * steps_per_epoch, recipe.epochs * steps_per_epoch],
            [0.0, recipe.lr_peak, 0.0],
        )
    )


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The CPU generator of one epoch's data order and augmentation, a pure function of (seed, epoch)."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def augment(x: torch.Tensor, recipe: Recipe, generator: torch.Generator) -> torch.Tensor:
    """Flip, translate and cut out a normalised batch ``(n, 3, H, W)``; random draws come from ``generator``."""
    n, _, h, w = x.shape
    if recipe.flip:
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    if recipe.translate > 0:
        pad = recipe.translate
        shift = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(x.device)
        padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)  # (n, H + 2 pad, W + 2 pad, 3)
        rows = (shift[0].view(n, 1) + torch.arange(h, device=x.device)).view(n, h, 1)
        cols = (shift[1].view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, w)
        x = padded[torch.arange(n, device=x.device).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2).contiguous()
    if recipe.cutout > 0:
        centre = torch.randint(0, max(h, w), (2, n), generator=generator).to(x.device)
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        half = recipe.cutout // 2
        cy, cx = centre[0].view(n, 1, 1), centre[1].view(n, 1, 1)
        top, left = cy - half, cx - half
        inside = (ys >= top) & (ys < top + recipe.cutout) & (xs >= left) & (xs < left + recipe.cutout)
        x = x.masked_fill(inside.unsqueeze(1), 0.0)
    return x


def evaluate(
    model: nn.Module, images: ImageSet, device: torch.device, flip_average: bool, batch_size: int = 1000
) -> float:
    """Top-1 accuracy; with ``flip_average`` the logits of each image and its mirror image are summed."""
    model.eval()
    correct = 0
    with torch.no_grad(), _autocast(device):
        for start in range(0, len(images), batch_size):
            x = _to_model_input(torch.from_numpy(images.images[start : start + batch_size]), images, device)
            logits = model(x)
            if flip_average:
                logits = logits + model(x.flip(3))
            labels = torch.from_numpy(images.labels[start : start + batch_size]).to(device)
            correct += int((logits.argmax(1) == labels).sum())
    return correct / len(images)


def _autocast(device: torch.device):
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=device.type == "cuda")


def _to_model_input(batch_uint8: torch.Tensor, images: ImageSet, device: torch.device) -> torch.Tensor:
    x = normalize(batch_uint8.to(device, non_blocking=True), images.mean, images.std)
    return x.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else x


def initial_model(arch: str, width: int, num_classes: int, seed: int) -> nn.Module:
    """Seed ``seed``'s initialisation: what training starts from, and the untrained control's model.
    Drawn from torch's RNG seeded by ``seed`` without touching the caller's RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(arch, width, num_classes)


def train_seed_model(
    train_set: ImageSet,
    test_set: ImageSet,
    arch: str,
    width: int,
    seed: int,
    recipe: Recipe,
    checkpoint: Path,
    device: torch.device,
    progress: bool = True,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train one model; checkpoint after every epoch to ``checkpoint`` and resume from it if present.

    Returns the trained model (eval mode) and its metrics: accuracies, per-epoch
    history, seconds of training (summed over resumed runs).
    """
    num_classes = len(train_set.classes)
    model = initial_model(arch, width, num_classes, seed).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.0, momentum=recipe.momentum, weight_decay=recipe.weight_decay, nesterov=recipe.nesterov
    )
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")
    signature = stable_digest(
        {"arch": arch, "width": width, "seed": seed, "recipe": asdict(recipe), "data": dataset_fingerprint(train_set)}
    )
    history: list[dict[str, float]] = []
    seconds = 0.0
    first_epoch = 0
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if saved.get("signature") == signature:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            scaler.load_state_dict(saved["scaler"])
            history, seconds, first_epoch = saved["history"], saved["seconds"], saved["epoch"] + 1
            print(f"resuming seed {seed} after epoch {first_epoch} from {checkpoint}", file=sys.stderr)
        else:
            print(f"ignoring {checkpoint}: written for other settings", file=sys.stderr)

    n = len(train_set)
    steps_per_epoch = -(-n // recipe.batch_size)
    labels_all = torch.from_numpy(train_set.labels)
    pixels_all = torch.from_numpy(train_set.images)
    for epoch in range(first_epoch, recipe.epochs):
        started = time.perf_counter()
        model.train()
        generator = epoch_generator(seed, epoch)
        order = torch.randperm(n, generator=generator)
        loss_sum, correct = 0.0, 0
        bar = progress_bar(
            range(steps_per_epoch), desc=f"seed {seed} epoch {epoch + 1}/{recipe.epochs}", disable=not progress
        )
        for step in bar:
            lr = learning_rate(epoch * steps_per_epoch + step, steps_per_epoch, recipe)
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            x = augment(_to_model_input(pixels_all[index], train_set, device), recipe, generator)
            y = labels_all[index].to(device)
            with _autocast(device):
                logits = model(x)
                loss = F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += float(loss.detach()) * len(index)
            correct += int((logits.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", lr=f"{lr:.3f}", refresh=False)
        bar.close()
        test_accuracy = evaluate(model, test_set, device, flip_average=False)
        seconds += time.perf_counter() - started
        history.append(
            {
                "epoch": epoch + 1,
                "loss": loss_sum / n,
                "train_accuracy_augmented": correct / n,
                "test_accuracy": test_accuracy,
                "seconds": seconds,
            }
        )
        print(
            f"seed {seed} epoch {epoch + 1}/{recipe.epochs}: loss {loss_sum / n:.4f}, "
            f"train acc (augmented) {correct / n:.4f}, test acc {test_accuracy:.4f}, {seconds:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        tmp = Path(f"{checkpoint}.tmp")
        torch.save(
            {
                "signature": signature,
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "history": history,
                "seconds": seconds,
            },
            tmp,
        )
        os.replace(tmp, checkpoint)

    metrics = {
        "seed": seed,
        "arch": arch,
        "width": width,
        "epochs": recipe.epochs,
        "train_accuracy": evaluate(model, train_set, device, flip_average=False),
        "test_accuracy": evaluate(model, test_set, device, flip_average=recipe.flip_tta),
        "test_accuracy_no_flip_average": evaluate(model, test_set, device, flip_average=False),
        "seconds": seconds,
        "images_per_second": recipe.epochs * n / seconds if seconds > 0 else None,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "recipe": asdict(recipe),
        "train_images": n,
        "test_images": len(test_set),
        "data_fingerprint": dataset_fingerprint(train_set),
        "history": history,
        "versions": library_versions(),
        "platform": platform.platform(),
    }
    return model.eval(), metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.train", description="Train one seed model.")
    parser.add_argument("--data", required=True, help="JSON of the config's data section")
    parser.add_argument("--arch", required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--weights", type=Path, required=True, help="output: weights file (.pt)")
    parser.add_argument("--untrained", action="store_true", help="save the seed's initialisation, do not train")
    parser.add_argument("--recipe", help="JSON of the config's train section")
    parser.add_argument("--metrics", type=Path, help="output: metrics (.json)")
    parser.add_argument("--checkpoint", type=Path, help="per-epoch checkpoint, deleted when done")
    add_device_options(parser)
    args = parser.parse_args(argv)
    data = json.loads(args.data)
    if args.untrained:
        test_set = load_dataset(data, train=False)
        spec = ModelSpec(args.arch, args.width, len(test_set.classes), int(test_set.images.shape[1]))
        model = initial_model(args.arch, args.width, spec.num_classes, args.seed)
        save_weights(
            args.weights, model, spec, {"seed": args.seed, "classes": list(test_set.classes), "untrained": True}
        )
        print(f"seed {args.seed}: untrained {args.arch} (width {args.width}) saved to {args.weights}", file=sys.stderr)
        return
    if args.recipe is None or args.metrics is None or args.checkpoint is None:
        parser.error("training needs --recipe, --metrics and --checkpoint (or --untrained)")

    device = device_from_options(args)
    recipe = Recipe.from_config(json.loads(args.recipe))
    train_set, test_set = load_dataset(data, train=True), load_dataset(data, train=False)
    print(f"seed {args.seed}: {len(train_set)} training / {len(test_set)} test images on {device}", file=sys.stderr)
    args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    model, metrics = train_seed_model(
        train_set, test_set, args.arch, args.width, args.seed, recipe, args.checkpoint, device
    )
    spec = ModelSpec(args.arch, args.width, len(train_set.classes), int(train_set.images.shape[1]))
    save_weights(args.weights, model, spec, {"seed": args.seed, "classes": list(train_set.classes)})
    atomic_write_json(args.metrics, metrics)
    args.checkpoint.unlink(missing_ok=True)
    print(
        f"seed {args.seed}: train acc {metrics['train_accuracy']:.4f}, test acc {metrics['test_accuracy']:.4f} "
        f"({'flip-averaged' if recipe.flip_tta else 'plain'}), {metrics['seconds']:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
