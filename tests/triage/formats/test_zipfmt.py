"""ZIP validator: real OOXML, OpenDocument, EPUB, JAR, APK and encrypted ZIPs; damage caught."""

from __future__ import annotations

import io
import struct
import tempfile
import zipfile
from functools import cache

import docx
import openpyxl
import pptx
import pytest
import pyzipper
from _container_samples import (
    DAMAGE,
    appended,
    assert_damaged,
    assert_trailer,
    assert_valid,
    check,
    deflate_zeros,
    noise,
    timed,
)
from odf.opendocument import OpenDocumentPresentation, OpenDocumentSpreadsheet, OpenDocumentText
from odf.text import P

from rempart.triage.formats import VALIDATORS, identify
from rempart.triage.sample import from_bytes, take


def _docx() -> bytes:
    document = docx.Document()
    for i in range(40):
        document.add_paragraph(f"Délibération du conseil municipal n°{i}: budget des écoles.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    for row in range(200):
        book.active.append([row, f"facture {row}", row * 1.5])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pptx() -> bytes:
    deck = pptx.Presentation()
    for i in range(3):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Plan de reprise {i}"
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def _odf(kind: str) -> bytes:
    document = {
        "odt": OpenDocumentText,
        "ods": OpenDocumentSpreadsheet,
        "odp": OpenDocumentPresentation,
    }[kind]()
    if kind == "odt":
        for i in range(50):
            document.text.addElement(P(text=f"Compte rendu, point {i}"))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def _zip(files: dict[str, bytes], *, first_stored: bool = False, **options: object) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, **options) as archive:  # type: ignore[arg-type]
        for i, (name, data) in enumerate(files.items()):
            method = zipfile.ZIP_STORED if first_stored and i == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return out.getvalue()


_TEXT = b"".join(b"ligne %d du registre\n" % i for i in range(3000))


@cache
def sample(kind: str) -> bytes:
    if kind == "docx":
        return _docx()
    if kind == "xlsx":
        return _xlsx()
    if kind == "pptx":
        return _pptx()
    if kind in ("odt", "ods", "odp"):
        return _odf(kind)
    if kind == "epub":
        files = {"mimetype": b"application/epub+zip", "OEBPS/ch1.xhtml": _TEXT}
        return _zip(files, first_stored=True)
    if kind == "jar":
        return _zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "a/B.class": _TEXT})
    if kind == "apk":
        files = {
            "AndroidManifest.xml": _TEXT[:900],
            "classes.dex": _TEXT,
            "META-INF/MANIFEST.MF": b"",
        }
        return _zip(files)
    return _zip(
        {"registre.txt": _TEXT, "notes/lisez-moi.txt": b"bonjour", "random.bin": noise(6000)}
    )


KINDS = ["docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar", "apk", "zip"]


@pytest.mark.parametrize("kind", KINDS)
def test_real_files_are_valid_with_their_format(kind: str) -> None:
    data = sample(kind)
    result = check("zip", data)
    assert_valid(result, kind)
    assert result.dense and result.end == len(data)
    assert identify(from_bytes(data, "renamed.bin")) == result


def test_prefix_and_comment_are_understood() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.comment = b"archive des services techniques"
        archive.writestr("registre.txt", _TEXT)
    data = b"MZ" + noise(3000) + out.getvalue()  # a self-extractor stub before the archive
    result = check("zip", data)
    assert_valid(result, "zip")
    assert result.end == len(data)
    assert any("3002 bytes before the archive" in e for e in result.evidence)


def _as_zip64(data: bytes) -> bytes:
    """Rewrite the end of central directory as ZIP64 records, as large archives have them."""
    eocd = data.rfind(b"PK\x05\x06")
    count, cd_size, cd_off = struct.unpack_from("<HII", data, eocd + 10)
    record = struct.pack(
        "<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_off
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd, 1)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:eocd] + record + locator + end


def test_zip64_end_records_are_followed() -> None:
    data = _as_zip64(sample("docx"))
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) > 5
    result = check("zip", data)
    assert_valid(result, "docx")
    prefixed = b"MZ" + noise(900) + data  # a self-extractor: ZIP64 locator offsets are relative
    assert_valid(check("zip", prefixed), "docx")
    broken = bytearray(data)
    broken[broken.rfind(b"PK\x06\x06") + 1] ^= 0xFF
    assert_damaged(check("zip", bytes(broken)))


def test_aes_zip_is_owner_encrypted() -> None:
    out = io.BytesIO()
    with pyzipper.AESZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as z:
        z.setpassword(b"mot de passe")
        z.writestr("paie.csv", _TEXT)
    result = check("zip", out.getvalue())
    assert_valid(result, "zip", locked=True)
    assert any("AES" in e for e in result.evidence)


def test_traditional_encryption_flag_is_owner_encrypted() -> None:
    data = bytearray(sample("zip"))
    # Set flag bit 0 on every local and central header, as ZipCrypto writers do.
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(sig)
        while pos >= 0:
            data[pos + at] |= 1
            pos = data.find(sig, pos + 4)
    assert_valid(check("zip", bytes(data)), "zip", locked=True)


@pytest.mark.parametrize("kind", ["docx", "odt", "zip"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_archives_are_invalid(kind: str, damage: str) -> None:
    assert_damaged(check("zip", DAMAGE[damage](sample(kind))))


def test_destroyed_head_is_still_claimed_and_named_from_the_tail() -> None:
    data = DAMAGE["first_4k"](sample("docx"))
    result = identify(from_bytes(data, "x.docx"))
    assert result is not None and result.format == "docx" and not result.valid
    assert "offset 0" in result.evidence[0]


def test_trailer_after_end_of_archive_is_reported() -> None:
    data = sample("xlsx")
    result = check("zip", appended(data))
    assert_trailer(result, len(data))
    assert result.format == "xlsx"


def test_broken_central_directory_entry_is_invalid() -> None:
    data = bytearray(sample("zip"))
    last = data.rfind(b"PK\x01\x02")
    data[last + 1] ^= 0xFF
    result = check("zip", bytes(data))
    assert_damaged(result)
    assert "central directory" in result.evidence[0]


def test_central_directory_offset_outside_file_is_invalid() -> None:
    data = bytearray(sample("zip"))
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, eocd + 12, 10**8)  # central directory size
    assert_damaged(check("zip", bytes(data)))


def test_zip_bomb_costs_nothing() -> None:
    stream, crc = deflate_zeros(1 << 30)
    name = b"bomb.bin"
    local = struct.pack(
        "<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(stream), 1 << 30, len(name), 0
    )
    central = struct.pack(
        "<4s6H3I5H2I",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0,
        crc,
        len(stream),
        1 << 30,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    cd_off = len(local) + len(name) + len(stream)
    cd = central + name
    eocd = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), cd_off, 0)
    data = local + name + stream + cd + eocd
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("bomb.bin").file_size == 1 << 30
    # A real file read through its descriptor, so that extra reads count against the budget.
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        fd = handle.fileno()
        file_sample = take(fd, len(data), "bomb.zip")
        result, seconds = timed(lambda: VALIDATORS["zip"].validate(file_sample))
        assert_valid(result, "zip")
        assert seconds < 0.5
        assert file_sample._spent < 64 * 1024  # what it read beyond head and tail
