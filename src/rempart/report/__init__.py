"""Scan reports: the summary model, the self-contained HTML page and the terminal summary."""

from __future__ import annotations

from rempart.report.html import render_html
from rempart.report.model import FileRow, NoteRow, ScanSummary
from rempart.report.terminal import render_terminal

__all__ = ["FileRow", "NoteRow", "ScanSummary", "render_html", "render_terminal"]
