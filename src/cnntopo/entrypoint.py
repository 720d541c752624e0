"""How a step runs as its own process: ``python -m cnntopo.<step>``, one per Snakemake job."""

from __future__ import annotations

import atexit
import gc
from collections.abc import Callable


def run_step(main: Callable[[], object]) -> None:
    """Run a step's ``main`` and let its process exit without the exit-time garbage collections.

    Python's finalisation runs full collections while it clears the modules; with torch,
    scikit-learn or matplotlib imported they walk a few hundred thousand objects and cost
    0.2-0.9 s per process (about 0.6 s of a training job), which is to say per job.
    ``gc.freeze`` moves every object out of their reach. It is an exit handler registered as
    the step starts, so it runs after the handlers the step registers (they run last-in,
    first-out); it stops none of them, and objects still go when their last reference does.
    Only cyclic garbage is left uncollected, and the process returns it to the system.
    """
    atexit.register(gc.freeze)
    main()
