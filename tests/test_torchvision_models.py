"""torchvision classifiers from local weights files, class-per-folder image trees, and profiling them.

No real weights exist here: the tests save random-init weights to files in the formats users have.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from cnntopo.data import DataError, read_class_folders
from cnntopo.profile.profiles import load_profiles
from cnntopo.provenance import read_table
from cnntopo.torchvision_compat import torchvision_submodule
from cnntopo.torchvision_models import hub_checkpoint_path, load_torchvision_model, preprocessing_of
from workflow_helpers import run_snakemake, workflow_copy


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    torch.manual_seed(0)
    model = torchvision_submodule("models").resnet18().eval()
    path = tmp_path_factory.mktemp("weights") / "resnet18_state_dict.pth"
    torch.save(model.state_dict(), path)
    return path, model


def write_image_tree(root, classes=("cat", "dog"), per_class=2, side=40):
    """``root/<class>/<image>``, alternating JPEG and PNG, random pixels."""
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (side, side + 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{'jpg' if i % 2 else 'png'}")
    return root


def test_a_state_dict_file_gives_the_same_network_and_the_enums_metadata(resnet18_file):
    path, original = resnet18_file
    model, info = load_torchvision_model("resnet18", path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), original(x))
    assert len(info.classes) == 1000 and info.classes[0] == "tench"
    assert info.preprocessing == preprocessing_of("resnet18")
    assert (info.preprocessing.resize, info.preprocessing.crop) == (256, 224)


def test_torchvisions_own_checkpoint_file_is_read_from_torch_home(resnet18_file, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub/checkpoints/resnet18-f37072fd.pth"
    assert hub_checkpoint_path("resnet18") == expected
    with pytest.raises(FileNotFoundError, match=f"{expected}.*resnet18-f37072fd.pth"):
        load_torchvision_model("resnet18")
    expected.parent.mkdir(parents=True)
    path, original = resnet18_file
    torch.save({"state_dict": torch.load(path, weights_only=True)}, expected)  # the wrapped form works too
    model, info = load_torchvision_model("resnet18")
    assert info.weights == expected and torch.equal(model.fc.weight, original.fc.weight)


def test_the_wrong_file_for_an_architecture_and_a_missing_file_are_clear_errors(resnet18_file, tmp_path):
    path, _ = resnet18_file
    with pytest.raises(ValueError, match="do not fit torchvision resnet34"):
        load_torchvision_model("resnet34", path)
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'absent.pth'} does not exist"):
        load_torchvision_model("resnet18", tmp_path / "absent.pth")
    with pytest.raises(ValueError, match="not a torchvision classifier.*resnet18"):
        load_torchvision_model("resnet17", path)


def test_a_class_per_folder_tree_is_read_with_the_given_preprocessing(tmp_path):
    images = read_class_folders(write_image_tree(tmp_path / "tree"), 32, 36, (0.5,) * 3, (0.25,) * 3)
    assert images.images.shape == (4, 32, 32, 3) and images.labels.tolist() == [0, 0, 1, 1]
    assert images.classes == ("cat", "dog") and images.mean == (0.5,) * 3


def test_an_empty_class_folder_and_an_unreadable_image_are_named(tmp_path):
    tree = write_image_tree(tmp_path / "tree")
    (tree / "empty").mkdir()
    with pytest.raises(DataError, match=r"\['empty'\] hold no image files"):
        read_class_folders(tree, 32)
    (tree / "empty" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="cannot read image .*broken.jpg"):
        read_class_folders(tree, 32)


@pytest.mark.slow
def test_the_workflow_profiles_a_torchvision_model_on_an_image_tree(resnet18_file, tmp_path):
    path, _ = resnet18_file
    workdir = workflow_copy(tmp_path / "workflow")
    tree = write_image_tree(tmp_path / "images", classes=("ant", "bee", "cow"), side=230)
    config = tmp_path / "tv.yaml"
    config.write_text(
        "branches: [profile]\n"
        "profile:\n"
        "  models: []\n"
        "  images_per_class: 2\n"
        "  kinds: [channel, spatial, svd]\n"
        "  batch: 4\n"
        f"  torchvision: [{{name: tv_resnet18, arch: resnet18, weights: {path}, images: {tree}}}]\n"
    )
    run_snakemake(workdir, "--cores", "2", "--configfile", str(config))
    root = workdir / "results/profiles"
    profiles = load_profiles(root / "tv_resnet18/channel.npz")
    assert len(profiles) == 6 and profiles.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert len(profiles.layer_names) == 32  # torchvision resnet18's profile layers, as upstream's
    with np.load(root / "tv_resnet18/images.npz") as images:
        assert images["images"].shape == (6, 224, 224, 3) and images["classes"].tolist() == ["ant", "bee", "cow"]
    assert all(row["components"] == 1 for row in read_table(root / "tv_resnet18/channel/topology.csv"))
    assert "tv_resnet18" in (root / "viewer.html").read_text()
