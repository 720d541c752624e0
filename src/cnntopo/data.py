"""Image datasets as in-memory uint8 arrays: scikit-learn digits, CIFAR-10, image folders.

Every loader returns an :class:`ImageSet`: images ``(n, H, W, 3)`` uint8, labels
``(n,)`` int64, class names, and the per-channel mean and std (in [0, 1] pixel
units) used to normalise them. Holding the split in memory keeps the training
loop free of worker processes and makes data order a pure function of the seed;
CIFAR-10's 60k images are 180 MB as uint8.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import pickle
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnntopo.entrypoint import StepError, run_step
from cnntopo.io import atomic_write_json
from cnntopo.networks.torchvision_compat import torchvision_submodule

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


class DataError(StepError):
    """Data is missing or unreadable; the message says where it was looked for and what to do."""


@dataclass(frozen=True)
class ImageSet:
    images: np.ndarray  # (n, H, W, 3) uint8
    labels: np.ndarray  # (n,) int64
    classes: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise ValueError(f"images must be (n, H, W, 3) uint8, got {self.images.shape} {self.images.dtype}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must be ({len(self.images)},), got {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.labels)


def normalize(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 ``(n, H, W, 3)`` -> float32 ``(n, 3, H, W)``, ``(x / 255 - mean) / std`` per channel."""
    x = images.permute(0, 3, 1, 2).float().div_(255.0)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


def digits_file() -> Path:
    """scikit-learn's copy of the 1797 handwritten digits (``digits.csv.gz``: 64 grey levels 0..16 and the
    digit per row), found without importing scikit-learn, whose import costs a job about 2 s."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the digits dataset ships with scikit-learn, which is not installed")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train, test)`` indices of ``labels``: ``ceil(test_fraction * n)`` test items, each class's
    share of them its share of the data (largest remainders, ties to the lower class), members drawn
    by a generator seeded with ``seed``."""
    classes, counts = np.unique(labels, return_counts=True)
    n_test = math.ceil(test_fraction * len(labels))
    quota = counts * (n_test / len(labels))
    per_class = np.floor(quota).astype(int)
    extra = np.argsort(-(quota - per_class), kind="stable")[: n_test - per_class.sum()]
    per_class[extra] += 1
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, per_class)])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def load_digits_split(train: bool, image_size: int = 16, test_fraction: float = 0.25, split_seed: int = 0) -> ImageSet:
    """scikit-learn's 1797 handwritten 8x8 digits as ``image_size`` RGB images.

    Grey levels 0..16 become 0..255, the 8x8 image is upsampled bilinearly to
    ``image_size`` and copied into three channels. The train/test split is
    stratified and fixed by ``split_seed`` (:func:`stratified_split`). Normalisation
    statistics come from the training split, so both splits share them.
    """
    from PIL import Image

    table = np.loadtxt(digits_file(), delimiter=",")
    grey = np.rint(table[:, :-1].reshape(-1, 8, 8) * (255.0 / 16.0)).astype(np.uint8)
    upsampled = np.stack(
        [np.asarray(Image.fromarray(g).resize((image_size, image_size), Image.BILINEAR)) for g in grey]
    )
    rgb = np.repeat(upsampled[..., None], 3, axis=-1)
    labels = table[:, -1].astype(np.int64)
    train_idx, test_idx = stratified_split(labels, test_fraction, split_seed)
    pixels = rgb[train_idx].astype(np.float64) / 255.0
    mean = tuple(float(v) for v in pixels.mean(axis=(0, 1, 2)))
    std = tuple(float(v) for v in pixels.std(axis=(0, 1, 2)))
    chosen = train_idx if train else test_idx
    return ImageSet(rgb[chosen], labels[chosen], tuple(str(d) for d in range(10)), mean, std)


def _cifar10_class(checksums: Mapping[str, str] | None):
    CIFAR10 = torchvision_submodule("datasets").CIFAR10
    if checksums is None:
        return CIFAR10

    class CIFAR10WithChecksums(CIFAR10):
        train_list = [[name, checksums[name]] for name, _ in CIFAR10.train_list]
        test_list = [[name, checksums[name]] for name, _ in CIFAR10.test_list]
        meta = {**CIFAR10.meta, "md5": checksums[CIFAR10.meta["filename"]]}

    return CIFAR10WithChecksums


def cifar10_missing_message(root: Path) -> str:
    return (
        f"CIFAR-10 was not found (or failed its checksum) under {root}/{CIFAR10_FOLDER}/. "
        f"Either extract the python version of the archive ({CIFAR10_URL}) so that "
        f"{root}/{CIFAR10_FOLDER}/data_batch_1 ... test_batch exist, or set `data.download: true` "
        "in the config to let the workflow's download_cifar10 rule fetch it."
    )


def cifar10_bad_files(root: Path, checksums: Mapping[str, str] | None = None) -> list[Path]:
    """The files of ``root/cifar-10-batches-py`` that are absent or whose MD5 is not the expected one."""
    if checksums:
        expected = dict(checksums)
    else:
        official = _cifar10_class(None)
        expected = {name: md5 for name, md5 in [*official.train_list, *official.test_list]}
        expected[official.meta["filename"]] = official.meta["md5"]
    folder = root / CIFAR10_FOLDER
    return [
        folder / name
        for name, md5 in expected.items()
        if not (folder / name).is_file() or hashlib.md5((folder / name).read_bytes()).hexdigest() != md5
    ]


def load_cifar10(
    root: str | Path, train: bool, download: bool = False, checksums: Mapping[str, str] | None = None
) -> ImageSet:
    """torchvision's CIFAR-10 from ``root/cifar-10-batches-py`` (python pickle format).

    ``checksums`` maps each file name (data_batch_1..5, test_batch, batches.meta) to
    its MD5; by default torchvision's checksums of the real files are used.
    """
    root = Path(root)
    try:
        dataset = _cifar10_class(checksums)(root=str(root), train=train, download=download)
    except (RuntimeError, OSError) as error:  # OSError: a download that cannot reach the server
        bad = cifar10_bad_files(root, checksums)
        named = f"; failing its checksum or absent: {', '.join(map(str, bad))}" if bad else ""
        raise DataError(f"{cifar10_missing_message(root)}{named} ({type(error).__name__}: {error})") from error
    return ImageSet(
        np.ascontiguousarray(dataset.data, dtype=np.uint8),
        np.asarray(dataset.targets, dtype=np.int64),
        tuple(dataset.classes),
        CIFAR10_MEAN,
        CIFAR10_STD,
    )


def download_cifar10(root: str | Path, download: bool, checksums: Mapping[str, str] | None = None) -> Path:
    """Make sure ``root/cifar-10-batches-py`` holds CIFAR-10, downloading it if allowed."""
    root = Path(root)
    for train in (True, False):
        load_cifar10(root, train=train, download=download and train, checksums=checksums)
    return root / CIFAR10_FOLDER


CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def file_checksums(folder: str | Path) -> dict[str, str]:
    """MD5 of each CIFAR-10 file in ``folder``: what ``data.checksums`` takes for a copy of your own."""
    return {name: hashlib.md5((Path(folder) / name).read_bytes()).hexdigest() for name in CIFAR10_FILES}


def write_cifar10_format(root: str | Path, images_per_file: int, seed: int = 0) -> dict[str, str]:
    """A synthetic CIFAR-10 in the real python format under ``root/cifar-10-batches-py``: random uint8
    images (rows of 3072 in CHW order) and labels, five training files and a test file of
    ``images_per_file`` each, pickled as the originals (protocol 2, str keys). Returns its checksums.
    For running the CIFAR-10 configs end to end where the real archive cannot be fetched."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / CIFAR10_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name in CIFAR10_FILES[:-1]:
        entry = {
            "batch_label": name,
            "data": rng.integers(0, 256, (images_per_file, 3072), dtype=np.uint8),
            "labels": [int(v) for v in rng.integers(0, 10, images_per_file)],
            "filenames": [f"{name}_{i}.png" for i in range(images_per_file)],
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {"label_names": list(CIFAR10_CLASSES), "num_cases_per_batch": images_per_file, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return file_checksums(folder)


def image_classes(folder: str | Path) -> dict[str, int]:
    """``{class: image files}`` of a class-per-folder tree ``folder/<class>/<image>``, classes sorted.

    A missing folder, one without class folders, or an empty class folder is a :class:`DataError`
    naming it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist: expected {folder}/<class>/<image>")
    extensions = torchvision_submodule("datasets").folder.IMG_EXTENSIONS
    counts = {
        entry.name: sum(1 for f in entry.iterdir() if f.name.lower().endswith(extensions))
        for entry in sorted(folder.iterdir())
        if entry.is_dir()
    }
    empty = [name for name, count in counts.items() if count == 0]
    if not counts or empty:
        what = f"class folders {empty} hold" if empty else "it holds no class folders and"
        raise DataError(f"no images found under {folder}: {what} no image files ({', '.join(extensions)})")
    return counts


def read_class_folders(
    folder: str | Path,
    image_size: int,
    resize: int | None = None,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
) -> ImageSet:
    """Every image of a class-per-folder tree ``folder/<class>/<image>`` (classes in sorted order).

    Each image is converted to RGB, its shorter side resized to ``resize`` (default:
    ``image_size``) and centre-cropped to ``image_size`` squared. An empty class folder or an
    unreadable image is a :class:`DataError` naming it.
    """
    image_classes(folder)
    datasets = torchvision_submodule("datasets")
    transforms = torchvision_submodule("transforms")
    pipeline = transforms.Compose([transforms.Resize(resize or image_size), transforms.CenterCrop(image_size)])
    tree = datasets.ImageFolder(str(folder))
    images = []
    for path, _ in tree.samples:
        try:
            images.append(np.asarray(pipeline(tree.loader(path)), dtype=np.uint8))
        except OSError as error:  # PIL's UnidentifiedImageError and truncated files
            raise DataError(f"cannot read image {path}: {error}") from error
    return ImageSet(np.stack(images), np.asarray(tree.targets, dtype=np.int64), tuple(tree.classes), mean, std)


def load_image_folder(root: str | Path, train: bool, image_size: int, resize: int | None = None) -> ImageSet:
    """The ``train`` or ``test`` split of a tree ``root/{train,test}/<class>/<image>`` (:func:`read_class_folders`)."""
    folder = Path(root) / ("train" if train else "test")
    if not folder.is_dir():
        raise DataError(
            f"image folder {folder} does not exist: expected {root}/train/<class>/<image> and "
            f"{root}/test/<class>/<image>"
        )
    return read_class_folders(folder, image_size, resize)


def check_image_folder(root: str | Path) -> dict[str, dict[str, int]]:
    """``{split: {class: images}}`` of an image-folder data root: ``train`` is required, ``test``
    optional (what the branches that read it need); errors say what is missing and the layout."""
    root = Path(root)
    if not (root / "train").is_dir():
        raise DataError(
            f"the image folder {root}/train does not exist. Expected {root}/train/<class>/<image> (and "
            f"{root}/test/<class>/<image> for the branches that read a test split): one folder per class, "
            "e.g. ImageNet's train/n01440764/*.JPEG; see docs/own-models.md"
        )
    return {split: image_classes(root / split) for split in ("train", "test") if (root / split).is_dir()}


def load_dataset(data: Mapping, train: bool) -> ImageSet:
    """Load one split from the validated ``data`` config section (keys as in the config schema)."""
    name = data["dataset"]
    if name == "digits":
        images = load_digits_split(train, data["image_size"], data["test_fraction"], data["split_seed"])
    elif name == "cifar10":
        images = load_cifar10(data["root"], train, download=data["download"], checksums=data.get("checksums"))
    elif name == "imagefolder":
        images = load_image_folder(data["root"], train, data["image_size"], data.get("resize"))
    else:
        raise ValueError(f"unknown dataset {name!r}")
    if data.get("mean") is not None:
        images = ImageSet(images.images, images.labels, images.classes, tuple(data["mean"]), tuple(data["std"]))
    return images


def image_subset(n_available: int, n_images: int | None, seed: int) -> np.ndarray:
    """Sorted indices of the images used: all of them, or a seeded random subset of ``n_images``
    (more than ``n_available`` is a :class:`DataError`: the run would silently be smaller than asked)."""
    if n_images is not None and n_images > n_available:
        raise DataError(f"{n_images} images were asked for, but the split holds {n_available}")
    if n_images is None or n_images == n_available:
        return np.arange(n_available)
    return np.sort(np.random.default_rng(seed).choice(n_available, n_images, replace=False))


def dataset_fingerprint(images: ImageSet) -> str:
    """Short SHA-256 of pixels and labels: ties stored results to the exact data used."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images.images).tobytes())
    digest.update(images.labels.tobytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("download-cifar10", help="check CIFAR-10 under ROOT, downloading it if --download")
    fetch.add_argument("--root", required=True)
    fetch.add_argument("--download", action="store_true")
    fetch.add_argument("--checksums", type=json.loads, help="JSON {file: MD5} of your own copy (data.checksums)")
    synthetic = sub.add_parser(
        "write-cifar10", help="write a synthetic CIFAR-10 in the real format under ROOT and print its data.checksums"
    )
    synthetic.add_argument("--root", required=True)
    synthetic.add_argument("--images-per-file", type=int, default=10_000, help="the real files hold 10,000")
    synthetic.add_argument("--seed", type=int, default=0)
    tree = sub.add_parser("check-image-folder", help="check ROOT/train/<class>/<image> and write its class counts")
    tree.add_argument("--root", required=True)
    tree.add_argument("--out", type=Path, required=True, help="output: JSON of the image counts per split and class")
    args = parser.parse_args(argv)
    try:
        if args.command == "download-cifar10":
            print(f"CIFAR-10 ready in {download_cifar10(args.root, args.download, args.checksums)}")
        elif args.command == "write-cifar10":
            checksums = write_cifar10_format(args.root, args.images_per_file, args.seed)
            print(f"# {args.root}/{CIFAR10_FOLDER}: put this under data: in the config")
            print(f"checksums: {json.dumps(checksums)}")
        else:
            counts = check_image_folder(args.root)
            atomic_write_json(args.out, counts)
            print(f"image folder {args.root}: " + ", ".join(f"{k} {sum(v.values())} images" for k, v in counts.items()))
    except DataError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    run_step(main)
