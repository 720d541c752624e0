"""How a step runs as its own process: ``python -m cnntopo.<step>``, one per Snakemake job."""

from __future__ import annotations

import atexit
import errno
import gc
import sys
from collections.abc import Callable
from typing import Any


class StepError(RuntimeError):
    """A failure the user can act on (bad input, a diverged model, a corrupt file): its message names the
    file or setting and what to do, and a step prints it as one line instead of a traceback."""


def error_line(error: BaseException) -> str:
    """The one line a step prints for ``error``: its message, and for a full disk that it is one."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"error: no space left on device while writing {error.filename or 'an output'}: {error}"
    return f"error: {error}"


def run_step(main: Callable[[], object]) -> None:
    """Run a step's ``main`` and let its process exit without the exit-time garbage collections.

    Python's finalisation runs full collections while it clears the modules; with torch,
    scikit-learn or matplotlib imported they walk a few hundred thousand objects and cost
    0.2-0.9 s per process (about 0.6 s of a training job), which is to say per job.
    ``gc.freeze`` moves every object out of their reach. It is an exit handler registered as
    the step starts, so it runs after the handlers the step registers (they run last-in,
    first-out); it stops none of them, and objects still go when their last reference does.
    Only cyclic garbage is left uncollected, and the process returns it to the system.

    A :class:`StepError` or an ``OSError`` (a full disk, an unwritable folder) ends the process with
    exit status 1 and one line on stderr (:func:`error_line`); anything else, a bug, with its traceback.
    """
    atexit.register(gc.freeze)
    try:
        main()
    except (StepError, OSError) as error:
        print(error_line(error), file=sys.stderr)
        raise SystemExit(1) from None


def progress_bar(iterable: Any = None, **options: Any) -> Any:
    """A tqdm bar on stderr for a long step: redrawn every second on a terminal, every 10 s into a job's log."""
    from tqdm import tqdm

    interval = 1.0 if sys.stderr.isatty() else 10.0
    return tqdm(iterable, file=sys.stderr, ascii=True, mininterval=interval, **options)
