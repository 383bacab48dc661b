"""The responders' TOML file: one table per responder, checked against the declared options.

    [block-client]
    never_block = ["10.0.0.5"]
    dry_run = true

Unknown tables or keys and wrong types are refused with the file, the key and its line, so a
typo never silently disables a response.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rempart.guard.respond._base import COMMON_OPTIONS, RESPONDERS, Option, ResponderSpec
from rempart.guard.respond._errors import ResponseConfigError

#: What `--respond` with no names (and no config file) turns on: record, cut off the actor,
#: tell the local syslog. Hooks need a command and e-mail/webhooks an address: never defaults.
DEFAULT_RESPONDERS = ("record", "stop-process", "block-client", "close-session", "alert")

_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _type_name(t: type | tuple[type, ...], item: type | None) -> str:
    if t is list:
        return "a list of " + {str: "strings", int: "integers"}.get(item or str, "values")
    types = t if isinstance(t, tuple) else (t,)
    return " or ".join(_TYPE_NAMES.get(x, "a list") for x in types)


def _type_ok(value: object, opt: Option) -> bool:
    types = opt.types if isinstance(opt.types, tuple) else (opt.types,)
    if isinstance(value, bool):  # bool is an int to Python, never to a config file
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    if not isinstance(value, types):
        return False
    if isinstance(value, list) and opt.item is not None:
        return all(isinstance(v, opt.item) and not isinstance(v, bool) for v in value)
    return True


class _Lines:
    """Finds the line of a table or key in the TOML text (tomllib reports none once parsed)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def table(self, name: str) -> int | None:
        pattern = re.compile(rf'^\s*\[\s*"?{re.escape(name)}"?\s*\]')
        return next((i + 1 for i, ln in enumerate(self.lines) if pattern.match(ln)), None)

    def key(self, table: str, key: str) -> int | None:
        start = self.table(table)
        if start is None:
            return None
        pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
        for i in range(start, len(self.lines)):
            if self.lines[i].lstrip().startswith("["):
                break
            if pattern.match(self.lines[i]):
                return i + 1
        return start


def options_of(spec: ResponderSpec) -> tuple[Option, ...]:
    return COMMON_OPTIONS + spec.options


def settings_for(spec: ResponderSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """The responder's options: the declared defaults, overridden by what was given."""
    values = {opt.name: opt.default for opt in options_of(spec)}
    values.update(given)
    return values


def load_config(path: Path) -> dict[str, dict[str, Any]]:
    """Read and check the TOML file; returns {responder: {option: value}} as written.

    Raises:
        ResponseConfigError: unreadable file, bad TOML, unknown table or key, wrong type.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResponseConfigError(f"cannot read the configuration: {exc}", path=path) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        # tomllib says "at end of document" rather than give the last line's number
        line = int(found.group(1)) if found else max(1, len(text.splitlines()))
        raise ResponseConfigError(f"not valid TOML: {exc}", path=path, line=line) from exc
    lines = _Lines(text)
    checked: dict[str, dict[str, Any]] = {}
    for name, table in data.items():
        if name not in RESPONDERS:
            raise ResponseConfigError(
                f"unknown responder {name!r}",
                path=path,
                key=name,
                line=lines.table(name),
                hint="known: " + ", ".join(sorted(RESPONDERS)),
            )
        if not isinstance(table, dict):
            raise ResponseConfigError(
                f"{name!r} must be a table ([{name}]), not a value",
                path=path,
                key=name,
                line=next((i + 1 for i, ln in enumerate(lines.lines) if name in ln), None),
            )
        checked[name] = _check_table(path, lines, RESPONDERS[name], table)
    return checked


def _check_table(
    path: Path, lines: _Lines, spec: ResponderSpec, table: Mapping[str, Any]
) -> dict[str, Any]:
    declared = {opt.name: opt for opt in options_of(spec)}
    for key, value in table.items():
        where = {"path": path, "key": f"{spec.name}.{key}", "line": lines.key(spec.name, key)}
        opt = declared.get(key)
        if opt is None:
            raise ResponseConfigError(
                f"unknown option {key!r} of responder {spec.name!r}",
                hint="known: " + ", ".join(sorted(declared)),
                **where,  # type: ignore[arg-type]
            )
        if not _type_ok(value, opt):
            raise ResponseConfigError(
                f"{key} must be {_type_name(opt.types, opt.item)}, not {value!r}",
                **where,  # type: ignore[arg-type]
            )
    return dict(table)


def enabled_responders(
    respond: Sequence[str], config: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The responders to run: the names given, else the config's tables; `record` always,
    unless its table says `enabled = false` (the store is the audit trail of every response).

    `default` among the names stands for DEFAULT_RESPONDERS (what `--respond` alone asks for).
    """
    names: list[str] = []
    asked = list(respond) or [n for n, t in config.items() if t.get("enabled", True)]
    asked.append("record")
    for name in asked:
        for one in DEFAULT_RESPONDERS if name == "default" else (name,):
            if one not in RESPONDERS:
                raise ResponseConfigError(
                    f"unknown responder {one!r}",
                    key=one,
                    hint="known: " + ", ".join(sorted(RESPONDERS)) + ", default",
                )
            if one not in names and config.get(one, {}).get("enabled", True):
                names.append(one)
    return names
