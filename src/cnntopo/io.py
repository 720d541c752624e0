"""Files no reader sees half-written (atomic writes), strict JSON, and the CSV tables every step writes."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnntopo.entrypoint import run_step


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block ends, removed if it
    fails, so no reader sees half a file and a full disk or a kill leaves no partial output under its name."""
    path = Path(path)
    tmp = path.with_name(path.name + suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def strict_json(obj: Any, **options: Any) -> str:
    """``json.dumps`` that writes only JSON: a NaN or infinite float becomes ``null`` (``allow_nan=False``
    then refuses anything else that is not JSON), numpy scalars and arrays become numbers and lists."""
    return json.dumps(_finite(obj), allow_nan=False, **options)


def _finite(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2) -> None:
    """Strict JSON (:func:`strict_json`: NaN as null; sorted keys) written atomically; ``indent=None``
    writes one line (for long arrays of numbers)."""
    atomic_write_text(path, strict_json(obj, indent=indent, sort_keys=True) + "\n")


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically. The file is opened here, so an unwritable folder or a full
    disk raises ``OSError`` naming it (torch's own writer raises a bare RuntimeError)."""
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(obj, handle)


def atomic_savez(path: str | Path, compressed: bool = False, **arrays: Any) -> None:
    """``np.savez`` to ``path`` atomically: a reader never sees half an archive."""
    with atomic_path(path, ".tmp.npz") as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)


def write_table(path: str | Path, rows: Sequence[dict], columns: Sequence[str] | None = None) -> None:
    """CSV with one row per dict, written atomically; the header is ``columns`` (other keys ignored) or the first
    row's keys."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(columns or rows[0]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())


def concatenate_tables(paths: Sequence[str | Path], out: str | Path) -> None:
    """One CSV of the rows of several CSVs (the union of their columns, in order of appearance)."""
    rows = [row for path in paths for row in read_table(path)]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    write_table(out, rows, columns)


def _typed(text: str) -> Any:
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a CSV written by :func:`write_table`, values typed back: ``True``/``False`` as bool,
    integers as int, other numbers (``nan`` included) as float, anything else as str."""
    with open(path, newline="") as handle:
        return [{key: _typed(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.io", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    concatenate = sub.add_parser("concatenate", help="one CSV of the rows of several")
    concatenate.add_argument("--tables", type=Path, nargs="+", required=True)
    concatenate.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    concatenate_tables(args.tables, args.out)


if __name__ == "__main__":
    run_step(main)
