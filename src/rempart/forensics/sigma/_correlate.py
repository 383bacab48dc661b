"""Sigma correlations: `event_count`, `value_count`, `temporal` and `temporal_ordered`.

Events arrive in store order (each log in its own time order), so one sliding window of
match times per group is enough, and memory stays bounded by the span, not the log:
- event_count: at least N matches of the named rules, per group, within the span;
- value_count: at least N distinct values of a field among those matches (one account
  trying many passwords is event_count; one source trying many accounts is value_count);
- temporal: the named rules all matched (or at least N of them), per group, within the span;
- temporal_ordered: the named rules matched in the order listed, within the span.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)

from rempart.forensics.sigma._values import Unsupported

_KINDS = {
    SigmaCorrelationType.EVENT_COUNT: "event_count",
    SigmaCorrelationType.VALUE_COUNT: "value_count",
    SigmaCorrelationType.TEMPORAL: "temporal",
    SigmaCorrelationType.TEMPORAL_ORDERED: "temporal_ordered",
}
#: what pySigma gives a temporal rule written without a condition
_NO_CONDITION = SigmaCorrelationCondition(SigmaCorrelationConditionOperator.GTE, 1)


@dataclass(frozen=True)
class CorrelationRule:
    id: str
    title: str
    level: str
    story: str
    rule_ids: frozenset[str]
    group_by: tuple[str, ...]
    span_us: int
    threshold: int  # at least this many matches (distinct values, distinct rules) in the span
    kind: str = "event_count"
    field: str = ""  # value_count: the field whose distinct values are counted
    order: tuple[str, ...] = ()  # temporal_ordered: the rules, in the order they must match


def _threshold(condition: SigmaCorrelationCondition) -> int:
    if condition.op is SigmaCorrelationConditionOperator.GTE:
        return int(condition.count)
    if condition.op is SigmaCorrelationConditionOperator.GT:
        return int(condition.count) + 1
    # lt/lte/eq/neq need the window's end (a count that did NOT grow): not in a stream.
    raise Unsupported(f"correlation condition {condition.op.name.lower()}")


def compile_correlation(rule: SigmaCorrelationRule) -> CorrelationRule:
    """Raises Unsupported for other types, extended conditions, and lt/lte/eq/neq counts."""
    kind = _KINDS.get(rule.type)
    if kind is None:
        raise Unsupported(f"correlation type {rule.type.name.lower()}")
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition):
        raise Unsupported("extended correlation condition")
    order = tuple(str(ref.rule.id) for ref in rule.rules or [])
    ids = frozenset(order)
    fieldref = ""
    if kind == "value_count":
        if not isinstance(condition.fieldref, str) or not condition.fieldref:
            raise Unsupported("value_count correlation without one field")
        fieldref = condition.fieldref
    elif condition.fieldref:
        raise Unsupported("correlation condition on a field")
    if kind.startswith("temporal") and condition == _NO_CONDITION:
        threshold = len(ids)  # the specification's default: all the rules
    else:
        threshold = _threshold(condition)
    if kind == "temporal_ordered" and threshold != len(ids):
        raise Unsupported("temporal_ordered correlation on some of its rules")
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
        kind,
        fieldref,
        order if kind == "temporal_ordered" else (),
    )


@dataclass
class _Window:
    """Matches of one group within the span: (time, counted item), and the items' counts."""

    times: deque[tuple[int, str]] = field(default_factory=deque)
    items: Counter[str] = field(default_factory=Counter)
    #: temporal_ordered: per rule position, the latest start of a chain complete up to it
    starts: list[int | None] = field(default_factory=list)


@dataclass
class Correlator:
    rules: list[CorrelationRule]
    _windows: dict[tuple[str, tuple[str, ...]], _Window] = field(default_factory=dict)

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
            window = self._windows.setdefault(key, _Window())
            if rule.kind == "temporal_ordered":
                done = _ordered(window, rule, rule_id, ts_us)
            else:
                done = _counted(window, rule, rule_id, ts_us, values)
            if done:
                fired.append(rule)
                del self._windows[key]  # one alert per full window, not one per event after it
        return fired


def _counted(
    window: _Window, rule: CorrelationRule, rule_id: str, ts_us: int, values: dict[str, str]
) -> bool:
    if rule.kind == "value_count":
        item = values.get(rule.field, "")
        if not item:
            return False  # no value to count: the event does not take part
    else:
        item = rule_id  # temporal: distinct rules; event_count: only the length counts
    window.times.append((ts_us, item))
    window.items[item] += 1
    while window.times and ts_us - window.times[0][0] > rule.span_us:
        _, old = window.times.popleft()
        window.items[old] -= 1
        if not window.items[old]:
            del window.items[old]
    reached = len(window.times) if rule.kind == "event_count" else len(window.items)
    return reached >= rule.threshold


def _ordered(window: _Window, rule: CorrelationRule, rule_id: str, ts_us: int) -> bool:
    starts = window.starts or [None] * len(rule.order)
    window.starts = starts
    for k, start in enumerate(starts):
        if start is not None and ts_us - start > rule.span_us:
            starts[k] = None
    # Last position first: one event moves a chain on by one step at most.
    for i in reversed(range(len(rule.order))):
        if rule.order[i] != rule_id:
            continue
        before = ts_us if i == 0 else starts[i - 1]
        current = starts[i]
        if before is not None and (current is None or before > current):
            starts[i] = before  # the latest start leaves the most time for what follows
    return starts[-1] is not None
