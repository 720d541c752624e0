# Validation, the constants every rule file reads, and input functions (rna-seq-star-deseq2 style).
import json
import re
import shlex
from pathlib import Path

from cnntopo.workflow import resources
from cnntopo.workflow.config import (
    BRANCH_PATTERN,
    ConfigError,
    branch_section,
    load_schema,
    ph_layer_count,
    snapshot_epoch,
    trajectory_epochs,
    validate_config,
)
from cnntopo.workflow.config import trajectory_branch as _trajectory_branch
from cnntopo.workflow.config import metric_representations as _metric_representations
from cnntopo.ph.sampling import REPRESENTATIONS
from cnntopo.ph.similarity import METRICS as METRIC_TABLE
from cnntopo.ph.specificity import cross_partners as _cross_partners
from cnntopo.provenance import stable_digest
from cnntopo.workflow.snapshots import snapshot_name
from cnntopo.workflow.graphs import CLEAN as CLEAN_IMAGES
from cnntopo.workflow.graphs import generalisation_variant, graph_sources, mapper_noise_levels, project_variant
from cnntopo.mapper.sampling import SAMPLING_MODES

try:
    _validated = validate_config(config, load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"))
except ConfigError as error:
    raise WorkflowError(str(error)) from None
config.clear()
config.update(_validated)

# The software of every rule: the same pins as pyproject.toml (used with --software-deployment-method conda).
ENVIRONMENT = str(Path(workflow.basedir) / "environment.yml")
# Rules run this checkout's cnntopo even in an environment where it is not installed (e.g. conda).
# (Snakemake formats the prefix too: doubled braces reach bash as ${PYTHONPATH:-}.)
shell.prefix("export PYTHONPATH=%s:${{PYTHONPATH:-}}; " % (Path(workflow.basedir) / "src"))

BRANCHES = config["branches"]
SEEDS = list(range(config["seeds"]))
USE_GPU = config["resources"]["gpu"]
PH = config["ph"]
PH_METRICS = PH["metrics"]
# Every mapper graph's variant (cnntopo.workflow.graphs): a sampling mode of the project's mapper model
# or of a generalisation model, with the extraction job that writes its points.
GRAPH_SOURCES = graph_sources(config)
PH_LAYERS = ph_layer_count(PH)
PH_USER = PH["user_models"]  # the user's own trained models instead of train_model (or None)
BATCHES = list(range(PH["activations"]["batches"]))
_references = PH["specificity"]["references"]
REFERENCES = SEEDS if _references == "all" else sorted(_references)
_sensitivity_layers = PH["sensitivity"]["layers"]
SENSITIVITY_LAYERS = list(range(PH_LAYERS)) if _sensitivity_layers == "all" else _sensitivity_layers


def cross_partners(seed):
    """The models the layer_distances job of `seed` compares it with (cnntopo.ph.specificity)."""
    return _cross_partners(seed, SEEDS, _references)


def distance_threads(seed):
    """Cores of the layer_distances job of `seed`: ph.distance_threads, no more than it has partners."""
    return resources.distance_threads(config, seed)


CROSS_SEEDS = [s for s in REFERENCES if cross_partners(s)]
# The PH branch's models: trained, and (the untrained control) their initialisations.
PH_BRANCHES = ["ph", "ph_untrained"] if PH["controls"]["untrained"] else ["ph"]
# Topology across training: the epochs followed, and the branch of the models after each. The trained
# models are the last epoch; epoch 0, the initialisation, is the untrained control where it runs.
TRAJECTORY_EPOCHS = [] if PH_USER else trajectory_epochs(PH)
SNAPSHOT_EPOCHS = [e for e in TRAJECTORY_EPOCHS if e < PH["train"]["epochs"]]


def trajectory_branch(epoch):
    return _trajectory_branch(PH, epoch)


def layer_names_option(wildcards):
    """--layer-names of the PH figures: a user's models' feature nodes, named instead of indexed."""
    if PH_USER is None:
        return ""
    return "--layer-names " + " ".join(map(shlex.quote, PH_USER["nodes"]))


def metric_representations(metric):
    return _metric_representations(PH, metric)


# Every (metric, representation) the PH tests run on, and the clouds the stores must hold.
MEASURES = [(m, r) for m in PH_METRICS for r in metric_representations(m)]
STORED_REPRESENTATIONS = [r for r in REPRESENTATIONS if r in {rep for _, rep in MEASURES}]


def expand_measures(pattern, **wildcards):
    """``pattern`` for every (metric, representation) of MEASURES."""
    return [path for m, r in MEASURES for path in expand(pattern, metric=m, representation=r, **wildcards)]


def estimate(name):
    """The resource estimate `name` of cnntopo.workflow.resources for this config, scaled by the attempt."""
    return resources.per_attempt(getattr(resources, name), config)


wildcard_constraints:
    branch=BRANCH_PATTERN,
    representation="|".join(REPRESENTATIONS),
    seed=r"\d+",
    batch=r"\d+",
    metric="|".join(METRIC_TABLE),
    variant="|".join(map(re.escape, GRAPH_SOURCES)),
    mode="|".join(SAMPLING_MODES),
    layer=r"\d+",


def branch_config(wildcards):
    return config[branch_section(wildcards.branch)]


def dataset_input(wildcards):
    """The data a job reads: the CIFAR-10 folder (made by download_cifar10 when absent), or for an image
    tree the check_image_folder record (so that a plan needs no data; the check says what is missing)."""
    data = config["data"]
    if data["dataset"] == "cifar10":
        return f"{data['root']}/cifar-10-batches-py"
    if data["dataset"] == "imagefolder":
        return "results/data/image_folder.json"
    return []


def ph_model_weights(wildcards):
    """A PH model's weights: the project's file (trained or initialised here; for ph_epochE the training
    job's snapshot folder), the user's file for seed S, or none (the untrained control of the user's
    models is initialised by the job)."""
    if snapshot_epoch(wildcards.branch) is not None:
        return f"results/models/ph/seed{wildcards.seed}.snapshots"
    if PH_USER is None:
        return f"results/models/{wildcards.branch}/seed{wildcards.seed}.pt"
    return PH_USER["weights"][int(wildcards.seed)] if wildcards.branch == "ph" else []


def torchvision_options(arch, weights=None, nodes=()):
    """--arch ARCH, --weights FILE when the config names one (else the job reads torchvision's own
    file) and --nodes NODE ...: how every job is given a torchvision model."""
    parts = ["--arch", arch, *(["--weights", weights] if weights else []), *(["--nodes", *nodes] if nodes else [])]
    return " ".join(shlex.quote(str(part)) for part in parts)


def ph_model_options(wildcards, input):
    epoch = snapshot_epoch(wildcards.branch)
    if epoch is not None:
        return f"--weights {input.weights}/{snapshot_name(epoch)}"
    if PH_USER is None:
        return f"--weights {input.weights}"
    trained = wildcards.branch == "ph"
    model = torchvision_options(PH_USER["arch"], input.weights if trained else None, PH_USER["nodes"])
    return f"{model}{'' if trained else f' --init-seed {wildcards.seed}'} --seed {wildcards.seed}"


# Train settings that change no weights, so they stay out of what a job is told to train: how seeds are
# grouped into jobs, and the accuracy a finished model must reach (its own option).
NOT_RECIPE = ("concurrent_seeds", "min_test_accuracy")


def recipe_json(branch):
    """The train section a training job is given, less the settings of NOT_RECIPE."""
    train = config[branch_section(branch)]["train"]
    return json.dumps({k: v for k, v in train.items() if k not in NOT_RECIPE}, sort_keys=True)


def accuracy_floor(branch):
    """--min-test-accuracy of a training job when the config sets one (else the job's default: 1.5 x chance)."""
    floor = config[branch_section(branch)]["train"]["min_test_accuracy"]
    return "" if floor is None else f"--min-test-accuracy {floor}"


# PH seeds trained together, ph.train.concurrent_seeds per job (1: each seed by train_model).
TRAINED_TOGETHER = 1 if PH_USER else PH["train"]["concurrent_seeds"]
SEED_GROUPS = [SEEDS[i : i + TRAINED_TOGETHER] for i in range(0, len(SEEDS), TRAINED_TOGETHER)]


def data_json(wildcards=None):
    return json.dumps(config["data"], sort_keys=True)


def settings_digest(wildcards):
    """Digest of everything that determines a model's activation store."""
    section = branch_config(wildcards)
    relevant = {key: section[key] for key in ("model", "train", "activations")}
    return stable_digest({"data": config["data"], "branch": wildcards.branch, "seed": int(wildcards.seed), **relevant})


def statistics_options(wildcards=None):
    return "--bootstrap {bootstrap} --permutations {permutations} --seed {seed}".format(**PH["statistics"])


def metric_inputs(branch, metric, representation, seed):
    """What a metric reads of one model (cnntopo.ph.similarity.METRICS): its diagram files or its store."""
    if METRIC_TABLE[metric].reads == "diagrams":
        return expand(rules.persistence_diagrams.output, branch=branch, representation=representation, seed=seed)
    return expand(rules.extract_activations.output[0], branch=branch, seed=seed)


def stored_representations(wildcards):
    """The clouds a model's store holds: a snapshot's only those the trajectory's metrics compare."""
    if snapshot_epoch(wildcards.branch) is None:
        return STORED_REPRESENTATIONS
    return [metric_representations(m)[0] for m in PH["trajectory"]["metrics"]]


def position_reference(wildcards):
    """The store whose top-l2 positions the shared_position clouds of a model use: the first reference model's
    (that model itself needs none)."""
    if "shared_position" not in stored_representations(wildcards) or int(wildcards.seed) == REFERENCES[0]:
        return []
    return expand(rules.extract_activations.output[0], branch=wildcards.branch, seed=REFERENCES[0])


def sw_options(wildcards):
    """Command-line options of the SW metric; empty for the others, so SW settings never rerun their jobs."""
    if METRIC_TABLE[wildcards.metric].reads != "diagrams":
        return ""
    sw = branch_config(wildcards)["sw"]
    return f"--directions {sw['directions']} --dim {sw['homology_dim']}"


def ph_options(wildcards):
    """PH settings for jobs that recompute diagrams (SW sensitivity); empty for the other metrics."""
    if METRIC_TABLE[wildcards.metric].reads != "diagrams":
        return ""
    ph = branch_config(wildcards)["persistence"]
    return f"--maxdim {ph['maxdim']} --backend {ph['backend']}"


def ph_targets():
    figures = [
        rules.figure_within.output.figure,
        rules.figure_specificity.output.figure,
        rules.figure_sensitivity.output.figure,
    ]
    trained_here = [] if PH_USER else ["ph"]
    return [
        *expand(rules.summarize_training.output.table, branch=trained_here),
        *expand(rules.summarize_training.output.figure, branch=trained_here),
        *expand(rules.comparison.output.table, branch="ph"),
        *expand(rules.specificity_summary.output[0], branch="ph", metric=PH_METRICS),
        *expand(rules.seeds_needed.output.figure, branch="ph", metric=PH_METRICS),
        *[path for figure in figures for path in expand_measures(figure, branch="ph")],
        *(rules.control_comparison.output if "ph_untrained" in PH_BRANCHES else []),
        *(rules.control_difference.output if "ph_untrained" in PH_BRANCHES else []),
        *(
            expand(rules.trajectory.output.table, metric=PH["trajectory"]["metrics"])
            if len(TRAJECTORY_EPOCHS) > 1
            else []
        ),
    ]


def paper_vs_run_inputs(wildcards):
    """What the paper-vs-run table reads: SW on top-l2 clouds (the paper's measure) and the mapper purity."""
    inputs = {}
    if "ph" in BRANCHES and ("sw", "top_l2") in MEASURES:
        measure = dict(branch="ph", metric="sw", representation="top_l2")
        inputs["specificity"] = expand(rules.specificity.output.summary, **measure)
        inputs["within"] = expand(rules.figure_within.output.table, **measure)
        inputs["sensitivity"] = expand(rules.sensitivity.output.summary, **measure)
    if "mapper" in BRANCHES:
        inputs["purity"] = rules.figure_purity.output.table
    return inputs


def paper_vs_run_options(wildcards, input):
    return " ".join(f"--{name} {path}" for name, path in input.items())


def user_weights():
    """(name, arch, weights or '-', nodes or '-') of every user model: PH's own models, the generalisation
    models and DeepLab, the profiled torchvision models."""
    models = []
    if PH_USER is not None and "ph" in BRANCHES:
        nodes = ",".join(PH_USER["nodes"])
        models += [(f"ph-seed{i}", PH_USER["arch"], w, nodes) for i, w in enumerate(PH_USER["weights"])]
    if "generalisation" in BRANCHES:
        models += [
            (name, m["arch"], m["weights"] or "-", ",".join(generalisation_nodes(name)))
            for name, m in GENERALISATION_MODELS.items()
        ]
    if USES_SEGMENTER and ({"mapper", "generalisation"} & set(BRANCHES)):
        models.append(("segmenter", SEGMENTER["arch"], SEGMENTER["weights"] or "-", "-"))
    if "profile" in BRANCHES:
        models += [(f"profile-{e['name']}", e["arch"], e["weights"] or "-", "-") for e in PROFILE["torchvision"]]
    return models


def weights_check(wildcards=None):
    """The check's record, for every job that reads user weights or comes before those that do."""
    return rules.check_weights.output[0] if user_weights() else []


def all_targets():
    return [
        *(ph_targets() if "ph" in BRANCHES else []),
        *(mapper_targets() if "mapper" in BRANCHES else []),
        *(profile_targets() if "profile" in BRANCHES else []),
        *(generalisation_targets() if "generalisation" in BRANCHES else []),
        # the paper's claims are about the PH and mapper branches
        *([rules.paper_vs_run.output.table] if {"ph", "mapper"} & set(BRANCHES) else []),
    ]
