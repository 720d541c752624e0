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


_WRITE_PAGES = """
import sys
from pathlib import Path

import cnntopo
from cnntopo.mapper.explorer import explorer_page
from cnntopo.profile.viewer import viewer_html

assert Path(cnntopo.__file__).is_relative_to(sys.prefix), cnntopo.__file__  # the wheel's copy, not src/
Path("viewer.html").write_text(viewer_html({"models": {}}, "viewer"))
Path("explorer.html").write_text(explorer_page({"graphs": []}))
"""


def test_a_non_editable_install_writes_the_offline_pages(repo, tmp_path):
    """The wheel, installed into a fresh venv away from the source tree, writes the viewer and the explorer
    with their scripts inlined: every .js/.css of the package is package data."""
    import shutil
    import subprocess
    import sys
    import sysconfig

    # Built from a copy of the sources alone: an egg-info left in src/ by an editable install lists files
    # that setuptools would package whatever pyproject.toml says.
    source = tmp_path / "source"
    shutil.copytree(repo / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo / name, source)
    build = ["pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([sys.executable, "-m", *build], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("cnntopo-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    install = ["pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-compile", "-q"]
    subprocess.run([sys.executable, "-m", *install, str(wheel)], check=True, capture_output=True)
    # The dependencies come from this environment's site-packages; its editable cnntopo is a .pth entry,
    # which PYTHONPATH does not read, so `import cnntopo` finds only the wheel's copy.
    env = {"PYTHONPATH": sysconfig.get_path("purelib"), "PATH": "/usr/bin:/bin"}
    pages = tmp_path / "pages"
    pages.mkdir()
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", _WRITE_PAGES], cwd=pages, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for page, script in (("viewer.html", "profile/viewer.js"), ("explorer.html", "mapper/explorer.js")):
        assert (repo / "src" / "cnntopo" / script).read_text() in (pages / page).read_text()
