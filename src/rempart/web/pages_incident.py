"""The incident page: logbook, tasks, decisions, contacts and scans, and their forms."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from rempart.web import _charts, _i18n
from rempart.web._context import (
    change_incident,
    choice,
    form_time,
    lang,
    read_incident,
    render,
    storable_form,
)
from rempart.workspace import decisions, incidents, logbook, playbooks, scans, tasks
from rempart.workspace._errors import Invalid
from rempart.workspace._roles import Permission, Role, allows

router = APIRouter(include_in_schema=False, dependencies=[Depends(storable_form)])


@router.get("/incidents/{key}")
def incident_page(request: Request, key: str) -> Response:
    t = _i18n.messages(lang(request))
    with read_incident(request, key) as (s, login, inc):
        roles = incidents.roles_on(s, login.actor, inc.id)
        task_list = tasks.list_tasks(s, login.actor, inc.id)
        scan_list = scans.scan_results(s, login.actor, inc.id)
        return render(
            request,
            "incident.html.j2",
            login=login,
            inc=inc,
            may={p.value: allows(roles, p) for p in Permission},
            entries=logbook.entries(s, login.actor, inc.id),
            chain=logbook.verify(s, login.actor, inc.id),
            tasks=task_list,
            decisions=decisions.list_decisions(s, login.actor, inc.id),
            contacts=decisions.list_contacts(s, login.actor, inc.id),
            scans=scan_list,
            task_chart=_charts.tasks(task_list, t),
            scan_chart=_charts.scans(scan_list, t) if scan_list else None,
            playbooks=[(pid, book.title) for pid, book in playbooks.builtin().items()],
            contact_kinds=list(decisions.ContactKind),
            task_statuses=list(tasks.TaskStatus),
        )


def _back(key: str, anchor: str) -> Response:
    return RedirectResponse(f"/incidents/{key}#{anchor}", 303)


@router.post("/incidents/{key}/logbook")
def append_entry(
    request: Request,
    key: str,
    csrf: str = Form(""),
    what: str = Form(""),
    source: str = Form(""),
    corrects: str = Form(""),
) -> Response:
    with change_incident(request, key, csrf) as (s, login, inc):
        if corrects.strip() and not corrects.strip().isdigit():
            raise Invalid(f"not an entry number: {corrects!r}")
        logbook.append(
            s,
            login.actor,
            inc.id,
            what,
            source=source or "workspace",
            corrects=int(corrects) if corrects.strip() else None,
        )
    return _back(key, "logbook")


@router.post("/incidents/{key}/playbooks")
def add_playbook(
    request: Request, key: str, csrf: str = Form(""), playbook: str = Form("")
) -> Response:
    with change_incident(request, key, csrf) as (s, login, inc):
        if playbook not in playbooks.builtin():
            raise Invalid(f"unknown playbook {playbook!r}")
        tasks.instantiate(s, login.actor, inc.id, playbook, lang=lang(request))
    return _back(key, "tasks")


@router.post("/incidents/{key}/tasks")
def add_task(
    request: Request, key: str, csrf: str = Form(""), title: str = Form(""), due: str = Form("")
) -> Response:
    with change_incident(request, key, csrf) as (s, login, inc):
        tasks.add_task(s, login.actor, inc.id, title, due_at=form_time(due))
    return _back(key, "tasks")


@router.post("/incidents/{key}/tasks/{task_id}")
def update_task(
    request: Request,
    key: str,
    task_id: int,
    csrf: str = Form(""),
    status: str = Form(""),
    assignee: str = Form(""),
) -> Response:
    with change_incident(request, key, csrf) as (s, login, _):
        tasks.update_task(
            s,
            login.actor,
            task_id,
            status=choice(tasks.TaskStatus, status, "task status") if status else None,
            assignee=assignee.strip() or None,
        )
    return _back(key, f"task-{task_id}")


@router.post("/incidents/{key}/decisions")
def record_decision(
    request: Request,
    key: str,
    csrf: str = Form(""),
    title: str = Form(""),
    rationale: str = Form(""),
    decided_by: str = Form(""),
) -> Response:
    with change_incident(request, key, csrf) as (s, login, inc):
        decisions.record_decision(s, login.actor, inc.id, title, rationale, decided_by=decided_by)
    return _back(key, "decisions")


@router.post("/incidents/{key}/contacts")
def add_contact(
    request: Request,
    key: str,
    csrf: str = Form(""),
    kind: str = Form(""),
    name: str = Form(""),
    phone: str = Form(""),
    email: str = Form(""),
    reference: str = Form(""),
    notes: str = Form(""),
) -> Response:
    with change_incident(request, key, csrf) as (s, login, inc):
        decisions.add_contact(
            s,
            login.actor,
            inc.id,
            choice(decisions.ContactKind, kind, "contact kind"),
            name,
            phone=phone,
            email=email,
            reference=reference,
            notes=notes,
        )
    return _back(key, "contacts")


@router.post("/incidents/{key}/invitations")
def invite(
    request: Request,
    key: str,
    csrf: str = Form(""),
    email: str = Form(""),
    role: str = Form("investigator"),
) -> Response:
    with change_incident(request, key, csrf) as (s, login, inc):
        incidents.invite(s, login.actor, inc.id, email, choice(Role, role, "role"))
    return _back(key, "people")
