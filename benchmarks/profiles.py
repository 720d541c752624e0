"""The cost of a profile in forward passes: every (network, kind, tracing), ours and upstream's, in one run.

For each network (random-init torchvision weights, a fixed seed, ``--images`` random images at
``--size`` px) it times one forward pass of the batch (best of 3) and then, per kind and tracing,
what a profile job pays per image: recording the batch and profiling it (the best of the next 3 batches, as the
forward pass is the best of 3, after a first whose memory they reuse; all with the profile step's
``keep_freed_memory``). The ratio of the two is the cost in forward passes, the floor being 1. Beside it: the peak
memory per image in flight (resident memory sampled every 2 ms during the first batch, less the memory before it;
on CUDA the allocator's peak), and, where upstream DeepDataProfiler 2.0.1 has the same method (layerwise
channel and element; SVD neurons), upstream's cost in our forward passes, measured after all of
ours for the network (it slows what runs after it in the process). SVD bases are computed
once per model, before the images, and reported on their own (``bases_s``); upstream computes
its own in its SVDProfiler's constructor. Upstream's spatial profiler is another method (a
quantile of the channel norms), so it has no column here.

Writes ``--out`` (JSON) and appends to benchmarks/results/summary.csv. A quiet machine, please:

    python benchmarks/profiles.py [--networks resnet18 resnet34 vgg11 vgg16] [--kinds ...]
        [--tracings backward layerwise] [--images 4] [--size 224] [--threads 1] [--device cpu|cuda]
        [--no-upstream] [--out benchmarks/results/profiles.json]
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from cnntopo.networks.devices import resolve_device  # noqa: E402
from cnntopo.networks.torchvision_compat import torchvision_submodule  # noqa: E402
from cnntopo.profile import profiler  # noqa: E402
from cnntopo.profile.network import trace_network  # noqa: E402
from cnntopo.profile.profiler import profile_images  # noqa: E402
from ddp_upstream import import_upstream  # noqa: E402
from summary import record  # noqa: E402

_PAGE = 4096


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


class PeakMemory:
    """Peak memory above the level at entry while the block runs: sampled RSS on a CPU, the allocator's peak on CUDA."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak = device, 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
            return self
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed memory still resident would hide the peak
        self.start, self.done = _resident_bytes(), threading.Event()
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.002):
            self.peak = max(self.peak, _resident_bytes() - self.start)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device) - self.start
            return
        self.done.set()
        self.sampler.join()
        self.peak = max(self.peak, _resident_bytes() - self.start)


def _seconds(device: torch.device, run, *args) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    run(*args)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _upstream_seconds_per_image(ddp, model, kind: str, images: torch.Tensor) -> tuple[float, float]:
    """Upstream's (seconds per image, seconds of its constructor) on ``images``, one at a time after one untimed."""
    start = time.perf_counter()
    if kind == "svd":
        profiler = ddp.SVDProfiler(copy.deepcopy(model))
        run = profiler.create_influential
    else:
        profiler = (ddp.ChannelProfiler if kind == "channel" else ddp.ElementProfiler)(copy.deepcopy(model))
        run = profiler.create_profile
    built = time.perf_counter() - start
    run(images[:1], threshold=0.1)
    start = time.perf_counter()
    for i in range(len(images)):
        run(images[i : i + 1], threshold=0.1)
    return (time.perf_counter() - start) / len(images), built


def _run_before(args: argparse.Namespace, rows: list[dict]) -> None:
    """Each row's cell again with commit ``args.before``'s code, one subprocess per cell; adds before_s_per_image."""
    import os
    import subprocess
    import tempfile

    repo = Path(__file__).parents[1]
    with tempfile.TemporaryDirectory() as folder:
        tree, out = Path(folder) / "before", Path(folder) / "before.json"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), args.before], check=True)
        try:
            for r in rows:
                tracings = ["backward"] if r["kind"] == "svd" else [r["tracing"]]
                command = [
                    sys.executable,
                    __file__,
                    "--networks",
                    r["network"],
                    "--kinds",
                    r["kind"],
                    "--tracings",
                    *tracings,
                    "--images",
                    str(args.images),
                    "--size",
                    str(args.size),
                    "--threads",
                    str(args.threads),
                    "--device",
                    args.device,
                    "--no-upstream",
                    "--no-record",
                    "--out",
                    str(out),
                ]
                env = {**os.environ, "PYTHONPATH": str(tree / "src")}
                subprocess.run(command, check=True, env=env)
                r["before_s_per_image"] = json.loads(out.read_text())[0]["s_per_image"]
                print(
                    f"  {r['network']} {r['kind']} {r['tracing']}: {r['before_s_per_image']:.3f} s/image with"
                    f" {args.before}, {r['s_per_image']:.3f} now",
                    flush=True,
                )
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=["resnet18", "resnet34", "vgg11", "vgg16"])
    parser.add_argument("--kinds", nargs="+", default=["channel", "element", "spatial", "svd"])
    parser.add_argument("--tracings", nargs="+", default=["backward", "layerwise"])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--upstream-images", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (a CUDA build of torch and a GPU)")
    parser.add_argument("--no-upstream", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="leave summary.csv alone")
    parser.add_argument(
        "--before",
        help="a commit: each cell is also run with that commit's src/ (a git worktree), in a subprocess,"
        " and its seconds per image recorded beside ours",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/profiles.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # As the profile step does (a --before commit's step may not: then neither does its run here).
    getattr(profiler, "keep_freed_memory", lambda: None)()
    device = resolve_device(args.device)
    ddp = None if args.no_upstream or device.type != "cpu" else import_upstream()
    if ddp is None and not args.no_upstream and device.type == "cpu":
        raise SystemExit(
            "deep-data-profiler is not installed: pip install --no-deps deep-data-profiler==2.0.1 powerlaw"
        )
    models = torchvision_submodule("models")
    torch.manual_seed(0)
    images = torch.randn(args.images, 3, args.size, args.size)
    rows = []
    for name in args.networks:
        torch.manual_seed(1)
        model = getattr(models, name)().eval()
        network = trace_network(copy.deepcopy(model).to(device))
        x = images.to(device)
        with torch.no_grad():
            network.graph(x[:1])
            forward = min(_seconds(device, network.graph, x) for _ in range(3)) / args.images
        print(f"{name}: one forward pass {forward * 1e3:.1f} ms/image", flush=True)
        ours = []
        for kind in args.kinds:
            bases = 0.0
            if kind == "svd":
                bases = _seconds(device, profiler.svd_bases, network)  # looked up here: a --before commit may lack it
            for tracing in args.tracings if kind != "svd" else ["backward"]:
                profile_images(network, x[:1], np.zeros(1), kind, 0.1, tracing)
                run = (network, x, np.zeros(args.images), kind, 0.1, tracing)
                with PeakMemory(device) as memory:  # the first batch: its memory is new to the process
                    _seconds(device, profile_images, *run)
                # the next batches, as a profile job runs them: the best of 3, as the forward pass (one alone had read
                # resnet18 backward element 0.37 and 0.50 s an image in two runs of the same code)
                seconds = min(_seconds(device, profile_images, *run) for _ in range(3))
                per_image = seconds / args.images
                row = {
                    "network": name,
                    "kind": kind,
                    "tracing": "-" if kind == "svd" else tracing,
                    "images": args.images,
                    "size": args.size,
                    "threads": args.threads,
                    "device": str(device),
                    "forward_s_per_image": forward,
                    "s_per_image": per_image,
                    "profiles_per_s": 1 / per_image,
                    "forward_passes": per_image / forward,
                    "peak_mb_per_image": memory.peak / 2**20 / args.images,
                    "bases_s": bases,
                    "upstream_s_per_image": None,
                    "upstream_bases_s": None,
                    "upstream_error": None,
                }
                ours.append(row)
                print(
                    f"  {kind:8s} {row['tracing']:9s} {per_image:8.3f} s/image = {row['forward_passes']:7.2f} forward passes,"
                    f" {row['peak_mb_per_image']:7.1f} MB/image"
                    + (f", bases once {bases:.1f} s" if kind == "svd" else ""),
                    flush=True,
                )
        # Upstream after all of ours: run before them in the same process, it had left our next cells slower
        # (resnet18 layerwise channel 1.88 forward passes after it, 1.55 alone; resnet34 backward element
        # 0.80 s an image after it, 0.71 alone).
        for kind in [k for k in ("channel", "element", "svd") if k in args.kinds and ddp is not None]:
            compared = [r for r in ours if r["kind"] == kind and r["tracing"] in ("-", "layerwise")]
            try:
                upstream, built = _upstream_seconds_per_image(ddp, model, kind, images[: args.upstream_images])
            except Exception as error:  # upstream's SVDProfiler fails on ResNets (KeyError 'layer1.0.resnetadd')
                for r in compared:
                    r["upstream_error"] = f"{type(error).__name__}: {error}"
                print(f"  upstream {kind} fails on {name}: {type(error).__name__}: {error}", flush=True)
                continue
            for r in compared:
                r["upstream_s_per_image"] = upstream
                r["upstream_bases_s"] = built if kind == "svd" else None
            print(
                f"  upstream {kind:8s} {upstream:8.3f} s/image = {upstream / forward:.2f} forward passes"
                + (f", its bases {built:.1f} s" if kind == "svd" else ""),
                flush=True,
            )
        rows += ours
    if args.before:
        _run_before(args, rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    if args.no_record:
        return
    where = f"{args.size} px, {args.threads} thread(s), {device.type}"
    summary = []
    for r in rows:
        cell = f"{r['network']} {r['kind']} {r['tracing']}, {where}"
        up = r["upstream_s_per_image"]
        summary.append(
            {
                "measure": f"{cell}: cost in forward passes",
                "ours": r["forward_passes"],
                "reference": up / r["forward_s_per_image"] if up else None,
                "unit": "forward passes per image (reference: deep-data-profiler 2.0.1)",
            }
        )
        summary.append({"measure": f"{cell}: peak memory", "ours": r["peak_mb_per_image"], "unit": "MB per image"})
        if r["kind"] == "svd":
            summary.append(
                {
                    "measure": f"{r['network']} SVD bases, once per model, {where}",
                    "ours": r["bases_s"],
                    "reference": r["upstream_bases_s"],
                    "unit": "s (reference: deep-data-profiler 2.0.1's SVDProfiler constructor)",
                }
            )
    for r in rows:
        if "before_s_per_image" in r:
            summary.append(
                {
                    "measure": f"{r['network']} {r['kind']} {r['tracing']}, {where}: against {args.before}",
                    "ours": r["s_per_image"],
                    "reference": r["before_s_per_image"],
                    "unit": f"s per image (reference: the same cell with commit {args.before}'s src/)",
                }
            )
    record("profiles", summary)


if __name__ == "__main__":
    main()
