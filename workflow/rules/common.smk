import json
from pathlib import Path

from cnntopo.config import ConfigError, load_schema, validate_config
from cnntopo.provenance import stable_digest
from cnntopo import resources as estimate
from cnntopo.similarity import METRIC_NAMES

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
BATCHES = list(range(config["ph"]["activations"]["batches"]))
_references = config["ph"]["specificity"]["references"]
REFERENCES = SEEDS if _references == "all" else sorted(_references)


def cross_partners(seed):
    """The models the cross_model_distances job of `seed` compares it with. With all pairs, each unordered
    pair is computed once (by its smaller seed); the specificity rule uses the transpose for the other."""
    return [s for s in SEEDS if s > seed] if _references == "all" else [s for s in SEEDS if s != seed]


CROSS_SEEDS = [s for s in REFERENCES if cross_partners(s)]
METRICS = config["ph"]["metrics"]
_sensitivity_layers = config["ph"]["sensitivity"]["layers"]
SENSITIVITY_LAYERS = list(range(17)) if _sensitivity_layers == "all" else _sensitivity_layers


wildcard_constraints:
    branch="ph|mapper",
    seed=r"\d+",
    batch=r"\d+",
    metric="|".join(METRIC_NAMES),
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


def diagram_files(branch, seed):
    return expand("results/persistence/{branch}/seed{seed}/batch{batch}.npz", branch=branch, seed=seed, batch=BATCHES)


def metric_inputs(branch, metric, seed):
    """What a metric reads of one model: SW its diagram files, CKA and Procrustes its activation store."""
    if metric == "sw":
        return diagram_files(branch, seed)
    return [f"results/activations/{branch}/seed{seed}.zarr"]


def sw_options(wildcards):
    """Command-line options of the SW metric; empty for the others, so SW settings never rerun their jobs."""
    if wildcards.metric != "sw":
        return ""
    sw = branch_config(wildcards)["sw"]
    return f"--directions {sw['directions']} --dim {sw['homology_dim']}"


def ph_options(wildcards):
    """PH settings for jobs that recompute diagrams (SW sensitivity); empty for the other metrics."""
    if wildcards.metric != "sw":
        return ""
    ph = branch_config(wildcards)["persistence"]
    return f"--maxdim {ph['maxdim']} --backend {ph['backend']}"


def per_attempt(estimate_of_wildcards):
    """A resource callable that grows with the attempt: a global retry (--retries, the SLURM profile)
    resubmits a job killed for memory or time with 2x, then 3x the estimate."""

    def scaled(wildcards, attempt):
        return estimate_of_wildcards(wildcards) * attempt

    return scaled


def max_channels(wildcards):
    return 8 * branch_config(wildcards)["model"]["width"]


# Resource estimates per rule (cnntopo.resources), from the config rather than guesses.
def _width(w):
    return branch_config(w)["model"]["width"]


def _activations(w):
    return branch_config(w)["activations"]


def train_mem(w):
    return estimate.train_mem_mb(config["data"], _width(w), branch_config(w)["train"]["batch_size"], USE_GPU)


def train_runtime(w):
    return estimate.train_runtime_min(config["data"], _width(w), branch_config(w)["train"]["epochs"], USE_GPU)


def extract_mem(w):
    return estimate.extract_mem_mb(config["data"], _width(w), _activations(w)["n_images"], _activations(w)["extract_batch"])


def extract_runtime(w):
    a = _activations(w)
    return estimate.extract_runtime_min(config["data"], _width(w), a["n_images"], a["batches"], USE_GPU)


def persistence_mem(w):
    return estimate.persistence_mem_mb(_activations(w)["n_images"])


def persistence_runtime(w):
    return estimate.persistence_runtime_min(_activations(w)["n_images"])


def distances_mem(w):
    """The store's (B, N, c) layers of two models, prepared one model at a time."""
    a = _activations(w)
    return estimate.layer_distances_mem_mb(a["batches"], a["n_images"], max_channels(w))


def within_runtime(w):
    a = _activations(w)
    return estimate.layer_distances_runtime_min(w.metric, 136 * a["batches"], a["n_images"], max_channels(w))


def cross_runtime(w):
    a = _activations(w)
    pairs = 289 * len(cross_partners(int(w.seed))) * a["batches"]
    return estimate.layer_distances_runtime_min(w.metric, pairs, a["n_images"], max_channels(w))


def sensitivity_runtime(w):
    step = branch_config(w)["sensitivity"]["step"]
    n = _activations(w)["n_images"]
    return estimate.sensitivity_runtime_min(w.metric, len(SENSITIVITY_LAYERS), max_channels(w), step, n)


def all_targets():
    targets = []
    if "ph" in BRANCHES:
        targets += [
            "results/models/ph/training_summary.csv",
            "results/models/ph/training_curves.png",
            "results/comparison/ph/comparison.csv",
            *expand("results/figures/ph/{metric}/figure5_within.png", metric=METRICS),
            *expand("results/figures/ph/{metric}/figure6_specificity.png", metric=METRICS),
            *expand("results/figures/ph/{metric}/figure7_sensitivity.png", metric=METRICS),
        ]
    if "mapper" in BRANCHES:
        targets += mapper_targets()
    return targets


# The mapper branch: one model, point clouds per sampling mode ("variant"; noisy ones "<mode>_sigma<s>").
MAPPER = config["mapper"]
MAPPER_SEED = MAPPER["seed"]
MAPPER_WEIGHTS = f"results/models/mapper/seed{MAPPER_SEED}.pt"
NOISY_VARIANTS = [f"{m}_sigma{s}" for m in MAPPER["noise"]["sampling"] for s in MAPPER["noise"]["sigmas"]]
FIGURE_ROWS = {
    "figure8": [m for m in ("random", "full") if m in MAPPER["sampling"]],
    "figure9": [m for m in MAPPER["sampling"] if m.startswith(("foreground", "background"))],
}


def variant_mode(variant):
    return variant.split("_sigma")[0]


def variant_sigma(variant):
    return float(variant.split("_sigma")[1]) if "_sigma" in variant else 0.0


def graph_file(variant, layer):
    return f"results/mapper/graphs/{variant}/layer{layer:02d}.json"


def mapper_targets():
    figures = [f"results/figures/mapper/{name}.png" for name, rows in FIGURE_ROWS.items() if rows]
    if NOISY_VARIANTS:
        figures += ["results/figures/mapper/figure10_noise_examples.png", "results/figures/mapper/figure11_noise.png"]
    return [
        "results/models/mapper/training_summary.csv",
        "results/figures/mapper/figure4_foreground.png",
        "results/figures/mapper/figure12_purity.png",
        *figures,
    ]


def print_summary():
    """Shown at the end of a successful run: specificity beside the paper's values, and the comparison."""
    import csv

    purity = Path("results/figures/mapper/figure12_purity.csv")
    if purity.exists():
        print(f"Mapper purity by layer ({purity}):\n{purity.read_text()}")
    for metric in METRICS if "ph" in BRANCHES else []:
        summary = Path(f"results/specificity/ph/{metric}/specificity_summary.csv")
        if summary.exists():
            with open(summary) as handle:
                row = next(csv.DictReader(handle))
            print(
                f"Specificity of {metric} ({row['pairs']} model pairs): rho at layer {row['layer_of_interest']} = "
                f"{float(row['rho_layer']):.3f}, over all layers = {float(row['rho_overall']):.3f}"
                + (f" (paper: {row['paper_rho_layer_9']} and {row['paper_rho_overall']})" if metric == "sw" else "")
            )
    comparison = Path("results/comparison/ph/comparison.csv")
    if comparison.exists():
        print(f"\n{comparison}:\n{comparison.read_text()}")
