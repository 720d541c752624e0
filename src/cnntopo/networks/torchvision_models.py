"""torchvision classifiers by name, with weights from a local file and the weights enum's metadata.

Nothing is downloaded. The weights come either from a file the user names (a bare
``state_dict``, or a dict holding one under ``"state_dict"``) or, when none is named, from
the file torchvision itself would have downloaded: ``$TORCH_HOME/hub/checkpoints/<file>``,
where ``<file>`` is the last part of the default weights enum's URL. The class names and
the preprocessing (resize, centre crop, normalisation) are those of the architecture's
default weights enum, so a user's ImageNet fine-tune is read the way torchvision reads its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnntopo.entrypoint import StepError, run_step
from cnntopo.networks.torchvision_compat import torchvision_submodule
from cnntopo.networks.weights import WeightsError, load_checked, read_weights_file

# torchvision builds these with transform_input=True whenever it loads ImageNet weights: the
# checkpoints expect inputs re-normalised from ImageNet statistics to [-1, 1] inside the model.
_TRANSFORM_INPUT = ("googlenet", "inception_v3")


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the network's input: shorter side to ``resize`` px, centre crop ``crop`` px."""

    resize: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class ClassifierInfo:
    arch: str
    weights: Path
    classes: tuple[str, ...]  # the enum's categories, or class0 ... where the file's outputs are others
    preprocessing: Preprocessing
    named_by_enum: bool = True

    def output_names(self, folders: Sequence[str]) -> list[str]:
        """What the classifier's outputs are called: the weights enum's categories where the file has as
        many outputs (ImageNet's 1000); else the class folders' names where it has as many outputs as there
        are folders (a model trained on the tree, its outputs in the folders' sorted order, as torchvision's
        ImageFolder numbers them); else ``class0 ...``."""
        if not self.named_by_enum and len(folders) == len(self.classes):
            return list(folders)
        return list(self.classes)


def _models():
    return torchvision_submodule("models")


def classifier_names() -> list[str]:
    """Every torchvision image-classification architecture name (``resnet18``, ``alexnet``, ...)."""
    models = _models()
    return sorted(models.list_models(module=models))


def segmentation_names() -> list[str]:
    """torchvision's semantic-segmentation architectures (``deeplabv3_resnet50``, ...)."""
    models = _models()
    return sorted(models.list_models(module=models.segmentation))


def default_weights(arch: str):
    """The default member of ``arch``'s weights enum (e.g. ``ResNet18_Weights.IMAGENET1K_V1``)."""
    names = classifier_names() + segmentation_names()
    if arch not in names:
        near = [n for n in names if n[:3] == arch[:3]] or names
        raise ValueError(f"{arch!r} is not a torchvision classifier or segmentation model; known names include {near}")
    return _models().get_model_weights(arch).DEFAULT


def hub_checkpoint_path(arch: str) -> Path:
    """Where torchvision keeps ``arch``'s default weights: ``$TORCH_HOME/hub/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(default_weights(arch).url).name


def preprocessing_of(arch: str) -> Preprocessing:
    """The enum's resize, crop and normalisation (a segmentation model's transforms do not crop: crop = resize)."""
    transform = default_weights(arch).transforms()
    resize = int(transform.resize_size[0])
    crop = int(transform.crop_size[0]) if hasattr(transform, "crop_size") else resize
    return Preprocessing(resize, crop, tuple(transform.mean), tuple(transform.std))


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    payload = read_weights_file(path)
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    if not isinstance(payload, dict) or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise WeightsError(f"{path} holds no state_dict (a mapping of parameter names to tensors)")
    return payload


def _classes_in(state: dict[str, torch.Tensor], segmentation: bool) -> int:
    """The output count of the last layer: a classifier's last Linear weight, a segmentation head's last conv."""
    if segmentation:
        heads = [v for k, v in state.items() if k.startswith("classifier.") and k.endswith("weight") and v.dim() == 4]
        return int(heads[-1].shape[0])
    matrices = [v for k, v in state.items() if k.endswith("weight") and v.dim() == 2]
    return int(matrices[-1].shape[0])


def load_torchvision_model(arch: str, weights: str | Path | None = None) -> tuple[nn.Module, ClassifierInfo]:
    """torchvision ``arch`` (a classifier or a segmentation model) with the weights of a local file,
    in eval mode, and its class names and preprocessing.

    ``weights``: a state_dict file; ``None`` reads :func:`hub_checkpoint_path`. The number of
    classes is that of the file's last layer; the class names are the enum's categories (ImageNet's
    1000, VOC's 21) when the counts agree, else ``class0 ...``.
    """
    categories = tuple(default_weights(arch).meta["categories"])  # refuses an unknown name first
    path = weights_file(arch, weights)
    if not path.is_file():
        raise FileNotFoundError(_missing_message(arch, weights))
    state = _state_dict(path)
    segmentation = arch in segmentation_names()
    num_classes = _classes_in(state, segmentation)
    options = {"num_classes": num_classes}
    if segmentation:  # no backbone download; the auxiliary head only if the file has it
        options.update(weights_backbone=None, aux_loss=any(k.startswith("aux_classifier.") for k in state))
    if arch in _TRANSFORM_INPUT:
        options.update(
            transform_input=True,
            init_weights=False,
            aux_logits=any(k.startswith("Aux") or k.startswith("aux") for k in state),
        )
    model = _models().get_model(arch, weights=None, **options)
    load_checked(model, state, path, f"torchvision {arch}")
    if getattr(model, "aux_logits", False):  # as torchvision does after loading: the aux heads train only
        model.aux_logits = False
        for name in ("aux1", "aux2", "AuxLogits"):
            if hasattr(model, name):
                setattr(model, name, None)
    named = num_classes == len(categories)
    classes = categories if named else tuple(f"class{i}" for i in range(num_classes))
    return model.eval(), ClassifierInfo(arch, path, classes, preprocessing_of(arch), named)


def weights_file(arch: str, weights: str | Path | None) -> Path:
    """The file ``load_torchvision_model(arch, weights)`` reads."""
    return Path(weights) if weights is not None else hub_checkpoint_path(arch)


def _missing_message(arch: str, weights: str | Path | None) -> str:
    path, member = weights_file(arch, weights), default_weights(arch)
    source = f" (torchvision's file for {member}, from {member.url})" if weights is None else ""
    return f"weights file {path} does not exist: put the {arch} state_dict there{source}"


def missing_weights(models: list[tuple[str, str, str | None]]) -> list[str]:
    """One line per ``(name, arch, weights)`` whose weights file is absent, saying what to put where."""
    return [
        f"{name}: {_missing_message(arch, weights)}"
        for name, arch, weights in models
        if not weights_file(arch, weights).is_file()
    ]


def unusable_models(models: list[tuple[str, str, str | None, list[str]]]) -> list[str]:
    """One line per ``(name, arch, weights, nodes)`` whose file does not load into ``arch`` or lacks a node."""
    from cnntopo.networks.feature_nodes import check_nodes

    problems = []
    for name, arch, weights, nodes in models:
        try:
            model, _ = load_torchvision_model(arch, weights)
            if nodes:
                check_nodes(model, nodes, arch)
        except (WeightsError, ValueError) as error:
            problems.append(f"{name}: {error}")
    return problems


def check_models(models: list[tuple[str, str, str | None, list[str]]]) -> dict[str, dict]:
    """Every model's weights file is present, fits its architecture and has its feature nodes, checked
    before any job computes with them; ``{name: {"arch", "weights", "nodes"}}``, or :class:`StepError`
    listing every problem, one line each."""
    try:
        missing = missing_weights([(name, arch, weights) for name, arch, weights, _ in models])
    except ValueError as error:  # an unknown architecture
        raise StepError(str(error)) from None
    if missing:
        raise StepError("weights files are missing (nothing is downloaded):\n  " + "\n  ".join(missing))
    problems = unusable_models(models)
    if problems:
        raise StepError(f"{len(problems)} of {len(models)} models cannot be used:\n  " + "\n  ".join(problems))
    return {
        name: {"arch": arch, "weights": str(weights_file(arch, weights)), "nodes": nodes}
        for name, arch, weights, nodes in models
    }


def main(argv: list[str] | None = None) -> None:
    import argparse
    import sys

    from cnntopo.io import atomic_write_json

    parser = argparse.ArgumentParser(prog="python -m cnntopo.networks.torchvision_models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check", help="load every model's weights file once and check its feature nodes; write what was checked"
    )
    check.add_argument(
        "--model",
        nargs=4,
        action="append",
        required=True,
        metavar=("NAME", "ARCH", "WEIGHTS", "NODES"),
        help="WEIGHTS '-': torchvision's own file under $TORCH_HOME/hub/checkpoints/; NODES: comma-separated, '-' none",
    )
    check.add_argument("--out", type=Path, required=True, help="output: JSON of each model's file and nodes")
    args = parser.parse_args(argv)
    models = [
        (name, arch, None if weights == "-" else weights, [] if nodes == "-" else nodes.split(","))
        for name, arch, weights, nodes in args.model
    ]
    found = check_models(models)
    atomic_write_json(args.out, found)
    print(f"the weights of {len(found)} models load and have their nodes", file=sys.stderr)


if __name__ == "__main__":
    run_step(main)
