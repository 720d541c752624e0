"""A stale Snakemake lock, left by a run that was killed, is removed before the next run; a live one is named.

Snakemake locks a working directory (``.snakemake/locks``) while it runs and removes the lock when
it ends. A run killed with SIGKILL, or whose terminal closed, leaves the lock behind, and the next
run stops at once with a LockException until ``snakemake --unlock``. ``make run`` calls this first:
where no Snakemake process runs in the directory, the lock is stale and is removed (what
``--unlock`` does); where one does, it says which process holds the directory and stops.

    python -m cnntopo.workflow.locks [DIRECTORY]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from cnntopo.entrypoint import StepError, run_step


def is_snakemake(argv: Sequence[str]) -> bool:
    """Whether a command line runs Snakemake: its program is named snakemake, or it is ``python -m snakemake``."""
    if not argv:
        return False
    if Path(argv[0]).name.startswith("snakemake"):
        return True
    script = argv[1:2] if Path(argv[0]).name.startswith("python") else []
    return any(Path(word).name == "snakemake" for word in script) or list(argv[1:3]) == ["-m", "snakemake"]


def _ancestors() -> set[int]:
    """This process and its parents (the shell or make that started it runs no Snakemake of its own yet)."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
    return found


def snakemake_processes(directory: Path) -> list[tuple[int, str]]:
    """``(pid, command line)`` of every Snakemake process running in ``directory`` (this one's parents aside)."""
    found, mine = [], _ancestors()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
            cwd = (proc / "cwd").resolve()
        except OSError:  # gone, or not ours to read
            continue
        if int(proc.name) not in mine and cwd == directory.resolve() and is_snakemake(argv):
            found.append((int(proc.name), " ".join(argv)))
    return found


def clear_stale_lock(directory: Path) -> str | None:
    """Remove ``directory``'s Snakemake lock if no Snakemake process runs there; what was done, or None.

    Raises :class:`cnntopo.entrypoint.StepError` naming the process when one does.
    """
    locks = directory / ".snakemake" / "locks"
    held = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    if not held:
        return None
    running = snakemake_processes(directory)
    if running:
        pid, command = running[0]
        raise StepError(
            f"{directory} is locked by a running Snakemake process {pid} ({command[:120]}): "
            "wait for it to end, or stop it"
        )
    for lock in held:
        lock.unlink(missing_ok=True)
    return f"removed the stale lock of a Snakemake run that no longer runs ({len(held)} files in {locks})"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.workflow.locks", description=__doc__)
    parser.add_argument("directory", type=Path, nargs="?", default=Path("."), help="the workflow's directory")
    done = clear_stale_lock(parser.parse_args(argv).directory)
    if done:
        print(done)


if __name__ == "__main__":
    run_step(main)
