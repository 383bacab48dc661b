"""The alert webhook's credential: one token per incident, for `rempart guard` and the like.

A detector has no user account and no session: it holds a long random token that opens one
door only, writing alerts into one incident's logbook. The store keeps its SHA-256 (a copy of
the database cannot forge alerts); the token is shown once, when created or rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rempart.store.models import Incident
from rempart.store.workspace import AlertToken
from rempart.workspace import audit, logbook
from rempart.workspace._errors import BadCredentials, Invalid, NotFound
from rempart.workspace._roles import Permission
from rempart.workspace.access import Actor, require, system_actor

#: How alerts name their author in the logbook and the audit log.
GUARD = "guard"
HEADER = "X-Rempart-Alert-Token"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _found(s: Session, incident_id: int) -> AlertToken | None:
    return s.scalar(select(AlertToken).where(AlertToken.incident_id == incident_id))


def has_token(s: Session, actor: Actor, incident_id: int) -> bool:
    """True when the incident's webhook has a token (people who manage the incident)."""
    require(s, actor, incident_id, Permission.MANAGE)
    return _found(s, incident_id) is not None


def create_token(s: Session, actor: Actor, incident_id: int) -> str:
    """A new token for the incident's webhook, returned once (only its hash is kept).

    Raises:
        Invalid: the incident already has one (rotate it instead).
        NotFound / Forbidden: the actor may not manage the incident.
    """
    require(s, actor, incident_id, Permission.MANAGE)
    if _found(s, incident_id) is not None:
        raise Invalid("this incident already has an alert token", hint="rotate it")
    return _store(s, actor, incident_id, None, "create")


def rotate_token(s: Session, actor: Actor, incident_id: int) -> str:
    """Replace the incident's token (or make the first one): the old one stops working now.

    Raises:
        NotFound / Forbidden: the actor may not manage the incident.
    """
    require(s, actor, incident_id, Permission.MANAGE)
    return _store(s, actor, incident_id, _found(s, incident_id), "rotate")


def revoke_token(s: Session, actor: Actor, incident_id: int) -> None:
    """Remove the incident's token: alerts are refused until a new one is made.

    Raises:
        NotFound: no token, or the actor may not see the incident.
        Forbidden: the actor may not manage the incident.
    """
    require(s, actor, incident_id, Permission.MANAGE)
    found = _found(s, incident_id)
    if found is None:
        raise NotFound("this incident has no alert token")
    s.delete(found)
    s.flush()
    audit.record(s, actor, "revoke", "alert_token", incident_id, incident_id=incident_id)


def _store(
    s: Session, actor: Actor, incident_id: int, found: AlertToken | None, action: str
) -> str:
    token = secrets.token_urlsafe(32)
    if found is None:
        s.add(AlertToken(incident_id=incident_id, token_hash=_digest(token)))
    else:
        found.token_hash, found.created_at = _digest(token), datetime.now(UTC)
    s.flush()
    # The token itself never reaches the audit log: only the fact that it changed.
    audit.record(s, actor, action, "alert_token", incident_id, incident_id=incident_id)
    return token


def receive_alert(
    s: Session, key: str, token: str, summary: str, detail: str = ""
) -> logbook.Entry:
    """Write an alert sent with the incident's token into its logbook, with source "guard".

    Raises:
        BadCredentials: unknown incident, no token, or a wrong one (one answer for all, so
            the webhook tells nothing about which incidents exist).
        Invalid: an empty summary.
    """
    inc_id = s.scalar(select(Incident.id).where(Incident.key == key))
    found = _found(s, inc_id) if inc_id is not None else None
    # Compared even when there is nothing to compare with: the timing says nothing either.
    expected = found.token_hash if found is not None else _digest(secrets.token_urlsafe(32))
    if not hmac.compare_digest(expected, _digest(token)) or inc_id is None or found is None:
        raise BadCredentials("unknown incident or wrong alert token")
    if not summary.strip():
        raise Invalid("an alert needs a summary")
    what = f"ALERT: {summary.strip()}" + (f"\n{detail.strip()}" if detail.strip() else "")
    return logbook.append(s, system_actor(GUARD), int(inc_id), what, source=GUARD)
