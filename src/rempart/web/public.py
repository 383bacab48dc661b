"""What anyone may read without signing in: `/healthz`, and each town's status page and feed.

The public page is what residents hit all at once after a press release, so it is served
from memory: rendered once, kept for a second (a status change approved through this
process drops it at once), answered with an ETag so that reloads cost a 304.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from rempart.web._context import tx, web
from rempart.workspace import site
from rempart.workspace.status import public_page

router = APIRouter()

#: How long a rendered page is served without looking at the store (other worker processes
#: see an approval within this delay).
TTL = 1.0
CSS = "/static/public.css"


@dataclass(frozen=True)
class _Cached:
    body: bytes
    etag: str
    media_type: str
    at: float


class PublicCache:
    """Rendered public pages by (town, language, kind)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], _Cached] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> _Cached | None:
        found = self._items.get(key)
        return found if found and time.monotonic() - found.at < TTL else None

    def put(self, key: tuple[str, str, str], body: str, media_type: str) -> _Cached:
        raw = body.encode("utf-8")
        etag = '"' + hashlib.blake2b(raw, digest_size=12).hexdigest() + '"'
        item = _Cached(raw, etag, media_type, time.monotonic())
        with self._lock:
            if len(self._items) > 10_000:  # bounded: many towns x 2 languages x 2 kinds
                self._items.clear()
            self._items[key] = item
        return item

    def clear(self) -> None:
        """Forget every page (called when a status change is approved)."""
        with self._lock:
            self._items.clear()


CACHE = PublicCache()


def _render(request: Request, slug: str, lang: str, kind: str) -> tuple[str, str]:
    with tx(request) as s:
        page = public_page(s, slug)
    if kind == "feed":
        base = str(request.base_url).rstrip("/") + f"/status/{slug}"
        return site.atom_feed(page, lang, base_url=base), "application/atom+xml"
    other = "fr" if lang == "en" else "en"
    html = site.render_html(
        page,
        lang,
        other_href=f"/status/{slug}?lang={other}",
        feed_href=f"/status/{slug}/feed{'.en' if lang == 'en' else ''}.atom",
        css_href=CSS,
    )
    return html, "text/html; charset=utf-8"


async def _serve(request: Request, slug: str, lang: str, kind: str) -> Response:
    key = (slug, lang, kind)
    item = CACHE.get(key)
    if item is None:
        body, media_type = await run_in_threadpool(_render, request, slug, lang, kind)
        item = CACHE.put(key, body, media_type)
    # no-cache: browsers and proxies keep the page but ask again each time (a 304 is cheap),
    # so a resident never reads a status that was changed minutes ago.
    headers = {"ETag": item.etag, "Cache-Control": "public, no-cache"}
    if request.headers.get("if-none-match") == item.etag:
        return Response(status_code=304, headers=headers)
    return Response(item.body, media_type=item.media_type, headers=headers)


@router.get("/status/{slug}", response_class=Response, tags=["public"])
async def status_page(request: Request, slug: str, lang: str = "fr") -> Response:
    """A town's public status page (HTML, no sign-in, no internal data)."""
    return await _serve(request, slug, "en" if lang == "en" else "fr", "page")


@router.get("/status/{slug}/feed.atom", response_class=Response, tags=["public"])
async def status_feed(request: Request, slug: str) -> Response:
    """The town's published status changes as an Atom feed (French)."""
    return await _serve(request, slug, "fr", "feed")


@router.get("/status/{slug}/feed.en.atom", response_class=Response, tags=["public"])
async def status_feed_en(request: Request, slug: str) -> Response:
    """The same feed in English."""
    return await _serve(request, slug, "en", "feed")


@router.get("/healthz", tags=["public"])
def healthz(request: Request) -> JSONResponse:
    """200 when the store answers, 503 otherwise (for load balancers and supervisors)."""
    try:
        with web(request).engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable"}, 503)
    return JSONResponse({"status": "ok"})
