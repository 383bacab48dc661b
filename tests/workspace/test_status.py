"""Public status: drafts, approval by an official, the public page, Atom, the static site."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _wsworld import World

from rempart.workspace import Forbidden, Invalid, NotFound, site, status, transaction
from rempart.workspace.status import Level, UpdateState

ATOM = "{http://www.w3.org/2005/Atom}"


def _publish(world: World) -> int:
    with transaction(world.engine) as s:
        d = status.draft(
            s,
            world.comms_a,
            "ville-a",
            "email",
            Level.DOWN,
            "Messagerie coupée : appelez le 01 23 45 67 89 <b>",
            "E-mail is down: call 01 23 45 67 89 <b>",
        )
        status.review(s, world.official_a, d.id, approve=True)
        return d.id


def test_draft_is_private_until_an_official_approves(world: World) -> None:
    with transaction(world.engine) as s:
        d = status.draft(s, world.comms_a, "ville-a", "phones", Level.WORKING, "OK", "OK")
        assert status.public_page(s, "ville-a").services == ()
        assert [x.id for x in status.drafts(s, world.official_a, "ville-a")] == [d.id]
        with pytest.raises(Forbidden):  # communications drafts, does not approve
            status.review(s, world.comms_a, d.id, approve=True)
        with pytest.raises(Forbidden):  # nor does the service's admin
            status.review(s, world.service_admin, d.id, approve=True)
        with pytest.raises(Forbidden):  # another town's people do nothing here
            status.draft(s, world.responder_b, "ville-a", "phones", Level.DOWN, "x", "x")
        with pytest.raises(Forbidden):
            status.draft(s, world.viewer_a, "ville-a", "phones", Level.DOWN, "x", "x")
        approved = status.review(s, world.official_a, d.id, approve=True)
        assert approved.state is UpdateState.APPROVED
        with pytest.raises(Invalid):
            status.review(s, world.official_a, d.id, approve=False)
        page = status.public_page(s, "ville-a")
    assert [(x.service.key, x.level) for x in page.services] == [("phones", Level.WORKING)]


def test_an_official_does_not_approve_their_own_draft(world: World) -> None:
    with transaction(world.engine) as s:
        d = status.draft(s, world.official_a, "ville-a", "website", Level.READ_ONLY, "a", "b")
        with pytest.raises(Forbidden, match="someone else"):
            status.review(s, world.official_a, d.id, approve=True)


def test_bad_drafts_are_refused(world: World) -> None:
    with transaction(world.engine) as s:
        with pytest.raises(Invalid):
            status.draft(s, world.comms_a, "ville-a", "teleportation", Level.DOWN, "a", "b")
        with pytest.raises(Invalid):
            status.draft(s, world.comms_a, "ville-a", "email", Level.DOWN, "fr only", " ")
        with pytest.raises(NotFound):
            status.draft(s, world.comms_a, "agglo", "email", Level.DOWN, "a", "b")  # not a town
        with pytest.raises(NotFound):
            status.public_page(s, "nowhere")


def test_latest_approved_wins_and_history_keeps_all(world: World) -> None:
    _publish(world)
    with transaction(world.engine) as s:
        d = status.draft(s, world.comms_a, "ville-a", "email", Level.DEGRADED, "Lent", "Slow")
        status.review(s, world.official_a, d.id, approve=True)
        r = status.draft(s, world.comms_a, "ville-a", "email", Level.WORKING, "Non", "No")
        status.review(s, world.official_a, r.id, approve=False)
        page = status.public_page(s, "ville-a")
    assert [(x.service.key, x.level) for x in page.services] == [("email", Level.DEGRADED)]
    assert [h.level for h in page.history] == [Level.DEGRADED, Level.DOWN]


def test_published_version_moves_on_approval_only(world: World) -> None:
    with transaction(world.engine) as s:
        v0 = status.published_version(s)
        d = status.draft(s, world.comms_a, "ville-a", "schools", Level.WORKING, "Ouvertes", "Open")
        assert status.published_version(s) == v0
        status.review(s, world.official_a, d.id, approve=True)
        assert status.published_version(s) == v0 + 1


def test_atom_feed_is_valid_and_public(world: World) -> None:
    _publish(world)
    with transaction(world.engine) as s:
        page = status.public_page(s, "ville-a")
    for lang, word in (("fr", "Messagerie coupée"), ("en", "E-mail is down")):
        feed = ET.fromstring(site.atom_feed(page, lang, base_url="https://status.example"))
        assert feed.tag == f"{ATOM}feed"
        for required in ("id", "title", "updated", "author"):
            assert feed.find(f"{ATOM}{required}") is not None, required
        entries = feed.findall(f"{ATOM}entry")
        assert len(entries) == 1
        for required in ("id", "title", "updated", "content"):
            assert entries[0].find(f"{ATOM}{required}") is not None, required
        assert word in (entries[0].findtext(f"{ATOM}content") or "")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", feed.findtext(f"{ATOM}updated"))


def test_public_html_escapes_and_hides_internal_data(world: World) -> None:
    _publish(world)
    with transaction(world.engine) as s:
        page = status.public_page(s, "ville-a")
    html_fr = site.render_html(page, "fr")
    html_en = site.render_html(page, "en")
    assert "Messagerie coupée" in html_fr and "Interrompu" in html_fr
    assert "E-mail is down" in html_en and "Down" in html_en
    for html in (html_fr, html_en):
        assert "&lt;b&gt;" in html and "<b>" not in html
        assert "@" not in html  # no author, no e-mail address
        assert "<script" not in html


def test_static_export_has_pages_feeds_and_no_external_asset(world: World, tmp_path: Path) -> None:
    _publish(world)
    with transaction(world.engine) as s:
        files = site.export_static(s, tmp_path / "site")
    names = {p.relative_to(tmp_path / "site").as_posix() for p in files}
    assert {
        "index.html",
        "ville-a/index.html",
        "ville-a/en.html",
        "ville-a/feed.atom",
        "ville-b/feed.en.atom",
    } <= names
    assert "Messagerie coupée" in (tmp_path / "site/ville-a/index.html").read_text()
    for path in files:
        body = path.read_text()
        if path.suffix == ".html":
            refs = re.findall(r'(?:src|href)="([^"]*)"', body)
            assert refs and all("//" not in r and not r.startswith("/") for r in refs), refs
        else:
            ET.fromstring(body)
    with transaction(world.engine) as s, pytest.raises(NotFound):
        site.export_static(s, tmp_path / "x", ["nowhere"])
