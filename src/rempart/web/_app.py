"""The FastAPI application: state, security headers, errors mapped to HTTP answers."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from sqlalchemy.orm import sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rempart import __version__
from rempart.errors import StoreError
from rempart.store import open_store
from rempart.web import _i18n, api, api_status, pages, pages_incident, public
from rempart.web._context import CsrfRefused, LoginRequired, Web, lang, render
from rempart.web._session import SECRET_NAME
from rempart.workspace import auth
from rempart.workspace._errors import (
    BadCredentials,
    Forbidden,
    Invalid,
    LoginThrottled,
    NotFound,
    WorkspaceError,
)

#: No inline script or style anywhere, no third party: the pages work with the internet cut
#: and a stored message cannot run code.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """Adds the strict headers to every answer (plain ASGI: no per-request task overhead)."""

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.headers = [*_HEADERS, _HSTS] if https else list(_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, sending)


#: Threads running the (synchronous) request handlers of one process; see `_lifespan`.
THREADS = int(os.environ.get("REMPART_WEB_THREADS", "4"))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The handlers are synchronous (SQLAlchemy) and run in anyio's pool, 40 threads by
    # default. Under a burst, 40 threads take turns on one GIL: every request slows down and
    # the unlucky ones wait longest (dashboard p99 ~0.8 s with 50 users reloading). A few
    # threads, fed in arrival order by anyio's limiter, serve the same load with a short tail.
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    # What start-up built (modules, routes, templates, statements) lives as long as the
    # process: out of the collector's generations, full collections stay short under load.
    gc.freeze()
    yield


def create_app(url: str, *, https: bool = False) -> FastAPI:
    """The workspace for the store at `url` (migrated on start; the secrets made on first run).

    `https`: the server is reached over HTTPS (directly or behind a proxy): cookies get the
    Secure flag and answers an HSTS header.
    """
    engine = open_store(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as s:
        secret = auth.get_secret(s, SECRET_NAME)
    app = FastAPI(
        title="rempart workspace",
        version=__version__,
        description="The incident workspace of rempart: incidents, logbook, tasks, decisions, "
        "contacts, scans and public status. Sign in with POST /api/login, then send "
        "`Authorization: Bearer <token>`.",
        # Swagger UI and ReDoc load their code from a CDN: not here (offline, strict CSP).
        # The schema itself documents the API.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    app.state.web = Web(engine, sessions, https, secret)
    app.mount("/static", StaticFiles(directory=str(files("rempart.web") / "static")), "static")
    _errors(app)
    for module in (public, pages, pages_incident, api, api_status):
        app.include_router(module.router)
    app.add_middleware(SecurityHeaders, https=https)
    return app


_STATUS: list[tuple[type[Exception], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Invalid, 422),
    (LoginThrottled, 429),
    (BadCredentials, 401),
    (WorkspaceError, 400),
    (StoreError, 503),
    # Safety nets for text no store can keep (a NUL for PostgreSQL, a lone surrogate for
    # UTF-8): the API's schemas and the forms' check refuse them first.
    (DataError, 422),
    (UnicodeEncodeError, 422),
]


def _answer(request: Request, code: int, message: str, headers: dict[str, str]) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, code, headers=headers)
    return render(request, "error.html.j2", code, message=message, code=code)


def _errors(app: FastAPI) -> None:
    async def workspace_error(request: Request, exc: Exception) -> Response:
        code = next(c for kind, c in _STATUS if isinstance(exc, kind))
        headers: dict[str, str] = {}
        message = str(exc)
        if isinstance(exc, DataError | UnicodeEncodeError):
            message = "a value cannot be stored (NUL or invalid characters)"
        if isinstance(exc, LoginThrottled):
            headers["Retry-After"] = str(exc.retry_after)
        t = _i18n.messages(lang(request))
        if code == 404:
            message = t["err.404"]  # the same answer for "absent" and "not yours"
        return _answer(request, code, message, headers)

    async def login_required(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": "sign in first"}, 401, headers={"WWW-Authenticate": "Bearer"}
            )
        return RedirectResponse("/login", 303)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return _answer(request, 403, _i18n.messages(lang(request))["err.csrf"], {})

    handlers: dict[Any, Any] = {kind: workspace_error for kind, _ in _STATUS}
    handlers[LoginRequired] = login_required
    handlers[CsrfRefused] = csrf_refused
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
