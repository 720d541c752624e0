"""torchvision classifiers from local weights files, class-per-folder image trees, and profiling them.

No real weights exist here: the tests save random-init weights to files in the formats users have.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from cnntopo.data import DataError, read_class_folders
from cnntopo.io import read_table
from cnntopo.networks.feature_nodes import check_nodes, node_shapes
from cnntopo.networks.layers import default_nodes
from cnntopo.networks.torchvision_compat import torchvision_submodule
from cnntopo.networks.torchvision_models import hub_checkpoint_path, load_torchvision_model, preprocessing_of
from cnntopo.profile.profiles import load_profiles
from cnntopo.store import open_store
from workflow_helpers import planned_jobs, run_snakemake, workflow_copy, write_image_tree


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    torch.manual_seed(0)
    model = torchvision_submodule("models").resnet18().eval()
    path = tmp_path_factory.mktemp("weights") / "resnet18_state_dict.pth"
    torch.save(model.state_dict(), path)
    return path, model


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
    with pytest.raises(ValueError, match="not a torchvision classifier or segmentation model.*resnet18"):
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
        names = images["prediction_classes"].tolist()  # a 1000-output file: the weights enum's categories
        assert len(names) == 1000 and names[0] == "tench"
    assert all(row["components"] == 1 for row in read_table(root / "tv_resnet18/channel/topology.csv"))
    viewer = (root / "viewer.html").read_text()
    assert "tv_resnet18" in viewer and '"prediction_classes":["tench",' in viewer


@pytest.mark.parametrize(
    "arch, shape",
    [
        ("resnet18", (512, 7, 7)),
        ("googlenet", (1024, 7, 7)),
        ("inception_v3", (2048, 5, 5)),
        ("alexnet", (256, 13, 13)),
    ],
)
def test_the_last_layers_of_the_four_figure_13_architectures_at_224_px(arch, shape):
    options = {"aux_logits": False, "init_weights": False} if arch in ("googlenet", "inception_v3") else {}
    model = torchvision_submodule("models").get_model(arch, weights=None, **options)
    (node,) = default_nodes(arch)
    assert node_shapes(model, [node], 224, arch) == {node: shape}


def test_an_unknown_feature_node_is_refused_with_the_names_near_it():
    model = torchvision_submodule("models").resnet18()
    with pytest.raises(ValueError, match=r"'layer4\.1\.bn3' is not a node of resnet18; nearest: layer4\.1\.bn2"):
        check_nodes(model, ["layer4.0.conv1", "layer4.1.bn3"], "resnet18")
    with pytest.raises(ValueError, match="no default layer for 'vgg11'"):
        default_nodes("vgg11")


@pytest.fixture(scope="module")
def deeplab_files(tmp_path_factory):
    """Random-init DeepLabV3 weights biased to one answer: all background, and all foreground (class 1)."""
    folder = tmp_path_factory.mktemp("deeplab")
    torch.manual_seed(0)
    model = torchvision_submodule("models").segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None)
    paths = {}
    for name, winner in (("background", 0), ("foreground", 1)):
        state = model.state_dict()
        state["classifier.4.bias"] = torch.zeros(21)
        state["classifier.4.bias"][winner] = 1e4
        paths[name] = folder / f"{name}.pth"
        torch.save(state, paths[name])
    return paths


def test_deeplab_masks_fall_back_to_grabcut_where_empty_and_record_which_made_each(deeplab_files, tmp_path, capsys):
    from cnntopo.mapper.foreground import main as foreground_main

    tree = tmp_path / "data"
    for split in ("train", "test"):
        write_image_tree(tree / split, classes=("ant", "bee"), per_class=3, side=40)
    data = json.dumps({"dataset": "imagefolder", "root": str(tree), "image_size": 32})
    for answer, expected in (("background", "grabcut"), ("foreground", "deeplabv3")):
        out, table = tmp_path / f"{answer}.npz", tmp_path / f"{answer}.csv"
        foreground_main(
            ["masks", "--data", data, "--method", "deeplabv3", "--segmenter-weights", str(deeplab_files[answer])]
            + ["--out", str(out), "--table", str(table)]
        )
        with np.load(out) as saved:
            assert saved["masks"].shape == (6, 32, 32) and saved["methods"].tolist() == [expected] * 6
            if expected == "deeplabv3":
                assert saved["masks"].all()  # every pixel is class 1
        rows = {row["class"]: row for row in read_table(table)}
        assert rows["all"]["images"] == 6 and rows["ant"][f"share_{expected}"] == 1.0
        assert f"6 masks (100.0% by {expected})" in capsys.readouterr().err  # the log names the method that made them


@pytest.mark.slow
def test_the_generalisation_branch_maps_two_architectures_with_deeplab_masks(resnet18_file, deeplab_files, tmp_path):
    torch.manual_seed(2)
    alexnet = tmp_path / "alexnet.pth"
    torch.save(torchvision_submodule("models").alexnet().state_dict(), alexnet)
    tree = tmp_path / "images"
    for split in ("train", "test"):
        write_image_tree(tree / split, classes=("ant", "bee", "cow"), per_class=8, side=72)
    config = tmp_path / "generalisation.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "branches": ["generalisation"],
                "data": {"dataset": "imagefolder", "root": str(tree), "image_size": 64},
                "mapper": {
                    "foreground": {"method": "deeplabv3", "segmenter": {"weights": str(deeplab_files["background"])}},
                    "graph": {"intervals": 5, "min_samples": 2},
                    "extract_batch": 8,
                },
                "generalisation": {
                    "models": [
                        {"name": "resnet", "arch": "resnet18", "weights": str(resnet18_file[0])},
                        {
                            "name": "alex",
                            "arch": "alexnet",
                            "weights": str(alexnet),
                            "nodes": ["features.4", "features.11"],
                        },
                    ]
                },
            }
        )
    )
    workdir = workflow_copy(tmp_path / "workflow")
    run_snakemake(workdir, "--cores", "2", "--configfile", str(config))
    results = workdir / "results"
    with np.load(results / "mapper/masks.npz") as saved:  # the biased DeepLab finds nothing: grabCut everywhere
        assert saved["masks"].shape == (24, 64, 64) and set(saved["methods"].tolist()) == {"grabcut"}
    shares = {row["class"]: row for row in read_table(results / "mapper/mask_methods.csv")}
    assert shares["all"]["share_grabcut"] == 1.0 and shares["ant"]["images"] == 8
    resnet = open_store(results / "activations/generalisation/resnet/full.zarr")
    assert resnet.layer(0).shape == (1, 24 * 2 * 2, 512)  # layer4.1.bn2 at 64 px: 2 x 2 positions
    assert resnet.layer_attrs(0)["name"] == "layer4.1.bn2" and resnet.attrs["arch"] == "resnet18"
    alex = open_store(results / "activations/generalisation/alex/foreground1.zarr")
    assert [alex.layer(i).shape for i in (0, 1)] == [(1, 24, 192), (1, 24, 256)]
    table = read_table(results / "figures/generalisation/figure13.csv")
    assert [(row["row"], row["column"]) for row in table] == [
        (name, mode) for name in ("resnet", "alex") for mode in ("random", "full", "foreground1", "background1")
    ]
    assert (results / "figures/generalisation/figure13.png").stat().st_size > 20_000
    assert (results / "mapper/graphs/alex/full/layer00.html").exists()


def test_a_googlenet_file_with_its_auxiliary_heads_loads_as_torchvision_loads_its_own(tmp_path):
    torch.manual_seed(3)
    models = torchvision_submodule("models")
    saved = models.googlenet(aux_logits=True, init_weights=False).eval()  # torchvision's checkpoints keep aux1/aux2
    path = tmp_path / "googlenet.pth"
    torch.save(saved.state_dict(), path)
    model, info = load_torchvision_model("googlenet", path)
    assert model.aux1 is None and model.transform_input and len(info.classes) == 1000
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        saved.aux_logits, saved.transform_input = False, True
        assert torch.equal(model(x), saved(x))


def test_outputs_are_named_by_the_enum_by_the_folders_or_by_index(resnet18_file):
    from cnntopo.networks.torchvision_models import ClassifierInfo

    _, info = load_torchvision_model("resnet18", resnet18_file[0])
    assert info.output_names(["ant", "bee"])[:2] == ["tench", "goldfish"]  # 1000 outputs: the enum's names
    three = ClassifierInfo("resnet18", resnet18_file[0], ("class0", "class1", "class2"), info.preprocessing, False)
    assert three.output_names(["ant", "bee", "cow"]) == ["ant", "bee", "cow"]  # as many outputs as folders
    assert three.output_names(["ant", "bee"]) == ["class0", "class1", "class2"]


def test_the_weights_check_lists_every_missing_file(resnet18_file, tmp_path, monkeypatch):
    from cnntopo.networks.torchvision_models import missing_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    lines = missing_weights([("mine", "resnet18", str(resnet18_file[0])), ("theirs", "alexnet", None)])
    assert lines == [
        f"theirs: weights file {tmp_path}/hub/checkpoints/alexnet-owt-7be5be79.pth does not exist: put the alexnet"
        " state_dict there (torchvision's file for AlexNet_Weights.IMAGENET1K_V1,"
        " from https://download.pytorch.org/models/alexnet-owt-7be5be79.pth)"
    ]


def test_the_check_before_work_loads_every_file_and_names_every_problem(resnet18_file, tmp_path):
    from cnntopo.entrypoint import StepError
    from cnntopo.networks.torchvision_models import check_models

    path, _ = resnet18_file
    good = ("mine", "resnet18", str(path), ["layer1.0.add", "layer4.1.relu_1"])
    found = check_models([good])
    assert found == {"mine": {"arch": "resnet18", "weights": str(path), "nodes": list(good[3])}}
    wrong_arch = ("wrong_arch", "resnet34", str(path), [])
    wrong_node = ("wrong_node", "resnet18", str(path), ["layer9.add"])
    with pytest.raises(StepError) as caught:
        check_models([good, wrong_arch, wrong_node])
    lines = str(caught.value).splitlines()
    assert lines[0] == "2 of 3 models cannot be used:"
    assert lines[1].startswith(f"  wrong_arch: weights in {path} do not fit torchvision resnet34: missing keys ")
    assert "(layer1.2.conv1.weight, " in lines[1] and lines[1].endswith(", ...)")
    assert lines[2].startswith("  wrong_node: 'layer9.add' is not a node of resnet18; nearest:")
    assert all(len(line) < 800 for line in lines)


@pytest.mark.slow
def test_the_ph_branch_runs_on_the_users_own_models_by_node_name(tmp_path):
    models = torchvision_submodule("models")
    weights = []
    for seed in (0, 1):
        torch.manual_seed(10 + seed)
        weights.append(tmp_path / f"mine_seed{seed}.pth")
        torch.save(models.resnet18(num_classes=3).state_dict(), weights[-1])
    tree = tmp_path / "images"
    for split in ("train", "test"):
        write_image_tree(tree / split, classes=("ant", "bee", "cow"), per_class=12, side=40)
    nodes = ["conv1", "layer1.0.conv1", "layer2.0.conv1", "layer3.0.conv1", "layer4.1.bn2"]
    config = tmp_path / "mine.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "branches": ["ph"],
                "seeds": 2,
                "device": "cpu",
                "data": {"dataset": "imagefolder", "root": str(tree), "image_size": 32},
                "ph": {
                    "user_models": {"arch": "resnet18", "weights": [str(w) for w in weights], "nodes": nodes},
                    "metrics": ["sw", "cka"],
                    "representations": ["top_l2"],
                    "activations": {"n_images": 30, "batches": 2, "extract_batch": 16},
                    "specificity": {"layer": 4},
                    "sensitivity": {"layers": [2, 4]},
                    "statistics": {"bootstrap": 50, "permutations": 50},
                },
            }
        )
    )
    workdir = workflow_copy(tmp_path / "workflow")
    plan = planned_jobs(run_snakemake(workdir, "-n", "--configfile", str(config)).stdout)
    assert "train_model" not in plan and "init_model" not in plan and plan["extract_activations"] == 4
    run_snakemake(workdir, "--cores", "2", "--configfile", str(config))
    results = workdir / "results"
    for branch in ("ph", "ph_untrained"):
        store = open_store(results / f"activations/{branch}/seed1.zarr")
        assert store.attrs["seed"] == 1 and store.attrs["arch"] == "resnet18"
        assert [store.layer_attrs(i)["name"] for i in range(5)] == nodes
        assert [store.layer(i).shape[2] for i in range(5)] == [64, 64, 128, 256, 512]
    trained = open_store(results / "activations/ph/seed0.zarr").layer(4)[:]
    untrained = open_store(results / "activations/ph_untrained/seed0.zarr").layer(4)[:]
    assert not np.allclose(trained, untrained)  # the control is a fresh initialisation, not the user's file
    within = np.load(results / "distances/ph/sw/top_l2/within/seed0.npz")
    assert within["mean"].shape == (5, 5) and np.isfinite(within["mean"]).all()
    (row,) = [
        r for r in read_table(results / "specificity/ph/sw/specificity_summary.csv") if r["representation"] == "top_l2"
    ]
    assert 0 < row["p_value"] <= 1
    assert (results / "figures/ph/sw/top_l2/figure6_specificity.png").exists()
    # Figures and tables name the layers by node, not by a Conv2d index they do not have.
    figure5 = read_table(results / "figures/ph/sw/top_l2/figure5_within.csv")
    assert [(r["layer_i_name"], r["layer_j_name"]) for r in figure5[:2]] == [(nodes[0], nodes[0]), (nodes[0], nodes[1])]
    figure7 = read_table(results / "figures/ph/sw/top_l2/figure7_sensitivity.csv")
    assert {r["layer_name"] for r in figure7} == {nodes[2], nodes[4]}
    claims = {r["claim"]: r for r in read_table(results / "paper_vs_run.csv")}
    assert any("layer 4" in claim for claim in claims) and not any("layer 9 " in claim for claim in claims)


def test_more_mapper_images_than_the_split_holds_is_refused(tmp_path):
    from cnntopo.mapper.foreground import main as foreground_main

    tree = tmp_path / "data"
    write_image_tree(tree / "train", per_class=3, side=40)
    data = json.dumps({"dataset": "imagefolder", "root": str(tree), "image_size": 32})
    with pytest.raises(SystemExit, match="mapper.n_images: 100 images were asked for, but the split holds 6"):
        foreground_main(
            ["masks", "--data", data, "--n-images", "100", "--method", "otsu", "--out", str(tmp_path / "m.npz")]
        )
    assert not (tmp_path / "m.npz").exists()
