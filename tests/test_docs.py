"""The documentation site builds with --strict, its generated pages hold what they are generated from, and
the outputs page names every table a run writes with its columns."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import pytest

from workflow_helpers import REPO

sys.path.insert(0, str(REPO / "docs"))
import hooks  # noqa: E402


def test_the_site_builds_strict_with_the_generated_pages(tmp_path):
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    configuration = (site / "configuration" / "index.html").read_text()
    assert "ph.specificity.references" in configuration and "foreground5" in configuration
    assert "<!-- config-reference -->" not in configuration


def test_the_config_reference_has_every_key_of_the_embedded_default():
    import yaml

    def keys(node, prefix=""):
        for name, value in node.items():
            key = f"{prefix}.{name}" if prefix else name
            yield key
            if isinstance(value, dict):
                yield from keys(value, key)

    reference = hooks.config_reference()
    embedded = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    missing = [key for key in keys(embedded) if f"`{key}`" not in reference]
    assert not missing


def test_the_benchmark_tables_are_read_from_the_results():
    with open(hooks.SUMMARY, newline="") as handle:
        rows = list(csv.DictReader(handle))
    summary = hooks.benchmark_summary()
    assert all(hooks._cell(row["measure"]) in summary for row in rows)


# A placeholder of a documented path: one path segment, but a mapper graph's variant may be MODEL/MODE.
_PLACEHOLDER = {"<variant>": "[^/]+(?:/[^/]+)?"}


def _documented_tables() -> list[tuple[re.Pattern, set[str], list[re.Pattern]]]:
    """(path pattern, literal columns, column patterns) of every row of the outputs page's table of CSVs, the
    most specific paths first (``figure12_purity.csv`` before ``figure<N>.csv``)."""
    page = (REPO / "docs" / "outputs.md").read_text()
    tables = []
    for path, columns in re.findall(r"^\| `([^`]+\.csv)` \| [^|]+ \| (.+) \|$", page, re.M):
        parts = re.split(r"(<\w+>)", path)
        pattern = "".join(_PLACEHOLDER.get(p, "[^/]+") if p.startswith("<") else re.escape(p) for p in parts)
        names = re.findall(r"`([^`]+)`", columns)
        literal = {n for n in names if "<" not in n}
        patterns = [re.compile(re.sub(r"<\w+>", r"\\w+", n)) for n in names if "<" in n]
        specificity = sum(len(p) for p in parts if not p.startswith("<"))
        tables.append((specificity, re.compile(pattern), literal, patterns))
    return [table[1:] for table in sorted(tables, key=lambda table: -table[0])]


@pytest.mark.slow
def test_every_table_a_run_writes_is_documented_with_its_columns(finished_run):
    tables = _documented_tables()
    results = finished_run / "results"
    undocumented = []
    for path in sorted(results.rglob("*.csv")):
        name = path.relative_to(results).as_posix()
        if name.startswith(("logs/", "benchmarks/")):
            continue
        with open(path, newline="") as handle:
            header = next(csv.reader(handle))
        rows = [(literal, patterns) for pattern, literal, patterns in tables if pattern.fullmatch(name)]
        if not rows:
            undocumented.append(f"{name}: no row")
            continue
        literal, patterns = rows[0]
        unnamed = [c for c in header if c not in literal and not any(p.fullmatch(c) for p in patterns)]
        if unnamed:
            undocumented.append(f"{name}: columns {unnamed}")
    assert not undocumented, undocumented
