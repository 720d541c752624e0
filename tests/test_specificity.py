import numpy as np
import pytest

from cnntopo.ph.layer_distances import coefficient_of_variation, cross_model, within_model
from cnntopo.ph.persistence import persistence_diagrams, save_diagrams
from cnntopo.ph.similarity import make_metric
from cnntopo.ph.specificity import cross_matrices_by_pair, layer_table, pair_correlations, row_correlations, summary


def test_row_correlations_match_numpy_and_handle_constant_rows():
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 5)), rng.random((5, 5))
    expected = [np.corrcoef(a[i], b[i])[0, 1] for i in range(5)]
    assert np.allclose(row_correlations(a, b), expected)
    assert np.allclose(row_correlations(a, 3 * a + 1), 1.0)
    b[2] = 7.0
    assert np.isnan(row_correlations(a, b)[2]) and np.isfinite(row_correlations(a, b)[[0, 1, 3, 4]]).all()


def test_table_and_summary_over_pairs():
    within = {0: np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])}
    crosses = np.stack([within[0] + 0.5, within[0][::-1]])
    pairs = pair_correlations(within, cross_matrices_by_pair({0: (np.array([1, 2]), crosses)}), references=[0])
    assert len(pairs) == 6 and {p["other"] for p in pairs} == {1, 2}
    table = layer_table(pairs)
    assert [row["layer"] for row in table] == [0, 1, 2] and all(row["pairs"] == 2 for row in table)
    result = summary(pairs, layer_of_interest=1)
    assert result["pairs"] == 2 and result["paper_rho_layer_9"] == 0.907
    assert result["rho_layer"] == pytest.approx(np.mean([p["rho"] for p in pairs if p["layer"] == 1]))


def test_coefficient_of_variation_is_zero_where_the_mean_is():
    per_batch = np.array([[[0.0, 1.0]], [[0.0, 3.0]]])
    assert np.allclose(coefficient_of_variation(per_batch), [[0.0, 0.5]])


def _write_model(path_dir, seed, scale, batches=2, layers=3):
    rng = np.random.default_rng(seed)
    files = []
    for b in range(batches):
        diagrams = {l: persistence_diagrams(rng.standard_normal((40, 3)) * scale * (l + 1)) for l in range(layers)}
        f = path_dir / f"seed{seed}_batch{b}.npz"
        save_diagrams(f, diagrams, {"seed": seed, "batch": b, "layers": list(range(layers))})
        files.append(f)
    return files


def test_within_and_cross_model_matrices_from_diagram_files(tmp_path):
    a = _write_model(tmp_path, 0, 1.0)
    b = _write_model(tmp_path, 1, 1.1)
    c = _write_model(tmp_path, 2, 0.9)
    sw = make_metric("sw")
    within = within_model(sw, a[::-1])  # files in any order
    assert within["per_batch"].shape == (2, 3, 3) and int(within["seed"]) == 0
    assert np.allclose(within["mean"], within["per_batch"].mean(axis=0))
    cross = cross_model(sw, a, a + b + c)  # the reference's own files are skipped
    assert cross["others"].tolist() == [1, 2] and cross["mean"].shape == (2, 3, 3)
    with pytest.raises(ValueError, match="several models"):
        within_model(sw, a + b)
    with pytest.raises(ValueError, match="batches"):
        cross_model(sw, a, b[:1])


def test_cloud_metrics_read_activation_stores(tmp_path):
    from test_store import write_store

    write_store(tmp_path / "seed0.zarr", seed=0)
    write_store(tmp_path / "seed1.zarr", seed=1)
    cka = make_metric("cka")
    within = within_model(cka, [tmp_path / "seed0.zarr"])
    assert within["per_batch"].shape == (2, 2, 2) and within["layers"].tolist() == [0, 1]
    cross = cross_model(cka, [tmp_path / "seed0.zarr"], [tmp_path / "seed1.zarr"])
    assert cross["others"].tolist() == [1] and np.all((cross["mean"] >= 0) & (cross["mean"] <= 1))


def test_each_pair_computed_once_serves_both_orders():
    rng = np.random.default_rng(1)
    m01, m02, m12 = rng.random((3, 4, 4))
    pairs = cross_matrices_by_pair({0: (np.array([1, 2]), np.stack([m01, m02])), 1: (np.array([2]), m12[None])})
    assert set(pairs) == {(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1)}
    assert np.array_equal(pairs[2, 1], m12.T) and np.array_equal(pairs[1, 0], m01.T)
    within = {s: rng.random((4, 4)) for s in range(3)}
    rows = pair_correlations(within, pairs, references=[0, 1, 2])
    assert len(rows) == 3 * 2 * 4
    assert [r["rho"] for r in rows if (r["reference"], r["other"]) == (2, 1)] == pytest.approx(
        row_correlations(within[2], m12.T).tolist()
    )


def test_cross_partners_compute_each_pair_once_and_only_for_references():
    from cnntopo.ph.specificity import cross_partners

    assert [cross_partners(s, range(4), "all") for s in range(4)] == [[1, 2, 3], [2, 3], [3], []]
    assert cross_partners(0, range(4), [0]) == [1, 2, 3] and cross_partners(2, range(4), [0]) == []


def test_partners_compared_side_by_side_give_the_same_matrices(tmp_path):
    from test_store import write_store

    for seed in range(4):
        write_store(tmp_path / f"seed{seed}.zarr", seed=seed)
    procrustes = make_metric("procrustes")
    others = [tmp_path / f"seed{seed}.zarr" for seed in (3, 1, 2)]
    one = cross_model(procrustes, [tmp_path / "seed0.zarr"], others)
    three = cross_model(procrustes, [tmp_path / "seed0.zarr"], others, threads=3)
    assert one["others"].tolist() == three["others"].tolist() == [1, 2, 3]
    assert np.array_equal(one["per_batch"], three["per_batch"]) and one["per_batch"].std() > 0
