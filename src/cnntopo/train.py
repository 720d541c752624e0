"""Train one seed model: the authors' recipe, deterministic per seed, resumable per epoch.

The seed fixes the initialisation (torch's RNG at model construction) and, for
every epoch, the data order and the augmentation (a generator seeded by
``(seed, epoch)``). Because an epoch's randomness does not depend on earlier
epochs, a run resumed from its epoch checkpoint ends with the same weights as
an uninterrupted run. On CPU, with the same thread count, the same seed gives
bit-identical weights.

Recipe (docs/method.md, Training): SGD with momentum and weight decay, a per-iteration
triangular learning rate (0 -> ``lr_peak`` at ``lr_peak_epoch`` -> 0 at the last
epoch), horizontal flip + random translation + Cutout, flip-averaged test
accuracy; channels_last everywhere, mixed precision on CUDA, fp32 on CPU.

On CUDA the data set lives on the device as uint8, the generator of the data order and the
augmentation is a device generator (same seed, other draws than on the CPU), and the step's
statistics stay on the device until the epoch ends: the host only issues work. Several seeds
can train in one process, each on its own stream (:func:`train_seed_models`). On CUDA the draws
are reproducible on the same GPU model and torch version but the weights are not bit-identical
run to run: cuDNN autotuning and its atomic-add kernels change the order of float sums.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.data import ImageSet, dataset_fingerprint, load_dataset, normalize
from cnntopo.entrypoint import StepError, progress_bar, run_step
from cnntopo.io import atomic_torch_save, atomic_write_json
from cnntopo.networks.devices import add_device_options, device_from_options
from cnntopo.networks.models import ModelSpec, build_model, save_weights
from cnntopo.provenance import machine_fingerprint, stable_digest
from cnntopo.workflow.snapshots import snapshot_folder, snapshot_name


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
    precision: str = "float16"  # CUDA autocast dtype: float16 (with loss scaling) or bfloat16; the CPU trains in fp32
    compile: bool = False  # torch.compile the model (first epoch pays the compilation)

    @classmethod
    def from_config(cls, train: Mapping[str, Any]) -> Recipe:
        values = {f.name: train[f.name] for f in fields(cls) if f.name in train}
        if "milestones" in values:
            values["milestones"] = tuple(values["milestones"])
        return cls(**values)


class TrainingError(StepError):
    """Training produced no usable model: it diverged, or it ended near chance accuracy."""


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


def epoch_generator(seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The generator (on ``device``) of one epoch's data order and augmentation, a pure function of (seed, epoch)."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(state))


def augment(x: torch.Tensor, recipe: Recipe, generator: torch.Generator) -> torch.Tensor:
    """Flip, translate and cut out a normalised batch ``(n, 3, H, W)``; random draws come from ``generator``
    (on its own device, so a CUDA generator draws without the host)."""
    n, _, h, w = x.shape
    draws = {"generator": generator, "device": generator.device}
    if recipe.flip:
        flip = (torch.rand(n, **draws) < 0.5).to(x.device)
        x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    if recipe.translate > 0:
        pad = recipe.translate
        shift = torch.randint(0, 2 * pad + 1, (2, n), **draws).to(x.device)
        padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)  # (n, H + 2 pad, W + 2 pad, 3)
        rows = (shift[0].view(n, 1) + torch.arange(h, device=x.device)).view(n, h, 1)
        cols = (shift[1].view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, w)
        x = padded[torch.arange(n, device=x.device).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2).contiguous()
    if recipe.cutout > 0:
        centre = torch.randint(0, max(h, w), (2, n), **draws).to(x.device)
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        half = recipe.cutout // 2
        cy, cx = centre[0].view(n, 1, 1), centre[1].view(n, 1, 1)
        top, left = cy - half, cx - half
        inside = (ys >= top) & (ys < top + recipe.cutout) & (xs >= left) & (xs < left + recipe.cutout)
        x = x.masked_fill(inside.unsqueeze(1), 0.0)
    return x


PRECISIONS = {"float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class DeviceImages:
    """An image set held on the training device: uint8 ``pixels`` ``(n, H, W, 3)``, int64 ``labels`` ``(n,)``.

    Kept as uint8 (a quarter of float32) so that a whole training split stays on the GPU and a batch
    is gathered there, with no per-step host indexing or copy.
    """

    pixels: torch.Tensor
    labels: torch.Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, images: ImageSet, device: torch.device) -> DeviceImages:
        pixels = torch.from_numpy(images.images).to(device)
        return cls(pixels, torch.from_numpy(images.labels).to(device), images.mean, images.std)

    def __len__(self) -> int:
        return len(self.labels)

    def model_input(self, index: slice | torch.Tensor) -> torch.Tensor:
        """Normalised float32 ``(b, 3, H, W)`` of the images at ``index``, channels_last."""
        return normalize(self.pixels[index], self.mean, self.std).contiguous(memory_format=torch.channels_last)


def evaluate(
    model: nn.Module, images: DeviceImages, flip_average: bool, precision: str = "float16", batch_size: int = 1000
) -> float:
    """Top-1 accuracy; with ``flip_average`` the logits of each image and its mirror image are summed.
    Counts stay on the device and are read once."""
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=images.labels.device)
    with torch.no_grad(), _autocast(images.labels.device, precision):
        for start in range(0, len(images), batch_size):
            x = images.model_input(slice(start, start + batch_size))
            logits = model(x)
            if flip_average:
                logits = logits + model(x.flip(3))
            correct += (logits.argmax(1) == images.labels[start : start + batch_size]).sum()
    return int(correct) / len(images)


def _autocast(device: torch.device, precision: str):
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {sorted(PRECISIONS)}")
    return torch.autocast(device_type=device.type, dtype=PRECISIONS[precision], enabled=device.type == "cuda")


def initial_model(arch: str, width: int, num_classes: int, seed: int) -> nn.Module:
    """Seed ``seed``'s initialisation: what training starts from, and the untrained control's model.
    Drawn from torch's RNG seeded by ``seed`` without touching the caller's RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(arch, width, num_classes)


class SeedRun:
    """One seed's training: model, optimiser, loss scaler and history, checkpointed after every epoch.

    A run owns a CUDA stream when several seeds train in one process (``stream=True``): their
    steps are issued in turn and the GPU overlaps them. Everything a step needs is on the device
    and nothing is read back before the epoch ends, so issuing never waits for the GPU.
    """

    def __init__(
        self,
        train: DeviceImages,
        test: DeviceImages,
        arch: str,
        width: int,
        num_classes: int,
        seed: int,
        recipe: Recipe,
        checkpoint: Path,
        data_fingerprint: str,
        stream: bool = False,
        snapshot_epochs: Sequence[int] = (),
        image_size: int = 0,
    ) -> None:
        self.train, self.test, self.seed, self.recipe, self.checkpoint = train, test, seed, recipe, checkpoint
        # Snapshots wait beside the checkpoint (no output of the job, so a rerun after a kill finds them)
        # until the job ends: the model after each of snapshot_epochs (0: the initialisation).
        self.snapshot_epochs = sorted(set(snapshot_epochs))
        self.snapshot_dir = snapshot_folder(checkpoint)
        self.spec = ModelSpec(arch, width, num_classes, image_size)
        self.arch, self.width, self.data_fingerprint = arch, width, data_fingerprint
        # What a checkpoint must have been written for to be resumed.
        self.signature = stable_digest(
            {"arch": arch, "width": width, "seed": seed, "recipe": asdict(recipe), "data": data_fingerprint}
        )
        self.device = device = train.labels.device
        cuda = device.type == "cuda"
        # channels_last on every device: cuDNN's fast layout, and on the CPU a step of the default model
        # took 0.15 s instead of 0.19 s (one thread, batch 128).
        self.model = initial_model(arch, width, num_classes, seed).to(device, memory_format=torch.channels_last)
        self.forward = torch.compile(self.model) if recipe.compile else self.model
        # The fused CUDA kernel takes the loss scaler's inf check on the device; the default loop would
        # read it back every step.
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=0.0,
            momentum=recipe.momentum,
            weight_decay=recipe.weight_decay,
            nesterov=recipe.nesterov,
            fused=True if cuda else None,
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=cuda and recipe.precision == "float16")
        self.stream = torch.cuda.Stream(device) if cuda and stream else None
        if self.stream is not None:
            self.stream.wait_stream(torch.cuda.current_stream(device))  # the data and weights copied above
        self.steps_per_epoch = -(-len(train) // recipe.batch_size)
        self.history: list[dict[str, float]] = []
        self.snapshot_accuracy: dict[int, float] = {}
        self.seconds = 0.0
        self.next_epoch = 0
        if checkpoint.exists():
            self._resume()
        if self.next_epoch == 0 and 0 in self.snapshot_epochs:
            self._snapshot(0)

    def _snapshot(self, epoch: int) -> None:
        """Save the model after ``epoch`` epochs, and keep its test accuracy (epoch 0's is measured here)."""
        if epoch == 0:
            accuracy = evaluate(self.forward, self.test, flip_average=False, precision=self.recipe.precision)
        else:
            accuracy = self.history[-1]["test_accuracy"]
        self.snapshot_accuracy[epoch] = accuracy
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        extra = {"seed": self.seed, "epoch": epoch, "test_accuracy": accuracy}
        save_weights(self.snapshot_dir / snapshot_name(epoch), self.model, self.spec, extra)

    def _resume(self) -> None:
        saved = torch.load(self.checkpoint, map_location="cpu", weights_only=False)
        if saved.get("signature") != self.signature:
            print(f"ignoring {self.checkpoint}: written for other settings", file=sys.stderr)
            return
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scaler.load_state_dict(saved["scaler"])
        self.history, self.seconds, self.next_epoch = saved["history"], saved["seconds"], saved["epoch"] + 1
        self.snapshot_accuracy = saved.get("snapshot_accuracy", {})
        print(f"resuming seed {self.seed} after epoch {self.next_epoch} from {self.checkpoint}", file=sys.stderr)

    def on_stream(self):
        """Context in which this run's work is issued (its own CUDA stream, if it has one)."""
        return torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext()

    def begin_epoch(self) -> None:
        self.started = time.perf_counter()
        self.model.train()
        self.generator = epoch_generator(self.seed, self.next_epoch, self.device)
        self.order = torch.randperm(len(self.train), generator=self.generator, device=self.device)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        self.correct = torch.zeros((), dtype=torch.int64, device=self.device)

    def step(self, step: int) -> None:
        recipe = self.recipe
        lr = learning_rate(self.next_epoch * self.steps_per_epoch + step, self.steps_per_epoch, recipe)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        index = self.order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
        x = augment(self.train.model_input(index), recipe, self.generator)
        y = self.train.labels[index]
        with _autocast(self.device, recipe.precision):
            logits = self.forward(x)
            loss = F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.loss_sum += loss.detach().double() * len(index)
        self.correct += (logits.argmax(1) == y).sum()

    def _stop_if_diverged(self, record: dict[str, float]) -> None:
        """Raise :class:`TrainingError` on a non-finite loss or weight, before the epoch is checkpointed, so
        the checkpoint left is the last finite one."""
        bad = [
            name
            for name, value in self.model.state_dict().items()
            if value.is_floating_point() and not torch.isfinite(value).all()
        ]
        if np.isfinite(record["loss"]) and not bad:
            return
        kept = (
            f"the last finite checkpoint (after epoch {self.next_epoch}) is kept for inspection: {self.checkpoint}"
            if self.next_epoch > 0 and self.checkpoint.exists()
            else "no finite checkpoint exists (it diverged in its first epoch)"
        )
        weights = f", non-finite weights in {len(bad)} tensors (first: {bad[0]})" if bad else ""
        raise TrainingError(
            f"seed {self.seed} diverged in epoch {record['epoch']}: loss {record['loss']}{weights}. Lower lr_peak "
            f"(now {self.recipe.lr_peak}) in the branch's train section; no weights were written, and {kept}"
        )

    def end_epoch(self) -> dict[str, float]:
        """Read the epoch's statistics (the one synchronisation of the epoch), test, checkpoint."""
        n = len(self.train)
        test_accuracy = evaluate(self.forward, self.test, flip_average=False, precision=self.recipe.precision)
        self.seconds += time.perf_counter() - self.started
        record = {
            "epoch": self.next_epoch + 1,
            "loss": float(self.loss_sum) / n,
            "train_accuracy_augmented": int(self.correct) / n,
            "test_accuracy": test_accuracy,
            "seconds": self.seconds,
        }
        self.history.append(record)
        print(
            f"seed {self.seed} epoch {record['epoch']}/{self.recipe.epochs}: loss {record['loss']:.4f}, "
            f"train acc (augmented) {record['train_accuracy_augmented']:.4f}, test acc {test_accuracy:.4f}, "
            f"{self.seconds:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        self._stop_if_diverged(record)
        if record["epoch"] in self.snapshot_epochs:  # before the checkpoint: a kill in between redoes the epoch
            self._snapshot(record["epoch"])
        atomic_torch_save(
            {
                "signature": self.signature,
                "epoch": self.next_epoch,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(),
                "history": self.history,
                "snapshot_accuracy": self.snapshot_accuracy,
                "seconds": self.seconds,
            },
            self.checkpoint,
        )
        self.next_epoch += 1
        return record


def train_seed_models(
    train_set: ImageSet,
    test_set: ImageSet,
    arch: str,
    width: int,
    seeds: Sequence[int],
    recipe: Recipe,
    checkpoints: Sequence[Path],
    device: torch.device,
    progress: bool = True,
    snapshot_epochs: Sequence[int] = (),
) -> list[tuple[nn.Module, dict[str, Any]]]:
    """Train one model per seed in one process, their steps interleaved; checkpoint each after every
    epoch to its ``checkpoints`` entry and resume from it if present. The model after each epoch of
    ``snapshot_epochs`` (0: the initialisation) is saved in :func:`snapshot_folder` of its checkpoint.

    On CUDA each seed runs on its own stream, so several small models share the GPU at once; on the
    CPU the interleaving changes nothing: every seed ends with the weights it gets trained alone.
    Returns, per seed, the trained model (eval mode) and its metrics: accuracies, per-epoch history,
    seconds of training (summed over resumed runs; with several seeds, each seed's share of the
    same wall time).
    """
    if len(seeds) != len(checkpoints) or len(set(seeds)) != len(seeds):
        raise ValueError(
            f"one checkpoint per distinct seed, got seeds {list(seeds)} and {len(checkpoints)} checkpoints"
        )
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    train, test = DeviceImages.of(train_set, device), DeviceImages.of(test_set, device)
    fingerprint = dataset_fingerprint(train_set)  # hashes the whole split: once, not per seed
    classes = len(train_set.classes)
    runs = [
        SeedRun(
            train,
            test,
            arch,
            width,
            classes,
            s,
            recipe,
            c,
            fingerprint,
            stream=len(seeds) > 1,
            snapshot_epochs=snapshot_epochs,
            image_size=int(train_set.images.shape[1]),
        )
        for s, c in zip(seeds, checkpoints)
    ]
    names = ", ".join(map(str, seeds))
    for epoch in range(min(r.next_epoch for r in runs), recipe.epochs):
        active = [r for r in runs if r.next_epoch == epoch]  # a resumed seed may be ahead of the others
        for run in active:
            with run.on_stream():
                run.begin_epoch()
        steps = runs[0].steps_per_epoch
        bar = progress_bar(range(steps), desc=f"seed {names} epoch {epoch + 1}/{recipe.epochs}", disable=not progress)
        for step in bar:
            for run in active:
                with run.on_stream():
                    run.step(step)
        records = []
        for run in active:
            with run.on_stream():
                records.append(run.end_epoch())
        bar.set_postfix(loss=" ".join(f"{r['loss']:.3f}" for r in records), refresh=False)
        bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return [(run.model.eval(), _final_metrics(run, len(seeds))) for run in runs]


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
    """Train one model (:func:`train_seed_models` with one seed)."""
    return train_seed_models(train_set, test_set, arch, width, [seed], recipe, [checkpoint], device, progress)[0]


def _final_metrics(run: SeedRun, concurrent: int) -> dict[str, Any]:
    recipe, device, n = run.recipe, run.device, len(run.train)
    with run.on_stream():
        accuracy = {
            "train_accuracy": evaluate(run.forward, run.train, False, recipe.precision),
            "test_accuracy": evaluate(run.forward, run.test, recipe.flip_tta, recipe.precision),
            "test_accuracy_no_flip_average": evaluate(run.forward, run.test, False, recipe.precision),
        }
    return {
        "seed": run.seed,
        "arch": run.arch,
        "width": run.width,
        "epochs": recipe.epochs,
        **accuracy,
        "seconds": run.seconds,
        "images_per_second": recipe.epochs * n / run.seconds if run.seconds > 0 else None,
        "concurrent_seeds": concurrent,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "precision": recipe.precision if device.type == "cuda" else "float32",
        "compiled": recipe.compile,
        "recipe": asdict(recipe),
        "train_images": n,
        "test_images": len(run.test),
        "data_fingerprint": run.data_fingerprint,
        "history": run.history,
        "snapshots": [{"epoch": e, "test_accuracy": a} for e, a in sorted(run.snapshot_accuracy.items())],
        **machine_fingerprint(),
    }


def publish_snapshots(waiting: Path, out: Path) -> None:
    """Move a finished run's snapshots into the job's output folder ``out`` (created empty when there are none)."""
    if out.exists():
        shutil.rmtree(out)
    if waiting.is_dir():
        os.replace(waiting, out)
    else:
        out.mkdir(parents=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m cnntopo.train", description="Train seed models (several at once: one path per seed)."
    )
    parser.add_argument("--data", required=True, help="JSON of the config's data section")
    parser.add_argument("--arch", required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--seed", type=int, nargs="+", required=True)
    parser.add_argument("--weights", type=Path, nargs="+", required=True, help="output: weights file (.pt) per seed")
    parser.add_argument("--untrained", action="store_true", help="save the seeds' initialisations, do not train")
    parser.add_argument("--recipe", help="JSON of the config's train section")
    parser.add_argument("--metrics", type=Path, nargs="+", help="output: metrics (.json) per seed")
    parser.add_argument("--checkpoint", type=Path, nargs="+", help="per-epoch checkpoint per seed, deleted when done")
    parser.add_argument(
        "--min-test-accuracy", type=float, help="fail below this test accuracy (default: 1.5 x chance; 0: accept any)"
    )
    parser.add_argument("--snapshot-epochs", type=int, nargs="*", default=[], help="save the model after these epochs")
    parser.add_argument("--snapshots", type=Path, nargs="+", help="output: folder of snapshots (.pt) per seed")
    add_device_options(parser)
    args = parser.parse_args(argv)
    per_seed = {
        "--weights": args.weights,
        "--metrics": args.metrics,
        "--checkpoint": args.checkpoint,
        "--snapshots": args.snapshots,
    }
    for option, paths in per_seed.items():
        if paths is not None and len(paths) != len(args.seed):
            parser.error(f"{option} needs one path per seed ({len(args.seed)}), got {len(paths)}")
    data = json.loads(args.data)
    if args.untrained:
        test_set = load_dataset(data, train=False)
        spec = ModelSpec(args.arch, args.width, len(test_set.classes), int(test_set.images.shape[1]))
        for seed, weights in zip(args.seed, args.weights):
            model = initial_model(args.arch, args.width, spec.num_classes, seed)
            save_weights(weights, model, spec, {"seed": seed, "classes": list(test_set.classes), "untrained": True})
            print(f"seed {seed}: untrained {args.arch} (width {args.width}) saved to {weights}", file=sys.stderr)
        return
    if args.recipe is None or args.metrics is None or args.checkpoint is None:
        parser.error("training needs --recipe, --metrics and --checkpoint (or --untrained)")

    device = device_from_options(args)
    recipe = Recipe.from_config(json.loads(args.recipe))
    train_set, test_set = load_dataset(data, train=True), load_dataset(data, train=False)
    print(
        f"seeds {' '.join(map(str, args.seed))}: {len(train_set)} training / {len(test_set)} test images on {device}",
        file=sys.stderr,
    )
    for checkpoint in args.checkpoint:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if args.snapshot_epochs and args.snapshots is None:
        parser.error("--snapshot-epochs needs --snapshots")
    if any(not 0 <= e <= recipe.epochs for e in args.snapshot_epochs):
        parser.error(f"--snapshot-epochs {args.snapshot_epochs} must lie in 0 .. {recipe.epochs}")
    trained = train_seed_models(
        train_set, test_set, args.arch, args.width, args.seed, recipe, args.checkpoint, device,
        snapshot_epochs=args.snapshot_epochs,
    )  # fmt: skip
    spec = ModelSpec(args.arch, args.width, len(train_set.classes), int(train_set.images.shape[1]))
    floor = 1.5 / len(train_set.classes) if args.min_test_accuracy is None else args.min_test_accuracy
    for (_, metrics), seed, checkpoint in zip(trained, args.seed, args.checkpoint):
        if metrics["test_accuracy"] < floor:
            raise TrainingError(
                f"seed {seed} ended at test accuracy {metrics['test_accuracy']:.4f}, below train.min_test_accuracy "
                f"{floor:.4f} (chance: {1 / len(train_set.classes):.4f}); no weights were written, the last checkpoint "
                f"is kept: {checkpoint}. Set train.min_test_accuracy: 0 to accept such models"
            )
    snapshots = args.snapshots or [None] * len(args.seed)
    for (model, metrics), seed, weights, metrics_path, checkpoint, snapshot_out in zip(
        trained, args.seed, args.weights, args.metrics, args.checkpoint, snapshots
    ):
        save_weights(weights, model, spec, {"seed": seed, "classes": list(train_set.classes)})
        atomic_write_json(metrics_path, metrics)
        if snapshot_out is not None:
            publish_snapshots(snapshot_folder(checkpoint), snapshot_out)
        checkpoint.unlink(missing_ok=True)
        print(
            f"seed {seed}: train acc {metrics['train_accuracy']:.4f}, test acc {metrics['test_accuracy']:.4f} "
            f"({'flip-averaged' if recipe.flip_tta else 'plain'}), {metrics['seconds']:.1f} s",
            file=sys.stderr,
        )


if __name__ == "__main__":
    run_step(main)
