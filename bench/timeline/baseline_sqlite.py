"""A straightforward pySigma-to-SQLite baseline (the way Zircolite works), for comparison.

Events are flattened into one wide SQLite table `logs` (one column per field seen), every
rule is converted to SQL by pySigma-backend-sqlite, then each query runs over the table.
Queries naming a column no event has fail in SQLite and count as no match, as in Zircolite.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import yaml
from evtx import PyEvtxParser
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError


def _flatten(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stack = [event]
    while stack:
        node = stack.pop()
        for key, value in node.items():
            if isinstance(value, dict):
                if "#text" in value:
                    out[key] = value["#text"]
                stack.append({k: v for k, v in value.items() if k not in ("#text", "#attributes")})
                for attr, inner in (value.get("#attributes") or {}).items():
                    out[f"{key}_{attr}"] = inner
            elif not isinstance(value, list):
                out[key] = value
    return out


def load(files: list[Path], db: sqlite3.Connection) -> int:
    """Two passes like Zircolite: collect columns, then insert rows (all in memory per file)."""
    rows: list[dict[str, Any]] = []
    columns: dict[str, str] = {}  # SQLite column names ignore case: one column per spelling
    for path in files:
        try:
            for record in PyEvtxParser(str(path)).records_json():
                flat = _flatten(json.loads(record["data"])["Event"])
                flat = {k.lower(): v for k, v in flat.items()}
                rows.append(flat)
                columns.update(dict.fromkeys(flat, ""))
        except (OSError, RuntimeError):
            continue
    names = list(columns)
    db.execute(f"CREATE TABLE logs ({', '.join(f'[{n}] TEXT COLLATE NOCASE' for n in names)})")
    marks = ", ".join("?" * len(names))
    db.executemany(
        f"INSERT INTO logs VALUES ({marks})",
        [tuple(None if r.get(n) is None else str(r[n]) for n in names) for r in rows],
    )
    return len(rows)


def rules(dirs: list[Path]) -> list[tuple[str, str]]:
    backend = sqliteBackend()
    queries = []
    for folder in dirs:
        for path in sorted(folder.rglob("*.yml")):
            try:
                # the same libyaml loader as rempart's, so only the matching differs
                docs = list(yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader))
                collection = SigmaCollection.from_dicts(docs)
                for rule, query in zip(collection.rules, backend.convert(collection), strict=False):
                    queries.append((str(rule.id), query))
            except (
                SigmaError,
                yaml.YAMLError,
                ValueError,
                TypeError,
                KeyError,
                NotImplementedError,
            ):
                continue
    return queries


def run(queries: list[tuple[str, str]], db: sqlite3.Connection) -> int:
    def regexp(pattern: str, value: str | None) -> bool:
        return value is not None and re.search(pattern, value) is not None

    db.create_function("REGEXP", 2, regexp, deterministic=True)
    matches = 0
    for _rule_id, query in queries:
        try:
            matches += len(db.execute(query).fetchall())
        except sqlite3.Error:
            continue
    return matches
