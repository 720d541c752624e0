"""Import upstream DeepDataProfiler (``deep-data-profiler`` 2.0.1, a test-only dependency).

Its package ``__init__`` imports ``deep_data_profiler.optimization``, which needs torch-lucent
(and IPython, kornia) for feature visualisation that the comparison does not use: an empty
module stands in for it. Returns None when the package is not installed.
"""

from __future__ import annotations

import sys
import types


def import_upstream():
    from cnntopo.networks.torchvision_compat import import_torchvision

    import_torchvision()
    sys.modules.setdefault("deep_data_profiler.optimization", types.ModuleType("deep_data_profiler.optimization"))
    try:
        import deep_data_profiler
    except ImportError:
        return None
    return deep_data_profiler
