"""PDF validator: reportlab and pikepdf output (encrypted, xref streams, linearized), damaged."""

from __future__ import annotations

import io
import re
from functools import cache

import pikepdf
import pytest
from _container_samples import (
    DAMAGE,
    appended,
    assert_damaged,
    assert_trailer,
    assert_valid,
    check,
    noise,
)
from reportlab.pdfgen import canvas

from rempart.triage.formats import identify
from rempart.triage.sample import from_bytes


@cache
def report(compress: bool = True) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pageCompression=1 if compress else 0)
    for number in range(20):
        for line in range(40):
            page.drawString(72, 800 - 18 * line, f"Arrêté municipal {number}-{line}: voirie")
        page.showPage()
    page.save()
    return out.getvalue()


@cache
def rewritten(**options: object) -> bytes:
    with pikepdf.open(io.BytesIO(report())) as document:
        out = io.BytesIO()
        document.save(out, **options)  # type: ignore[arg-type]
        return out.getvalue()


def _locked(**options: object) -> bytes:
    return rewritten(encryption=pikepdf.Encryption(owner="maire", user="conseil"), **options)


def test_reportlab_pdf_is_valid_and_dense() -> None:
    result = check("pdf", report())
    assert_valid(result, "pdf")
    assert result.dense and result.end == len(report())
    assert identify(from_bytes(report(), "scan.bin")) == result


def test_uncompressed_pdf_is_not_dense() -> None:
    result = check("pdf", report(compress=False))
    assert_valid(result, "pdf")
    assert not result.dense


@pytest.mark.parametrize(
    "options",
    [{}, {"linearize": True}, {"object_stream_mode": pikepdf.ObjectStreamMode.generate}],
    ids=["qpdf", "linearized", "xref-stream"],
)
def test_rewritten_pdfs_are_valid(options: dict[str, object]) -> None:
    assert_valid(check("pdf", rewritten(**options)), "pdf")


@pytest.mark.parametrize(
    "options",
    [{}, {"object_stream_mode": pikepdf.ObjectStreamMode.generate}],
    ids=["xref-table", "xref-stream"],
)
def test_password_protected_pdf_is_owner_encrypted(options: dict[str, object]) -> None:
    result = check("pdf", _locked(**options))
    assert_valid(result, "pdf", locked=True)
    assert any("/Encrypt" in e for e in result.evidence)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_pdf_is_invalid(damage: str) -> None:
    assert_damaged(check("pdf", DAMAGE[damage](report())))


def test_destroyed_header_is_claimed_from_the_trailer() -> None:
    result = identify(from_bytes(DAMAGE["first_4k"](report()), "x.pdf"))
    assert result is not None and result.format == "pdf" and not result.valid


def test_body_replaced_by_random_bytes_is_invalid() -> None:
    data = report()
    xref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    # Header line kept, trailer (xref table, trailer, startxref) kept, everything between random.
    body = data[:9] + noise(xref - 9) + data[xref:]
    result = check("pdf", body)
    assert_damaged(result)
    # With the first objects kept too, the xref table's offsets give the body away.
    body = data[:2048] + noise(xref - 2048) + data[xref:]
    result = check("pdf", body)
    assert_damaged(result)
    assert "xref" in result.evidence[0]


def test_startxref_pointing_nowhere_is_invalid() -> None:
    data = report()
    xref = re.findall(rb"startxref\s+(\d+)", data)[-1]
    wrong = data.replace(b"startxref\n" + xref, b"startxref\n" + str(int(xref) - 40).encode())
    result = check("pdf", wrong)
    assert_damaged(result)
    assert "startxref" in result.evidence[0]


def test_garbage_after_eof_is_tolerated_and_said() -> None:
    data = report()
    result = check("pdf", appended(data))
    assert_trailer(result, len(data))
    assert_valid(check("pdf", data + b"\r\n\n  \x00"), "pdf")


def test_large_trailer_is_reported() -> None:
    data = report()
    result = check("pdf", data + noise(20000))
    assert_trailer(result, len(data))
    assert "20000 bytes after end" in result.evidence[-1]


def test_bytes_before_the_header_shift_the_offsets() -> None:
    # Print spoolers and EMF pictures put bytes before the header; offsets count from it.
    data = b"\x01\x00\x00\x00" + noise(300) + report()
    result = check("pdf", data)
    assert_valid(result, "pdf")
    assert any("304 bytes before the header" in e for e in result.evidence)
