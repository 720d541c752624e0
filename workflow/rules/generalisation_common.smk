# Constants and input functions of the generalisation branch (generalisation.smk, the paper's Figure 13):
# mapper graphs of torchvision classifiers from local weights, each model a source of graph variants
# (GRAPH_SOURCES, common.smk) whose every sampling mode one extraction job writes.
from cnntopo.networks.layers import default_nodes

GENERALISATION = config["generalisation"]
GENERALISATION_MODELS = {m["name"]: m for m in GENERALISATION["models"]}


def generalisation_nodes(name):
    """The model's feature nodes: the config's, or the last layer of its architecture (docs: method)."""
    model = GENERALISATION_MODELS[name]
    return model["nodes"] or default_nodes(model["arch"])


def generalisation_inputs(wildcards):
    """The masks and images every model reads, and the model's weights file if the config names one."""
    weights = GENERALISATION_MODELS[wildcards.model]["weights"]
    return {
        "checked": rules.check_weights.output[0],
        "masks": rules.foreground_masks.output.masks,
        "data": dataset_input(wildcards),
        **({"weights": weights} if weights else {}),
    }


def generalisation_model_options(wildcards, input):
    model = GENERALISATION_MODELS[wildcards.model]
    weights = input.weights if model["weights"] else None
    return torchvision_options(model["arch"], weights, generalisation_nodes(wildcards.model))


def generalisation_graph_files(last_only=False):
    """Graph JSON files, by model, then sampling mode, then node (only the last node with last_only)."""
    files = []
    for name in GENERALISATION_MODELS:
        count = len(generalisation_nodes(name))
        for mode in GENERALISATION["sampling"]:
            variant = generalisation_variant(name, mode)
            files += [graph_file(variant, l) for l in range(count - 1 if last_only else 0, count)]
    return files


def generalisation_targets():
    return [
        rules.figure_generalisation.output.figure,
        rules.foreground_masks.output.table,
        *[str(Path(f).with_suffix(".html")) for f in generalisation_graph_files()],
    ]
