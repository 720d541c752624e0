"""Job resources (memory in MB, runtime in minutes) derived from the config, for Snakemake and SLURM.

The estimates are deliberately generous upper bounds from simple models of the
work, calibrated on this project's measurements: a width-64 CIFAR ResNet-18
trains at about 21 images/s on one 2-core CPU (~40 min per 50k-image epoch),
and a GPU is taken as 100x faster. Global retries resubmit with larger values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cnntopo.networks.layers import TORCHVISION_LAST_LAYERS, LayerInfo, planned_layers
from cnntopo.ph.specificity import cross_partners
from cnntopo.workflow.config import branch_section
from cnntopo.workflow.graphs import graph_sources, mapper_noise_levels

_BASE_MB = 1500  # interpreter, torch, numpy, zarr
_CPU_SECONDS_PER_IMAGE_W64_S32 = 0.048
_GPU_SPEEDUP = 100.0
_KNOWN_SPLITS = {"cifar10": (50_000, 10_000)}
_IMAGEFOLDER_GUESS = (13_000, 500)  # ImageNet-10 as in the paper; unknown folders are not counted before the run


def split_sizes(data: Mapping[str, Any]) -> tuple[int, int]:
    """(train, test) image counts of the configured dataset, without loading it."""
    if data["dataset"] == "digits":
        test = math.ceil(1797 * data["test_fraction"])
        return 1797 - test, test
    return _KNOWN_SPLITS.get(data["dataset"], _IMAGEFOLDER_GUESS)


def image_side(data: Mapping[str, Any]) -> int:
    return 32 if data["dataset"] == "cifar10" else int(data["image_size"])


def activation_floats_per_image(width: int, side: int) -> float:
    """Floats of all conv outputs of one image: stage k has width 2^k channels on (side / 2^k)^2 positions,
    5 conv outputs in stage 0 (stem included) and 4 in each later stage."""
    return width * side**2 * (5 + 4 / 2 + 4 / 4 + 4 / 8)


def train_mem_mb(data: Mapping[str, Any], width: int, batch_size: int, gpu: bool, models: int = 1) -> int:
    """Host memory of one training job of ``models`` seeds: the dataset as uint8, plus (on CPU) each
    model's batch of saved tensors."""
    n_train, n_test = split_sizes(data)
    side = image_side(data)
    dataset_mb = (n_train + n_test) * side**2 * 3 / 2**20
    # Autograd keeps about four tensors per conv output (conv, BN, ReLU, residual sum).
    batch_mb = 0.0 if gpu else 4 * 4 * batch_size * activation_floats_per_image(width, side) / 2**20
    return int(_BASE_MB + 2 * dataset_mb + models * batch_mb)


def train_runtime_min(data: Mapping[str, Any], width: int, epochs: int, gpu: bool) -> int:
    n_train, n_test = split_sizes(data)
    side = image_side(data)
    seconds_per_image = _CPU_SECONDS_PER_IMAGE_W64_S32 * (width / 64) ** 2 * (side / 32) ** 2
    if gpu:
        seconds_per_image /= _GPU_SPEEDUP
    seconds = epochs * (n_train + n_test / 3) * seconds_per_image  # test evaluated each epoch (forward only)
    return int(10 + 1.5 * seconds / 60)


def extract_mem_mb(data: Mapping[str, Any], width: int, n_images: int, extract_batch: int) -> int:
    """Host memory of one extraction job: the test split, one batch of full activations, one block per layer."""
    _, n_test = split_sizes(data)
    side = image_side(data)
    dataset_mb = n_test * side**2 * 3 / 2**20
    batch_mb = 2 * 4 * min(extract_batch, n_images) * activation_floats_per_image(width, side) / 2**20
    return int(_BASE_MB + 2 * dataset_mb + batch_mb)


def extract_runtime_min(data: Mapping[str, Any], width: int, n_images: int, batches: int, gpu: bool) -> int:
    side = image_side(data)
    seconds_per_image = _CPU_SECONDS_PER_IMAGE_W64_S32 / 3 * (width / 64) ** 2 * (side / 32) ** 2
    if gpu:
        seconds_per_image /= _GPU_SPEEDUP
    return int(5 + 1.5 * n_images * batches * seconds_per_image / 60)


def persistence_mem_mb(n_points: int) -> int:
    """Distance matrix (float64, pdist + squareform) plus the Rips filtration of maxdim 1, generously."""
    return int(_BASE_MB + 40 * n_points**2 * 8 / 2**20)


def persistence_runtime_min(n_points: int, clouds: int) -> int:
    """About 2 s per 1000-point cloud measured with ripser.py (random 512-d clouds); cubic in N at worst."""
    return int(5 + 1.5 * clouds * 2.0 * (n_points / 1000) ** 3 / 60)


def _seconds_per_distance(metric: str, n_points: int, channels: int) -> float:
    """SW: ~1 ms for two ~1000-point H1 diagrams (benchmarks/sliced_wasserstein.py), ~linear in N;
    CKA: two c x c Gram products of N rows; Procrustes: one more c x c SVD."""
    if metric == "sw":
        return 1e-3 * max(n_points / 1000, 0.1)
    gram = 2 * n_points * channels**2 / 5e9
    return gram + (channels**3 / 1e9 if metric == "procrustes" else 0.0)


def layer_distance_pairs(layers: int, partners: int, batches: int, threads: int = 1) -> float:
    """Layer-to-layer distances one layer_distances job computes per core: per batch, the model's
    L(L-1)/2 pairs of its own layers, and L x L against each partner, the partners shared among its
    ``threads``."""
    return batches * (layers * (layers - 1) // 2 + layers**2 * partners / threads)


def layer_distances_runtime_min(metric: str, distances: float, n_points: int, channels: int) -> int:
    """Runtime of a job that computes ``distances`` layer-to-layer distances (x3 for safety)."""
    return int(5 + 3 * distances * _seconds_per_distance(metric, n_points, channels) / 60)


def sensitivity_runtime_min(metric: str, layers: int, channels: int, step: int, n_points: int) -> int:
    """Each deletion costs one distance, plus, for SW, the PH of the reduced cloud."""
    per_deletion = _seconds_per_distance(metric, n_points, channels)
    if metric == "sw":
        per_deletion += 2.0 * (n_points / 1000) ** 3
    return int(5 + 3 * layers * (channels // step) * per_deletion / 60)


def layer_distances_mem_mb(layers: int, batches: int, n_points: int, channels: int, models: int = 2) -> int:
    """``models`` models' layers of (B, N, <= c) float32 clouds plus their float64 prepared copies."""
    return int(_BASE_MB + models * layers * batches * n_points * channels * (4 + 8) / 2**20)


def mapper_activations_mem_mb(
    data: Mapping[str, Any], width: int, extract_batch: int, full_cap: int, layers: int, modes: int = 1
) -> int:
    """The training split, one batch of activations, and the selections (int64 pairs) of every layer and mode."""
    n_train, _ = split_sizes(data)
    side = image_side(data)
    selections_mb = modes * layers * 3 * 8 * max(full_cap, 5 * n_train) / 2**20
    return int(
        extract_mem_mb(data, width, extract_batch, extract_batch) + n_train * side**2 * 3 / 2**20 + selections_mb
    )


def mapper_graph_mem_mb(points: int, channels: int) -> int:
    """The cloud in float64 plus DBSCAN's neighbourhoods within one preimage (brute force, chunked)."""
    return int(_BASE_MB + 3 * points * channels * 8 / 2**20 + 2000)


def mapper_graph_runtime_min(points: int, channels: int) -> int:
    """Brute-force DBSCAN per preimage: ~2 (n / intervals * overlap)^2 c flops summed, ~25 s at 50k x 512 (measured)."""
    return int(5 + 3 * 25 * (points / 50_000) ** 2 * (channels / 512) / 60 + 3 * 25 * points / 50_000 / 60)


# Per-rule estimates, ``(config, wildcards) -> int``, for the workflow's ``resources:``; each reads the
# validated config and the job's wildcards, and the layer counts come from the branch's layer table.
Estimate = Callable[[Mapping[str, Any], Any], int]


def per_attempt(estimate: Estimate, config: Mapping[str, Any]) -> Callable[[Any, int], int]:
    """A resource callable that grows with the attempt: a global retry (--retries, the SLURM profile)
    resubmits a job killed for memory or time with 2x, then 3x the estimate."""

    def scaled(wildcards: Any, attempt: int) -> int:
        return estimate(config, wildcards) * attempt

    return scaled


def _section(wildcards: Any) -> str:
    """The config section of a job's branch (mapper rules have no ``branch`` wildcard)."""
    return branch_section(getattr(wildcards, "branch", "mapper"))


def _branch(config: Mapping[str, Any], wildcards: Any) -> Mapping[str, Any]:
    return config[_section(wildcards)]


def _user_models(config: Mapping[str, Any], wildcards: Any) -> Mapping[str, Any] | None:
    return config["ph"]["user_models"] if _section(wildcards) == "ph" else None


def _layers(config: Mapping[str, Any], wildcards: Any) -> list:
    """The layers the branch of a job reads: Conv2d outputs (ph) or block BatchNorm outputs (mapper).
    The user's models' nodes are unknown without torch: each is counted as 512 channels."""
    user = _user_models(config, wildcards)
    if user is not None:
        side = image_side(config["data"])
        return [LayerInfo(i, node, 512, side, side) for i, node in enumerate(user["nodes"])]
    model = _branch(config, wildcards)["model"]
    kind = "conv" if _section(wildcards) == "ph" else "block_bn"
    return planned_layers(model["arch"], model["width"], image_side(config["data"]), kind)


def _width(config: Mapping[str, Any], wildcards: Any) -> int:
    """The stem width behind the activation-size estimates; the user's models count as a width-64 ResNet-18."""
    return 64 if _user_models(config, wildcards) is not None else _branch(config, wildcards)["model"]["width"]


def _max_channels(config: Mapping[str, Any], wildcards: Any) -> int:
    return max(layer.channels for layer in _layers(config, wildcards))


def _gpu(config: Mapping[str, Any]) -> bool:
    return config["resources"]["gpu"]


def train_model_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    section = _branch(config, wildcards)
    return train_mem_mb(config["data"], section["model"]["width"], section["train"]["batch_size"], _gpu(config))


def train_model_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    section = _branch(config, wildcards)
    return train_runtime_min(config["data"], section["model"]["width"], section["train"]["epochs"], _gpu(config))


def train_models_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """A job training ``ph.train.concurrent_seeds`` PH seeds in one process."""
    ph = config["ph"]
    models = ph["train"]["concurrent_seeds"]
    return train_mem_mb(config["data"], ph["model"]["width"], ph["train"]["batch_size"], _gpu(config), models)


def train_models_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    """Bounded by the seeds trained one after the other (what the CPU does)."""
    ph = config["ph"]
    single = train_runtime_min(config["data"], ph["model"]["width"], ph["train"]["epochs"], _gpu(config))
    return ph["train"]["concurrent_seeds"] * single


def extract_activations_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    section = _branch(config, wildcards)
    a = section["activations"]
    return extract_mem_mb(config["data"], _width(config, wildcards), a["n_images"], a["extract_batch"])


def init_model_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """An untrained model of the PH branch, built beside its data set's test split."""
    return extract_mem_mb(config["data"], config["ph"]["model"]["width"], 1, 1)


def extract_activations_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    section = _branch(config, wildcards)
    a = section["activations"]
    return extract_runtime_min(config["data"], _width(config, wildcards), a["n_images"], a["batches"], _gpu(config))


def persistence_diagrams_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    return persistence_mem_mb(_branch(config, wildcards)["activations"]["n_images"])


def persistence_diagrams_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    """One job computes every layer of every batch of one model."""
    activations = _branch(config, wildcards)["activations"]
    clouds = activations["batches"] * len(_layers(config, wildcards))
    return persistence_runtime_min(activations["n_images"], clouds)


def distance_partners(config: Mapping[str, Any], seed: int) -> list[int]:
    """The models the layer_distances job of ``seed`` compares it with (its cross-model partners)."""
    return cross_partners(seed, range(config["seeds"]), config["ph"]["specificity"]["references"])


def distance_threads(config: Mapping[str, Any], seed: int) -> int:
    """Cores of the layer_distances job of ``seed``: ``ph.distance_threads``, no more than its partners."""
    return max(1, min(config["ph"]["distance_threads"], len(distance_partners(config, seed))))


def layer_distances_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """The store's (B, N, c) layers of the model and of the partners it is compared with at once."""
    a = _branch(config, wildcards)["activations"]
    models = 1 + distance_threads(config, int(wildcards.seed))
    return layer_distances_mem_mb(
        len(_layers(config, wildcards)), a["batches"], a["n_images"], _max_channels(config, wildcards), models
    )


def layer_distances_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    """The model's own layer pairs, and every layer pair against each partner (on its threads), per batch."""
    a = _branch(config, wildcards)["activations"]
    layers = len(_layers(config, wildcards))
    seed = int(wildcards.seed)
    partners = distance_partners(config, seed)
    pairs = layer_distance_pairs(layers, len(partners), a["batches"], distance_threads(config, seed))
    return layer_distances_runtime_min(wildcards.metric, pairs, a["n_images"], _max_channels(config, wildcards))


def _specificity_stack_elements(config: Mapping[str, Any], wildcards: Any) -> int:
    """Entries of one (P, B, L, L) stack of the specificity test: P ordered pairs of models."""
    ph = config["ph"]
    seeds, references = config["seeds"], ph["specificity"]["references"]
    pairs = seeds * (seeds - 1) if references == "all" else len(references) * (seeds - 1)
    return pairs * ph["activations"]["batches"] * len(_layers(config, wildcards)) ** 2


def specificity_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """Within and cross stacks in float64, and a bootstrap draw's batch means of both (paper-ph: 980 MB)."""
    return 500 + math.ceil(4 * 8 * _specificity_stack_elements(config, wildcards) / 1e6)


def specificity_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    """Bootstrap draws, each reading the stacks once: the pair scheme every pair, the model scheme and each
    seeds-needed subset (4.7x the pairs at 100 models) the 40 % of pairs whose two models were drawn; about
    7 ns an entry (paper-ph: 204 ms a draw of the pair scheme, 12 minutes in all)."""
    draws = config["ph"]["statistics"]["bootstrap"]
    seconds = draws * _specificity_stack_elements(config, wildcards) * 7e-9 * (1 + 0.4 + 0.4 * 4.7)
    return max(5, math.ceil(2 * seconds / 60))


def sensitivity_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    section = _branch(config, wildcards)
    chosen = section["sensitivity"]["layers"]
    layers = len(_layers(config, wildcards)) if chosen == "all" else len(chosen)
    return sensitivity_runtime_min(
        wildcards.metric,
        layers,
        _max_channels(config, wildcards),
        section["sensitivity"]["step"],
        section["activations"]["n_images"],
    )


def _uses_segmenter(config: Mapping[str, Any]) -> bool:
    return config["mapper"]["foreground"]["method"] == "deeplabv3"


def foreground_masks_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """The training split held twice (images and masks), as in training; DeepLabV3 (ResNet-101 at
    most) on batches of 8 images adds about 3 GB at 224 px."""
    return train_mem_mb(config["data"], 1, 1, True) + (3000 if _uses_segmenter(config) else 0)


def foreground_masks_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    """grabCut: about 20,000 small images a minute; DeepLabV3 on a CPU about 1 s a 224 px image."""
    images = split_sizes(config["data"])[0]
    return 10 + images // (60 if _uses_segmenter(config) else 20_000)


def mapper_activations_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """One job writes the stores of every sampling mode of its noise level (``sigma``)."""
    mapper = config["mapper"]
    return mapper_activations_mem_mb(
        config["data"],
        mapper["model"]["width"],
        mapper["extract_batch"],
        mapper["full_cap"],
        len(_layers(config, wildcards)),
        len(mapper_noise_levels(mapper)[wildcards.sigma]),
    )


def mapper_epoch_activations_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """One store, of the trajectory's sampling mode, of the mapper model after an epoch."""
    mapper = config["mapper"]
    layers = len(_layers(config, wildcards))
    return mapper_activations_mem_mb(
        config["data"], mapper["model"]["width"], mapper["extract_batch"], mapper["full_cap"], layers, 1
    )


def mapper_trajectory_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """The graphs of one store at a time, at most full_cap points of the widest layer."""
    return mapper_graph_mem_mb(config["mapper"]["full_cap"], _max_channels(config, wildcards))


def mapper_activations_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    n_train, _ = split_sizes(config["data"])
    return extract_runtime_min(config["data"], config["mapper"]["model"]["width"], n_train, 1, _gpu(config))


def _graph_channels(config: Mapping[str, Any], wildcards: Any) -> int:
    """Channels of a mapper graph's points: the project model's widest layer, or a generalisation
    model's architecture's last layer (2048, Inception v3's, if unknown)."""
    name = graph_sources(config)[wildcards.variant].model
    if name is None:
        return _max_channels(config, wildcards)
    arch = next(m["arch"] for m in config["generalisation"]["models"] if m["name"] == name)
    return TORCHVISION_LAST_LAYERS.get(arch, (None, 2048))[1]


def mapper_graph_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    return mapper_graph_mem_mb(config["mapper"]["full_cap"], _graph_channels(config, wildcards))


def mapper_graph_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    return mapper_graph_runtime_min(config["mapper"]["full_cap"], _graph_channels(config, wildcards))


def generalisation_activations_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """The training images as uint8, a batch of a torchvision network's activations at 224 px
    (~30M floats an image counted for its largest, Inception v3), and the selections of every mode."""
    n_train, _ = split_sizes(config["data"])
    side = image_side(config["data"])
    batch = config["mapper"]["extract_batch"]
    selections = 24 * config["mapper"]["full_cap"] * len(config["generalisation"]["sampling"])
    return int(_BASE_MB + n_train * side**2 * 3 / 2**20 + batch * 30e6 * 4 / 2**20 + selections / 2**20)


def generalisation_activations_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    """About 0.1 s an image at 224 px on a CPU (a forward pass of the largest of the four), 2 ms on a GPU."""
    n_train, _ = split_sizes(config["data"])
    return int(10 + n_train * (0.002 if _gpu(config) else 0.1) / 60)


def mapper_explorer_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """The training split and one graph's store arrays at a time."""
    n_train, _ = split_sizes(config["data"])
    side = image_side(config["data"])
    return int(_BASE_MB + 2 * n_train * side**2 * 3 / 2**20 + 3 * 8 * config["mapper"]["full_cap"] / 2**20)


def _torchvision_entry(config: Mapping[str, Any], wildcards: Any) -> Mapping[str, Any] | None:
    return next((e for e in config["profile"]["torchvision"] if e["name"] == wildcards.model), None)


def _profiled_classes(config: Mapping[str, Any], wildcards: Any) -> int:
    """The class folders of a torchvision entry's image tree (10 while it does not exist yet); 10 otherwise."""
    entry = _torchvision_entry(config, wildcards)
    folder = Path(entry["images"]) if entry is not None else None
    if folder is None or not folder.is_dir():
        return 10
    return sum(1 for child in folder.iterdir() if child.is_dir())


def profile_model_mem(config: Mapping[str, Any], wildcards: Any) -> int:
    """Heads and tails of every layer for one batch, the images, and the traced pairs. Project
    ResNet-18: ~40 planes of 8 x width channels at the input side, counted generously. A torchvision
    ResNet / VGG at 224 px: benchmarks/profiles.py measured up to 1.3 GB per image in flight for
    element profiles traced backward (vgg16; the traced pairs dominate) and under 0.6 GB for the other
    kinds; counted 1.5 GB and 0.6 GB per image of a batch."""
    profile = config["profile"]
    entry = _torchvision_entry(config, wildcards)
    if entry is not None:
        images = profile["images_per_class"] * _profiled_classes(config, wildcards)
        heavy = "element" in profile["kinds"] and profile["tracing"] == "backward"
        in_flight_mb = min(profile["batch"], images) * (1500 if heavy else 600)
        return int(_BASE_MB + in_flight_mb + images * 224**2 * 3 / 2**20 + 1024)
    _, images = split_sizes(config["data"])
    side = image_side(config["data"])
    branch = wildcards.model.split("-")[0]
    width = config["mapper" if branch == "mapper" else "ph"]["model"]["width"]
    floats_per_image = 2 * 40 * 8 * width * side**2
    batch = profile["batch"]
    return int(_BASE_MB + 4 * batch * floats_per_image / 2**20 + images * side**2 * 3 / 2**20 + 1024)


def profile_model_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    """About 1 ms per image and kind at the digits' scale: bounded by 1 s each. At 224 px (torchvision
    entries) the slowest kind, element profiles traced backward, costs about 35 forward passes
    (benchmarks/profiles.py: 6.8 s an image on vgg11 on one CPU core), counted 20 s each; the SVD
    bases, once per model, about a minute for a VGG's classifier, counted 5 minutes."""
    profile = config["profile"]
    torchvision = _torchvision_entry(config, wildcards) is not None
    per_image_s = 20 if torchvision else 1
    bases_s = 300 if torchvision and "svd" in profile["kinds"] else 0
    images = profile["images_per_class"] * _profiled_classes(config, wildcards)
    return max(5, math.ceil((images * len(profile["kinds"]) * per_image_s + bases_s) / 60))


def profile_topology_runtime(config: Mapping[str, Any], wildcards: Any) -> int:
    """Ripser on graphs of up to exact_vertices vertices: 5 s a graph; above them (a torchvision model's
    element profiles) one Dijkstra search per landmark, counted at 1 s (benchmarks/profile_topology.py:
    0.14 s at resnet18's 393k vertices, 0.72 s at vgg16's 1.27M)."""
    profile = config["profile"]
    seconds = 5 if _torchvision_entry(config, wildcards) is None else max(5, 1.0 * profile["landmarks"])
    return max(5, math.ceil(_profiled_classes(config, wildcards) * profile["images_per_class"] * seconds / 60))
