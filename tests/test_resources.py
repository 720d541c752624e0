from cnntopo.workflow.graphs import GraphSource, graph_sources, mapper_noise_levels
from cnntopo.workflow.resources import (
    distance_threads,
    extract_mem_mb,
    extract_runtime_min,
    split_sizes,
    train_mem_mb,
    train_runtime_min,
)

DIGITS = {"dataset": "digits", "test_fraction": 0.25, "image_size": 16}
CIFAR = {"dataset": "cifar10", "image_size": 16}


def test_split_sizes_match_the_loaders():
    assert split_sizes(DIGITS) == (1347, 450)
    assert split_sizes(CIFAR) == (50_000, 10_000)


def test_each_noise_level_lists_the_modes_its_job_writes():
    mapper = {"sampling": ["random", "full"], "noise": {"sampling": ["foreground1"], "sigmas": [0.5, 1.0]}}
    # The clean level also holds the noise figure's sigma = 0 column, a mode the clean figures may not use.
    assert mapper_noise_levels(mapper) == {
        "0": ["random", "full", "foreground1"],
        "0.5": ["foreground1"],
        "1.0": ["foreground1"],
    }
    assert mapper_noise_levels({**mapper, "noise": {"sampling": ["full"], "sigmas": []}}) == {"0": ["random", "full"]}


def test_every_variant_names_its_extraction_and_mode():
    mapper = {"sampling": ["random"], "noise": {"sampling": ["full"], "sigmas": [0.5]}}
    generalisation = {"models": [{"name": "alex"}, {"name": "res"}], "sampling": ["random", "background1"]}
    sources = graph_sources({"mapper": mapper, "generalisation": generalisation})
    assert sources == {
        "random": GraphSource("random"),
        "full": GraphSource("full"),
        "full_sigma0.5": GraphSource("full", sigma="0.5"),
        "alex/random": GraphSource("random", model="alex"),
        "alex/background1": GraphSource("background1", model="alex"),
        "res/random": GraphSource("random", model="res"),
        "res/background1": GraphSource("background1", model="res"),
    }
    assert [s.noisy for s in sources.values()] == [False, False, True, False, False, False, False]


def test_estimates_grow_with_the_work():
    assert (
        train_mem_mb(CIFAR, 64, 1024, gpu=False)
        > train_mem_mb(CIFAR, 64, 128, gpu=False)
        > train_mem_mb(CIFAR, 64, 128, gpu=True)
    )
    assert train_runtime_min(CIFAR, 64, 24, gpu=False) > 24 * 40  # ~40 min per CPU epoch measured here
    assert train_runtime_min(CIFAR, 64, 24, gpu=True) < 60
    assert extract_mem_mb(CIFAR, 64, 1000, 500) > extract_mem_mb(CIFAR, 64, 1000, 100)
    assert extract_runtime_min(CIFAR, 64, 1000, 10, gpu=False) >= extract_runtime_min(DIGITS, 16, 250, 3, gpu=False)


def test_embedded_default_fits_a_small_machine():
    assert train_mem_mb(DIGITS, 16, 128, gpu=False) < 3000
    assert train_runtime_min(DIGITS, 16, 10, gpu=False) <= 15


def test_a_distance_job_gets_no_more_cores_than_it_has_partners():
    def config(seeds, references, threads):
        return {"seeds": seeds, "ph": {"distance_threads": threads, "specificity": {"references": references}}}

    assert [distance_threads(config(4, "all", 16), s) for s in range(4)] == [3, 2, 1, 1]
    assert [distance_threads(config(100, [0], 16), s) for s in (0, 1, 99)] == [16, 1, 1]
    assert distance_threads(config(100, [0], 1), 0) == 1
