"""Zarr v3 activation stores: one array per layer of shape (B, rows, c), verified on every read.

A store is written under a temporary name and renamed into place only after its
last array and its completion marker are written, so a reader never meets half
a store under the final name. Every array's SHA-256 (:func:`array_digest`: the
C-order bytes, float32 layers with every NaN as one canonical NaN, int64
metadata as they are) is recorded at write time and checked at read time: a
truncated, deleted or altered chunk raises :class:`StoreError` instead of being
read as fill values or wrong positions. The canonical NaN is why a layer of
legitimate NaN is never called corrupt: zarr stores no chunk equal to its NaN
fill value and hands back its own NaN bytes on read, which need not be the
bytes the writer had.

Layout of a PH store (every layer has the same N rows, row k = image k)::

    seed0.zarr/
      zarr.json            group attributes: format, complete, layers, arrays, seed, config digest, ...
      layer00 .. layer16   float32 (B, N, c); attributes: name, index, channels, spatial_shape, sha256
      image_index          int64 (B, N): dataset index of row k of batch b (same in every layer)
      label                int64 (B, N): class label of that image

A mapper store has B = 1 and a different number of points per layer, with per-layer
metadata arrays (``layer03_image``, ``layer03_position``, ``layer03_label``).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnntopo.entrypoint import StepError
from cnntopo.networks.layers import LayerInfo

# /2: every array checksummed, NaN canonicalised (stores of /1 are refused: rerun their rules)
FORMAT = "cnntopo.activation-store/2"


class StoreError(StepError):
    """An activation store is missing, partial, corrupt or of another format."""


def _canonical(values: np.ndarray) -> np.ndarray:
    """``values`` with every NaN of a float array replaced by one quiet NaN (other arrays unchanged)."""
    if values.dtype.kind == "f" and np.isnan(values).any():
        return np.where(np.isnan(values), values.dtype.type(np.nan), values)
    return values


def array_digest(values: np.ndarray, digest: Any = None) -> Any:
    """``digest`` (a new SHA-256 when None) updated with the canonical C-order bytes of ``values``."""
    digest = hashlib.sha256() if digest is None else digest
    digest.update(np.ascontiguousarray(_canonical(np.asarray(values))).tobytes())
    return digest


def layer_key(index: int) -> str:
    return f"layer{index:02d}"


def cloud_key(index: int, representation: str | None = None) -> str:
    """The array of a layer's cloud: ``layer09`` (the store's own sampling) or ``layer09_mean_pool``."""
    return layer_key(index) if representation is None else f"{layer_key(index)}_{representation}"


class StoreWriter:
    """Fill a new store block by block, each layer in row order; :meth:`commit` makes it visible.

    ``rows`` is the number of rows per batch of every layer (an int) or of each layer
    (a dict keyed by layer index). ``arrays`` are int64 metadata arrays written whole;
    :meth:`put_array` adds one computed during the writing. ``extra_representations``
    adds, beside each layer's cloud, clouds of the same rows under other representations
    (:func:`cloud_key`). Use as a context manager: on an exception the temporary store is removed.
    """

    def __init__(
        self,
        path: str | Path,
        layers: Sequence[LayerInfo],
        batches: int,
        rows: int | dict[int, int],
        arrays: dict[str, np.ndarray],
        attrs: dict[str, Any],
        extra_representations: Sequence[str] = (),
    ) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".partial")
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.layers = list(layers)
        self.batches = batches
        representations = [None, *extra_representations]
        self.rows = {
            cloud_key(l.index, r): rows if isinstance(rows, int) else rows[l.index]
            for l in self.layers
            for r in representations
        }
        try:
            import zarr  # here, not at module level: jobs that only read diagram files start 0.5 s sooner

            # Attributes go in with each node's creation: every later update rewrites its zarr.json, and such
            # writes were 0.5 s of a mapper extraction job's 1.1 s of store creation.
            group_attrs = {
                **attrs,
                "format": FORMAT,
                "complete": False,
                "batches": batches,
                "layers": [layer_key(layer.index) for layer in self.layers],
                "extra_representations": list(extra_representations),
                "arrays": sorted(arrays),
            }
            if isinstance(rows, int):
                group_attrs["rows"] = rows
            self.group = zarr.open_group(str(self.tmp), mode="w", zarr_format=3, attributes=group_attrs)
            for name, values in arrays.items():
                self._write_whole(name, values)
            self.arrays = {}
            self.hashes = {}
            self.cursor = {}
            for layer, representation in ((l, r) for l in self.layers for r in representations):
                key = cloud_key(layer.index, representation)
                array = self.group.create_array(
                    key,
                    shape=(batches, self.rows[key], layer.channels),
                    dtype="float32",
                    chunks=(1, max(1, min(self.rows[key], 1024)), layer.channels),
                    fill_value=float("nan"),
                    attributes={
                        "name": layer.name,
                        "index": layer.index,
                        "channels": layer.channels,
                        "spatial_shape": [layer.height, layer.width],
                    },
                )
                self.arrays[key] = array
                self.hashes[key] = hashlib.sha256()
                self.cursor[key] = (0, 0)
        except BaseException:  # a full disk while the arrays are created: nothing left behind
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def _write_whole(self, name: str, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.int64)
        attributes = {"sha256": array_digest(values).hexdigest()}
        self.group.create_array(name, data=values, chunks=values.shape or None, attributes=attributes)

    def put_array(self, name: str, values: np.ndarray) -> None:
        """Add an int64 metadata array (e.g. positions chosen while writing) before :meth:`commit`."""
        self._write_whole(name, values)
        self.group.attrs["arrays"] = sorted([*self.group.attrs["arrays"], name])

    def append(self, values: dict[str, np.ndarray]) -> None:
        """Append the next block of rows of each layer given (a layer's rows fill batch 0, then 1, ...)."""
        for key, block in values.items():
            block = np.ascontiguousarray(block, dtype=np.float32)
            batch, start = self.cursor[key]
            stop = start + len(block)
            if batch >= self.batches or stop > self.rows[key]:
                raise ValueError(f"{key}: {len(block)} rows do not fit at batch {batch}, row {start}")
            self.arrays[key][batch, start:stop] = block
            array_digest(block, self.hashes[key])
            self.cursor[key] = (batch + 1, 0) if stop == self.rows[key] else (batch, stop)

    def commit(self) -> Path:
        unfinished = {key: cursor for key, cursor in self.cursor.items() if cursor != (self.batches, 0)}
        if unfinished:
            raise ValueError(f"store incomplete: next rows would be {unfinished}")
        for key, array in self.arrays.items():
            array.attrs["sha256"] = self.hashes[key].hexdigest()
        self.group.attrs["complete"] = True
        if self.path.exists():
            shutil.rmtree(self.path)
        self.tmp.rename(self.path)
        return self.path

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self.tmp.exists():
            shutil.rmtree(self.tmp)


@dataclass(frozen=True)
class ActivationStore:
    """A validated, complete store. ``layer(i)`` returns the verified ``(B, N, c)`` array."""

    path: Path
    attrs: dict[str, Any]
    group: Any

    @property
    def layer_keys(self) -> list[str]:
        return list(self.attrs["layers"])

    def layer(self, index: int, representation: str | None = None) -> np.ndarray:
        """The verified ``(B, rows, c)`` cloud of a layer: the store's own (``representation`` attribute,
        the default), or one of its ``extra_representations``."""
        if representation is not None and representation == self.attrs.get("representation"):
            representation = None
        if representation is not None and representation not in self.attrs.get("extra_representations", []):
            own = [self.attrs.get("representation", "its own sampling"), *self.attrs.get("extra_representations", [])]
            raise StoreError(f"{self.path} holds no {representation!r} clouds, only {own}; rerun its rule")
        return self._verified(cloud_key(index, representation))

    def layer_attrs(self, index: int) -> dict[str, Any]:
        return dict(self.group[layer_key(index)].attrs)

    def array(self, name: str) -> np.ndarray:
        """Any verified array by its key: int64 metadata (``image_index``, ``label``, ``layer03_position``)
        or a float32 cloud (``layer03``, ``layer03_mean_pool``)."""
        if name in self.attrs["arrays"]:
            return self._checked(name, np.int64)
        return self._verified(name)

    def image_index(self) -> np.ndarray:
        return self.array("image_index")

    def _verified(self, key: str) -> np.ndarray:
        if key.split("_", 1)[0] not in self.layer_keys:
            raise KeyError(f"{self.path} has no {key}; it holds {self.layer_keys}")
        return self._checked(key, np.float32)

    def _checked(self, key: str, dtype: type) -> np.ndarray:
        """Array ``key`` as ``dtype``, after its checksum (:func:`array_digest`) was found equal to the recorded one."""
        try:
            array = self.group[key]
            values = np.ascontiguousarray(array[...], dtype=dtype)
        except Exception as error:  # codec and I/O errors from a damaged chunk
            raise StoreError(
                f"{self.path}/{key} cannot be read ({type(error).__name__}: {error}); rerun its rule"
            ) from error
        if array_digest(values).hexdigest() != array.attrs.get("sha256"):
            raise StoreError(
                f"{self.path}/{key} does not match its recorded checksum: the store is corrupt; rerun its rule"
            )
        return values


def open_store(path: str | Path) -> ActivationStore:
    """Open a store for reading after checking that it is complete and of this format."""
    path = Path(path)
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        hint = f" (a partial write {partial} exists: its job did not finish)" if partial.exists() else ""
        raise StoreError(f"activation store {path} does not exist{hint}")
    try:
        import zarr

        group = zarr.open_group(str(path), mode="r", zarr_format=3)
        attrs = dict(group.attrs)
    except Exception as error:
        raise StoreError(f"{path} is not a readable Zarr v3 group ({type(error).__name__}: {error})") from error
    if attrs.get("format") != FORMAT:
        raise StoreError(
            f"{path} is not a cnntopo activation store (format {attrs.get('format')!r}, expected {FORMAT!r})"
        )
    if attrs.get("complete") is not True:
        raise StoreError(f"{path} is incomplete: its writer did not finish; rerun its rule")
    clouds = [f"{key}_{r}" for key in attrs["layers"] for r in attrs.get("extra_representations", [])]
    # A member of a local Zarr v3 group is a folder with a zarr.json: looking for the files is ~0.07 s
    # quicker per store than asking the group, key by key, through zarr's event loop.
    missing = [key for key in [*attrs["layers"], *clouds, *attrs["arrays"]] if not (path / key / "zarr.json").is_file()]
    if missing:
        raise StoreError(f"{path} lacks arrays {missing}: the store is corrupt; rerun its rule")
    return ActivationStore(path, attrs, group)
