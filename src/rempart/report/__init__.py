"""Scan reports: the summary model, the self-contained HTML page and the terminal summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rempart.report.model import FileRow, NoteRow, ScanSummary

if TYPE_CHECKING:
    from rempart.report.html import render_html
    from rempart.report.terminal import render_terminal

__all__ = ["FileRow", "NoteRow", "ScanSummary", "render_html", "render_terminal"]


def __getattr__(name: str) -> Any:
    # The renderers load on first use: a scan imports the summary model on its hot path,
    # and jinja2 (for the HTML page) only when a report is asked for.
    if name == "render_html":
        from rempart.report.html import render_html  # noqa: PLC0415

        return render_html
    if name == "render_terminal":
        from rempart.report.terminal import render_terminal  # noqa: PLC0415

        return render_terminal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
