"""The incident workspace core: organisations, users, incidents, logbook, tasks, status.

The CLI and the web layer call these functions and hold no rules of their own. Conventions:

- Every function takes an SQLAlchemy `Session` (bound to the store's engine) and an `Actor`
  (`access.load_actor` for a signed-in user, `access.system_actor()` for the CLI operator).
  Functions flush but never commit: run them inside `transaction(engine)` (one unit of work,
  the change and its audit record together).
- Visibility is decided in one place, `access` (`visible_incident_ids`, `incident_roles`,
  `require`). A hidden incident and a missing one raise the same `NotFound`; a visible one the
  actor may not change raises `Forbidden`. Bad input raises `Invalid` (all are `RempartError`).
- Modules: `orgs` (organisations, users, roles), `users` (disable, passwords), `auth`
  (sign-in, throttling, sessions, CSRF, secrets), `passwords`, `alerts` (webhook tokens),
  `incidents`, `logbook` (hash chain, verify, export), `playbooks` and `tasks`, `decisions`
  (decisions and contacts), `scans`, `status` (drafts, approval, public page), `site` (HTML,
  Atom, static export), `audit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rempart.workspace._errors import (
    BadCredentials,
    Forbidden,
    Invalid,
    LoginThrottled,
    NotFound,
    PlaybookError,
    WeakPassword,
    WorkspaceError,
)
from rempart.workspace._roles import Permission, Role
from rempart.workspace.access import Actor, load_actor, system_actor

__all__ = [
    "Actor",
    "BadCredentials",
    "Forbidden",
    "Invalid",
    "LoginThrottled",
    "NotFound",
    "Permission",
    "PlaybookError",
    "Role",
    "WeakPassword",
    "WorkspaceError",
    "load_actor",
    "system_actor",
    "transaction",
]


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed at the end of the block, rolled back on error."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        yield s
