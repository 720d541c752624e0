import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnntopo.data import (
    CIFAR10_MEAN,
    DataError,
    load_cifar10,
    load_dataset,
    load_digits_split,
    load_image_folder,
    normalize,
)
from cnntopo.torchvision_compat import import_torchvision, torchvision_submodule

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_tiny_cifar10(root: Path, per_batch: int = 4, seed: int = 0) -> dict[str, str]:
    """CIFAR-10's python format (pickled dicts of uint8 rows in CHW order) with a few images per file.

    Returns the MD5 of each file, as torchvision's integrity check needs.
    """
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        # The real files were pickled by Python 2: str keys, read back by torchvision with latin1.
        entry = {
            "batch_label": name,
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": [int(v) for v in rng.integers(0, 10, per_batch)],
            "filenames": [f"{name}_{i}.png" for i in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    (folder / "batches.meta").write_bytes(
        pickle.dumps({"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch, "num_vis": 3072}, protocol=2)
    )
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_torchvision_datasets_import_even_without_its_c_extension():
    package = import_torchvision()
    assert torchvision_submodule("datasets").CIFAR10.__name__ == "CIFAR10"
    assert package.__name__ == "torchvision"


def test_tiny_cifar10_in_the_real_format_loads(tmp_path):
    checksums = write_tiny_cifar10(tmp_path)
    train = load_cifar10(tmp_path, train=True, checksums=checksums)
    test = load_cifar10(tmp_path, train=False, checksums=checksums)
    assert train.images.shape == (20, 32, 32, 3) and test.images.shape == (4, 32, 32, 3)
    assert train.classes == tuple(CIFAR_CLASSES) and train.mean == CIFAR10_MEAN
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes(), encoding="latin1")
    assert np.array_equal(test.images, raw["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert test.labels.tolist() == raw["labels"]


def test_cifar10_with_wrong_checksums_or_missing_files_is_a_clear_error(tmp_path):
    checksums = write_tiny_cifar10(tmp_path)
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        load_cifar10(tmp_path, train=True)  # torchvision's checksums of the real files
    with pytest.raises(DataError, match=r"data\.download: true"):
        load_cifar10(tmp_path / "nowhere", train=True, checksums=checksums)


def test_digits_split_is_stratified_fixed_and_rgb():
    train, test = load_digits_split(True), load_digits_split(False)
    assert len(train) == 1347 and len(test) == 450
    assert train.images.shape[1:] == (16, 16, 3)
    assert np.array_equal(train.images[..., 0], train.images[..., 2])
    assert np.all(np.abs(np.bincount(test.labels) - 0.25 * np.bincount(np.r_[train.labels, test.labels])) <= 1)
    again = load_digits_split(False)
    assert np.array_equal(again.images, test.images) and np.array_equal(again.labels, test.labels)
    other = load_digits_split(False, split_seed=1)
    assert not np.array_equal(other.labels, test.labels)
    x = normalize(torch.from_numpy(train.images), train.mean, train.std)
    assert x.shape == (1347, 3, 16, 16)
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-3


def test_image_folder_tree_is_resized_and_centre_cropped(tmp_path):
    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("test", 2)):
        for cls in ("cat", "dog"):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    data = {"dataset": "imagefolder", "root": str(tmp_path), "image_size": 16, "resize": 20, "mean": None, "std": None}
    train = load_dataset(data, train=True)
    assert train.images.shape == (6, 16, 16, 3) and train.classes == ("cat", "dog")
    assert train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "missing", train=True, image_size=16)


def test_config_normalisation_overrides_the_dataset_statistics():
    data = {
        "dataset": "digits",
        "image_size": 16,
        "test_fraction": 0.25,
        "split_seed": 0,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.25, 0.25, 0.25],
    }
    assert load_dataset(data, train=False).mean == (0.5, 0.5, 0.5)
