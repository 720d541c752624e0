"""Element profiles at 224 px and their topology: seconds and peak memory per image.

For each network (random-init torchvision resnet18 and vgg16, fixed seed), a fresh process profiles
``--images`` random 224 px images one at a time (element kind, ``--tracing``, theta 0.1), then
computes the diagrams of each profile graph as the workflow does (``cnntopo.profile.topology``: no
dense matrix above ``exact_vertices``; exact H0, H1 of ``--landmarks`` landmarks). It reports the
graph sizes, the seconds per image of both steps and the process's peak resident memory (which
includes the interpreter, torch and the network). Appends to benchmarks/results/summary.csv and
writes benchmarks/results/profile_topology.json.

    python benchmarks/profile_topology.py [--images 2] [--tracing backward] [--landmarks 200]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from summary import record

_ONE_NETWORK = """
import json, resource, sys, time
import numpy as np, torch
from cnntopo.networks.torchvision_compat import torchvision_submodule
from cnntopo.profile.network import trace_network
from cnntopo.profile.profiler import profile_images
from cnntopo.profile.topology import profile_topology

arch, images, tracing, landmarks = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
torch.set_num_threads(1)
torch.manual_seed(1)
network = trace_network(getattr(torchvision_submodule("models"), arch)().eval())
torch.manual_seed(0)
batch = torch.randn(images, 3, 224, 224)
profile_seconds, topology_seconds, rows = 0.0, 0.0, []
for i in range(images):
    start = time.perf_counter()
    profiles = profile_images(network, batch[i : i + 1], np.zeros(1), "element", 0.1, tracing)
    profile_seconds += time.perf_counter() - start
    start = time.perf_counter()
    _, summary = profile_topology(profiles.profile(0), "inverted", False, landmarks=landmarks, seed=i)
    topology_seconds += time.perf_counter() - start
    rows.append(summary)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"profile_s": profile_seconds / images, "topology_s": topology_seconds / images,
                  "peak_mb": peak_mb, "graphs": rows}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--tracing", choices=("backward", "layerwise"), default="backward")
    parser.add_argument("--landmarks", type=int, default=200)
    parser.add_argument("--networks", nargs="+", default=["resnet18", "vgg16"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "profile_topology.json")
    args = parser.parse_args()
    results, rows = {}, []
    for arch in args.networks:
        command = [sys.executable, "-c", _ONE_NETWORK, arch, str(args.images), args.tracing, str(args.landmarks)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{arch}: {done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["wall_s"] = time.perf_counter() - start
        results[arch] = result
        vertices = [g["vertices"] for g in result["graphs"]]
        print(
            f"{arch} element {args.tracing}, 224 px: {min(vertices)}-{max(vertices)} vertices,"
            f" profile {result['profile_s']:.1f} s/image, topology {result['topology_s']:.1f} s/image"
            f" ({args.landmarks} landmarks), peak {result['peak_mb']:.0f} MB"
        )
        label = f"{arch} element {args.tracing}, 224 px"
        rows += [
            {"measure": f"{label}: profile", "ours": result["profile_s"], "unit": "s/image"},
            {
                "measure": f"{label}: topology ({args.landmarks} landmarks)",
                "ours": result["topology_s"],
                "unit": "s/image",
            },
            {"measure": f"{label}: peak memory of the process", "ours": result["peak_mb"], "unit": "MB"},
            {"measure": f"{label}: profile graph vertices", "ours": float(max(vertices)), "unit": "vertices"},
        ]
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    record("profile_topology", rows)
    print(f"self peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; wrote {args.out}")


if __name__ == "__main__":
    main()
