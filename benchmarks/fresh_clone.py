"""The README's commands on a fresh clone of this commit, timed, and the outputs' digests.

Clones the repository's HEAD into ``--workdir``, runs each ``make`` target of ``--targets`` there
(default: run, test, docs) and records its wall time in ``benchmarks/results/summary.csv``
(benchmark ``fresh_clone``; the first target includes creating the venv). ``--save-digests F``
writes the SHA-256 of every output of ``make run`` (tests/workflow_helpers.output_digests: logs and
Snakemake benchmarks left out, time fields stripped); ``--compare F`` prints every output whose digest
differs from F's, or that only one of the two runs has: the bit-identity check of a refactoring.
Run it on a quiet machine.

    python benchmarks/fresh_clone.py --workdir /tmp/fresh [--targets run test docs] \
        [--save-digests after.json] [--compare before.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from summary import record  # noqa: E402
from workflow_helpers import output_digests  # noqa: E402


def digest_differences(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """One line per output that differs between two digest maps, or that only one of them has."""
    lines = [f"differs: {name}" for name in sorted(before.keys() & after.keys()) if before[name] != after[name]]
    lines += [f"only before: {name}" for name in sorted(before.keys() - after.keys())]
    return lines + [f"only after: {name}" for name in sorted(after.keys() - before.keys())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True, help="an absent or empty folder for the clone")
    parser.add_argument("--targets", nargs="+", default=["run", "test", "docs"])
    parser.add_argument("--save-digests", type=Path)
    parser.add_argument("--compare", type=Path, help="digests of an earlier run (--save-digests)")
    args = parser.parse_args()
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(args.workdir)], check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.workdir, capture_output=True, text=True)
    rows = []
    for target in args.targets:
        start = time.perf_counter()
        with open(args.workdir / f"make-{target}.log", "w") as log:
            result = subprocess.run(["make", target], cwd=args.workdir, stdout=log, stderr=subprocess.STDOUT)
        minutes = (time.perf_counter() - start) / 60
        print(f"make {target}: {minutes:.1f} min, exit {result.returncode}")
        if result.returncode:
            sys.exit(f"make {target} failed: see {args.workdir}/make-{target}.log")
        note = " (with creating the venv)" if target == args.targets[0] else ""
        rows.append({"measure": f"make {target} on a fresh clone{note}", "ours": minutes, "unit": "min"})
    record("fresh_clone", rows)
    print(f"commit {commit.stdout.strip()}; recorded in benchmarks/results/summary.csv")
    if "run" in args.targets and (args.save_digests or args.compare):
        digests = output_digests(args.workdir)
        if args.save_digests:
            args.save_digests.write_text(json.dumps(digests, indent=0, sort_keys=True))
        if args.compare:
            lines = digest_differences(json.loads(args.compare.read_text()), digests)
            print("\n".join(lines) or f"all {len(digests)} outputs bit-identical")


if __name__ == "__main__":
    main()
