"""`timeline detect`: Sigma rules evaluated over the incident's stored events.

Events are streamed in store order; each is decoded once into its fields and tested only
against the rules whose log source covers its parser, channel and event id.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, func, select

from rempart.forensics._db import incident_id, insert_ignoring
from rempart.forensics._fields import fields_for
from rempart.forensics._time import iso_from_us
from rempart.forensics.sigma import Prepared, RuleSet, builtin_rules_dir, load_rules
from rempart.forensics.sigma._correlate import Correlator
from rempart.store.models import utcnow
from rempart.store.timeline import EVENTS, MATCHES

_BATCH = 2000
#: levels that make `detect` exit 1 (something needs attention)
ATTENTION = {"medium", "high", "critical"}
Progress = Callable[[int, int], None]  # (events done, total)


@dataclass(frozen=True)
class Match:
    rule_id: str
    rule_title: str
    level: str
    timestamp: str
    host: str
    event_record_id: int | None
    event: int  # the store's event id: what `story` and `show` cite
    channel: str
    event_id: int | None


@dataclass
class DetectSummary:
    incident: str
    rules: RuleSet
    events: int = 0
    matches: int = 0
    by_level: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    #: (rule id, message) of rules that failed on an event: reported, never fatal
    rule_errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def attention(self) -> bool:
        return any(self.by_level.get(level) for level in ATTENTION)


def rule_dirs(given: Iterable[Path], builtin: bool = True) -> list[Path]:
    return [*([builtin_rules_dir()] if builtin else []), *given]


def detect(
    engine: Engine,
    incident: str,
    ruleset: RuleSet,
    *,
    out: IO[str] | None = None,
    progress: Progress | None = None,
) -> DetectSummary:
    """Run `ruleset` over every event of `incident`; store the matches, write them to `out`."""
    inc = incident_id(engine, incident, create=False)
    summary = DetectSummary(incident, ruleset)
    events = EVENTS.c
    columns = (
        events.id,
        events.source,
        events.channel,
        events.event_id,
        events.ts_us,
        events.host,
        events.record_id,
        events.account,
        events.src_addr,
        events.command_line,
        events.message,
        events.raw,
    )
    with engine.connect() as conn:
        total = int(conn.scalar(select(func.count()).where(events.incident_id == inc)) or 0)
        stream = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
            select(*columns).where(events.incident_id == inc).order_by(events.id)
        )
        correlator = Correlator(ruleset.correlations)
        for part in stream.partitions(_BATCH):
            found: list[Match] = []
            for row in part:
                found.extend(_evaluate(ruleset, row, summary, correlator))
            summary.events += len(part)
            _store(engine, inc, found, ruleset, summary, out)
            if progress:
                progress(summary.events, total)
    return summary


def _evaluate(
    ruleset: RuleSet, row: Any, summary: DetectSummary, correlator: Correlator
) -> list[Match]:
    rules = ruleset.candidates(row.source, row.channel, row.event_id)
    if not rules:
        return []
    try:
        fields = Prepared(fields_for(row))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        summary.rule_errors.append(("-", f"event {row.id}: undecodable record ({exc})"))
        return []
    found = []
    for rule in rules:
        try:
            hit = rule.predicate(fields)
        except (TypeError, ValueError, AttributeError) as exc:  # a rule shape we misread
            if len(summary.rule_errors) < 100:
                summary.rule_errors.append((rule.id, str(exc)))
            continue
        if not hit:
            continue
        found.append(_match(rule.id, rule.title, rule.level, row))
        if correlator.rules:
            for done in correlator.feed(rule.id, row.ts_us, fields.text):
                found.append(_match(done.id, done.title, done.level, row))
    return found


def _match(rule_id: str, title: str, level: str, row: Any) -> Match:
    when = "" if row.ts_us is None else iso_from_us(row.ts_us)
    return Match(
        rule_id, title, level, when, row.host, row.record_id, row.id, row.channel, row.event_id
    )


def _store(
    engine: Engine,
    inc: int,
    found: list[Match],
    ruleset: RuleSet,
    summary: DetectSummary,
    out: IO[str] | None,
) -> None:
    if not found:
        return
    story = {r.id: r.story for r in ruleset.rules if r.story}
    story.update({c.id: c.story for c in ruleset.correlations if c.story})
    now = utcnow()
    rows = [
        {
            "incident_id": inc,
            "event_pk": m.event,
            "rule_id": m.rule_id[:64],
            "rule_title": m.rule_title,
            "level": m.level,
            "story": story.get(m.rule_id, ""),
            "detected_at": now,
        }
        for m in found
    ]
    with engine.begin() as conn:
        insert_ignoring(conn, MATCHES, rows)
    for match in found:
        summary.matches += 1
        summary.by_level[match.level] += 1
        summary.by_rule[f"{match.rule_title} ({match.rule_id})"] += 1
        if out is not None:
            out.write(json.dumps(match.__dict__, ensure_ascii=False) + "\n")


__all__ = ["DetectSummary", "Match", "detect", "load_rules", "rule_dirs"]
