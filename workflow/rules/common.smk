import json
from pathlib import Path

from cnntopo.config import ConfigError, load_schema, validate_config
from cnntopo.provenance import stable_digest
from cnntopo import resources as estimate

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

BRANCHES = ["ph"]
SEEDS = list(range(config["seeds"]))
USE_GPU = config["resources"]["gpu"]


wildcard_constraints:
    branch="|".join(BRANCHES),
    seed=r"\d+",


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


def all_targets():
    return [
        *expand("results/activations/ph/seed{seed}.zarr", seed=SEEDS),
        "results/models/ph/training_summary.csv",
        "results/models/ph/training_curves.png",
    ]
