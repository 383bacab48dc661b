"""Sigma correlation rules, parsed by pySigma and run over a stream of matches."""

from __future__ import annotations

from pathlib import Path

from rempart.forensics.sigma import load_rules
from rempart.forensics.sigma._correlate import CorrelationRule, Correlator

_FAILED = "3a3c6a0e-8f0c-4d5e-9b1a-000000000001"  # a failed logon
_OK = "3a3c6a0e-8f0c-4d5e-9b1a-000000000002"  # a logon
_SHADOW = "3a3c6a0e-8f0c-4d5e-9b1a-000000000003"  # shadow copies deleted
_S = 1_000_000  # one second, in microseconds


def _base_rules() -> str:
    rules = []
    for rule_id, title in ((_FAILED, "failed"), (_OK, "ok"), (_SHADOW, "shadow")):
        rules.append(
            f"title: {title}\nid: {rule_id}\nstatus: test\nlogsource:\n    product: windows\n"
            f"    service: security\ndetection:\n    s:\n        EventID: 4625\n"
            f"    condition: s\nlevel: low\n"
        )
    return "---\n".join(rules)


def _correlation(tmp_path: Path, body: str) -> CorrelationRule:
    path = tmp_path / "rules.yml"
    path.write_text(
        _base_rules() + "---\ntitle: correlated\nid: 5d1f4cb4-6ac8-4a1b-9d43-0f58a3e1b7c2\n"
        "level: high\ncorrelation:\n" + body
    )
    ruleset = load_rules([path])
    assert not ruleset.unsupported and not ruleset.errors, (ruleset.unsupported, ruleset.errors)
    (rule,) = ruleset.correlations
    return rule


def _fired(rule: CorrelationRule, matches: list[tuple[str, int, dict[str, str]]]) -> list[int]:
    """Positions of the matches that completed the correlation."""
    correlator = Correlator([rule])
    return [i for i, (rid, ts, values) in enumerate(matches) if correlator.feed(rid, ts, values)]


def test_value_count_counts_distinct_values_per_group(tmp_path: Path) -> None:
    rule = _correlation(
        tmp_path,
        f"    type: value_count\n    rules: [{_FAILED}]\n    group-by: [IpAddress]\n"
        "    timespan: 1m\n    condition:\n        gte: 3\n        field: TargetUserName\n",
    )
    assert (rule.kind, rule.field, rule.threshold) == ("value_count", "TargetUserName", 3)
    ip1, ip2 = {"IpAddress": "10.0.0.1"}, {"IpAddress": "10.0.0.2"}
    spray = [
        (_FAILED, 0, {**ip1, "TargetUserName": "alice"}),
        (_FAILED, 1 * _S, {**ip1, "TargetUserName": "alice"}),  # the same account: not counted
        (_FAILED, 2 * _S, {**ip2, "TargetUserName": "bob"}),  # another source: its own group
        (_FAILED, 3 * _S, {**ip1, "TargetUserName": ""}),  # no value: not counted
        (_FAILED, 4 * _S, {**ip1, "TargetUserName": "bob"}),
        (_FAILED, 5 * _S, {**ip1, "TargetUserName": "carol"}),  # third account from ip1
        (_FAILED, 6 * _S, {**ip1, "TargetUserName": "dave"}),  # window reset after the alert
    ]
    assert _fired(rule, spray) == [5]
    slow = [(_FAILED, i * 40 * _S, {**ip1, "TargetUserName": f"u{i}"}) for i in range(4)]
    assert _fired(rule, slow) == []  # never three names within a minute


def test_temporal_needs_every_rule_within_the_span(tmp_path: Path) -> None:
    rule = _correlation(
        tmp_path,
        f"    type: temporal\n    rules: [{_OK}, {_SHADOW}]\n    group-by: [Computer]\n"
        "    timespan: 10m\n",
    )
    assert (rule.kind, rule.threshold) == ("temporal", 2)  # no condition: all the rules
    pc = {"Computer": "pc1"}
    assert _fired(rule, [(_OK, 0, pc), (_OK, 60 * _S, pc), (_SHADOW, 120 * _S, pc)]) == [2]
    assert _fired(rule, [(_SHADOW, 0, pc), (_OK, 60 * _S, pc)]) == [1]  # any order
    assert _fired(rule, [(_OK, 0, pc), (_SHADOW, 700 * _S, pc)]) == []  # too far apart
    other = {"Computer": "pc2"}
    assert _fired(rule, [(_OK, 0, pc), (_SHADOW, 60 * _S, other)]) == []


def test_temporal_ordered_needs_the_order(tmp_path: Path) -> None:
    rule = _correlation(
        tmp_path,
        f"    type: temporal_ordered\n    rules: [{_FAILED}, {_OK}, {_SHADOW}]\n"
        "    group-by: [Computer]\n    timespan: 10m\n",
    )
    assert rule.order == (_FAILED, _OK, _SHADOW)
    pc = {"Computer": "pc1"}
    in_order = [(_FAILED, 0, pc), (_OK, 60 * _S, pc), (_SHADOW, 120 * _S, pc)]
    assert _fired(rule, in_order) == [2]
    assert _fired(rule, [(_OK, 0, pc), (_FAILED, 60 * _S, pc), (_SHADOW, 120 * _S, pc)]) == []
    # A later start that still fits the span completes where the first one expired.
    late = [(_FAILED, 0, pc), (_FAILED, 500 * _S, pc), (_OK, 550 * _S, pc)]
    assert _fired(rule, [*late, (_SHADOW, 700 * _S, pc)]) == [3]


def test_correlations_a_stream_cannot_decide_are_counted_as_unsupported(tmp_path: Path) -> None:
    bodies = [
        f"    type: event_count\n    rules: [{_FAILED}]\n    timespan: 1m\n"
        "    condition:\n        lt: 3\n",
        f"    type: value_sum\n    rules: [{_FAILED}]\n    timespan: 1m\n"
        "    condition:\n        gte: 3\n        field: Bytes\n",
        "    type: temporal\n    rules: [failed, ok]\n    timespan: 1m\n"
        "    condition: failed and ok\n",
    ]
    named = _base_rules().replace("title: failed", "title: failed\nname: failed")
    named = named.replace("title: ok", "title: ok\nname: ok")
    for i, body in enumerate(bodies):
        (tmp_path / f"c{i}.yml").write_text(
            f"{named}---\ntitle: c{i}\nid: 5d1f4cb4-6ac8-4a1b-9d43-{i:012d}\nlevel: high\n"
            f"correlation:\n{body}"
        )
    ruleset = load_rules([tmp_path])
    assert ruleset.correlations == [] and not ruleset.errors, ruleset.errors
    assert ruleset.unsupported == {
        "correlation condition lt": 1,
        "correlation type value_sum": 1,
        "extended correlation condition": 1,
    }
