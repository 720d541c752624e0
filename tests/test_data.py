import hashlib
import json
import pickle

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from cnntopo.data import (
    CIFAR10_MEAN,
    DataError,
    load_cifar10,
    load_dataset,
    load_digits_split,
    load_image_folder,
    main,
    normalize,
    write_cifar10_format,
)
from cnntopo.networks.torchvision_compat import import_torchvision, torchvision_submodule

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_torchvision_datasets_import_even_without_its_c_extension():
    package = import_torchvision()
    assert torchvision_submodule("datasets").CIFAR10.__name__ == "CIFAR10"
    assert package.__name__ == "torchvision"


def test_tiny_cifar10_in_the_real_format_loads(tmp_path):
    checksums = write_cifar10_format(tmp_path, 4)
    train = load_cifar10(tmp_path, train=True, checksums=checksums)
    test = load_cifar10(tmp_path, train=False, checksums=checksums)
    assert train.images.shape == (20, 32, 32, 3) and test.images.shape == (4, 32, 32, 3)
    assert train.classes == tuple(CIFAR_CLASSES) and train.mean == CIFAR10_MEAN
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes(), encoding="latin1")
    assert np.array_equal(test.images, raw["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert test.labels.tolist() == raw["labels"]


def test_cifar10_with_wrong_checksums_or_missing_files_is_a_clear_error(tmp_path):
    checksums = write_cifar10_format(tmp_path, 4)
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        load_cifar10(tmp_path, train=True)  # torchvision's checksums of the real files
    with pytest.raises(DataError, match=r"data\.download: true"):
        load_cifar10(tmp_path / "nowhere", train=True, checksums=checksums)


def test_a_copy_of_your_own_loads_with_its_checksums_in_the_config(tmp_path, capsys):
    main(["write-cifar10", "--root", str(tmp_path), "--images-per-file", "3", "--seed", "2"])
    printed = capsys.readouterr().out
    checksums = yaml.safe_load(printed)["checksums"]
    folder = tmp_path / "cifar-10-batches-py"
    assert checksums == {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    data = {"dataset": "cifar10", "root": str(tmp_path), "download": False, "checksums": checksums}
    assert len(load_dataset(data, train=True)) == 15 and len(load_dataset(data, train=False)) == 3
    with pytest.raises(DataError, match="failed its checksum"):
        load_dataset({**data, "checksums": None}, train=False)  # torchvision's checksums of the real archive
    main(["download-cifar10", "--root", str(tmp_path), "--checksums", json.dumps(checksums)])
    assert "CIFAR-10 ready" in capsys.readouterr().out


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


def test_the_digits_are_scikit_learns_and_the_split_is_stratified_and_seeded():
    from sklearn.datasets import load_digits

    from cnntopo.data import digits_file, stratified_split

    table, bunch = np.loadtxt(digits_file(), delimiter=","), load_digits()
    assert np.array_equal(table[:, :-1].reshape(-1, 8, 8), bunch.images) and np.array_equal(table[:, -1], bunch.target)
    labels = np.repeat([0, 1, 2], [50, 30, 7])
    train, test = stratified_split(labels, 0.3, seed=4)
    assert len(test) == 27 and np.array_equal(np.sort(np.r_[train, test]), np.arange(87))
    assert np.bincount(labels[test]).tolist() == [16, 9, 2]  # quotas 15.52, 9.31, 2.17: the largest remainder gets 1
    assert np.array_equal(stratified_split(labels, 0.3, seed=4)[1], test)
    assert not np.array_equal(stratified_split(labels, 0.3, seed=5)[1], test)


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
