# Constants and input functions of the mapper branch (mapper.smk): one model, point clouds per sampling
# mode ("variant"; noisy ones "<mode>_sigma<s>").
import shlex

MAPPER = config["mapper"]
MAPPER_SEED = MAPPER["seed"]
NOISY_VARIANTS = [f"{m}_sigma{s}" for m in MAPPER["noise"]["sampling"] for s in MAPPER["noise"]["sigmas"]]
NOISE_LEVELS = resources.mapper_noise_levels(MAPPER)  # the sampling modes per input noise level
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


def graph_store(variant):
    """The store a graph reads: the project mapper model's, or a generalisation model's (variant NAME/MODE)."""
    if "/" in variant:
        model, mode = variant.split("/")
        return expand(rules.generalisation_activations.output[0], model=model, mode=mode)[0]
    return f"{mapper_store_folder(variant)}/{variant_mode(variant)}.zarr"


def mapper_store_folder(variant):
    """The folder of a project-model variant's store: one mapper_activations job writes it for every mode
    of the variant's noise level."""
    sigma = variant.split("_sigma")[1] if "_sigma" in variant else "0"
    return expand(rules.mapper_activations.output[0], sigma=sigma)[0]


def graph_input(wildcards):
    return graph_store(wildcards.variant) if "/" in wildcards.variant else mapper_store_folder(wildcards.variant)


def variant_mode(variant):
    return variant.split("_sigma")[0]


def graph_file(variant, layer):
    return expand(rules.mapper_graph.output[0], variant=variant, layer=f"{layer:02d}")[0]


def noise_graphs():
    """Figure 11's graphs as (variant, layer): the noise layer under each noise sampling mode, clean and at each sigma."""
    return [
        (v, MAPPER["noise"]["layer"])
        for m in MAPPER["noise"]["sampling"]
        for v in [m, *[f"{m}_sigma{s}" for s in MAPPER["noise"]["sigmas"]]]
    ]


def noise_graph_files():
    return [graph_file(v, l) for v, l in noise_graphs()]


def all_graphs():
    """Every graph a figure reads, as (variant, layer); each gets its page and a place in the explorer."""
    clean = [(v, l) for v in MAPPER["sampling"] for l in MAPPER["layers"]]
    return list(dict.fromkeys(clean + (noise_graphs() if NOISY_VARIANTS else [])))


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
    if NOISY_VARIANTS:
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
