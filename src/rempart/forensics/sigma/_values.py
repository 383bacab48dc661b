"""Sigma values (already modified by pySigma) -> tests of one field value.

Strings are matched case-insensitively, as Sigma says, through `str` methods for the common
shapes (equals, starts, ends, contains) and `re` for the rest; lists of values become one
test (a set, tuples of suffixes, one alternation).
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable
from typing import Any

from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

Test = Callable[[Any], bool]  # one value -> matches?

_COMPARE = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}


class Unsupported(Exception):  # a verdict on a rule, not a failure of ours
    """A construct this evaluator does not implement; the rule is counted, not run."""


def text_of(value: Any) -> str:
    if isinstance(value, dict):
        return text_of(value.get("#text", ""))
    return "" if value is None else str(value)


def string_parts(value: SigmaString) -> tuple[bool, list[str | SpecialChars]]:
    cased = isinstance(value, SigmaCasedString)
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if not isinstance(part, str | SpecialChars):
            raise Unsupported(f"placeholder in value {value}")
        parts.append(part if cased or not isinstance(part, str) else part.lower())
    return cased, parts


def _string_test(value: SigmaString) -> Test:
    """A test on any field value (the slow path: lists, numbers...)."""
    cased, parts = string_parts(value)
    fast = shape(parts)
    if cased:
        return lambda v: fast(text_of(v))
    return lambda v: fast(text_of(v).lower())


def shape(parts: list[str | SpecialChars]) -> Test:
    """A test on text already cased as the value wants: str methods where they do."""
    star = SpecialChars.WILDCARD_MULTI
    plain = [p for p in parts if isinstance(p, str)]
    if not any(isinstance(p, SpecialChars) for p in parts):
        return "".join(plain).__eq__
    if len(parts) == 3 and parts[0] == star and parts[2] == star and len(plain) == 1:
        needle = plain[0]
        return lambda v: needle in v
    if len(parts) == 2 and parts[0] == star and isinstance(parts[1], str):
        tail = parts[1]
        return lambda v: v.endswith(tail)
    if len(parts) == 2 and parts[1] == star and isinstance(parts[0], str):
        start = parts[0]
        return lambda v: v.startswith(start)
    pattern = "".join(
        re.escape(p) if isinstance(p, str) else (".*" if p == star else ".") for p in parts
    )
    compiled = re.compile(pattern, re.DOTALL)
    return lambda v: compiled.fullmatch(v) is not None


def _number(value: Any) -> float | None:
    text = text_of(value).strip()
    try:
        return float(int(text, 0)) if text[:2].lower() == "0x" else float(text)
    except ValueError:
        return None


def value_test(value: Any) -> Test:
    """A test of one field value against one Sigma value."""
    if isinstance(value, SigmaString):
        return _string_test(value)
    if isinstance(value, SigmaBool):
        wanted = str(value.boolean).lower()
        return lambda v: text_of(v).lower() == wanted
    if isinstance(value, SigmaNumber):
        number = float(value.number)
        return lambda v: _number(v) == number
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
        compiled = re.compile(str(value.regexp), flags)
        return lambda v: compiled.search(text_of(v)) is not None
    if isinstance(value, SigmaCIDRExpression):
        network = value.network

        def in_network(v: Any) -> bool:
            try:
                return ipaddress.ip_address(text_of(v).strip()) in network
            except ValueError:
                return False

        return in_network
    if isinstance(value, SigmaCompareExpression):
        op, bound = _COMPARE[value.op], float(value.number.number)

        def compare(v: Any) -> bool:
            number = _number(v)
            return number is not None and bool(op(number, bound))

        return compare
    if isinstance(value, SigmaExpansion):
        tests = [value_test(v) for v in value.values]
        return lambda v: any(t(v) for t in tests)
    raise Unsupported(f"value type {type(value).__name__}")


def any_of(parts_list: list[list[str | SpecialChars]]) -> Test:
    """One test for "field is any of these values" (Sigma's lists): sets, tuples, one regex."""
    star = SpecialChars.WILDCARD_MULTI
    equal: set[str] = set()
    ends: list[str] = []
    starts: list[str] = []
    contains: list[str] = []
    others: list[str] = []
    for parts in parts_list:
        plain = [p for p in parts if isinstance(p, str)]
        wild = len(parts) - len(plain)
        if wild == 0:
            equal.add("".join(plain))
        elif len(parts) == 3 and parts[0] == star == parts[2] and isinstance(parts[1], str):
            contains.append(parts[1])
        elif len(parts) == 2 and parts[0] == star and isinstance(parts[1], str):
            ends.append(parts[1])
        elif len(parts) == 2 and parts[1] == star and isinstance(parts[0], str):
            starts.append(parts[0])
        else:
            others.append(
                "".join(
                    re.escape(p) if isinstance(p, str) else (".*" if p == star else ".")
                    for p in parts
                )
            )
    ends_t, starts_t = tuple(ends), tuple(starts)
    search = re.compile("|".join(map(re.escape, contains))).search if contains else None
    full = re.compile("|".join(f"(?:{o})" for o in others), re.DOTALL).fullmatch if others else None

    def test(v: str) -> bool:
        return (
            v in equal
            or (bool(ends_t) and v.endswith(ends_t))
            or (bool(starts_t) and v.startswith(starts_t))
            or (search is not None and search(v) is not None)
            or (full is not None and full(v) is not None)
        )

    return test
