"""What every request handler needs: the store, the signed-in user, templates, CSRF checks."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rempart.web import _i18n
from rempart.web._session import LANG_COOKIE, SESSION_COOKIE
from rempart.workspace import auth, incidents
from rempart.workspace._errors import Invalid
from rempart.workspace.auth import WebLogin
from rempart.workspace.incidents import IncidentView

E = TypeVar("E", bound=StrEnum)


@dataclass
class Web:
    """The application's state (one per app; `request.app.state.web`)."""

    engine: Engine
    sessions: sessionmaker[Session]
    https: bool
    login_secret: str


class LoginRequired(Exception):  # a control-flow signal, mapped to 303/401
    """The request needs a signed-in user and has none (or an expired session)."""


class CsrfRefused(Exception):  # mapped to 403
    """An unsafe request came without the session's CSRF token."""


def web(request: Request) -> Web:
    state: Web = request.app.state.web
    return state


@contextmanager
def tx(request: Request) -> Iterator[Session]:
    """A store session in one transaction: committed when the block ends without error."""
    with web(request).sessions.begin() as s:
        yield s


def token_of(request: Request) -> str:
    """The session token: the cookie of a browser, or `Authorization: Bearer` of a script."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE, "")


def bearer(request: Request) -> bool:
    return request.headers.get("authorization", "")[:7].lower() == "bearer "


def current(request: Request, s: Session) -> WebLogin | None:
    return auth.session_login(s, token_of(request))


def require_login(request: Request, s: Session) -> WebLogin:
    login = current(request, s)
    if login is None:
        raise LoginRequired()
    return login


def require_csrf(request: Request, s: Session, sent: str | None) -> WebLogin:
    """The signed-in user of an unsafe request, after checking its CSRF token.

    A script with a bearer token needs none: a browser never sends that header on its own,
    so a third-party page cannot forge such a request.
    """
    login = require_login(request, s)
    if bearer(request):
        return login
    sent = sent or request.headers.get("x-csrf-token", "")
    if not auth.check_csrf(login, sent):
        raise CsrfRefused()
    return login


# What every route under /incidents/{key} does first, the page's forms and the API alike:
# one transaction, the signed-in user (and the CSRF check before a change), then the incident
# as that user sees it. Sign-in and CSRF come first: a caller refused there learns nothing
# about which incidents exist.
OnIncident = tuple[Session, WebLogin, IncidentView]


@contextmanager
def read_incident(request: Request, key: str) -> Iterator[OnIncident]:
    """The store session, the signed-in user and the incident `key`, to read it."""
    with tx(request) as s:
        login = require_login(request, s)
        yield s, login, incidents.get_incident(s, login.actor, key)


@contextmanager
def change_incident(request: Request, key: str, csrf: str | None = None) -> Iterator[OnIncident]:
    """The same as `read_incident` for a change: the CSRF token (`csrf`, a form's) checked."""
    with tx(request) as s:
        login = require_csrf(request, s, csrf)
        yield s, login, incidents.get_incident(s, login.actor, key)


def lang(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE, "")
    if wanted in _i18n.LANGS:
        return wanted
    accept = request.headers.get("accept-language", "")[:2].lower()
    return accept if accept in _i18n.LANGS else "fr"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rempart.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship inside the package and never change while it runs: no stat()
        # of every template file on every page (each one released the GIL under load).
        auto_reload=False,
    )
    env.filters["when"] = _i18n.when
    return env


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    login: WebLogin | None = None,
    **values: Any,
) -> HTMLResponse:
    """A page in the request's language."""
    code = lang(request)
    html = (
        environment()
        .get_template(template)
        .render(
            t=_i18n.messages(code),
            lang=code,
            login=login,
            csrf=login.csrf if login else "",
            path=request.url.path,
            **values,
        )
    )
    return HTMLResponse(html, status_code=status_code)


def choice(kind: type[E], value: str, what: str) -> E:
    """The member of `kind` named by a form value, or a 422 saying what was expected."""
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(m.value for m in kind)
        raise Invalid(f"unknown {what} {value!r}", hint=f"one of {known}") from None


def _storable(text: str) -> bool:
    # NUL: PostgreSQL refuses it in text; lone surrogates: not encodable as UTF-8 at all.
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


async def storable_form(request: Request) -> None:
    """Router dependency: refuse a form with text no store can keep (the same on both)."""
    if request.method != "POST":
        return
    form = await request.form()  # parsed once: the handlers' Form() fields reuse it
    for value in form.values():
        if isinstance(value, str) and not _storable(value):
            raise Invalid("the form contains characters that cannot be stored (NUL...)")


def form_time(text: str) -> datetime | None:
    """A time typed in a form: UTC unless it says otherwise (`datetime-local` has no zone)."""
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"not a date and time: {text!r}", hint="YYYY-MM-DDTHH:MM") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
