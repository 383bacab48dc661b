"""`render_terminal`: the compact end-of-scan summary printed by `rempart scan`."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rempart.report import svg
from rempart.report.html import damaged, family_label, indicators, top_rows, verdict_keys
from rempart.report.i18n import Messages, printable
from rempart.report.model import ScanSummary

TOP_FOLDERS = 5
TOP_FAMILIES = 6
TOP_INDICATORS = 12


def _text(value: str, style: str = "") -> Text:
    # Text, never a markup string: a file name like "[red]x" must print as itself, and
    # control characters (ESC...) are shown escaped so a name cannot drive the terminal.
    return Text(printable(value), style=style)


def _verdict(t: Messages, verdict: str) -> Text:
    return Text.assemble(("■ ", svg.colour(verdict)), t.verdict(verdict))


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", overflow="fold")
    return table


def render_terminal(summary: ScanSummary, console: Console, lang: str = "en") -> None:
    """Print totals per verdict, top folders, families, the encryption window and indicators."""
    t, s = Messages(lang), summary
    status = t(f"status.{s.status}") if f"status.{s.status}" in t.catalog else s.status
    head = [Text(f"{t('scan')} {s.scan_id}", "bold"), _text(s.incident), _text(s.root, "cyan")]
    head += [
        _text(status),
        Text(f"{t.number(s.total_files)} {t('files')}, {t.size(s.total_bytes)}"),
    ]
    console.print(Text(" · ").join(head))
    if s.status in ("interrupted", "running"):
        console.print(Text(t(f"banner.{s.status}"), style="bold #D55E00"))

    verdicts = _table(t("section.verdicts"), t("verdict"), t("col.files"), t("share"))
    for v in verdict_keys(s.by_verdict):
        n = s.by_verdict[v]
        verdicts.add_row(_verdict(t, v), t.number(n), t.percent(n, s.total_files))
    verdicts.add_row(Text(t("total"), "bold"), t.number(s.total_files), "")
    console.print(verdicts)

    folders = top_rows(
        s.by_folder, TOP_FOLDERS, lambda r: (-damaged(r[1]), -sum(r[1].values()), r[0]), t
    )
    if folders:
        table = _table(t("section.folders"), t("folder"), t("col.files"), t("damaged"), t("share"))
        for name, counts in folders:
            total, hit = sum(counts.values()), damaged(counts)
            label = t("folder.root") if name == "." else name
            table.add_row(_text(label), t.number(total), t.number(hit), t.percent(hit, total))
        console.print(table)

    families = sorted(s.by_family.items(), key=lambda r: (-r[1], r[0]))[:TOP_FAMILIES]
    if families:
        parts: list[Text | str] = [Text(f"{t('section.families')}{t('sep')}", "bold")]
        for i, (family, n) in enumerate(families):
            parts += [
                ", " if i else "",
                _text(family_label(family, t), "bold"),
                f" ({t.number(n)})",
            ]
        console.print(Text.assemble(*parts))

    window = Text(f"{t('section.window')}{t('sep')}", "bold")
    if s.window:
        first, last = s.window
        window.append(f"{t.when(first)} → {t.when(last)} ({t.duration(last - first)})")
    else:
        window.append(t("window.none"))
    console.print(window)

    found = [(kind, value) for kind, values in indicators(s.notes, t).items() for value in values]
    if found:
        # One line per value, never folded by Rich: a wallet cut in two cannot be pasted.
        console.print(Text(t("section.indicators"), "bold"))
        pad = max(len(kind) for kind, _ in found[:TOP_INDICATORS])
        for kind, value in found[:TOP_INDICATORS]:
            line = Text.assemble(f"  {kind:<{pad}}  ", _text(value, "bold"))
            console.print(line, soft_wrap=True)
        if len(found) > TOP_INDICATORS:
            console.print(Text(f"  {t('more_rows', n=len(found) - TOP_INDICATORS)}", "dim"))
