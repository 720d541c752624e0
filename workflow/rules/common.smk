# Validation, the constants every rule file reads, and input functions (rna-seq-star-deseq2 style).
import json
from pathlib import Path

from cnntopo import resources
from cnntopo.config import ConfigError, load_schema, validate_config
from cnntopo.layers import layer_count
from cnntopo.ph.similarity import METRICS as METRIC_TABLE
from cnntopo.ph.specificity import cross_partners as _cross_partners
from cnntopo.provenance import stable_digest

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
PH_LAYERS = layer_count(PH["model"]["arch"], "conv")
BATCHES = list(range(PH["activations"]["batches"]))
_references = PH["specificity"]["references"]
REFERENCES = SEEDS if _references == "all" else sorted(_references)
_sensitivity_layers = PH["sensitivity"]["layers"]
SENSITIVITY_LAYERS = list(range(PH_LAYERS)) if _sensitivity_layers == "all" else _sensitivity_layers


def cross_partners(seed):
    """The models the cross_model_distances job of `seed` compares it with (cnntopo.ph.specificity)."""
    return _cross_partners(seed, SEEDS, _references)


CROSS_SEEDS = [s for s in REFERENCES if cross_partners(s)]


def estimate(name):
    """The resource estimate `name` of cnntopo.resources for this config, scaled by the attempt."""
    return resources.per_attempt(getattr(resources, name), config)


wildcard_constraints:
    branch="ph|mapper",
    seed=r"\d+",
    batch=r"\d+",
    metric="|".join(METRIC_TABLE),
    variant=r"(random|full|foreground\d+|background\d+)(_sigma[0-9.]+)?",
    layer=r"\d+",


def branch_config(wildcards):
    return config[wildcards.branch]


def dataset_input(wildcards):
    """The data a job reads: the CIFAR-10 folder (made by download_cifar10 when absent) or the image tree."""
    data = config["data"]
    if data["dataset"] == "cifar10":
        return f"{data['root']}/cifar-10-batches-py"
    if data["dataset"] == "imagefolder":
        return data["root"]
    return []


def data_json(wildcards=None):
    return json.dumps(config["data"], sort_keys=True)


def settings_digest(wildcards):
    """Digest of everything that determines a model's activation store."""
    section = branch_config(wildcards)
    relevant = {key: section[key] for key in ("model", "train", "activations")}
    return stable_digest({"data": config["data"], "branch": wildcards.branch, "seed": int(wildcards.seed), **relevant})


def metric_inputs(branch, metric, seed):
    """What a metric reads of one model (cnntopo.ph.similarity.METRICS): its diagram files or its store."""
    if METRIC_TABLE[metric].reads == "diagrams":
        return expand(rules.persistence_diagrams.output[0], branch=branch, seed=seed, batch=BATCHES)
    return expand(rules.extract_activations.output[0], branch=branch, seed=seed)


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
    return [
        *expand(rules.summarize_training.output.table, branch="ph"),
        *expand(rules.summarize_training.output.figure, branch="ph"),
        *expand(rules.comparison.output.table, branch="ph"),
        *[path for figure in figures for path in expand(figure, branch="ph", metric=PH_METRICS)],
    ]


def all_targets():
    return [
        *(ph_targets() if "ph" in BRANCHES else []),
        *(mapper_targets() if "mapper" in BRANCHES else []),
    ]
