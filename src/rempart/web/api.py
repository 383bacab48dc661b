"""The JSON API under /api: the workspace's operations for scripts and the guard's webhook.

Scripts sign in with POST /api/login and send `Authorization: Bearer <token>`; a browser's
cookie session works too, with its CSRF token in `X-CSRF-Token` on every change.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from rempart.web._context import change_incident, read_incident, require_csrf, require_login, tx
from rempart.web._schemas import (
    AlertIn,
    ContactIn,
    DecisionIn,
    EntryIn,
    Id,
    IncidentIn,
    InvitationIn,
    Key,
    PlaybookIn,
    ScanAttachIn,
    TaskIn,
    TaskPatch,
)
from rempart.workspace import (
    alerts,
    audit,
    decisions,
    incidents,
    logbook,
    playbooks,
    scans,
    tasks,
)
from rempart.workspace._errors import NotFound
from rempart.workspace.decisions import ContactView, DecisionView
from rempart.workspace.incidents import IncidentView
from rempart.workspace.logbook import Entry
from rempart.workspace.tasks import TaskView

router = APIRouter(prefix="/api", tags=["incidents"])


@router.get("/me")
def me(request: Request) -> dict[str, Any]:
    """Who is signed in, and their roles."""
    with tx(request) as s:
        login = require_login(request, s)
        actor = login.actor
        return {
            "email": actor.email,
            "name": actor.name,
            "memberships": [[o, r.value] for o, r in actor.memberships],
            "invitations": [[i, r.value] for i, r in actor.invitations],
        }


@router.get("/incidents")
def list_incidents(request: Request) -> list[IncidentView]:
    """The incidents the caller may see, newest first."""
    with tx(request) as s:
        return incidents.list_incidents(s, require_login(request, s).actor)


@router.post("/incidents", status_code=201)
def create_incident(request: Request, body: IncidentIn) -> IncidentView:
    """Open an incident (admin or responder of the owner and of every town)."""
    with tx(request) as s:
        login = require_csrf(request, s, None)
        return incidents.create_incident(s, login.actor, **body.model_dump())


@router.get("/incidents/{key}")
def get_incident(request: Request, key: Key) -> IncidentView:
    with read_incident(request, key) as (_, _, inc):
        return inc


@router.get("/incidents/{key}/logbook")
def list_entries(request: Request, key: Key) -> list[Entry]:
    """The logbook, oldest first, with each entry's hash and the previous one's."""
    with read_incident(request, key) as (s, login, inc):
        return logbook.entries(s, login.actor, inc.id)


@router.post("/incidents/{key}/logbook", status_code=201)
def append_entry(request: Request, key: Key, body: EntryIn) -> Entry:
    """Append an entry (a correction names the entry it corrects; nothing is ever edited)."""
    with change_incident(request, key) as (s, login, inc):
        fields = body.model_dump(exclude={"what"})
        return logbook.append(s, login.actor, inc.id, body.what, **fields)


@router.post("/incidents/{key}/alerts", status_code=201, tags=["guard"])
def post_alert(request: Request, key: Key, body: AlertIn) -> Entry:
    """The guard's webhook: an alarm becomes a logbook entry of the incident.

    Authenticated by the incident's alert token (`X-Rempart-Alert-Token`, made with
    POST .../alert-token: it does not expire like a session), or by a signed-in user.
    """
    sent = request.headers.get(alerts.HEADER, "")
    if sent:
        with tx(request) as s:
            return alerts.receive_alert(s, key, sent, body.summary, body.detail)
    with change_incident(request, key) as (s, login, inc):
        what = f"ALERT: {body.summary}" + (f"\n{body.detail}" if body.detail else "")
        return logbook.append(s, login.actor, inc.id, what, source=body.source or alerts.GUARD)


@router.get("/incidents/{key}/alert-token", tags=["guard"])
def alert_token(request: Request, key: Key) -> dict[str, Any]:
    """Whether the incident's webhook has a token (people who manage the incident)."""
    with read_incident(request, key) as (s, login, inc):
        return {"header": alerts.HEADER, "active": alerts.has_token(s, login.actor, inc.id)}


@router.post("/incidents/{key}/alert-token", status_code=201, tags=["guard"])
def rotate_alert_token(request: Request, key: Key) -> dict[str, str]:
    """A new token for `rempart guard` (shown once; the previous one stops working)."""
    with change_incident(request, key) as (s, login, inc):
        return {"header": alerts.HEADER, "token": alerts.rotate_token(s, login.actor, inc.id)}


@router.delete("/incidents/{key}/alert-token", status_code=204, tags=["guard"])
def revoke_alert_token(request: Request, key: Key) -> None:
    """Revoke the incident's alert token: the webhook refuses alerts until a new one."""
    with change_incident(request, key) as (s, login, inc):
        alerts.revoke_token(s, login.actor, inc.id)


@router.get("/incidents/{key}/tasks")
def list_tasks(request: Request, key: Key) -> list[TaskView]:
    with read_incident(request, key) as (s, login, inc):
        return tasks.list_tasks(s, login.actor, inc.id)


@router.post("/incidents/{key}/tasks", status_code=201)
def add_task(request: Request, key: Key, body: TaskIn) -> TaskView:
    with change_incident(request, key) as (s, login, inc):
        fields = body.model_dump(exclude={"title"})
        return tasks.add_task(s, login.actor, inc.id, body.title, **fields)


@router.post("/incidents/{key}/playbooks", status_code=201)
def add_playbook(request: Request, key: Key, body: PlaybookIn) -> list[TaskView]:
    """Add a playbook's steps as tasks (steps already there are skipped)."""
    with change_incident(request, key) as (s, login, inc):
        if body.playbook not in playbooks.builtin():
            raise NotFound(f"no playbook {body.playbook!r}")
        return tasks.instantiate(s, login.actor, inc.id, body.playbook, lang=body.lang)


@router.get("/playbooks")
def list_playbooks(request: Request) -> list[dict[str, Any]]:
    """The playbooks tasks can come from."""
    with tx(request) as s:
        require_login(request, s)
    return [
        {"id": pid, "title": asdict(b.title), "phase": b.phase, "steps": len(b.steps)}
        for pid, b in playbooks.builtin().items()
    ]


@router.patch("/tasks/{task_id}")
def update_task(request: Request, task_id: Id, body: TaskPatch) -> TaskView:
    """Change a task's status, assignee or due time (done tasks go to the logbook)."""
    with tx(request) as s:
        actor = require_csrf(request, s, None).actor
        return tasks.update_task(s, actor, task_id, **body.model_dump())


@router.get("/incidents/{key}/decisions")
def list_decisions(request: Request, key: Key) -> list[DecisionView]:
    with read_incident(request, key) as (s, login, inc):
        return decisions.list_decisions(s, login.actor, inc.id)


@router.post("/incidents/{key}/decisions", status_code=201)
def record_decision(request: Request, key: Key, body: DecisionIn) -> DecisionView:
    with change_incident(request, key) as (s, login, inc):
        fields = body.model_dump(exclude_none=True)
        return decisions.record_decision(s, login.actor, inc.id, **fields)


@router.get("/incidents/{key}/contacts")
def list_contacts(request: Request, key: Key) -> list[ContactView]:
    with read_incident(request, key) as (s, login, inc):
        return decisions.list_contacts(s, login.actor, inc.id)


@router.post("/incidents/{key}/contacts", status_code=201)
def add_contact(request: Request, key: Key, body: ContactIn) -> ContactView:
    with change_incident(request, key) as (s, login, inc):
        fields = body.model_dump(exclude={"kind", "name"})
        return decisions.add_contact(s, login.actor, inc.id, body.kind, body.name, **fields)


@router.get("/incidents/{key}/scans")
def list_scans(request: Request, key: Key) -> list[scans.ScanResult]:
    """Summaries of the `rempart scan` runs of the incident, per town and share."""
    with read_incident(request, key) as (s, login, inc):
        return scans.scan_results(s, login.actor, inc.id)


@router.post("/incidents/{key}/scans", status_code=204)
def attach_scan(request: Request, key: Key, body: ScanAttachIn) -> None:
    """Label a `rempart scan` run with the town and share it covered."""
    with change_incident(request, key) as (s, login, inc):
        scans.attach_scan(s, login.actor, inc.id, body.scan_id, town=body.town, share=body.share)


@router.post("/incidents/{key}/invitations", status_code=204)
def invite(request: Request, key: Key, body: InvitationIn) -> None:
    """Let someone into this incident only (e.g. the national agency's investigator)."""
    with change_incident(request, key) as (s, login, inc):
        incidents.invite(s, login.actor, inc.id, body.email, body.role)


@router.get("/incidents/{key}/audit")
def incident_audit(request: Request, key: Key) -> list[audit.AuditView]:
    """Every change made to the incident: who, when, what, before, after (newest first)."""
    with read_incident(request, key) as (s, login, inc):
        return audit.list_audit(s, login.actor, incident_id=inc.id)


@router.get("/incidents/{key}/logbook.jsonl", response_class=PlainTextResponse)
def export_jsonl(request: Request, key: Key) -> PlainTextResponse:
    """The logbook with its hashes, one JSON object a line (keep a copy elsewhere)."""
    with read_incident(request, key) as (s, login, inc):
        text = logbook.export_jsonl(s, login.actor, inc.id)
    return PlainTextResponse(text, media_type="application/jsonl; charset=utf-8")


@router.get("/incidents/{key}/logbook.csv", response_class=PlainTextResponse)
def export_csv(request: Request, key: Key) -> PlainTextResponse:
    """The logbook as CSV, for a spreadsheet or a printed annex."""
    with read_incident(request, key) as (s, login, inc):
        text = logbook.export_csv(s, login.actor, inc.id)
    return PlainTextResponse(text, media_type="text/csv; charset=utf-8")
