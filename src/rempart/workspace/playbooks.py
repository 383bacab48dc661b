"""Playbooks: YAML files of steps, checked on load, turned into an incident's tasks.

A playbook file::

    id: first-hours
    title: {fr: ..., en: ...}
    phase: first-hours
    references: [ANSSI ..., CISA ...]
    steps:
      - id: isolate
        title: {fr: ..., en: ...}
        detail: {fr: ..., en: ...}
        due: 1h        # after the incident was first seen (m, h or d)
        role: responder
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from rempart.registry import Registry
from rempart.workspace._errors import PlaybookError
from rempart.workspace._roles import Role

BUILTIN = Path(__file__).parent / "playbooks"
ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
DUE = re.compile(r"^(\d{1,4})([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
LANGS = ("fr", "en")


@dataclass(frozen=True)
class Text:
    fr: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


@dataclass(frozen=True)
class Step:
    id: str
    title: Text
    detail: Text
    due: timedelta | None
    role: Role


@dataclass(frozen=True)
class Playbook:
    id: str
    title: Text
    phase: str
    references: tuple[str, ...]
    steps: tuple[Step, ...]
    path: str


def _text(value: Any, where: str, path: str, required: bool = True) -> Text:
    if value is None and not required:
        return Text("", "")
    if not isinstance(value, dict) or any(not isinstance(value.get(k), str) for k in LANGS):
        raise PlaybookError(path, f"{where} must have text for both 'fr' and 'en'")
    if required and not all(value[k].strip() for k in LANGS):
        raise PlaybookError(path, f"{where} must not be empty")
    return Text(value["fr"].strip(), value["en"].strip())


def _due(value: Any, where: str, path: str) -> timedelta | None:
    if value is None:
        return None
    m = DUE.match(str(value))
    if not m:
        raise PlaybookError(path, f"{where}: due must look like 30m, 4h or 3d, not {value!r}")
    return timedelta(**{UNITS[m.group(2)]: int(m.group(1))})


def parse(text: str, path: str = "<playbook>") -> Playbook:
    """Check and read one playbook.

    Raises:
        PlaybookError: damaged YAML or a file that does not follow the format (with where).
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError(path, f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise PlaybookError(path, "a playbook is a mapping with id, title, phase and steps")
    pid = doc.get("id")
    if not isinstance(pid, str) or not ID.match(pid):
        raise PlaybookError(path, "id must be lower-case letters, digits and '-'")
    steps_in = doc.get("steps")
    if not isinstance(steps_in, list) or not steps_in:
        raise PlaybookError(path, "steps must be a non-empty list")
    refs = doc.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise PlaybookError(path, "references must be a list of strings")
    steps: list[Step] = []
    seen: set[str] = set()
    for n, raw in enumerate(steps_in, start=1):
        where = f"step {n}"
        if not isinstance(raw, dict):
            raise PlaybookError(path, f"{where} must be a mapping")
        sid = raw.get("id")
        if not isinstance(sid, str) or not ID.match(sid):
            raise PlaybookError(path, f"{where}: id must be lower-case letters, digits and '-'")
        if sid in seen:
            raise PlaybookError(path, f"{where}: step id {sid!r} used twice")
        seen.add(sid)
        where = f"step {sid!r}"
        role = raw.get("role", "responder")
        if role not in Role.__members__.values():
            raise PlaybookError(path, f"{where}: unknown role {role!r}")
        steps.append(
            Step(
                sid,
                _text(raw.get("title"), f"{where} title", path),
                _text(raw.get("detail"), f"{where} detail", path, required=False),
                _due(raw.get("due"), where, path),
                Role(role),
            )
        )
    phase = doc.get("phase")
    if not isinstance(phase, str) or not phase.strip():
        raise PlaybookError(path, "phase must be a non-empty string")
    return Playbook(
        pid, _text(doc.get("title"), "title", path), phase.strip(), tuple(refs), tuple(steps), path
    )


def load(path: Path) -> Playbook:
    """Read and check a playbook file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(str(path), f"cannot read: {exc}") from exc
    return parse(text, str(path))


def load_dir(folder: Path) -> Registry[Playbook]:
    """Every *.yaml playbook in `folder`, by id (a duplicate id is refused)."""
    found: Registry[Playbook] = Registry("playbook")
    for path in sorted(folder.glob("*.yaml")):
        book = load(path)
        found.add(book.id, book)
    return found


_builtin: list[Registry[Playbook]] = []


def builtin() -> Registry[Playbook]:
    """The playbooks shipped with rempart (loaded once)."""
    if not _builtin:
        _builtin.append(load_dir(BUILTIN))
    return _builtin[0]
