import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from cnntopo.data import load_digits_split
from cnntopo.networks.models import ModelSpec, build_model, load_model, save_weights
from cnntopo.networks.weights import WeightsError
from cnntopo.train import (
    Recipe,
    augment,
    epoch_generator,
    learning_rate,
    train_seed_model,
    train_seed_models,
    triangular_lr,
)

RECIPE = Recipe(
    epochs=2,
    batch_size=256,
    lr_peak=0.4,
    lr_peak_epoch=1,
    momentum=0.9,
    weight_decay=5e-4,
    flip=True,
    translate=2,
    cutout=4,
    flip_tta=True,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(True), load_digits_split(False)


def _train(digits, seed, tmp_path, recipe=RECIPE):
    checkpoint = tmp_path / f"seed{seed}-{time.monotonic_ns()}.ckpt"
    torch.set_num_threads(1)
    model, metrics = train_seed_model(
        *digits, "resnet18_option_a", 4, seed, recipe, checkpoint, torch.device("cpu"), progress=False
    )
    return model.state_dict(), metrics


def test_same_seed_gives_bit_identical_weights_and_other_seeds_differ(digits, tmp_path):
    first, metrics = _train(digits, 3, tmp_path)
    again, _ = _train(digits, 3, tmp_path)
    other, _ = _train(digits, 4, tmp_path)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["conv1.weight"], other["conv1.weight"])
    assert metrics["epochs"] == 2 and len(metrics["history"]) == 2
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["device"] == "cpu"
    assert metrics["versions"]["torch"].startswith("2.13.0")


def test_seeds_trained_together_end_with_the_weights_each_gets_alone(digits, tmp_path):
    alone = {seed: _train(digits, seed, tmp_path) for seed in (3, 4)}
    checkpoints = [tmp_path / "together3.ckpt", tmp_path / "together4.ckpt"]
    together = train_seed_models(
        *digits, "resnet18_option_a", 4, [3, 4], RECIPE, checkpoints, torch.device("cpu"), progress=False
    )
    for seed, (model, metrics) in zip((3, 4), together):
        weights, reference = model.state_dict(), alone[seed][0]
        assert all(torch.equal(weights[k], reference[k]) for k in reference)
        assert metrics["seed"] == seed and metrics["concurrent_seeds"] == 2
        assert [h["loss"] for h in metrics["history"]] == [h["loss"] for h in alone[seed][1]["history"]]

    # A seed resumed from a finished checkpoint trains no further while the other trains from scratch.
    checkpoints[1].unlink()
    resumed = train_seed_models(
        *digits, "resnet18_option_a", 4, [3, 4], RECIPE, checkpoints, torch.device("cpu"), progress=False
    )
    for seed, (model, _) in zip((3, 4), resumed):
        weights, reference = model.state_dict(), alone[seed][0]
        assert all(torch.equal(weights[k], reference[k]) for k in reference)


def test_one_checkpoint_per_distinct_seed_is_required(digits, tmp_path):
    with pytest.raises(ValueError, match="one checkpoint per distinct seed"):
        train_seed_models(*digits, "resnet18_option_a", 4, [1, 1], RECIPE, [tmp_path / "a", tmp_path / "b"], "cpu")


@pytest.mark.slow
def test_a_compiled_model_trains_and_saves_plain_weights(digits, tmp_path, monkeypatch):
    # What is tested is our handling of the compiled wrapper (its state_dict names), not inductor's C++
    # code generation, which took a minute here: aot_eager traces the same graphs without it.
    compile_with = torch.compile
    monkeypatch.setattr(torch, "compile", lambda model, **options: compile_with(model, backend="aot_eager", **options))
    recipe = replace(RECIPE, epochs=1, compile=True)
    model, metrics = train_seed_model(
        *digits, "resnet18_option_a", 4, 3, recipe, tmp_path / "c.ckpt", torch.device("cpu"), progress=False
    )
    plain = build_model("resnet18_option_a", 4, 10)
    plain.load_state_dict(model.state_dict())  # no torch.compile wrapper names in the saved keys
    assert metrics["compiled"] and np.isfinite(metrics["history"][0]["loss"])
    assert 0.0 <= metrics["test_accuracy"] <= 1.0


def test_triangular_schedule_rises_to_peak_and_falls_to_zero():
    recipe = Recipe(epochs=24, batch_size=1024, lr_peak=1.0, lr_peak_epoch=5, momentum=0.9, weight_decay=5e-4)
    steps = 49  # CIFAR-10 at batch 1024
    assert triangular_lr(0, steps, recipe) == 0.0
    assert triangular_lr(5 * steps, steps, recipe) == pytest.approx(1.0)
    assert triangular_lr(int(2.5 * steps), steps, recipe) == pytest.approx(0.5, abs=0.02)
    assert triangular_lr(24 * steps, steps, recipe) == 0.0
    lrs = [triangular_lr(s, steps, recipe) for s in range(24 * steps)]
    peak = int(np.argmax(lrs))
    assert np.all(np.diff(lrs[: peak + 1]) > 0) and np.all(np.diff(lrs[peak:]) < 0)


def test_step_schedule_of_the_mapper_recipe():
    recipe = Recipe(
        epochs=350,
        batch_size=128,
        lr_peak=0.1,
        lr_peak_epoch=0,
        momentum=0.9,
        weight_decay=5e-4,
        schedule="step",
        milestones=(150, 250),
        gamma=0.1,
    )
    steps = 391
    assert learning_rate(0, steps, recipe) == 0.1 and learning_rate(150 * steps - 1, steps, recipe) == 0.1
    assert learning_rate(150 * steps, steps, recipe) == pytest.approx(0.01)
    assert learning_rate(300 * steps, steps, recipe) == pytest.approx(0.001)
    assert Recipe.from_config({**recipe.__dict__, "milestones": [150, 250]}).milestones == (150, 250)


def test_augmentation_is_a_function_of_the_generator():
    x = torch.randn(16, 3, 12, 12)
    a = augment(x, RECIPE, epoch_generator(1, 2))
    b = augment(x, RECIPE, epoch_generator(1, 2))
    c = augment(x, RECIPE, epoch_generator(1, 3))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)


def test_translation_shifts_content_and_fills_with_zero():
    recipe = replace(RECIPE, flip=False, translate=2, cutout=0)
    x = torch.arange(1.0, 1 + 3 * 6 * 6).view(1, 3, 6, 6).repeat(64, 1, 1, 1)
    y = augment(x, recipe, torch.Generator().manual_seed(0))
    for image in y:  # each output is a window of the zero-padded input
        padded = torch.nn.functional.pad(x[0], (2, 2, 2, 2))
        windows = [padded[:, r : r + 6, c : c + 6] for r in range(5) for c in range(5)]
        assert any(torch.equal(image, w) for w in windows)
    assert len({tuple(image.flatten().tolist()) for image in y}) > 10


def test_cutout_zeroes_a_square_of_the_given_side_at_most():
    recipe = replace(RECIPE, flip=False, translate=0, cutout=4)
    y = augment(torch.ones(50, 3, 10, 10), recipe, torch.Generator().manual_seed(1))
    zeros = (y == 0).all(dim=1).sum(dim=(1, 2))
    assert zeros.max() == 16 and zeros.min() >= 4  # squares may be clipped at the border


SNAPSHOTS = (0, 1, 2, 4)  # of the 5 epochs of _train_cli: the initialisation, before and after a kill


def _train_cli(tmp_path: Path, name: str, **recipe_changes) -> subprocess.Popen:
    data = {
        "dataset": "digits",
        "image_size": 16,
        "test_fraction": 0.25,
        "split_seed": 0,
        "root": "",
        "download": False,
        "resize": None,
        "mean": None,
        "std": None,
    }
    recipe = {
        "epochs": 5,
        "batch_size": 64,
        "lr_peak": 0.4,
        "lr_peak_epoch": 1,
        "momentum": 0.9,
        "weight_decay": 5e-4,
        "translate": 1,
        **recipe_changes,
    }
    floor = recipe.pop("min_test_accuracy", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cnntopo.train",
            "--data",
            json.dumps(data),
            "--arch",
            "resnet18_option_a",
            "--width",
            "8",
            "--seed",
            "7",
            "--recipe",
            json.dumps(recipe),
            "--weights",
            str(tmp_path / f"{name}.pt"),
            "--metrics",
            str(tmp_path / f"{name}.json"),
            "--checkpoint",
            str(tmp_path / f"{name}.ckpt"),
            "--device",
            "cpu",
            "--threads",
            "1",
            *([] if floor is None else ["--min-test-accuracy", str(floor)]),
            "--snapshot-epochs",
            *[str(e) for e in SNAPSHOTS if e <= recipe["epochs"]],
            "--snapshots",
            str(tmp_path / f"{name}.snapshots"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_killed_run_resumes_and_ends_with_the_uninterrupted_weights(tmp_path):
    reference = _train_cli(tmp_path, "uninterrupted")
    assert reference.wait(timeout=300) == 0, reference.stderr.read()

    killed = _train_cli(tmp_path, "resumed")
    checkpoint = tmp_path / "resumed.ckpt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert killed.poll() is None, "training finished before it could be killed; the test needs a longer run"
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    saved = torch.load(checkpoint, weights_only=False)
    assert saved["epoch"] < 4 and not (tmp_path / "resumed.pt").exists()

    resumed = _train_cli(tmp_path, "resumed")
    _, log = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, log
    assert "resuming seed 7 after epoch" in log
    assert not checkpoint.exists()  # removed once the weights are written
    names = ("uninterrupted", "resumed")
    a, b = (torch.load(tmp_path / f"{run}.pt", weights_only=True)["state_dict"] for run in names)
    assert all(torch.equal(a[k], b[k]) for k in a)
    metrics = json.loads((tmp_path / "resumed.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3, 4, 5]
    # the snapshots taken before the kill and after the resume equal the uninterrupted run's
    assert [s["epoch"] for s in metrics["snapshots"]] == list(SNAPSHOTS)
    for epoch in SNAPSHOTS:
        a, b = (torch.load(tmp_path / f"{run}.snapshots/epoch{epoch}.pt", weights_only=True) for run in names)
        assert a["epoch"] == b["epoch"] == epoch and a["test_accuracy"] == b["test_accuracy"]
        assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert metrics["snapshots"][-1]["test_accuracy"] == metrics["history"][3]["test_accuracy"]
    assert not (tmp_path / "resumed.ckpt.snapshots").exists()  # moved into the output folder


def test_load_model_reads_project_files_and_bare_state_dicts(tmp_path):
    spec = ModelSpec("resnet18_option_a", 4, 10, 16)
    torch.manual_seed(0)
    model = build_model(spec.arch, spec.width, spec.num_classes)
    save_weights(tmp_path / "ours.pt", model, spec, {"seed": 5})
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    loaded, loaded_spec, info = load_model(tmp_path / "ours.pt")
    assert loaded_spec == spec and info == {"seed": 5} and not loaded.training
    bare, _, _ = load_model(tmp_path / "bare.pt", spec=spec)
    assert torch.equal(bare.state_dict()["conv1.weight"], model.state_dict()["conv1.weight"])
    with pytest.raises(ValueError, match="bare state_dict"):
        load_model(tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_model(tmp_path / "bare.pt", spec=ModelSpec("resnet18_option_a", 8, 10, 16))
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")


def test_a_diverging_run_stops_at_its_epoch_naming_seed_loss_and_setting(tmp_path):
    run = _train_cli(tmp_path, "diverged", lr_peak=1e6, epochs=3)
    _, log = run.communicate(timeout=300)
    assert run.returncode == 1
    (line,) = [line for line in log.splitlines() if line.startswith("error:")]
    assert "seed 7 diverged in epoch 1: loss nan" in line and "Lower lr_peak (now 1000000.0)" in line
    assert "Traceback" not in log and "no finite checkpoint exists" in line
    assert not (tmp_path / "diverged.pt").exists() and not (tmp_path / "diverged.json").exists()


def test_a_model_at_chance_fails_unless_accepted(tmp_path):
    chance = _train_cli(tmp_path, "chance", lr_peak=1e-9, epochs=1)
    _, log = chance.communicate(timeout=300)
    assert chance.returncode == 1 and not (tmp_path / "chance.pt").exists()
    assert "below train.min_test_accuracy 0.1500 (chance: 0.1000)" in log and "chance.ckpt" in log
    accepted = _train_cli(tmp_path, "accepted", lr_peak=1e-9, epochs=1, min_test_accuracy=0)
    _, log = accepted.communicate(timeout=300)
    assert accepted.returncode == 0, log
    assert json.loads((tmp_path / "accepted.json").read_text())["cpu_capability"] == (
        torch.backends.cpu.get_cpu_capability()
    )


def test_weights_files_that_cannot_be_used_say_which_and_why(tmp_path):
    spec = ModelSpec("resnet18_option_a", 4, 10, 16)
    save_weights(tmp_path / "ours.pt", build_model(spec.arch, spec.width, spec.num_classes), spec, {})
    data = (tmp_path / "ours.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated.pt cannot be read: it is truncated or not a file saved by torch"):
        load_model(tmp_path / "truncated.pt")
    other = build_model("resnet18_conv_shortcut", 4, 10).state_dict()
    torch.save(other, tmp_path / "other.pt")
    with pytest.raises(WeightsError) as caught:
        load_model(tmp_path / "other.pt", spec=spec)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600
    assert re.search(r"unexpected keys \d+ \(layer2\.0\.shortcut\.0\.weight, .*, \.\.\.\)", message), message
