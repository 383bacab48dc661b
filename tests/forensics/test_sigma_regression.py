"""SigmaHQ's own regression cases: each .evtx must make the rule named in its info.yml fire."""

from __future__ import annotations

from pathlib import Path

import yaml

from rempart.forensics.detect import detect
from rempart.forensics.ingest import ingest
from rempart.forensics.sigma import load_rules
from rempart.store import open_store

TARGET = 0.95


def _cases(sigma: Path) -> list[tuple[str, Path, Path, int | None]]:
    """(rule id, evtx, rule file, expected matches) of every case; the rule lives where the
    case's folder says (regression/rules/x/y/<name>/ -> rules/x/y/<name>.yml)."""
    cases = []
    for info in sorted((sigma / "regression").rglob("info.yml")):
        meta = yaml.safe_load(info.read_text())
        rule_id = meta["rule_metadata"][0]["id"]
        expected = (meta.get("regression_tests_info") or [{}])[0].get("match_count")
        relative = info.parent.relative_to(sigma / "regression")
        rule = sigma / relative.parent / f"{relative.name}.yml"
        cases.append((rule_id, info.parent / f"{rule_id}.evtx", rule, expected))
    return cases


def test_sigmahq_regression_cases(shared_data: Path, tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'regression.db'}")
    passed, failed, unsupported, missing, counts = [], [], {}, [], []
    cases = _cases(shared_data / "sigma")
    assert len(cases) > 100
    for number, (rule_id, evtx, rule, expected) in enumerate(cases):
        if not rule.is_file() or not evtx.is_file():
            missing.append(str(rule.relative_to(shared_data)))
            continue
        ruleset = load_rules([rule])
        if not ruleset.rules:
            reasons = {**ruleset.unsupported, **ruleset.unsupported_logsources}
            unsupported[rule_id] = ", ".join(reasons) or str(ruleset.errors)
            continue
        incident = f"case-{number}"
        ingest(engine, [evtx], incident, scans=False)
        summary = detect(engine, incident, ruleset)
        (passed if summary.matches else failed).append((rule_id, str(rule)))
        if expected is not None and summary.matches != expected:
            # Checked by hand: e.g. the AnyDesk case holds three events whose file names all
            # contain the rule's `user.conf`; upstream's count predates its own sample.
            counts.append(f"{rule_id}: {summary.matches} matches, info.yml says {expected}")
    supported = len(passed) + len(failed)
    rate = len(passed) / supported
    report = (
        f"SigmaHQ regression: {len(passed)}/{supported} supported cases pass ({rate:.1%}); "
        f"{len(unsupported)} unsupported ({sorted(set(unsupported.values()))}); "
        f"not in the shared rules: {missing}"
    )
    print(report, *(f"  failing: {i} {p}" for i, p in failed), *counts, sep="\n")
    assert rate >= TARGET, report + "\nfailing: " + "\n".join(f"{i} {p}" for i, p in failed)
