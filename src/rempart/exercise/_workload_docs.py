"""Workloads on documents: Office re-saves, photo imports, PDF exports."""

# Document libraries are imported where used: `rempart` starts for every command.
# ruff: noqa: PLC0415

from __future__ import annotations

import datetime as dt
import io
import textwrap
import zipfile
from typing import Any
from xml.etree.ElementTree import ParseError

from rempart.exercise._docs import _template, rezip
from rempart.exercise._workload_core import OUTPUT_DIR, WORKLOADS, Session

SAVES = 3  # how many times each document is saved, as someone editing it would
# What python-docx, openpyxl, odfpy and Pillow raise on a file they cannot read (an
# owner-encrypted document is an OLE container, not a zip): recorded as skipped.
_UNREADABLE = (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError, TypeError)
_EDITS = (
    "Relu et validé par le service.",
    "Mise à jour suite à la réunion de service.",
    "Correction d'une coquille.",
    "Ajout des observations du maire adjoint.",
)


def _pinned(data: bytes, when: dt.datetime) -> bytes:
    """The saved document with the dates the libraries stamp ("now") set to `when`."""
    return rezip(_template(data), when, None)


def _docx_edit(data: bytes, text: str) -> bytes:
    import docx

    doc = docx.Document(io.BytesIO(data))
    doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _xlsx_edit(data: bytes, text: str) -> bytes:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    ws.cell(row=ws.max_row + 1, column=1, value=text)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@WORKLOADS.register("office-save")
def office_save(s: Session) -> None:
    """Open and re-save Word and Excel documents a few times, atomically like Office."""
    sources = s.sources([".docx", ".xlsx"])
    s.rng.shuffle(sources)
    for path in sources:
        tmp = path.with_name(f"~${path.name}.tmp")
        if not s.fits(path, tmp):
            return
        edit = _docx_edit if path.suffix.lower() == ".docx" else _xlsx_edit
        data = s.read(path)
        for n in range(SAVES):
            try:
                data = edit(data, s.rng.choice(_EDITS))
            except _UNREADABLE as exc:
                s.skip(path, f"cannot be opened ({type(exc).__name__}: {exc})")
                break
            when = s.when + dt.timedelta(seconds=len(s.touched) * 60 + n)
            s.replace(path, _pinned(data, when), tmp)


@WORKLOADS.register("photo-import")
def photo_import(s: Session) -> None:
    """Import photos: re-encode JPEGs at half size into `workload/photos/<year>/`."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    folder = None
    for path in s.sources([".jpg", ".jpeg"]):
        year = path.parent.name if path.parent.name.isdigit() else "divers"
        target = (folder or s.root / OUTPUT_DIR) / year / f"{path.stem}.jpg"
        if not s.fits(path, target):
            return
        if folder is None:
            folder = s.output("photos")
            target = folder / year / f"{path.stem}.jpg"
        try:
            with Image.open(io.BytesIO(s.read(path))) as img:
                img.load()
                small = ImageOps.exif_transpose(img).convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            s.skip(path, f"not a readable image ({exc})")
            continue
        small = small.reduce(2) if min(small.size) >= 2 else small
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=82, optimize=True)
        s.mkdirs(target.parent)
        s.create(s.free(target), buf.getvalue())


def _docx_text(data: bytes) -> list[str]:
    import docx

    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def _odt_text(data: bytes) -> list[str]:
    from odf import opendocument, teletype, text

    doc = opendocument.load(io.BytesIO(data))
    return [teletype.extractText(p) for p in doc.getElementsByType(text.P)]


def _pdf(title: str, paragraphs: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c: Any = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setFont("Helvetica", 10)
    y = 790
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, 95) or [""]:
            if y < 60:
                c.showPage()
                c.setFont("Helvetica", 10)
                y = 790
            c.drawString(60, y, line)
            y -= 13
    c.showPage()
    c.save()
    return buf.getvalue()


@WORKLOADS.register("to-pdf")
def to_pdf(s: Session) -> None:
    """Export Word and Writer documents' text to PDF into `workload/export-pdf/`."""
    folder = None
    for path in s.sources([".docx", ".odt"]):
        rel = path.relative_to(s.root).with_suffix(".pdf")
        target = (folder or s.root / OUTPUT_DIR / "export-pdf").joinpath(*rel.parts)
        if not s.fits(path, target):
            return
        if folder is None:
            folder = s.output("export-pdf")
            target = folder.joinpath(*rel.parts)
        data = s.read(path)
        try:
            lines = (_docx_text if path.suffix.lower() == ".docx" else _odt_text)(data)
        except _UNREADABLE as exc:
            s.skip(path, f"cannot be opened ({type(exc).__name__}: {exc})")
            continue
        s.mkdirs(target.parent)
        s.create(s.free(target), _pdf(path.stem, lines))
