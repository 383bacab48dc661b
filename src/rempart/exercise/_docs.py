"""Office documents made with the real libraries, then varied cheaply per file.

python-docx, openpyxl, python-pptx and odfpy are slow (tens of ms per document), so each
process makes a few template documents per seed whose text is placeholder tokens, and each
file substitutes French sentences into the XML and re-zips it (about 1 ms). Re-zipping also
pins every date the libraries embed ("now" in zip entries and core properties) to the file's
own date, so a seed always gives the same bytes.
"""

# Document libraries are imported where used: `rempart` starts for every command, and only
# `exercise build` needs them.
# ruff: noqa: PLC0415

from __future__ import annotations

import datetime as dt
import io
import random
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from rempart.exercise import _media
from rempart.exercise._content import Words

_TOKEN = re.compile(r"ZQ(\d{3})QZ")
_DATES = re.compile(
    rb"(<(dcterms:created|dcterms:modified|dc:date|meta:creation-date)[^>]*>)[^<]*(</\2>)"
)
_TEMPLATES: dict[tuple[int, str, int], _Template] = {}
VARIANTS = 3


def _token(i: int) -> str:
    return f"ZQ{i:03d}QZ"


@dataclass(frozen=True)
class _Member:
    name: str
    method: int  # zipfile.ZIP_STORED or ZIP_DEFLATED
    external_attr: int
    body: bytes
    dynamic: bool  # holds tokens or dates: re-made per file; otherwise compressed once


@dataclass
class _Template:
    members: list[_Member]
    packed: dict[str, tuple[int, int, bytes]] = field(default_factory=dict)  # crc, size, data


def _pack(member: _Member, body: bytes) -> tuple[int, int, bytes]:
    if member.method == zipfile.ZIP_STORED:
        return zlib.crc32(body), len(body), body
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return zlib.crc32(body), len(body), comp.compress(body) + comp.flush()


def _canonical(xml: bytes) -> bytes:
    """The same XML with attributes and namespace declarations in a fixed order.

    odfpy writes them in set/dict order, which changes with each interpreter's hash seed:
    without this, ODF files would differ between two runs with the same seed.
    """
    text = ET.canonicalize(xml_data=xml.decode("utf-8"))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text.encode("utf-8")


def _template(data: bytes, *, canonical: bool = False) -> _Template:
    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        for info in src.infolist():
            body = src.read(info)
            if canonical and info.filename.endswith(".xml"):
                body = _canonical(body)
            dynamic = info.filename.endswith(".xml") and (
                b"ZQ" in body or bool(_DATES.search(body))
            )
            members.append(
                _Member(info.filename, info.compress_type, info.external_attr, body, dynamic)
            )
    template = _Template(members)
    for m in members:
        if not m.dynamic:
            template.packed[m.name] = _pack(m, m.body)
    return template


def rezip(
    template: _Template, when: dt.datetime, fill: Callable[[re.Match[str]], str] | None
) -> bytes:
    """The template's zip with its tokens filled and every date (entries, metadata) = `when`.

    Written by hand so that members without tokens are compressed once per template, not
    once per file: that is most of a document's members (styles, themes, settings).
    """
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    dos_time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    dos_date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    local, central = io.BytesIO(), io.BytesIO()
    for m in template.members:
        if m.dynamic:
            body = m.body
            if fill is not None and b"ZQ" in body:
                body = _TOKEN.sub(fill, body.decode("utf-8")).encode("utf-8")
            body = _DATES.sub(lambda g: g.group(1) + stamp + g.group(3), body)
            crc, size, data = _pack(m, body)
        else:
            crc, size, data = template.packed[m.name]
        name = m.name.encode("utf-8")
        flags = 0x800 if not name.isascii() else 0
        fields = (20, flags, m.method, dos_time, dos_date, crc, len(data), size, len(name))
        offset = local.tell()
        local.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name + data)
        central.write(
            struct.pack("<IH", 0x02014B50, 0x0314)
            + struct.pack("<HHHHHIIIHHHHHII", *fields, 0, 0, 0, 0, m.external_attr, offset)
            + name
        )
    count, cd = len(template.members), central.getvalue()
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(cd), local.tell(), 0)
    return local.getvalue() + cd + end


def _docx(rng: random.Random, variant: int, image: Callable[[int, int], bytes]) -> bytes:
    import docx
    from docx.shared import Cm

    doc = docx.Document()
    doc.add_heading(_token(0), level=1)
    doc.add_paragraph().add_run(_token(1)).italic = True
    n = 2
    for _section in range(1 + variant * 2):
        doc.add_heading(_token(n), level=2)
        n += 1
        for _ in range(rng.randint(2, 5)):
            doc.add_paragraph(_token(n))
            n += 1
    if variant >= 1:
        table = doc.add_table(rows=6, cols=3)
        for row in table.rows:
            for cell in row.cells:
                cell.text = _token(n)
                n += 1
    if variant == 2:
        doc.add_picture(io.BytesIO(image(900, 600)), width=Cm(12))
    return _save(doc)


def _save(obj: object) -> bytes:
    buf = io.BytesIO()
    obj.save(buf)  # type: ignore[attr-defined]  # python-docx, openpyxl and python-pptx alike
    return buf.getvalue()


def _xlsx(rng: random.Random, variant: int, image: Callable[[int, int], bytes]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Export"
    ws.append(["Nom", "Adresse", "Objet", "Montant", "Date"])
    n = 0
    for _ in range((20, 150, 600)[variant]):
        ws.append(
            [
                _token(n),
                _token(n + 1),
                _token(n + 2),
                round(rng.uniform(10, 90000), 2),
                dt.date(2020, rng.randint(1, 12), rng.randint(1, 28)),
            ]
        )
        n += 3
    wb.properties.creator = "mairie"
    return _save(wb)


def _pptx(rng: random.Random, variant: int, image: Callable[[int, int], bytes]) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    n = 0
    for s in range(3 + variant * 3):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = _token(n)
        slide.placeholders[1].text = _token(n + 1)
        n += 2
        if variant == 2 and s % 3 == 0:
            slide.shapes.add_picture(io.BytesIO(image(800, 600)), Inches(5), Inches(3), Inches(4))
    return _save(prs)


def _odt(rng: random.Random, variant: int, image: Callable[[int, int], bytes]) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text=_token(0)))
    for n in range(1, 4 + variant * 8):
        doc.text.addElement(P(text=_token(n)))
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def _ods(rng: random.Random, variant: int, image: Callable[[int, int], bytes]) -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Feuille1")
    n = 0
    for _ in range((15, 80, 300)[variant]):
        row = TableRow()
        for _col in range(2):
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=_token(n)))
            row.addElement(cell)
            n += 1
        cell = TableCell(valuetype="float", value=str(round(rng.uniform(1, 9999), 2)))
        row.addElement(cell)
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


MAKERS = {"docx": _docx, "xlsx": _xlsx, "pptx": _pptx, "odt": _odt, "ods": _ods}
_ODF = {"odt", "ods"}
_SHORT = {"xlsx", "ods"}  # spreadsheet cells hold names and short phrases, not paragraphs


def office(kind: str, seed: int, rng: random.Random, when: dt.datetime, title: str) -> bytes:
    """A document of `kind` for one file: a template of this seed with French text filled in."""
    variant = rng.choices(range(VARIANTS), weights=(6, 3, 1))[0]
    key = (seed, kind, variant)
    if key not in _TEMPLATES:
        trng = random.Random(f"template/{seed}/{kind}/{variant}")

        def image(width: int, height: int) -> bytes:
            return _media.encode(_media.picture(trng, seed, width, height), "jpeg")

        _TEMPLATES[key] = _template(MAKERS[kind](trng, variant, image), canonical=kind in _ODF)
    words = Words(rng)

    def fill(match: re.Match[str]) -> str:
        i = int(match.group(1))
        if kind in _SHORT:
            text = (words.person, words.address, words.sentence)[i % 3]()
        else:
            text = title if i == 0 else words.paragraph()
        return escape(text)

    return rezip(_TEMPLATES[key], when, fill)
