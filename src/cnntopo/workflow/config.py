"""Validate a workflow config against the JSON schema, filling in defaults.

Used by the Snakefile before any job runs, and directly by tests. Errors name
the offending key by its dotted path and say what was expected.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators

from cnntopo.networks.layers import TORCHVISION_LAST_LAYERS, layer_count


class ConfigError(ValueError):
    """The configuration does not match the schema."""


# The workflow's ``{branch}`` values and the config section each reads: the untrained control
# (randomly initialised models) runs the PH branch's steps with the PH branch's settings.
BRANCH_SECTIONS = {"ph": "ph", "ph_untrained": "ph", "mapper": "mapper"}
# The PH models after E epochs of their training (ph.trajectory): branch ph_epochE, configured by ph.
SNAPSHOT_BRANCH = re.compile(r"ph_epoch(\d+)")
BRANCH_PATTERN = "|".join([*BRANCH_SECTIONS, SNAPSHOT_BRANCH.pattern])


def branch_section(branch: str) -> str:
    """The config section of a branch (``ph_epoch5``: ``ph``)."""
    return "ph" if SNAPSHOT_BRANCH.fullmatch(branch) else BRANCH_SECTIONS[branch]


def trajectory_epochs(section: Mapping[str, Any]) -> list[int]:
    """The epochs a branch section's trajectory (ph or mapper) follows: those listed that its training
    reaches, and always its last (the trained models); none where none is listed. The PH branch follows
    none with user models, since nothing is trained: its callers check that."""
    final = section["train"]["epochs"]
    listed = [e for e in section["trajectory"]["epochs"] if e <= final]
    return sorted({*listed, final}) if listed else []


def trajectory_branch(ph: Mapping[str, Any], epoch: int) -> str:
    """The branch of the models after ``epoch`` epochs: the trained models at the last, the untrained
    control (where it runs) at 0, else the training job's snapshots (``ph_epochE``)."""
    if epoch == ph["train"]["epochs"]:
        return "ph"
    return "ph_untrained" if epoch == 0 and ph["controls"]["untrained"] else f"ph_epoch{epoch}"


def profile_model_names(profile: Mapping[str, Any]) -> list[str]:
    """The profile branch's models by the names of their results/profiles/ folders: a project model
    BRANCH/seedS as BRANCH-seedS, a profile.torchvision entry by its name."""
    return [m.replace("/", "-") for m in profile["models"]] + [entry["name"] for entry in profile["torchvision"]]


def metric_representations(ph: Mapping[str, Any], metric: str) -> list[str]:
    """The point clouds a PH metric compares (cnntopo.ph.sampling): SW's diagrams' or the cloud metrics'."""
    from cnntopo.ph.similarity import METRICS

    return ph["sw"]["representations"] if METRICS[metric].reads == "diagrams" else ph["representations"]


def snapshot_epoch(branch: str) -> int | None:
    """E of a snapshot branch ``ph_epochE``; None for the other branches."""
    match = SNAPSHOT_BRANCH.fullmatch(branch)
    return int(match.group(1)) if match else None


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if "default" in subschema and key not in instance:
                    instance[key] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _with_defaults(Draft202012Validator)


REGISTRY_KEY = "x-enum-from"


def _fill_registries(node: Any) -> None:
    """Replace each ``x-enum-from: "module:NAME"`` by ``enum: list(module.NAME)`` (the registry's names)."""
    if isinstance(node, dict):
        if REGISTRY_KEY in node:
            module, name = node.pop(REGISTRY_KEY).split(":")
            node["enum"] = list(getattr(importlib.import_module(module), name))
        for value in node.values():
            _fill_registries(value)
    elif isinstance(node, list):
        for value in node:
            _fill_registries(value)


def load_schema(path: str | Path) -> dict[str, Any]:
    """The config schema, its choices read from the registries it names (``x-enum-from``), so that the
    metrics and architectures the workflow knows are listed in one place."""
    schema = yaml.safe_load(Path(path).read_text())
    _fill_registries(schema)
    return schema


def _describe(error: ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        prefix = f"{where}." if error.absolute_path else ""
        return f"unknown key {', '.join(prefix + k for k in unknown)}; allowed here: {', '.join(allowed)}"
    expected = " ".join(error.schema.get("description", "").split())  # folded YAML text, on one line
    hint = f" ({expected})" if expected else ""
    return f"{where}: {error.message}{hint}"


def validate_config(config: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return a validated copy of ``config`` with every default filled in; raise :class:`ConfigError`."""
    Draft202012Validator.check_schema(schema)
    filled = copy.deepcopy(dict(config))
    errors = sorted(
        _DefaultFillingValidator(schema).iter_errors(filled), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if errors:
        lines = "\n  ".join(_describe(e) for e in errors)
        raise ConfigError(f"invalid configuration:\n  {lines}")
    _check_consistency(filled)
    return filled


def _check_consistency(config: Mapping[str, Any]) -> None:
    problems = []
    data, ph = config["data"], config["ph"]
    if (data["mean"] is None) != (data["std"] is None):
        problems.append("data.mean and data.std must be given together")
    if config["seeds"] < 2:
        problems.append(f"seeds: {config['seeds']} - the specificity test compares models, it needs at least 2")
    references = ph["specificity"]["references"]
    if references != "all" and max(references) >= config["seeds"]:
        problems.append(f"ph.specificity.references: {references} - seeds run from 0 to {config['seeds'] - 1}")
    if ph["sw"]["homology_dim"] > ph["persistence"]["maxdim"]:
        problems.append(
            f"ph.sw.homology_dim: {ph['sw']['homology_dim']} exceeds ph.persistence.maxdim {ph['persistence']['maxdim']}"
        )
    user = ph["user_models"]
    if user is not None and len(user["weights"]) != config["seeds"]:
        problems.append(
            f"seeds: {config['seeds']} but ph.user_models.weights lists {len(user['weights'])} files: "
            f"set seeds to {len(user['weights'])}"
        )
    problems += _layer_index_problems(config)
    problems += _profile_model_problems(config)
    problems += _generalisation_problems(config)
    if ph["sensitivity"]["batch"] >= ph["activations"]["batches"]:
        problems.append(
            f"ph.sensitivity.batch: {ph['sensitivity']['batch']} - batches run from 0 to {ph['activations']['batches'] - 1}"
        )
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


def ph_layer_count(ph: Mapping[str, Any]) -> int:
    """Layers of the PH branch's models: the project model's 17 convs, or the user models' nodes."""
    user = ph["user_models"]
    return layer_count(ph["model"]["arch"], "conv") if user is None else len(user["nodes"])


def _layer_index_problems(config: Mapping[str, Any]) -> list[str]:
    """Layer indices beyond the model's layer table (:mod:`cnntopo.networks.layers`)."""
    ph, mapper = config["ph"], config["mapper"]
    ph_layers = ph_layer_count(ph)
    mapper_layers = layer_count(mapper["model"]["arch"], "block_bn")
    sensitivity = ph["sensitivity"]["layers"]
    chosen = {
        "ph.sensitivity.layers": ([] if sensitivity == "all" else sensitivity, ph_layers),
        "ph.specificity.layer": ([ph["specificity"]["layer"]], ph_layers),
        "mapper.layers": (mapper["layers"], mapper_layers),
        "mapper.noise.layer": ([mapper["noise"]["layer"]], mapper_layers),
    }
    return [
        f"{key}: {[i for i in indices if i >= count]} - the model's layers run from 0 to {count - 1}"
        for key, (indices, count) in chosen.items()
        if any(i >= count for i in indices)
    ]


def _twice(key: str, names: list[str]) -> list[str]:
    return [f"{key}: the name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})]


def _profile_model_problems(config: Mapping[str, Any]) -> list[str]:
    profile = config["profile"]
    names = [entry["name"] for entry in profile["torchvision"]]
    problems = _twice("profile.torchvision", names)
    if "profile" in config["branches"] and not profile["models"] and not names:
        problems.append("profile: no model to profile - give profile.models or profile.torchvision")
    return problems


def _generalisation_problems(config: Mapping[str, Any]) -> list[str]:
    from cnntopo.workflow.graphs import graph_sources

    models = config["generalisation"]["models"]
    problems = _twice("generalisation.models", [m["name"] for m in models])
    project = {variant for variant, source in graph_sources(config).items() if source.model is None}
    problems += [
        f"generalisation.models: {m['name']!r} is also a graph variant of the mapper model: both would write "
        f"results/mapper/graphs/{m['name']}/ - rename the model"
        for m in models
        if m["name"] in project
    ]
    if "generalisation" in config["branches"]:
        if not models:
            problems.append("generalisation.models: the generalisation branch needs at least one model")
        problems += [
            f"generalisation.models: {m['name']} ({m['arch']}) has no default layer (known: "
            f"{', '.join(TORCHVISION_LAST_LAYERS)}) - list its nodes"
            for m in models
            if m["nodes"] is None and m["arch"] not in TORCHVISION_LAST_LAYERS
        ]
    return problems
