"""Sigma rules parsed with pySigma, compiled to Python predicates over event fields."""

from __future__ import annotations

from rempart.forensics.sigma._compile import Prepared, compile_condition
from rempart.forensics.sigma._logsource import LogKey, logsource_keys
from rempart.forensics.sigma._rules import CompiledRule, RuleSet, builtin_rules_dir, load_rules
from rempart.forensics.sigma._values import Unsupported

__all__ = [
    "CompiledRule",
    "LogKey",
    "Prepared",
    "RuleSet",
    "Unsupported",
    "builtin_rules_dir",
    "compile_condition",
    "load_rules",
    "logsource_keys",
]
