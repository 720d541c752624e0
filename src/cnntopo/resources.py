"""Job resources (memory in MB, runtime in minutes) derived from the config, for Snakemake and SLURM.

The estimates are deliberately generous upper bounds from simple models of the
work, calibrated on this project's measurements: a width-64 CIFAR ResNet-18
trains at about 21 images/s on one 2-core CPU (~40 min per 50k-image epoch),
and a GPU is taken as 100x faster. Global retries resubmit with larger values.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

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


def train_mem_mb(data: Mapping[str, Any], width: int, batch_size: int, gpu: bool) -> int:
    """Host memory of one training job: the dataset as uint8, plus (on CPU) the batch's saved tensors."""
    n_train, n_test = split_sizes(data)
    side = image_side(data)
    dataset_mb = (n_train + n_test) * side**2 * 3 / 2**20
    # Autograd keeps about four tensors per conv output (conv, BN, ReLU, residual sum).
    batch_mb = 0.0 if gpu else 4 * 4 * batch_size * activation_floats_per_image(width, side) / 2**20
    return int(_BASE_MB + 2 * dataset_mb + batch_mb)


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


def persistence_runtime_min(n_points: int, layers: int = 17) -> int:
    """About 2 s per 1000-point cloud measured with ripser.py (random 512-d clouds); cubic in N at worst."""
    return int(5 + 1.5 * layers * 2.0 * (n_points / 1000) ** 3 / 60)


def _seconds_per_distance(metric: str, n_points: int, channels: int) -> float:
    """SW: ~1 ms for two ~1000-point H1 diagrams (benchmarks/sliced_wasserstein.py), ~linear in N;
    CKA: two c x c Gram products of N rows; Procrustes: one more c x c SVD."""
    if metric == "sw":
        return 1e-3 * max(n_points / 1000, 0.1)
    gram = 2 * n_points * channels**2 / 5e9
    return gram + (channels**3 / 1e9 if metric == "procrustes" else 0.0)


def layer_distances_runtime_min(metric: str, distances: int, n_points: int, channels: int) -> int:
    """Runtime of a job that computes ``distances`` layer-to-layer distances (x3 for safety)."""
    return int(5 + 3 * distances * _seconds_per_distance(metric, n_points, channels) / 60)


def sensitivity_runtime_min(metric: str, layers: int, channels: int, step: int, n_points: int) -> int:
    """Each deletion costs one distance, plus, for SW, the PH of the reduced cloud."""
    per_deletion = _seconds_per_distance(metric, n_points, channels)
    if metric == "sw":
        per_deletion += 2.0 * (n_points / 1000) ** 3
    return int(5 + 3 * layers * (channels // step) * per_deletion / 60)


def layer_distances_mem_mb(batches: int, n_points: int, channels: int) -> int:
    """Two models' 17 layers of (B, N, <= c) float32 clouds plus their float64 prepared copies."""
    return int(_BASE_MB + 2 * 17 * batches * n_points * channels * (4 + 8) / 2**20)


def mapper_activations_mem_mb(data: Mapping[str, Any], width: int, extract_batch: int, full_cap: int) -> int:
    """The training split, one batch of activations, and the selections (int64 pairs) of 16 layers."""
    n_train, _ = split_sizes(data)
    side = image_side(data)
    selections_mb = 16 * 3 * 8 * max(full_cap, 5 * n_train) / 2**20
    return int(extract_mem_mb(data, width, extract_batch, extract_batch) + n_train * side**2 * 3 / 2**20
               + selections_mb)


def mapper_graph_mem_mb(points: int, channels: int) -> int:
    """The cloud in float64 plus DBSCAN's neighbourhoods within one preimage (brute force, chunked)."""
    return int(_BASE_MB + 3 * points * channels * 8 / 2**20 + 2000)


def mapper_graph_runtime_min(points: int, channels: int) -> int:
    """Brute-force DBSCAN per preimage: ~2 (n / intervals * overlap)^2 c flops summed, ~25 s at 50k x 512 (measured)."""
    return int(5 + 3 * 25 * (points / 50_000) ** 2 * (channels / 512) / 60 + 3 * 25 * points / 50_000 / 60)
