"""Sigma `event_count` correlations: N matches of the named rules, per group, within a span.

Events arrive in store order (each log in its own time order), so one sliding window of
match times per group is enough, and memory stays bounded by the span, not the log.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)

from rempart.forensics.sigma._values import Unsupported


@dataclass(frozen=True)
class CorrelationRule:
    id: str
    title: str
    level: str
    story: str
    rule_ids: frozenset[str]
    group_by: tuple[str, ...]
    span_us: int
    threshold: int  # at least this many matches in the span


def compile_correlation(rule: SigmaCorrelationRule) -> CorrelationRule:
    """Raises Unsupported for anything but `event_count` with gte/gt."""
    condition = rule.condition
    if rule.type is not SigmaCorrelationType.EVENT_COUNT:
        raise Unsupported(f"correlation type {rule.type.name.lower()}")
    if not isinstance(condition, SigmaCorrelationCondition) or condition.fieldref:
        raise Unsupported("correlation condition on a field")
    if condition.op is SigmaCorrelationConditionOperator.GTE:
        threshold = int(condition.count)
    elif condition.op is SigmaCorrelationConditionOperator.GT:
        threshold = int(condition.count) + 1
    else:
        raise Unsupported(f"correlation condition {condition.op.name.lower()}")
    ids = frozenset(str(ref.rule.id) for ref in rule.rules or [])
    level = rule.level.name.lower() if rule.level else "informational"
    story = str((rule.custom_attributes or {}).get("rempart_story", ""))
    return CorrelationRule(
        str(rule.id or rule.title),
        rule.title,
        level,
        story,
        ids,
        tuple(rule.group_by or ()),
        rule.timespan.seconds * 1_000_000,
        threshold,
    )


@dataclass
class Correlator:
    rules: list[CorrelationRule]
    _windows: dict[tuple[str, tuple[str, ...]], deque[int]] = field(default_factory=dict)

    def feed(
        self, rule_id: str, ts_us: int | None, values: dict[str, str]
    ) -> list[CorrelationRule]:
        """A match of `rule_id` at `ts_us`: the correlations it completes (window then reset)."""
        fired: list[CorrelationRule] = []
        if ts_us is None:
            return fired
        for rule in self.rules:
            if rule_id not in rule.rule_ids:
                continue
            key = (rule.id, tuple(values.get(g, "") for g in rule.group_by))
            window = self._windows.setdefault(key, deque())
            window.append(ts_us)
            while window and ts_us - window[0] > rule.span_us:
                window.popleft()
            if len(window) >= rule.threshold:
                fired.append(rule)
                window.clear()  # one alert per full window, not one per event after it
        return fired
