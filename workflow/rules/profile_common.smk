# Constants and input functions of the DeepDataProfiler branch (profile.smk). A model is named
# BRANCH-seedS in paths: the project model results/models/BRANCH/seedS.pt.
from pathlib import Path

from cnntopo.profile.viewer import GRAPH_KINDS as TOPOLOGY_KINDS

PROFILE = config["profile"]
PROFILE_MODELS = ["-".join(Path(m).parts) for m in PROFILE["models"]]
GRAPH_KINDS = [k for k in PROFILE["kinds"] if k in TOPOLOGY_KINDS]


wildcard_constraints:
    model="(ph|ph_untrained|mapper)-seed[0-9]+",


def profile_weights(wildcards):
    branch, seed = wildcards.model.split("-seed")
    return f"results/models/{branch}/seed{seed}.pt"


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
