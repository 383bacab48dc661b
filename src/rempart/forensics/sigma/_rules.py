"""Rule folders -> compiled rules indexed by log key; what cannot run is counted, not fatal."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

from rempart.forensics._errors import TimelineError
from rempart.forensics.sigma._compile import Predicate, compile_condition
from rempart.forensics.sigma._correlate import CorrelationRule, compile_correlation
from rempart.forensics.sigma._logsource import LogKey, describe, logsource_keys
from rempart.forensics.sigma._values import Unsupported

LEVELS = ("informational", "low", "medium", "high", "critical")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class CompiledRule:
    id: str
    title: str
    level: str
    path: str
    keys: tuple[LogKey, ...]
    predicate: Predicate = field(repr=False, compare=False)
    #: what the story reads from this rule's matches (the `rempart_story` attribute)
    story: str = ""


@dataclass
class RuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    files: int = 0
    #: reason -> rules (unsupported constructs, modifiers, correlation rules...)
    unsupported: Counter[str] = field(default_factory=Counter)
    #: log source -> rules
    unsupported_logsources: Counter[str] = field(default_factory=Counter)
    #: (path, message) of files pySigma refused
    errors: list[tuple[str, str]] = field(default_factory=list)
    index: dict[LogKey, list[CompiledRule]] = field(default_factory=lambda: defaultdict(list))
    correlations: list[CorrelationRule] = field(default_factory=list)

    def add(self, rule: CompiledRule) -> None:
        self.rules.append(rule)
        for key in rule.keys:
            self.index[key].append(rule)

    def candidates(self, source: str, channel: str, event_id: int | None) -> list[CompiledRule]:
        """Rules whose log source covers an event of this parser, channel and id."""
        index = self.index
        found = index.get((source, channel, event_id), [])
        wider = [(source, channel, None)] if event_id is not None else []
        for key in (*wider, (source, "*", None)):
            more = index.get(key)
            if more:
                found = found + more
        return found


def builtin_rules_dir() -> Path:
    """The project's own rules (what operators do before encrypting)."""
    return Path(__file__).resolve().parent.parent / "rules"


def _rule_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in dirs:
        if folder.is_file():
            files.append(folder)
        elif folder.is_dir():
            files.extend(sorted(p for p in folder.rglob("*") if p.suffix in {".yml", ".yaml"}))
        else:
            raise TimelineError(f"no such rule file or folder: {folder}")
    return files


def compile_rule(rule: SigmaRule, path: str) -> CompiledRule:
    """One pySigma rule -> a compiled rule.

    Raises:
        Unsupported: its log source or a construct is not supported.
        SigmaError: pySigma refuses the rule's condition.
    """
    keys = tuple(logsource_keys(rule.logsource))
    predicates = [compile_condition(c.parsed) for c in rule.detection.parsed_condition]
    if len(predicates) == 1:
        predicate = predicates[0]
    else:  # several conditions: any of them

        def predicate(fields: object, _ps: list[Predicate] = predicates) -> bool:
            return any(p(fields) for p in _ps)  # type: ignore[arg-type]

    level = rule.level.name.lower() if rule.level else "informational"
    story = str((rule.custom_attributes or {}).get("rempart_story", ""))
    return CompiledRule(str(rule.id or rule.title), rule.title, level, path, keys, predicate, story)


def load_rules(dirs: Iterable[Path]) -> RuleSet:
    """Parse and compile every rule file under `dirs`.

    Raises:
        TimelineError: a folder does not exist.
    """
    ruleset = RuleSet()
    seen: set[str] = set()
    for path in _rule_files(dirs):
        ruleset.files += 1
        try:
            # libyaml's loader, not PyYAML's pure-Python one pySigma's from_yaml uses: on
            # SigmaHQ's 2,400 Windows rules it is two thirds of the loading time saved.
            documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER))
            collection = SigmaCollection.from_dicts(documents, source=SigmaRuleLocation(path))
        except (SigmaError, yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
            ruleset.errors.append((str(path), str(exc).splitlines()[0]))
            continue
        for rule in collection.rules:
            if isinstance(rule, SigmaCorrelationRule):
                try:
                    ruleset.correlations.append(compile_correlation(rule))
                except Unsupported as exc:
                    ruleset.unsupported[str(exc)] += 1
                continue
            if not isinstance(rule, SigmaRule):
                continue
            try:
                compiled = compile_rule(rule, str(path))
            except Unsupported as exc:
                reason = str(exc)
                if reason.startswith("log source "):
                    ruleset.unsupported_logsources[describe(rule.logsource)] += 1
                else:
                    ruleset.unsupported[reason] += 1
                continue
            except (SigmaError, re.error, ValueError) as exc:
                ruleset.errors.append((str(path), str(exc).splitlines()[0]))
                continue
            if compiled.id in seen:  # the same rule given twice (a folder and its parent)
                continue
            seen.add(compiled.id)
            ruleset.add(compiled)
    return ruleset
