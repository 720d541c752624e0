from pathlib import Path

import numpy as np
import pytest

from cnntopo.networks.layers import LayerInfo
from cnntopo.store import StoreError, StoreWriter, open_store

LAYERS = [LayerInfo(0, "conv1", 3, 4, 4), LayerInfo(1, "layer1.0.conv1", 5, 2, 2)]


def write_store(path: Path, batches: int = 2, rows: int = 6, block: int = 4, seed: int = 0) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {layer.index: rng.standard_normal((batches, rows, layer.channels)).astype(np.float32) for layer in LAYERS}
    index = np.arange(batches * rows).reshape(batches, rows)
    arrays = {"image_index": index, "label": index % 10}
    with StoreWriter(path, LAYERS, batches, rows, arrays, {"seed": seed, "representation": "top_l2"}) as writer:
        for b in range(batches):
            for start in range(0, rows, block):
                writer.append({f"layer{i:02d}": v[b, start : start + block] for i, v in values.items()})
        writer.commit()
    return values


def test_round_trip_with_attributes(tmp_path):
    path = tmp_path / "seed0.zarr"
    values = write_store(path)
    store = open_store(path)
    assert store.attrs["seed"] == 0 and store.attrs["complete"] is True
    assert store.layer_keys == ["layer00", "layer01"]
    for index, expected in values.items():
        assert np.array_equal(store.layer(index), expected)
    assert store.layer_attrs(1)["spatial_shape"] == [2, 2] and store.layer_attrs(1)["name"] == "layer1.0.conv1"
    assert store.image_index().shape == (2, 6) and store.array("label")[1, 0] == 6
    assert not (tmp_path / "seed0.zarr.partial").exists()


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    path = tmp_path / "seed0.zarr"
    index = np.zeros((1, 4), dtype=np.int64)
    with pytest.raises(RuntimeError, match="killed"):
        with StoreWriter(path, LAYERS, 1, 4, {"image_index": index}, {}) as writer:
            writer.append({"layer00": np.zeros((2, 3)), "layer01": np.zeros((2, 5))})
            raise RuntimeError("killed")
    assert not path.exists() and not (tmp_path / "seed0.zarr.partial").exists()


def test_partial_store_is_refused(tmp_path):
    path = tmp_path / "seed0.zarr"
    index = np.zeros((1, 4), dtype=np.int64)
    writer = StoreWriter(path, LAYERS, 1, 4, {"image_index": index}, {})
    writer.append({"layer00": np.zeros((2, 3)), "layer01": np.zeros((2, 5))})
    with pytest.raises(ValueError, match="incomplete"):
        writer.commit()
    with pytest.raises(StoreError, match="partial write"):
        open_store(path)
    writer.tmp.rename(path)  # as if someone renamed a half-written store into place
    with pytest.raises(StoreError, match="incomplete"):
        open_store(path)


def test_layers_may_hold_different_row_counts_and_cannot_overflow(tmp_path):
    path = tmp_path / "s.zarr"
    with StoreWriter(path, LAYERS, 1, {0: 3, 1: 5}, {"layer01_image": np.arange(5)}, {}) as writer:
        writer.append({"layer00": np.ones((3, 3)), "layer01": np.ones((2, 5))})
        writer.append({"layer01": 2 * np.ones((3, 5))})
        with pytest.raises(ValueError, match="do not fit"):
            writer.append({"layer00": np.ones((1, 3))})
        writer.commit()
    store = open_store(path)
    assert store.layer(0).shape == (1, 3, 3) and store.layer(1)[0, :, 0].tolist() == [1, 1, 2, 2, 2]
    assert store.array("layer01_image").tolist() == [0, 1, 2, 3, 4]


def _chunk_files(path: Path, key: str) -> list[Path]:
    return sorted(p for p in (path / key).rglob("*") if p.is_file() and p.name != "zarr.json")


@pytest.mark.parametrize("key", ["layer01", "image_index", "label"])
@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "delete"])
def test_corrupt_chunks_of_every_array_are_detected(tmp_path, damage, key):
    path = tmp_path / "seed0.zarr"
    write_store(path)
    chunk = _chunk_files(path, key)[0]
    data = bytearray(chunk.read_bytes())
    if damage == "flip_byte":
        data[len(data) // 2] ^= 0xFF
        chunk.write_bytes(bytes(data))
    elif damage == "truncate":
        chunk.write_bytes(bytes(data[: len(data) // 2]))
    else:
        chunk.unlink()
    store = open_store(path)
    assert np.isfinite(store.layer(0)).all()  # the undamaged layer still reads
    with pytest.raises(StoreError, match=key):
        store.layer(1) if key == "layer01" else store.array(key)


def test_a_layer_of_nan_is_not_called_corrupt(tmp_path):
    """zarr stores no chunk equal to the NaN fill value and returns its own NaN bytes on read: a layer of
    NaN with any NaN payload (as a diverged model writes) must read back, verified, as NaN."""
    path = tmp_path / "seed0.zarr"
    index = np.arange(4).reshape(1, 4)
    odd_nan = np.array([0x7FC00001, 0xFFC00000, 0x7FC00000, 0x7F800001], dtype=np.uint32).view(np.float32)
    with StoreWriter(path, LAYERS, 1, 4, {"image_index": index, "label": index}, {}) as writer:
        writer.append({"layer00": np.tile(odd_nan[:, None], (1, 3)), "layer01": np.full((4, 5), np.nan, np.float32)})
        writer.commit()
    store = open_store(path)
    assert np.isnan(store.layer(0)).all() and np.isnan(store.layer(1)).all()


def test_a_damaged_position_array_is_detected(tmp_path):
    path = tmp_path / "seed0.zarr"
    index = np.arange(6).reshape(1, 6)
    with StoreWriter(path, LAYERS[:1], 1, 6, {"image_index": index, "label": index}, {}) as writer:
        writer.append({"layer00": np.ones((6, 3), np.float32)})
        writer.put_array("layer00_position", np.array([[0, 1, 2, 3, 2, 1]]))
        writer.commit()
    assert open_store(path).array("layer00_position").tolist() == [[0, 1, 2, 3, 2, 1]]
    chunk = _chunk_files(path, "layer00_position")[0]
    data = bytearray(chunk.read_bytes())
    data[-1] ^= 0x01
    chunk.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="layer00_position (does not match its recorded checksum|cannot be read)"):
        open_store(path).array("layer00_position")


def test_missing_array_wrong_format_and_absent_store(tmp_path):
    path = tmp_path / "seed0.zarr"
    write_store(path)
    import shutil

    shutil.rmtree(path / "layer00")
    with pytest.raises(StoreError, match="lacks arrays"):
        open_store(path)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nothing.zarr")
    (tmp_path / "junk.zarr").mkdir()
    with pytest.raises(StoreError):
        open_store(tmp_path / "junk.zarr")
