# Constants and input functions of the DeepDataProfiler branch (profile.smk). A model is named
# BRANCH-seedS in paths (the project model results/models/BRANCH/seedS.pt), or by the name of
# its profile.torchvision entry.
import re
import shlex

from cnntopo.profile.viewer import GRAPH_KINDS as TOPOLOGY_KINDS
from cnntopo.workflow.config import profile_model_names

PROFILE = config["profile"]
PROFILE_TORCHVISION = {entry["name"]: entry for entry in PROFILE["torchvision"]}
PROFILE_MODELS = profile_model_names(PROFILE)
GRAPH_KINDS = [k for k in PROFILE["kinds"] if k in TOPOLOGY_KINDS]


wildcard_constraints:
    model="|".join(["(ph|ph_untrained|mapper)-seed[0-9]+", *map(re.escape, PROFILE_TORCHVISION)]),


def profile_inputs(wildcards):
    """A project model's weights and data set, or a torchvision entry's image tree (and weights file, if named)."""
    entry = PROFILE_TORCHVISION.get(wildcards.model)
    if entry is None:
        branch, seed = wildcards.model.split("-seed")
        return {"weights": f"results/models/{branch}/seed{seed}.pt", "data": dataset_input(wildcards)}
    return {
        "images": entry["images"],
        "checked": weights_check(),
        **({"weights": entry["weights"]} if entry["weights"] else {}),
    }


def profile_source(wildcards, input):
    """The profiler's model and image options."""
    entry = PROFILE_TORCHVISION.get(wildcards.model)
    if entry is None:
        return f"--weights {shlex.quote(input.weights)} --data {shlex.quote(data_json())}"
    model = torchvision_options(entry["arch"], input.weights if entry["weights"] else None)
    return f"{model} --image-folder {shlex.quote(input.images)}"


def profile_outputs(pattern, kinds=None):
    """``pattern`` for every profiled model (and kind, if it has one), each path once, models first."""
    paths = expand(pattern, model=PROFILE_MODELS, kind=kinds or PROFILE["kinds"])
    return list(dict.fromkeys(paths))


def profile_diagrams(wildcards):
    return profile_outputs(rules.profile_topology.output.diagrams, GRAPH_KINDS)


def profile_targets():
    return [
        rules.profile_viewer.output[0],
        *profile_outputs(rules.class_similarity.output.figure),
    ]
