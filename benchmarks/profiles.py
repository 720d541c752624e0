"""Profiles per second: ours against upstream DeepDataProfiler 2.0.1, same network and images, one run.

Layerwise tracing (upstream v2's only mode), theta 0.1, random-init torchvision networks with a
fixed seed: channel kind on vgg16 and resnet18, element kind on vgg16. Ours profiles the images
as one batch (one forward pass); upstream one image at a time (two forward passes each). Each
side profiles one image first, untimed (oneDNN's first-call set-up). Also prints the memory of
ours per image (the heads and tails it records; the rest is transient) and the share of our
time spent in the forward pass alone, a floor for ours. Appends to benchmarks/results/summary.csv. Needs ``deep-data-profiler`` (the Makefile
installs it) and a quiet machine.

    python benchmarks/profiles.py [--images 8] [--size 224] [--out benchmarks/results/profiles.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from cnntopo.networks.torchvision_compat import torchvision_submodule  # noqa: E402
from cnntopo.profile.network import trace_network  # noqa: E402
from cnntopo.profile.profiler import profile_images  # noqa: E402
from ddp_upstream import import_upstream  # noqa: E402
from summary import record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/profiles.json"))
    args = parser.parse_args()
    ddp = import_upstream()
    if ddp is None:
        raise SystemExit(
            "deep-data-profiler is not installed: pip install --no-deps deep-data-profiler==2.0.1 powerlaw"
        )
    models = torchvision_submodule("models")
    torch.manual_seed(0)
    images = torch.randn(args.images, 3, args.size, args.size)
    rows = []
    for name, kind in [("vgg16", "channel"), ("resnet18", "channel"), ("vgg16", "element")]:
        torch.manual_seed(1)
        model = getattr(models, name)().eval()
        network = trace_network(copy.deepcopy(model))
        profile_images(network, images[:1], np.zeros(1), kind, 0.1, "layerwise")
        start = time.perf_counter()
        recording = network.record(images)
        forward = time.perf_counter() - start
        kept = [*recording.heads.values(), *recording.tails.values()]
        recorded_mb = sum(t.numel() * t.element_size() for t in kept) / 2**20
        del recording, kept
        start = time.perf_counter()
        profile_images(network, images, np.zeros(args.images), kind, 0.1, "layerwise")
        ours = time.perf_counter() - start
        profiler = (ddp.ChannelProfiler if kind == "channel" else ddp.ElementProfiler)(copy.deepcopy(model))
        profiler.create_profile(images[:1], threshold=0.1)
        start = time.perf_counter()
        for i in range(args.images):
            profiler.create_profile(images[i : i + 1], threshold=0.1)
        upstream = time.perf_counter() - start
        row = {
            "network": name,
            "kind": kind,
            "images": args.images,
            "size": args.size,
            "ours_profiles_per_s": args.images / ours,
            "upstream_profiles_per_s": args.images / upstream,
            "ratio": upstream / ours,
            "ours_forward_pass_share": forward / ours,
            "ours_recorded_mb_per_image": recorded_mb / args.images,
            "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads(),
        }
        rows.append(row)
        print(
            f"{name:9s} {kind:8s} ours {row['ours_profiles_per_s']:7.2f}/s  upstream {row['upstream_profiles_per_s']:7.2f}/s"
            f"  ratio {row['ratio']:5.2f}x  (our forward pass alone: {row['ours_forward_pass_share']:.0%} of ours)"
            f"  recorded activations {row['ours_recorded_mb_per_image']:.0f} MB/image,"
            f" process peak RSS {row['process_peak_rss_mb']:.0f} MB",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    record(
        "profiles",
        [
            {
                "measure": f"{r['network']} {r['kind']} layerwise, {r['size']} px",
                "ours": r["ours_profiles_per_s"],
                "reference": r["upstream_profiles_per_s"],
                "unit": "profiles/s (reference: deep-data-profiler 2.0.1)",
            }
            for r in rows
        ],
    )


if __name__ == "__main__":
    main()
