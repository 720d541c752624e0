# Constants and input functions of the mapper branch (mapper.smk): one model, point clouds per sampling
# mode and input noise level, each a graph variant (GRAPH_SOURCES, common.smk).
import shlex

MAPPER = config["mapper"]
MAPPER_SEED = MAPPER["seed"]
NOISE_LEVELS = mapper_noise_levels(MAPPER)  # the sampling modes per input noise level
FIGURE_ROWS = {
    "figure8": [m for m in ("random", "full") if m in MAPPER["sampling"]],
    "figure9": [m for m in MAPPER["sampling"] if m.startswith(("foreground", "background"))],
}

SEGMENTER = MAPPER["foreground"]["segmenter"]
USES_SEGMENTER = MAPPER["foreground"]["method"] == "deeplabv3"
# A named state_dict is an input of foreground_masks; torchvision's own file is found by the job.
SEGMENTER_WEIGHTS = [SEGMENTER["weights"]] if USES_SEGMENTER and SEGMENTER["weights"] else []


def segmenter_options(wildcards, input):
    if not USES_SEGMENTER:
        return ""
    weights = f" --segmenter-weights {shlex.quote(input.segmenter[0])}" if input.segmenter else ""
    return f"--segmenter-arch {SEGMENTER['arch']}{weights}"


def graph_extraction(variant):
    """The folder of the extraction job that writes a variant's store, with every other mode of its model
    (and, for the project model, of its noise level) from the same pass over the images."""
    source = GRAPH_SOURCES[variant]
    if source.model is None:
        return expand(rules.mapper_activations.output[0], sigma=source.sigma)[0]
    return expand(rules.generalisation_activations.output[0], model=source.model)[0]


def graph_store(variant):
    return f"{graph_extraction(variant)}/{GRAPH_SOURCES[variant].mode}.zarr"


def graph_file(variant, layer):
    return expand(rules.mapper_graph.output[0], variant=variant, layer=f"{layer:02d}")[0]


def noise_graphs():
    """Figure 11's graphs as (variant, layer): the noise layer under each noise sampling mode, clean and at each sigma."""
    sigmas = [CLEAN_IMAGES, *map(str, MAPPER["noise"]["sigmas"])]
    return [(project_variant(m, s), MAPPER["noise"]["layer"]) for m in MAPPER["noise"]["sampling"] for s in sigmas]


def noise_graph_files():
    return [graph_file(v, l) for v, l in noise_graphs()]


def all_graphs():
    """Every graph a figure reads, as (variant, layer); each gets its page and a place in the explorer."""
    clean = [(v, l) for v in MAPPER["sampling"] for l in MAPPER["layers"]]
    return list(dict.fromkeys(clean + (noise_graphs() if MAPPER["noise"]["sigmas"] else [])))


def graph_files():
    return [graph_file(v, l) for v, l in all_graphs()]


# Purity across training (mapper.trajectory): the epochs followed; the model after each is a snapshot of
# the mapper's training job, the last the trained model.
MAPPER_TRAJECTORY_EPOCHS = trajectory_epochs(MAPPER)
MAPPER_SNAPSHOT_EPOCHS = [e for e in MAPPER_TRAJECTORY_EPOCHS if e < MAPPER["train"]["epochs"]]


def mapper_epoch_weights(wildcards):
    """The mapper model after epoch E: the training job's snapshot folder, or the trained model's file."""
    branch = dict(branch="mapper", seed=MAPPER_SEED)
    if int(wildcards.epoch) == MAPPER["train"]["epochs"]:
        return expand(rules.train_model.output.weights, **branch)
    return expand(rules.train_model.output.snapshots, **branch)


def mapper_epoch_file(wildcards, input):
    if int(wildcards.epoch) == MAPPER["train"]["epochs"]:
        return input.weights
    return f"{input.weights}/{snapshot_name(int(wildcards.epoch))}"


def mapper_targets():
    figures = [f"results/figures/mapper/{name}.png" for name, rows in FIGURE_ROWS.items() if rows]
    if MAPPER["noise"]["sigmas"]:
        figures += ["results/figures/mapper/figure10_noise_examples.png", "results/figures/mapper/figure11_noise.png"]
    return [
        *expand(rules.summarize_training.output.table, branch="mapper"),
        "results/figures/mapper/figure4_foreground.png",
        "results/figures/mapper/figure12_purity.png",
        *figures,
        *[str(Path(f).with_suffix(".html")) for f in graph_files()],
        rules.mapper_explorer.output[0],
        *([rules.mapper_trajectory.output.table] if len(MAPPER_TRAJECTORY_EPOCHS) > 1 else []),
    ]
