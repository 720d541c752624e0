import networkx as nx
import numpy as np
import pytest
from scipy import sparse
from torch import nn

from cnntopo.mapper.activations import SAMPLING_MODES, select_points
from cnntopo.mapper.foreground import foreground_masks, grabcut_mask, position_weights, receptive_fields
from cnntopo.mapper.graph import cover_intervals, knee_eps, l2_lens, mapper_graph
from cnntopo.mapper.purity import class_purity, node_purity, point_purity, purity_summary
from cnntopo.networks.layers import LayerInfo
from cnntopo.networks.models import build_model, model_layers


@pytest.mark.parametrize("n, p", [(1, 0.0), (4, 0.3), (40, 0.3), (10, 0.25), (7, 0.6)])
def test_cover_tiles_the_range_with_the_stated_overlap(n, p):
    intervals = cover_intervals(n, p, low=-2.0, high=3.0)
    assert intervals[0, 0] == -2.0 and intervals[-1, 1] == 3.0
    lengths = intervals[:, 1] - intervals[:, 0]
    assert np.allclose(lengths, lengths[0])
    if n > 1:
        shared = intervals[:-1, 1] - intervals[1:, 0]
        assert np.allclose(shared / lengths[0], p)
    grid = np.linspace(-2, 3, 1001)
    assert all(((grid >= a) & (grid <= b)).any() for a, b in intervals)
    assert all(any(a <= x <= b for a, b in intervals) for x in grid)


def test_two_nested_circles_give_two_independent_cycles():
    rng = np.random.default_rng(0)
    angle = np.r_[rng.uniform(0, 2 * np.pi, 600), rng.uniform(0, 2 * np.pi, 1200)]
    radius = np.r_[np.ones(600), 2 * np.ones(1200)]
    # Centred away from the origin, so the l2-norm lens acts like a height function on each circle.
    cloud = np.c_[3 + radius * np.cos(angle), radius * np.sin(angle)] + 0.01 * rng.standard_normal((1800, 2))
    graph = mapper_graph(cloud, n_intervals=10, overlap=0.3, eps=0.2)
    g = nx.Graph(graph.edges)
    g.add_nodes_from(range(len(graph.nodes)))
    assert nx.number_connected_components(g) == 2 and len(nx.cycle_basis(g)) == 2
    assert graph.params["eps"] == 0.2 and graph.params["eps_from"] == "given"


def test_every_view_of_a_graph_draws_the_layout_its_json_holds(tmp_path):
    from cnntopo.mapper.figures import figure_single_graph, write_graph_page
    from cnntopo.mapper.graph import spring_layout
    from cnntopo.pages import png_data_uri

    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, 400)
    cloud = np.c_[3 + np.cos(angle), np.sin(angle)]
    graph = mapper_graph(cloud, n_intervals=8, overlap=0.3, eps=0.2)
    layout = spring_layout(len(graph.nodes), graph.edges)
    assert layout.shape == (len(graph.nodes), 2) and np.array_equal(
        layout, spring_layout(len(graph.nodes), graph.edges)
    )
    record = graph.to_json(np.zeros(len(cloud), dtype=int), ["ring"]) | {"layout": layout.tolist()}
    record["params"].update(layer=3, layer_name="layer1.1.bn2", sampling="full", sigma=0.0)
    record["purity"] = {"mean_node_purity": 1.0}
    write_graph_page(record, tmp_path / "layer03.html", tmp_path / "layer03.png", tmp_path / "layer03.csv")
    assert (tmp_path / "layer03.pdf").exists() and len((tmp_path / "layer03.csv").read_text().splitlines()) == 1 + len(
        graph.nodes
    )
    page = (tmp_path / "layer03.html").read_text()
    assert png_data_uri((tmp_path / "layer03.png").read_bytes()) in page  # the one drawing, pies and all
    assert "href='layer03.csv'" in page and "href='layer03.json'" in page and "explorer.html#graph=" in page
    assert "<th>DBSCAN min_samples</th>" in page and "{" not in page.split("<h4>Parameters</h4>")[1]  # no JSON dump
    del record["layout"]
    with pytest.raises(ValueError, match="forcerun mapper_graph"):
        figure_single_graph(record, tmp_path / "graph.png", tmp_path / "graph.csv")


def test_a_graph_without_nodes_is_drawn_and_tabled_as_one(tmp_path):
    """Too few points for DBSCAN's min_samples give no node; its purity is NaN, null in the JSON the figures read."""
    import json

    from cnntopo.io import read_table, strict_json
    from cnntopo.mapper.figures import figure_graph_grid, figure_single_graph

    cloud = np.random.default_rng(0).random((4, 3))
    graph = mapper_graph(cloud, n_intervals=2, overlap=0.3)
    record = graph.to_json(np.zeros(len(cloud), dtype=int), ["ring"]) | {"layout": []}
    record["params"].update(layer=0, layer_name="features.11", sampling="random", sigma=0.0)
    record["purity"] = {"mean_node_purity": float("nan"), "points_in_nodes": 0.0, "mean_point_purity": 0.0}
    path = tmp_path / "empty.json"
    path.write_text(strict_json(record))
    assert not graph.nodes and json.loads(path.read_text())["purity"]["mean_node_purity"] is None
    figure_graph_grid([path], ["alexnet"], ["random"], "empty", tmp_path / "grid.png", tmp_path / "grid.csv")
    figure_single_graph(json.loads(path.read_text()), tmp_path / "one.png", tmp_path / "one.csv")
    assert read_table(tmp_path / "grid.csv")[0]["nodes"] == 0 and (tmp_path / "one.png").exists()


def test_lens_and_eps_heuristics():
    assert l2_lens(np.array([[3.0, 4.0], [0.0, 1.0], [0.0, 0.0]])).tolist() == [1.0, 0.2, 0.0]
    assert l2_lens(np.ones((3, 2))).tolist() == [0.0, 0.0, 0.0]
    curve = np.r_[np.linspace(0.1, 0.2, 90), np.linspace(1.0, 5.0, 10)]
    eps, how = knee_eps(curve)
    assert how == "knee" and 0.1 <= eps <= 1.0
    assert knee_eps(np.full(10, 0.5)) == (0.5, "median")


def test_purity_on_a_hand_built_graph():
    labels = np.array([0, 0, 1, 1, 2, 0])
    nodes = [np.array([0, 1]), np.array([1, 2, 3]), np.array([3, 4])]  # point 5 is in no node
    alpha = node_purity(nodes, labels)
    assert alpha.tolist() == [1.0, 0.5, 0.5]
    beta = point_purity(nodes, alpha, 6)
    assert beta.tolist() == [1.0, 0.75, 0.5, 0.5, 0.5, 0.0]
    assert class_purity(beta, labels) == {0: pytest.approx((1 + 0.75 + 0) / 3), 1: 0.5, 2: 0.5}
    summary = purity_summary(nodes, labels)
    assert summary["points_in_nodes"] == pytest.approx(5 / 6) and summary["mean_node_purity"] == pytest.approx(2 / 3)


def test_purity_counts_several_points_per_image():
    # Two points of the same image (same label) in different nodes count separately.
    labels = np.array([3, 3, 1])
    nodes = [np.array([0, 2]), np.array([1])]
    assert class_purity(point_purity(nodes, node_purity(nodes, labels), 3), labels) == {1: 0.5, 3: 0.75}


def test_grabcut_finds_a_known_foreground():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 60, (32, 32, 3)).astype(np.uint8)
    truth = np.zeros((32, 32), bool)
    truth[9:23, 8:25] = True
    image[truth] = rng.integers(170, 256, (truth.sum(), 3))
    mask = grabcut_mask(image)
    iou = (mask & truth).sum() / (mask | truth).sum()
    print(f"grabCut IoU on the synthetic image: {iou:.3f}")
    assert iou > 0.9
    faithful = foreground_masks(image[None], (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), faithful=True)[0]
    assert faithful.shape == (32, 32) and not np.array_equal(faithful, mask)  # the quirk changes the result
    otsu = foreground_masks(image[None], (0, 0, 0), (1, 1, 1), method="otsu")[0]
    assert (otsu & truth).sum() / (otsu | truth).sum() > 0.95


def test_impulse_receptive_fields_match_the_analytic_ones():
    stack = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.Conv2d(4, 4, 3, stride=2, padding=1),
    )
    layers = [LayerInfo(0, "0", 4, 12, 12), LayerInfo(1, "3", 4, 12, 12), LayerInfo(2, "4", 4, 6, 6)]
    fields = receptive_fields(stack, layers, 12)
    # Analytic receptive fields: 3, 5, then 5 + 2 * 1 = 7 (the stride-2 conv sees 3 positions of stride 1).
    for layer, side, size in ((0, 12, 3), (1, 12, 5), (2, 6, 7)):
        centre = (side // 2) * side + side // 2
        support = fields[layer][centre].reshape(12, 12) > 0
        rows, cols = np.nonzero(support)
        assert rows.max() - rows.min() + 1 == size and cols.max() - cols.min() + 1 == size
        assert support.sum() == size * size
    mask = np.zeros((1, 12, 12), bool)
    mask[0, :6] = True  # top half is foreground
    weights = position_weights(fields[0], mask)[0].reshape(12, 12)
    assert weights[1, 5] > 0 and weights[10, 5] == 0


def test_mapper_layers_are_the_16_block_batchnorms():
    layers = model_layers(build_model("resnet18_conv_shortcut", 4, 10), 16, "block_bn")
    assert len(layers) == 16 and layers[0].name == "layer1.0.bn1" and layers[15].name == "layer4.1.bn2"
    assert [l.index for l in layers] == list(range(16))


@pytest.mark.parametrize("mode", SAMPLING_MODES)
def test_every_sampling_mode_is_deterministic_under_a_seed(mode):
    weights = np.random.default_rng(0).random((20, 16))
    weights[:, :3] = 1.0  # ties, broken at random but reproducibly
    a = select_points(mode, 20, 16, seed=1, layer=2, weights=weights, full_cap=100)
    b = select_points(mode, 20, 16, seed=1, layer=2, weights=weights, full_cap=100)
    c = select_points(mode, 20, 16, seed=2, layer=2, weights=weights, full_cap=100)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    image, position = a
    assert np.all(np.diff(image) >= 0) and position.max() < 16
    expected = {"random": 20, "full": 100, "foreground1": 20, "foreground5": 100, "background1": 20, "background5": 100}
    assert len(image) == expected[mode]
    if mode in ("foreground1", "background1"):
        assert np.all(np.isin(position, [0, 1, 2]))  # the top weight is one of the tied positions
    if mode in ("foreground5", "background5"):
        assert all(set(position[image == i]) >= {0, 1, 2} for i in range(20))  # all tied tops kept
    else:  # another seed draws other positions (or, for the top-1 modes, breaks the ties otherwise)
        assert not np.array_equal(position, c[1])
    if mode == "full":
        pairs = set(zip(image.tolist(), position.tolist()))
        assert len(pairs) == 100  # without replacement


def test_a_sampling_draw_depends_on_the_mode_name_not_its_place_in_the_list(monkeypatch):
    import cnntopo.mapper.activations as activations

    before = select_points("random", 50, 16, seed=0, layer=3)
    monkeypatch.setattr(activations, "SAMPLING_MODES", tuple(reversed(SAMPLING_MODES)))
    after = select_points("random", 50, 16, seed=0, layer=3)
    assert all(np.array_equal(x, y) for x, y in zip(before, after))
    other_mode = select_points("full", 50, 16, seed=0, layer=3, full_cap=50)
    assert not np.array_equal(before[1], other_mode[1])


def test_one_eps_graph_serves_a_sweep_with_the_brute_force_graphs():
    from scipy.spatial.distance import cdist

    from cnntopo.mapper.graph import eps_neighbour_graph, mapper_sweep

    rng = np.random.default_rng(4)
    latent = rng.standard_normal((1500, 3))
    cloud = np.maximum(latent @ rng.standard_normal((3, 20)), 0).astype(np.float32)
    cloud = np.vstack([cloud, cloud[:40]])  # duplicates: neighbours at distance 0
    eps = 0.6
    graph = eps_neighbour_graph(cloud, eps, chunk=128)
    exact = cdist(cloud.astype(np.float64), cloud.astype(np.float64)) <= eps
    assert (graph != graph.T).nnz == 0 and np.array_equal(graph.toarray() > 0, exact & ~np.eye(len(cloud), dtype=bool))
    settings = [(10, 0.3), (15, 0.5), (6, 0.2)]
    for (n, p), swept in zip(settings, mapper_sweep(cloud, settings, 5, eps)):
        brute = mapper_graph(cloud, n, p, 5, eps)
        assert {frozenset(m.tolist()) for m in swept.nodes} == {frozenset(m.tolist()) for m in brute.nodes}
        assert swept.edges == brute.edges and len(brute.nodes) > 3


@pytest.mark.parametrize("border_cluster_first", [True, False])
def test_a_border_point_of_two_clusters_joins_the_one_found_first(border_cluster_first):
    from scipy.spatial.distance import cdist

    from cnntopo.mapper.graph import dbscan_labels

    a, b = np.linspace(0.0, 0.2, 5), np.linspace(1.2, 1.4, 5)
    line = np.r_[a, b, 0.7] if border_cluster_first else np.r_[b, a, 0.7]  # 0.7: 0.5 from both, not core
    distances = cdist(line[:, None], line[:, None])
    labels = dbscan_labels(sparse.csr_matrix(np.where(distances <= 0.52, distances, 0.0)), 0.52, 5)
    assert labels.tolist() == [0] * 5 + [1] * 5 + [0]


@pytest.mark.parametrize("min_samples", [2, 5, 12])
def test_dbscan_labels_are_scikit_learns(min_samples):
    from sklearn.cluster import DBSCAN

    from cnntopo.mapper.graph import dbscan_labels, eps_neighbour_graph

    rng = np.random.default_rng(min_samples)
    centres = rng.uniform(0, 4, (12, 3))
    cloud = np.vstack([c + 0.3 * rng.standard_normal((60, 3)) for c in centres] + [rng.uniform(0, 4, (200, 3))])
    cloud = np.vstack([cloud, cloud[:30]])  # duplicates
    eps = 0.3
    neighbours = eps_neighbour_graph(cloud, eps)
    ours = dbscan_labels(neighbours, eps, min_samples)
    theirs = DBSCAN(eps=eps, min_samples=min_samples, algorithm="brute").fit_predict(cloud)
    assert np.array_equal(ours, theirs) and ours.max() >= 3 and (ours == -1).any()
    # Border points next to several clusters, where the order of discovery decides.
    core = np.asarray((neighbours > 0).sum(axis=1)).ravel() + 1 >= min_samples
    rows, cols = neighbours.nonzero()
    contested = [i for i in np.flatnonzero(~core & (ours >= 0)) if len(set(ours[cols[(rows == i) & core[cols]]])) > 1]
    assert contested or min_samples == 2


HOSTILE = 'one<img src=x onerror="document.title=42">'


def explorer_node(node_id: int, x: float, y: float, size: int, counts: dict, image_ids: list, members: list) -> dict:
    """A node as build_explorer writes it (interval and lens made up from its id)."""
    return {
        "id": node_id,
        "x": x,
        "y": y,
        "size": size,
        "interval": node_id,
        "lens": [0.3 * node_id, 0.3 * node_id + 0.3],
        "norms": [node_id, node_id + 1],
        "counts": counts,
        "purity": 1 / len(counts),
        "images": len(image_ids),
        "members": members,
        "image_ids": image_ids,
    }


def test_the_explorer_with_real_mouse_and_keyboard(tmp_path):
    """Drag, wheel, keys and clicks as a reader gives them, on a two-graph page written by explorer_page."""
    from browser import Browser, chromium_executable
    from cnntopo.mapper.explorer import explorer_page
    from cnntopo.pages import png_data_uri
    from cnntopo.plotting import class_colour

    if chromium_executable() is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    members = [[k, k, k % 2, 0] for k in range(30)]  # 30 sampled points: three pages of 12
    nodes = [
        explorer_node(0, -0.6, 0.0, 3538, {"0": 3000, "1": 538}, list(range(30)), members),
        explorer_node(1, 0.6, 0.0, 100, {"1": 100}, [0, 1, 2], members[:3]),
        explorer_node(2, 0.0, 0.6, 50, {"0": 50}, [0, 7], members[:2]),
    ]
    params = {
        "layer": 15,
        "layer_name": "layer4.1",
        "sampling": "full",
        "sigma": 0.0,
        "points": 3688,
        "lens": "l2",
        "norm_range": [0, 3],
        "n_intervals": 3,
        "overlap": 0.3,
        "min_samples": 5,
        "eps": 0.5,
        "eps_from": "knee",
    }
    graph = {
        "title": "t",
        "params": params,
        "purity": {"points_in_nodes": 1, "mean_node_purity": 0.8},
        "rf": [[0, 0, 3, 3]],
        "nodes": nodes,
        "edges": [[0, 1], [1, 2]],
    }
    data = {
        "classes": ["zero", HOSTILE],  # a class folder named like markup: text everywhere, no script runs
        "palette": [class_colour(0), class_colour(1)],
        "labels": {str(k): k % 2 for k in range(30)},
        "sprite": {
            "uri": png_data_uri(np.zeros((24, 24, 3), np.uint8)),
            "cols": 6,
            "side": 4,
            "count": 30,
            "images": list(range(30)),
        },
        "rf_level": 0.1,
        "graphs": [
            graph | {"id": "full/layer15", "same_as": ["foreground5/layer15"]},
            graph | {"id": "foreground5/layer15", "same_as": ["full/layer15"]},
        ],
    }
    page = tmp_path / "mapper" / "explorer.html"
    page.parent.mkdir()
    page.write_text(explorer_page(data))
    centre = (
        '(id) => { const r = document.querySelector(`g.node[data-node="${id}"]`).getBoundingClientRect();'
        " return [r.x + r.width / 2, r.y + r.height / 2]; }"
    )
    with Browser(1000, 700) as browser:
        browser.open(page, "document.body.dataset.ready === 'true'")
        assert "The same graph as foreground5/layer15" in browser.evaluate(
            "document.getElementById('summary').textContent"
        )
        assert browser.evaluate("document.getElementById('report').getAttribute('href')") == "../report/report.html"
        assert (
            browser.evaluate("document.getElementById('table').getAttribute('href')")
            == "../mapper/graphs/full/layer15.csv"
        )
        # At 1000 x 700 nothing scrolls but the side panel.
        assert browser.evaluate(
            "document.documentElement.scrollHeight <= innerHeight && document.documentElement.scrollWidth <= innerWidth"
        )
        # A drag that starts on a node pans and selects nothing.
        start = browser.evaluate(f"({centre})(0)")
        browser.drag(start, (start[0] + 120, start[1] + 40))
        assert browser.evaluate("document.querySelector('#node h2').textContent") == "Node"
        moved = browser.evaluate(f"({centre})(0)")
        assert abs(moved[0] - start[0] - 120) < 3
        # A click selects; the node's images page with their total and export as CSV.
        browser.click(*moved)
        assert browser.evaluate("document.querySelector('#node h2').textContent") == "Node 0"
        assert "3538 points come from 30 images" in browser.evaluate(
            "document.getElementById('members-total').textContent"
        )
        assert browser.evaluate("document.querySelectorAll('#members .thumb').length") == 12
        browser.evaluate("document.getElementById('next').click(); document.getElementById('next').click()")
        assert browser.evaluate("document.getElementById('page').textContent") == "25-30 of 30"
        csv = browser.evaluate("decodeURIComponent(document.getElementById('csv').href.split(',').slice(1).join(','))")
        assert csv.splitlines()[:2] == ["image,class,sampled_position", "0,zero,0"] and len(csv.splitlines()) == 31
        # A thumbnail opens its image large, with the receptive field of its sampled point; Escape closes it.
        browser.evaluate("document.getElementById('previous').click(); document.getElementById('previous').click()")
        browser.evaluate("document.querySelector('#members .thumb').click()")
        assert browser.evaluate("getComputedStyle(document.getElementById('large')).display") == "flex"
        assert browser.evaluate("document.querySelectorAll('#large .rf').length") == 1
        browser.key("Escape")
        assert browser.evaluate("getComputedStyle(document.getElementById('large')).display") == "none"
        assert browser.evaluate("document.getElementById('search').value") == "0"  # its nodes are outlined
        # A second graph beside the first; search by image id outlines every node that holds it, in both.
        browser.evaluate(
            "(() => { const c = document.getElementById('compare'); c.value = '1'; c.dispatchEvent(new Event('change')); })()"
        )
        assert browser.evaluate("document.querySelectorAll('#scene2 g.node').length") == 3
        browser.evaluate("(() => { const box = document.getElementById('search'); box.value = ''; box.focus(); })()")
        browser.key("7", "Digit7")
        found = browser.evaluate("[...document.querySelectorAll('g.node.found')].map((g) => g.dataset.node)")
        assert found == ["0", "2", "0", "2"]
        assert browser.evaluate("document.getElementById('found').textContent") == " in 2 nodes | 2 nodes"
        browser.screenshot(tmp_path / "explorer_side_by_side.png")
        browser.evaluate(
            "(() => { const c = document.getElementById('compare'); c.value = ''; c.dispatchEvent(new Event('change')); })()"
        )
        browser.evaluate(
            "(() => { const box = document.getElementById('search'); box.value = ''; box.dispatchEvent(new Event('input')); })()"
        )
        # The wheel zooms within its limits; 0 fits the graph again.
        for _ in range(30):
            browser.wheel(500, 350, -500)
        assert browser.evaluate("document.getElementById('scene').getAttribute('transform')").endswith("scale(40)")
        for _ in range(60):
            browser.wheel(500, 350, 500)
        assert browser.evaluate("document.getElementById('scene').getAttribute('transform')").endswith("scale(0.25)")
        browser.evaluate("document.activeElement.blur()")  # in the image id box, 0 is a digit
        browser.key("0", "Digit0")
        assert (
            browser.evaluate("document.getElementById('scene').getAttribute('transform')") == "translate(0,0) scale(1)"
        )
        # Unticking class 1 dims the node that holds only it, and its edges.
        browser.click(
            *browser.evaluate(
                "(() => { const r = document.querySelector('input[data-class=\"1\"]').getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
            )
        )
        assert browser.evaluate("[...document.querySelectorAll('g.node.dim')].map((g) => g.dataset.node)") == ["1"]
        assert browser.evaluate("document.querySelectorAll('g.edges line.dim').length") == 2
        # Tab reaches the nodes, the arrows move between them, Enter selects.
        browser.evaluate("document.querySelector('g.node[data-node=\"0\"]').focus()")
        browser.key("ArrowRight")
        browser.key("ArrowRight")
        browser.key("Enter")
        assert browser.evaluate("document.querySelector('#node h2').textContent") == "Node 2"
        # The hostile class name was shown in the legend, the class counts and the thumbnails: as text.
        assert browser.evaluate("document.title") == "Mapper explorer"
        assert HOSTILE in browser.evaluate("document.getElementById('classes').textContent")
        browser.screenshot(tmp_path / "explorer_1000x700.png")
        browser.call("Emulation.setDeviceMetricsOverride", width=1920, height=1080, deviceScaleFactor=1, mobile=False)
        assert browser.evaluate("document.documentElement.scrollHeight <= innerHeight")
        browser.screenshot(tmp_path / "explorer_1920x1080.png")
        assert all(url.startswith(("file:", "data:")) for url in browser.requested), browser.requested


def test_the_class_palette_is_okabe_ito_then_the_same_mixed_with_white():
    from cnntopo.plotting import OKABE_ITO, class_colour

    assert [class_colour(c) for c in range(8)] == list(OKABE_ITO)
    assert class_colour(8) == "#F2CF7F"  # #E69F00 mixed halfway with white
    assert len({class_colour(c) for c in range(16)}) == 16 and class_colour(16) == class_colour(0)


def test_two_menu_entries_that_are_one_graph_have_one_signature():
    from cnntopo.mapper.explorer import graph_signature

    image, position = np.array([0, 0, 1, 1, 2]), np.array([3, 4, 3, 4, 0])
    graph = {"nodes": [{"members": [0, 1, 2]}, {"members": [2, 3, 4]}], "edges": [[0, 1]]}
    # the same points and edges, in another order (another run's node numbering and layout)
    shuffled = {"nodes": [{"members": [4, 2, 3]}, {"members": [1, 2, 0]}], "edges": [[1, 0]]}
    assert graph_signature(graph, image, position) == graph_signature(shuffled, image, position)
    other = {"nodes": [{"members": [0, 1]}, {"members": [2, 3, 4]}], "edges": [[0, 1]]}
    assert graph_signature(graph, image, position) != graph_signature(other, image, position)
