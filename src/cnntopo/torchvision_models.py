"""torchvision classifiers by name, with weights from a local file and the weights enum's metadata.

Nothing is downloaded. The weights come either from a file the user names (a bare
``state_dict``, or a dict holding one under ``"state_dict"``) or, when none is named, from
the file torchvision itself would have downloaded: ``$TORCH_HOME/hub/checkpoints/<file>``,
where ``<file>`` is the last part of the default weights enum's URL. The class names and
the preprocessing (resize, centre crop, normalisation) are those of the architecture's
default weights enum, so a user's ImageNet fine-tune is read the way torchvision reads its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnntopo.torchvision_compat import torchvision_submodule

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
    classes: tuple[str, ...]
    preprocessing: Preprocessing


def _models():
    return torchvision_submodule("models")


def classifier_names() -> list[str]:
    """Every torchvision image-classification architecture name (``resnet18``, ``alexnet``, ...)."""
    models = _models()
    return sorted(models.list_models(module=models))


def default_weights(arch: str):
    """The default member of ``arch``'s weights enum (e.g. ``ResNet18_Weights.IMAGENET1K_V1``)."""
    names = classifier_names()
    if arch not in names:
        near = [n for n in names if n[:3] == arch[:3]] or names
        raise ValueError(f"{arch!r} is not a torchvision classifier; known names include {near}")
    return _models().get_model_weights(arch).DEFAULT


def hub_checkpoint_path(arch: str) -> Path:
    """Where torchvision keeps ``arch``'s default weights: ``$TORCH_HOME/hub/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(default_weights(arch).url).name


def preprocessing_of(arch: str) -> Preprocessing:
    transform = default_weights(arch).transforms()
    return Preprocessing(
        int(transform.resize_size[0]), int(transform.crop_size[0]), tuple(transform.mean), tuple(transform.std)
    )


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    if not isinstance(payload, dict) or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise ValueError(f"{path} holds no state_dict (a mapping of parameter names to tensors)")
    return payload


def _classes_in(state: dict[str, torch.Tensor]) -> int:
    """The output count of the last Linear weight in the state_dict (its last 2-d tensor)."""
    matrices = [v for k, v in state.items() if k.endswith("weight") and v.dim() == 2]
    return int(matrices[-1].shape[0])


def load_torchvision_model(arch: str, weights: str | Path | None = None) -> tuple[nn.Module, ClassifierInfo]:
    """torchvision ``arch`` with the weights of a local file, in eval mode, and its class names and preprocessing.

    ``weights``: a state_dict file; ``None`` reads :func:`hub_checkpoint_path`. The number of
    classes is that of the file's last layer; the class names are the enum's ImageNet categories
    when it has 1000 outputs, else ``class0 ...``.
    """
    member = default_weights(arch)
    path = Path(weights) if weights is not None else hub_checkpoint_path(arch)
    if not path.is_file():
        where = "" if weights is not None else f" (torchvision's file for {member}; or set the model's weights path)"
        raise FileNotFoundError(
            f"weights file {path} does not exist: put the {arch} weights there{where}; "
            f"the file {Path(member.url).name} from {member.url} is the one torchvision uses"
        )
    state = _state_dict(path)
    num_classes = _classes_in(state)
    options = {"num_classes": num_classes}
    if arch in _TRANSFORM_INPUT:
        options.update(
            transform_input=True,
            init_weights=False,
            aux_logits=any(k.startswith("Aux") or k.startswith("aux") for k in state),
        )
    model = _models().get_model(arch, weights=None, **options)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).splitlines()[:3]
        raise ValueError(f"weights in {path} do not fit torchvision {arch}: {' '.join(first)}") from error
    if getattr(model, "aux_logits", False):  # as torchvision does after loading: the aux heads train only
        model.aux_logits = False
        for name in ("aux1", "aux2", "AuxLogits"):
            if hasattr(model, name):
                setattr(model, name, None)
    categories = tuple(member.meta["categories"])
    classes = categories if num_classes == len(categories) else tuple(f"class{i}" for i in range(num_classes))
    return model.eval(), ClassifierInfo(arch, path, classes, preprocessing_of(arch))
