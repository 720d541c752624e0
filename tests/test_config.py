import pytest
import yaml

from cnntopo.workflow.config import ConfigError, load_schema, validate_config


@pytest.fixture(scope="module")
def schema(repo):
    return load_schema(repo / "workflow/schemas/config.schema.yaml")


def test_the_embedded_default_is_the_schemas_defaults_written_out(repo, schema):
    written = yaml.safe_load((repo / "config/config.yaml").read_text())
    assert written == validate_config({}, schema)  # one source: a default changed in one place fails here


def test_the_schema_reads_its_choices_from_the_registries(schema):
    from cnntopo.networks.layers import ARCHITECTURES
    from cnntopo.ph.similarity import METRICS

    ph = schema["properties"]["ph"]["properties"]
    assert ph["metrics"]["items"]["enum"] == list(METRICS)
    assert ph["model"]["properties"]["arch"]["enum"] == list(ARCHITECTURES)
    assert "'x-enum-from':" not in str(schema)  # every marker was replaced by its enum


def test_the_mask_method_auto_means_otsu_for_the_digits_only():
    from cnntopo.mapper.foreground import mask_method

    assert mask_method("auto", "digits") == "otsu" and mask_method("auto", "cifar10") == "grabcut"
    assert mask_method("grabcut", "digits") == "grabcut"
    with pytest.raises(ValueError, match="unknown mask method"):
        mask_method("deeplab", "digits")


@pytest.mark.parametrize(
    "name", ["config.yaml", "test.yaml", "paper-ph.yaml", "paper-mapper.yaml", "paper-imagenet.yaml"]
)
def test_shipped_configs_are_valid(repo, schema, name):
    validate_config(yaml.safe_load((repo / "config" / name).read_text()), schema)


def test_paper_config_has_the_authors_settings(repo, schema):
    paper = validate_config(yaml.safe_load((repo / "config/paper-ph.yaml").read_text()), schema)
    assert paper["seeds"] == 100 and paper["data"]["dataset"] == "cifar10"
    assert paper["ph"]["model"] == {"arch": "resnet18_option_a", "width": 64}
    train = paper["ph"]["train"]
    assert (train["epochs"], train["batch_size"], train["lr_peak"], train["lr_peak_epoch"]) == (24, 1024, 1.0, 5)
    assert (train["momentum"], train["weight_decay"], train["flip"], train["translate"], train["cutout"]) == (
        0.9,
        5e-4,
        True,
        2,
        8,
    )
    assert train["flip_tta"] and paper["ph"]["activations"]["n_images"] == 1000
    assert paper["ph"]["activations"]["batches"] == 10


def test_defaults_are_filled_into_nested_sections(schema):
    config = validate_config({"ph": {"train": {"epochs": 3}}}, schema)
    assert config["ph"]["train"]["epochs"] == 3 and config["ph"]["train"]["batch_size"] == 128
    assert config["ph"]["activations"]["n_images"] == 250 and config["seeds"] == 6


@pytest.mark.parametrize(
    "config, message",
    [
        ({"seedz": 3}, "unknown key seedz"),
        ({"ph": {"train": {"epoch": 3}}}, "unknown key ph.train.epoch"),
        ({"seeds": 0}, "seeds: 0 is less than the minimum of 1"),
        ({"seeds": "many"}, "seeds: 'many' is not of type 'integer'"),
        ({"data": {"dataset": "mnist"}}, "data.dataset: 'mnist' is not one of"),
        ({"ph": {"activations": {"n_images": 1}}}, "ph.activations.n_images: 1 is less than the minimum of 2"),
        ({"data": {"mean": [0.5, 0.5, 0.5]}}, "data.mean and data.std must be given together"),
        (
            {"ph": {"metrics": ["sw", "wasserstein"]}},
            "ph.metrics.1: 'wasserstein' is not one of ['sw', 'cka', 'procrustes']",
        ),
        (
            {"ph": {"sensitivity": {"layers": [0, 17]}}},
            "ph.sensitivity.layers: [17] - the model's layers run from 0 to 16",
        ),
        ({"mapper": {"layers": [3, 16]}}, "mapper.layers: [16] - the model's layers run from 0 to 15"),
        ({"branches": ["generalisation"]}, "generalisation.models: the generalisation branch needs at least one model"),
        (
            {"branches": ["generalisation"], "generalisation": {"models": [{"name": "r", "arch": "resnet50"}]}},
            "generalisation.models: r (resnet50) has no default layer",
        ),
        (
            {"generalisation": {"models": [{"name": "full", "arch": "alexnet"}]}},
            "generalisation.models: 'full' is also a graph variant of the mapper model",
        ),
        (
            {"profile": {"torchvision": [{"name": "a", "arch": "vgg16", "images": "x"}] * 2}},
            "profile.torchvision: the name 'a' is used twice",
        ),
        ({"profile": {"torchvision": [{"name": "a-b", "arch": "vgg16", "images": "x"}]}}, "profile.torchvision.0.name"),
        ({"mapper": {"foreground": {"method": "deeplab"}}}, "mapper.foreground.method: 'deeplab' is not one of"),
    ],
)
def test_bad_values_get_one_clear_message_naming_the_key(schema, config, message):
    with pytest.raises(ConfigError, match="invalid configuration") as info:
        validate_config(config, schema)
    assert message in str(info.value)
