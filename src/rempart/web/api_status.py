"""The JSON API for sessions and the public status: sign in and out, drafts and approvals."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rempart.web._context import require_csrf, require_login, tx
from rempart.web._schemas import DraftIn, Id, LoginIn, LoginOut, Slug
from rempart.web.public import CACHE
from rempart.workspace import auth, status
from rempart.workspace._errors import BadCredentials
from rempart.workspace.status import PublicPage, StatusUpdateView

router = APIRouter(prefix="/api")


@router.post("/login", tags=["session"], responses={401: {}, 429: {}})
def login(request: Request, body: LoginIn) -> LoginOut:
    """Sign in; the token goes in `Authorization: Bearer` (throttled after failures)."""
    address = request.client.host if request.client else ""
    with tx(request) as s:
        try:
            actor = auth.authenticate(s, body.email, body.password, address)
        except BadCredentials:
            actor = None  # the failure is recorded for throttling: commit it, then refuse
        signed = auth.open_session(s, actor) if actor else None
    if signed is None:
        raise BadCredentials("wrong e-mail or password")
    return LoginOut(
        token=signed.token,
        csrf=signed.csrf,
        expires_at=signed.expires_at,
        email=signed.actor.email,
    )


@router.post("/logout", status_code=204, tags=["session"])
def logout(request: Request) -> Response:
    """End the caller's session: its token stops working at once."""
    with tx(request) as s:
        auth.close_session(s, require_csrf(request, s, None).token)
    return Response(status_code=204)


@router.get("/status/{town}", tags=["status"])
def public_status(request: Request, town: Slug) -> PublicPage:
    """What the town's public page shows (no sign-in needed)."""
    with tx(request) as s:
        return status.public_page(s, town)


@router.get("/status/{town}/drafts", tags=["status"])
def list_drafts(request: Request, town: Slug) -> list[StatusUpdateView]:
    """Drafts waiting for an official's approval."""
    with tx(request) as s:
        return status.drafts(s, require_login(request, s).actor, town)


@router.post("/status/{town}/drafts", status_code=201, tags=["status"])
def draft(request: Request, town: Slug, body: DraftIn) -> StatusUpdateView:
    """Draft a status change for one service (communications, officials)."""
    with tx(request) as s:
        actor = require_csrf(request, s, None).actor
        return status.draft(
            s, actor, town, body.service, body.level, body.message_fr, body.message_en
        )


@router.post("/status/drafts/{update_id}/approve", tags=["status"])
def approve(request: Request, update_id: Id) -> StatusUpdateView:
    """Publish a draft (an official other than its author)."""
    return _review(request, update_id, approve=True)


@router.post("/status/drafts/{update_id}/reject", tags=["status"])
def reject(request: Request, update_id: Id) -> StatusUpdateView:
    return _review(request, update_id, approve=False)


def _review(request: Request, update_id: int, *, approve: bool) -> StatusUpdateView:
    with tx(request) as s:
        actor = require_csrf(request, s, None).actor
        done = status.review(s, actor, update_id, approve=approve)
    CACHE.clear()
    return done
