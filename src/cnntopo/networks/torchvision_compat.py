"""Import torchvision's pure-Python parts where its C extension cannot load.

torchvision 0.28.0 on the package index is a CUDA build. Against a CPU build of
torch its ``__init__`` fails ("operator torchvision::nms does not exist") because
it registers meta kernels for C++ operators that were never loaded. The datasets,
transforms and models are pure Python and do not need those operators, so when
the real import fails we install a bare package object in ``sys.modules`` that
lets those submodules import on their own. Where torchvision imports normally,
nothing is changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types


def _install_bare_package() -> types.ModuleType:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError("torchvision is not installed; install the project with `make` or `pip install -e .`")
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    package = types.ModuleType("torchvision")
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__spec__ = spec
    # Module-level helpers of torchvision/__init__.py that the pure-Python parts call.
    package.get_image_backend = lambda: "PIL"
    package._is_tracing = lambda: False
    sys.modules["torchvision"] = package
    return package


def import_torchvision() -> types.ModuleType:
    """Return the ``torchvision`` package, bare (without ops and io) if its C extension cannot load."""
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    try:
        return importlib.import_module("torchvision")
    except (RuntimeError, ImportError, OSError):
        return _install_bare_package()


def torchvision_submodule(name: str) -> types.ModuleType:
    """Import ``torchvision.<name>`` (e.g. ``"datasets"``), working around a broken C extension."""
    import_torchvision()
    return importlib.import_module(f"torchvision.{name}")
