"""What produced an output: digests of inputs and settings, library versions, the machine."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

_LIBRARIES = ("cnntopo", "torch", "torchvision", "numpy", "zarr", "scikit-learn", "ripser", "giotto-ph", "persim")


def stable_digest(obj: Any) -> str:
    """SHA-256 (first 16 hex digits) of ``obj`` as canonical JSON (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the results, plus Python's."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``; ``platform.processor()`` where that is absent)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_fingerprint() -> dict[str, Any]:
    """What decides whether training is bit-identical elsewhere: the CPU model, the CPU capability torch's
    kernels dispatch to (``ATEN_CPU_CAPABILITY`` overrides it), torch's thread count and the versions.
    The same capability, threads and versions give the same weights; another capability (AVX2 against
    AVX-512, say) rounds differently and gives other weights from the same seed."""
    import torch

    return {
        "cpu_model": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "versions": library_versions(),
        "platform": platform.platform(),
    }
