"""Pages: sign in and out, the dashboard, opening an incident, the communications desk."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from rempart.web import _charts, _i18n
from rempart.web._context import (
    choice,
    form_time,
    lang,
    render,
    require_csrf,
    require_login,
    storable_form,
    tx,
    web,
)
from rempart.web._session import (
    LANG_COOKIE,
    NONCE_COOKIE,
    SESSION_COOKIE,
    login_token,
    login_token_ok,
    new_nonce,
)
from rempart.web.public import CACHE
from rempart.workspace import auth, incidents, status, tasks
from rempart.workspace._errors import BadCredentials, LoginThrottled
from rempart.workspace._roles import Permission, allows
from rempart.workspace.access import Actor, org_roles
from rempart.workspace.orgs import OrgKind, list_orgs

router = APIRouter(include_in_schema=False, dependencies=[Depends(storable_form)])


def _cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=web(request).https,
    )


def _login_form(request: Request, error: str = "", code: int = 200) -> Response:
    nonce = request.cookies.get(NONCE_COOKIE) or new_nonce()
    token = login_token(web(request).login_secret, nonce)
    response = render(request, "login.html.j2", code, login_csrf=token, error=error)
    _cookie(request, response, NONCE_COOKIE, nonce, 3600)
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    return _login_form(request)


@router.post("/login")
def login(
    request: Request, email: str = Form(""), password: str = Form(""), csrf: str = Form("")
) -> Response:
    t = _i18n.messages(lang(request))
    if not login_token_ok(web(request).login_secret, request.cookies.get(NONCE_COOKIE), csrf):
        return _login_form(request, t["err.csrf"], 403)
    address = request.client.host if request.client else ""
    with tx(request) as s:
        try:
            actor = auth.authenticate(s, email, password, address)
        except BadCredentials:
            actor = None  # the failure is counted: this transaction still commits
        except LoginThrottled as exc:
            page = _login_form(request, t["err.throttled"].format(seconds=exc.retry_after), 429)
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
        signed = auth.open_session(s, actor) if actor else None
    if signed is None:
        return _login_form(request, t["err.login"], 401)
    response = RedirectResponse("/", 303)
    _cookie(request, response, SESSION_COOKIE, signed.token, int(auth.SESSION_TTL.total_seconds()))
    response.delete_cookie(NONCE_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    with tx(request) as s:
        login = require_csrf(request, s, csrf)
        auth.close_session(s, login.token)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_lang(request: Request, code: str, back: str = "/") -> Response:
    # Only local paths: the language switch must not become an open redirect.
    local = back.startswith("/") and not back.startswith("//") and "\\" not in back
    target = back if local else "/"
    response = RedirectResponse(target, 303)
    if code in _i18n.LANGS:
        _cookie(request, response, LANG_COOKIE, code, 365 * 86400)
    return response


@router.get("/")
def dashboard(request: Request) -> Response:
    t = _i18n.messages(lang(request))
    with tx(request) as s:
        login = require_login(request, s)
        found = incidents.list_incidents(s, login.actor)
        counts = tasks.progress(s, login.actor, (i.id for i in found))
        charts = {
            i.key: _charts.task_counts(counts.get(i.id, {}), t, f"chart-{i.id}") for i in found
        }
        # org_roles(o) adds the roles held in o's service, themselves memberships: "some
        # membership grants MANAGE" is the same answer without reading the organisations.
        may_open = any(
            allows(frozenset({r}), Permission.MANAGE) for _, r in login.actor.memberships
        )
        return render(
            request,
            "dashboard.html.j2",
            login=login,
            incidents=found,
            charts=charts,
            may_open=may_open,
        )


def _orgs_for(s: Session, actor: Actor) -> tuple[list[str], list[str]]:
    every = list_orgs(s)
    manage = [o for o in every if allows(org_roles(s, actor, o.id), Permission.MANAGE)]
    return [o.slug for o in manage], [o.slug for o in manage if o.kind is OrgKind.TOWN]


@router.get("/incidents/new")
def new_incident_page(request: Request) -> Response:
    with tx(request) as s:
        login = require_login(request, s)
        owners, towns = _orgs_for(s, login.actor)
    return render(
        request,
        "incident_new.html.j2",
        login=login,
        owners=owners,
        towns=towns,
        severities=list(incidents.Severity),
    )


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


@router.post("/incidents/new")
def new_incident(
    request: Request,
    csrf: str = Form(""),
    key: str = Form(""),
    title: str = Form(""),
    owner: str = Form(""),
    towns: str = Form(""),
    severity: str = Form("high"),
    services: str = Form(""),
    first_seen: str = Form(""),
    description: str = Form(""),
) -> Response:
    with tx(request) as s:
        login = require_csrf(request, s, csrf)
        made = incidents.create_incident(
            s,
            login.actor,
            key=key.strip(),
            title=title,
            owner=owner.strip(),
            towns=_split(towns),
            severity=choice(incidents.Severity, severity, "severity"),
            services=_split(services),
            first_seen_at=form_time(first_seen),
            description=description,
        )
    return RedirectResponse(f"/incidents/{made.key}", 303)


@router.get("/communications")
def communications(request: Request) -> Response:
    code = lang(request)
    t = _i18n.messages(code)
    desks = []
    with tx(request) as s:
        login = require_login(request, s)
        for org in list_orgs(s):
            roles = org_roles(s, login.actor, org.id)
            if org.kind is not OrgKind.TOWN or not allows(roles, Permission.DRAFT_STATUS):
                continue
            page = status.public_page(s, org.slug)
            desks.append(
                {
                    "org": org,
                    "page": page,
                    "drafts": status.drafts(s, login.actor, org.slug),
                    "approver": allows(roles, Permission.APPROVE_STATUS),
                    "chart": _charts.services(page.services, t, code, f"chart-{org.slug}"),
                }
            )
        return render(
            request,
            "communications.html.j2",
            login=login,
            desks=desks,
            services=status.SERVICES.items(),
            levels=list(status.Level),
        )


@router.post("/communications/{town}/drafts")
def draft_status(
    request: Request,
    town: str,
    csrf: str = Form(""),
    service: str = Form(""),
    level: str = Form(""),
    message_fr: str = Form(""),
    message_en: str = Form(""),
) -> Response:
    with tx(request) as s:
        login = require_csrf(request, s, csrf)
        lv = choice(status.Level, level, "status")
        status.draft(s, login.actor, town, service, lv, message_fr, message_en)
    return RedirectResponse("/communications", 303)


@router.post("/communications/drafts/{update_id}")
def review_status(
    request: Request, update_id: int, csrf: str = Form(""), decision: str = Form("")
) -> Response:
    with tx(request) as s:
        login = require_csrf(request, s, csrf)
        status.review(s, login.actor, update_id, approve=decision == "approve")
    CACHE.clear()
    return RedirectResponse("/communications", 303)
