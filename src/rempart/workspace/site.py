"""The public status page as HTML and Atom, and the static site that can be hosted outside.

One renderer serves both the web workspace and `rempart status export`, so the page residents
see is the same wherever it is hosted. The HTML has no external asset (styles inline unless a
stylesheet path is given) and no script.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from rempart.workspace.status import (
    LEVEL_LABELS,
    SERVICES,
    Level,
    PublicPage,
    Service,
    ServiceStatus,
    public_page,
    towns,
)

ATOM = "http://www.w3.org/2005/Atom"
TEXT = {
    "fr": {
        "title": "État des services",
        "feed": "Flux Atom",
        "other": "English",
        "updated": "Mis à jour le",
        "none": "Aucune information publiée pour le moment.",
        "service": "Service",
        "status": "État",
        "message": "Information",
        "history": "Historique",
        "fraud": "La mairie ne vous demandera jamais vos coordonnées bancaires ni un mot de passe "
        "par courriel, SMS ou téléphone. En cas de doute, appelez l'accueil.",
    },
    "en": {
        "title": "Service status",
        "feed": "Atom feed",
        "other": "Français",
        "updated": "Updated",
        "none": "Nothing published yet.",
        "service": "Service",
        "status": "Status",
        "message": "Details",
        "history": "History",
        "fraud": "The town hall will never ask for your bank details or a password by e-mail, "
        "text message or phone. If in doubt, call the reception.",
    },
}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def level_label(level: Level, lang: str) -> str:
    fr, en = LEVEL_LABELS[level]
    return en if lang == "en" else fr


def service_label(service: Service, lang: str) -> str:
    return service.en if lang == "en" else service.fr


def render_html(
    page: PublicPage,
    lang: str = "fr",
    *,
    other_href: str | None = None,
    feed_href: str | None = None,
    css_href: str | None = None,
) -> str:
    """The town's public page in `lang` ("fr" or "en"); links default to the static layout."""
    lang = "en" if lang == "en" else "fr"

    def svc(key: str) -> str:
        return service_label(SERVICES[key], lang) if key in SERVICES else key

    def message(st: ServiceStatus) -> str:
        return st.message_en if lang == "en" else st.message_fr

    return _env.get_template("status.html.j2").render(
        page=page,
        lang=lang,
        t=TEXT[lang],
        other_lang="fr" if lang == "en" else "en",
        other_href=other_href or ("index.html" if lang == "en" else "en.html"),
        feed_href=feed_href or ("feed.en.atom" if lang == "en" else "feed.atom"),
        css_href=css_href,
        label=lambda s: service_label(s, lang),
        service_label=svc,
        level=lambda lv: level_label(lv, lang),
        message=message,
    )


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def atom_feed(page: PublicPage, lang: str = "fr", *, base_url: str = "") -> str:
    """An Atom 1.0 feed (RFC 4287) of the town's published status changes, newest first."""
    lang = "en" if lang == "en" else "fr"
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": lang})

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    # Ids must never change: a tag-like URN from the slug, not the host it is served from.
    sub(feed, "id", f"urn:rempart:status:{page.slug}:{lang}")
    sub(feed, "title", f"{page.name} — {TEXT[lang]['title']}")
    sub(feed, "updated", _stamp(page.updated_at or datetime(2000, 1, 1, tzinfo=UTC)))
    author = sub(feed, "author")
    sub(author, "name", page.name)
    if base_url:
        root = base_url.rstrip("/")
        sub(feed, "link", rel="alternate", href=f"{root}/" + ("en.html" if lang == "en" else ""))
    for u in page.history:
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:rempart:status:{page.slug}:update:{u.id}")
        svc = SERVICES[u.service] if u.service in SERVICES else Service(u.service, u.service, "")
        title = f"{service_label(svc, lang) or u.service}: {level_label(u.level, lang)}"
        sub(entry, "title", title)
        sub(entry, "updated", _stamp(u.reviewed_at or u.drafted_at))
        sub(entry, "content", u.message_en if lang == "en" else u.message_fr, type="text")
    body = ET.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def export_static(s: Session, dest: Path, only: list[str] | None = None) -> list[Path]:
    """Write every town's page (fr, en) and feeds under `dest`/<slug>/; return the files.

    Raises:
        NotFound: a town named in `only` does not exist.
    """
    slugs = only or towns(s)
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pages = [public_page(s, slug) for slug in slugs]
    for page in pages:
        folder = dest / page.slug
        folder.mkdir(exist_ok=True)
        for name, text in (
            ("index.html", render_html(page, "fr")),
            ("en.html", render_html(page, "en")),
            ("feed.atom", atom_feed(page, "fr")),
            ("feed.en.atom", atom_feed(page, "en")),
        ):
            _write(folder / name, text)
            written.append(folder / name)
    links = "".join(f'<li><a href="{p.slug}/index.html">{_esc(p.name)}</a></li>' for p in pages)
    index = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>État des services'
        f" / Service status</title></head><body><h1>État des services / Service status</h1>"
        f"<ul>{links}</ul></body></html>\n"
    )
    _write(dest / "index.html", index)
    written.append(dest / "index.html")
    return written


def _esc(text: str) -> str:
    from html import escape  # noqa: PLC0415  # one use

    return escape(text)
