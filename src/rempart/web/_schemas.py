"""Bodies of the JSON API: bounded, typed, validated before any library call."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, Field

from rempart.workspace._roles import Role
from rempart.workspace.decisions import ContactKind
from rempart.workspace.incidents import Severity
from rempart.workspace.status import Level
from rempart.workspace.tasks import TaskStatus

#: No NUL character: PostgreSQL cannot store it in text, and no person types one.
_CLEAN = r"^[^\x00]*$"
Short = Annotated[str, Field(max_length=300, pattern=_CLEAN)]
Long = Annotated[str, Field(max_length=20_000, pattern=_CLEAN)]
Key = Annotated[str, Path(max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Slug = Annotated[str, Path(max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$")]
SlugText = Annotated[str, Field(max_length=60, pattern=_CLEAN)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class LoginIn(BaseModel):
    email: Short
    password: Annotated[str, Field(max_length=1024)]


class LoginOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    csrf: str = Field(description="Send as `X-CSRF-Token` with the session cookie instead.")
    expires_at: AwareDatetime
    email: str


class IncidentIn(BaseModel):
    key: Annotated[str, Field(max_length=120, pattern=_CLEAN)]
    title: Short
    owner: SlugText
    towns: Annotated[list[SlugText], Field(max_length=200)]
    severity: Severity = Severity.HIGH
    services: Annotated[list[Short], Field(max_length=100)] = []
    first_seen_at: AwareDatetime | None = None
    description: Long = ""


class EntryIn(BaseModel):
    what: Long
    source: Short = "api"
    corrects: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    at: AwareDatetime | None = None


class AlertIn(BaseModel):
    """An alarm from `rempart guard` (or another detector) for the incident's logbook."""

    summary: Long
    source: Short = "guard"
    detail: Long = ""


class TaskIn(BaseModel):
    title: Short
    detail: Long = ""
    phase: Annotated[str, Field(max_length=40, pattern=_CLEAN)] = ""
    due_at: AwareDatetime | None = None


class TaskPatch(BaseModel):
    status: TaskStatus | None = None
    assignee: Annotated[str, Field(max_length=254, pattern=_CLEAN)] | None = None
    unassign: bool = False
    due_at: AwareDatetime | None = None


class PlaybookIn(BaseModel):
    playbook: Annotated[str, Field(max_length=80, pattern=_CLEAN)]
    lang: Annotated[str, Field(pattern="^(fr|en)$")] = "fr"


class DecisionIn(BaseModel):
    title: Short
    rationale: Long
    decided_by: Short = ""
    decided_at: AwareDatetime | None = None


class ContactIn(BaseModel):
    kind: ContactKind
    name: Short
    phone: Annotated[str, Field(max_length=60, pattern=_CLEAN)] = ""
    email: Annotated[str, Field(max_length=254, pattern=_CLEAN)] = ""
    reference: Short = ""
    notes: Long = ""


class DraftIn(BaseModel):
    service: Annotated[str, Field(max_length=40, pattern=_CLEAN)]
    level: Level
    message_fr: Long
    message_en: Long


class ScanAttachIn(BaseModel):
    scan_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    town: SlugText | None = None
    share: Short


class InvitationIn(BaseModel):
    email: Annotated[str, Field(max_length=254, pattern=_CLEAN)]
    role: Role = Role.INVESTIGATOR
