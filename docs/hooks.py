"""MkDocs hook: pages that are generated so that they cannot drift from what they describe.

A page writes a marker on a line of its own and the hook puts the generated Markdown there:

- ``<!-- config-reference -->``: every key of ``workflow/schemas/config.schema.yaml`` (type or choices,
  default, description), one table per top-level section, with the choices read from the registries
  the schema names (``x-enum-from``);
- ``<!-- benchmark-summary -->``: ``benchmarks/results/summary.csv``, one table per benchmark;
- ``<!-- csv: PATH -->``: any CSV of the repository as a table.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SUMMARY = REPO / "benchmarks" / "results" / "summary.csv"
MARKER = re.compile(r"^<!-- (config-reference|benchmark-summary|csv: (?P<path>\S+)) -->$", re.M)


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _resolve(node: dict, schema: dict) -> dict:
    if "$ref" in node:
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _kind(node: dict) -> str:
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(_kind(option) for option in node.get("oneOf", node.get("anyOf")))
    kind = node.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and "items" in node:
        return f"list of ({_kind(node['items'])})"
    if kind == "object" and "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
        return "mapping"
    return kind or "any"


def _default(node: dict) -> str:
    if "default" not in node or node.get("type") == "object":
        return ""
    return f"`{json.dumps(node['default'])}`"


def _rows(node: dict, schema: dict, prefix: str) -> list[list[str]]:
    rows = []
    for name, child in node.get("properties", {}).items():
        child = _resolve(child, schema)
        key = f"{prefix}.{name}" if prefix else name
        rows.append([f"`{key}`", _kind(child), _default(child), child.get("description", "")])
        if child.get("properties"):
            rows += _rows(child, schema, key)
        elif child.get("type") == "array" and _resolve(child.get("items", {}), schema).get("properties"):
            rows += _rows(_resolve(child["items"], schema), schema, f"{key}[]")
    return rows


def config_reference() -> str:
    from cnntopo.workflow.config import load_schema

    schema = load_schema(SCHEMA)
    parts = []
    for name, section in schema["properties"].items():
        section = _resolve(section, schema)
        rows = [[f"`{name}`", _kind(section), _default(section), section.get("description", "")]]
        rows += _rows(section, schema, name)
        parts += [f"### `{name}`", "", _table(["key", "type", "default", "description"], rows), ""]
    return "\n".join(parts)


def csv_table(path: Path) -> str:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return _table(rows[0], rows[1:])


def benchmark_summary() -> str:
    with open(SUMMARY, newline="") as handle:
        rows = list(csv.DictReader(handle))
    parts = []
    for benchmark in dict.fromkeys(row["benchmark"] for row in rows):
        chosen = [r for r in rows if r["benchmark"] == benchmark]
        body = [
            [r["measure"], r["ours"], r["reference"], r["ratio"], r["unit"], r["machine"], r["date"]] for r in chosen
        ]
        header = ["measure", "ours", "reference", "ratio", "unit", "machine", "date"]
        parts += [f"### `{benchmark}`", "", _table(header, body), ""]
    return "\n".join(parts)


def _generate(match: re.Match) -> str:
    if match.group(1) == "config-reference":
        return config_reference()
    if match.group(1) == "benchmark-summary":
        return benchmark_summary()
    return csv_table(REPO / match.group("path"))


def on_page_markdown(markdown: str, **_: Any) -> str:
    return MARKER.sub(_generate, markdown)
