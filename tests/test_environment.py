"""The three places that pin the environment agree: pyproject.toml, constraints.txt, environment.yml."""

import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def _pins(repo):
    pins = {}
    for line in (repo / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def _requirements(repo, extras=("test",)):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    return [Requirement(r) for r in project["dependencies"] + [r for e in extras for r in optional[e]]]


def test_every_dependency_is_pinned_within_its_declared_range(repo):
    pins = _pins(repo)
    extras = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for requirement in _requirements(repo, extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"
    assert pins["torch"] == "2.13.0"


def test_environment_yml_has_the_same_pins_as_pyproject_and_constraints(repo):
    env = yaml.safe_load((repo / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = {canonicalize_name(r.split("==")[0]): r.split("==")[1] for r in pip_section}
    pins = _pins(repo)
    declared = {canonicalize_name(r.name) for r in _requirements(repo)}
    assert set(conda) == declared
    assert all(conda[name] == pins[name] for name in conda)


def test_nothing_pinned_pulls_cuda_packages(repo):
    assert not [name for name in _pins(repo) if name.startswith(("nvidia-", "triton"))]


def test_the_wheel_carries_every_script_the_pages_embed(repo, tmp_path):
    """A non-editable install must write the explorer and the viewer: their .js/.css are package data."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(repo),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("cnntopo-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    scripts = {
        p.relative_to(repo / "src").as_posix() for ext in ("js", "css") for p in (repo / "src").rglob(f"*.{ext}")
    }
    assert scripts and scripts <= packaged, scripts - packaged
