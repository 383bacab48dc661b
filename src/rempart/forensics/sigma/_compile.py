"""pySigma's parsed condition tree -> one Python predicate over an event's fields.

pySigma has already applied the modifiers (contains, windash, base64offset, cidr...), so the
leaves are typed values; each becomes a small closure, strings matched case-insensitively
(as Sigma says) through `str` methods for the common shapes and `re` for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaCasedString,
    SigmaExists,
    SigmaFieldReference,
    SigmaNull,
    SigmaString,
    SpecialChars,
)

from rempart.forensics.sigma._values import (
    Test,
    Unsupported,
    any_of,
    shape,
    string_parts,
    text_of,
    value_test,
)

Fields = Mapping[str, Any]


class Prepared:
    """An event's fields, with their text and lower-case text computed once for all rules."""

    __slots__ = ("lower", "memo", "raw", "text")

    def __init__(self, fields: Fields) -> None:
        self.raw = fields
        #: leaf id -> result: thousands of rules test the same few values (Image endswith
        #: powershell.exe...), each is computed once per event
        self.memo: dict[int, bool] = {}
        self.text = {k: text_of(v) for k, v in fields.items() if not isinstance(v, list)}
        self.lower = {k: v.lower() for k, v in self.text.items()}


Predicate = Callable[[Prepared], bool]

_MISSING = object()


def _field(node: ConditionFieldEqualsValueExpression) -> Predicate:
    name, value = node.field, node.value
    if isinstance(value, SigmaNull):
        return lambda f: f.raw.get(name) in (None, "")
    if isinstance(value, SigmaExists):
        wanted = bool(value.exists)
        return lambda f: (name in f.raw) is wanted
    if isinstance(value, SigmaFieldReference):
        other, starts, ends = value.field, value.starts_with, value.ends_with

        def same(f: Prepared) -> bool:
            a, b = f.lower.get(name, ""), f.lower.get(other, "")
            if name not in f.raw or other not in f.raw:
                return False
            return a.startswith(b) if starts else a.endswith(b) if ends else a == b

        return same
    test = value_test(value)

    def check(f: Prepared) -> bool:
        found = f.raw.get(name, _MISSING)
        if found is _MISSING:
            return False
        if isinstance(found, list):
            return any(test(item) for item in found)
        return test(found)

    if not isinstance(value, SigmaString):
        return check
    cased, parts = string_parts(value)
    key = ("one", name, cased, tuple(parts))
    return _shared(key, lambda: _text_check(name, cased, shape(parts), check))


_LEAVES: dict[tuple[object, ...], Predicate] = {}


def _shared(key: tuple[object, ...], build: Callable[[], Predicate]) -> Predicate:
    """One memoised predicate per distinct leaf, shared by every rule that tests it."""
    found = _LEAVES.get(key)
    if found is None:
        inner, leaf = build(), len(_LEAVES)

        def found(f: Prepared) -> bool:
            memo = f.memo
            result = memo.get(leaf)
            if result is None:
                result = memo[leaf] = inner(f)
            return result

        _LEAVES[key] = found
    return found


def _text_check(name: str, cased: bool, fast: Test, slow: Predicate) -> Predicate:
    if cased:

        def check_cased(f: Prepared) -> bool:
            found = f.text.get(name)
            return slow(f) if found is None else fast(found)  # absent or a list: slow path

        return check_cased

    def check_text(f: Prepared) -> bool:
        found = f.lower.get(name)
        return slow(f) if found is None else fast(found)

    return check_text


def _grouped_leaf(
    name: str, cased: bool, all_parts: list[list[str | SpecialChars]], slow: Predicate
) -> Predicate:
    return _text_check(name, cased, any_of(all_parts), slow)


def _grouped_or(args: list[Any]) -> list[Predicate]:
    """OR branches, with the string values of one field merged into one test."""
    groups: dict[tuple[str, bool], list[Any]] = {}
    rest: list[Predicate] = []
    for arg in args:
        if isinstance(arg, ConditionFieldEqualsValueExpression) and isinstance(
            arg.value, SigmaString
        ):
            cased = isinstance(arg.value, SigmaCasedString)
            groups.setdefault((arg.field, cased), []).append(arg)
        else:
            rest.append(compile_condition(arg))
    for (name, cased), items in groups.items():
        if len(items) == 1:
            rest.append(_field(items[0]))
            continue
        tests = [value_test(i.value) for i in items]

        def slow(f: Prepared, name: str = name, tests: list[Test] = tests) -> bool:
            found = f.raw.get(name, _MISSING)
            values = found if isinstance(found, list) else [] if found is _MISSING else [found]
            return any(t(v) for v in values for t in tests)

        all_parts = [string_parts(i.value)[1] for i in items]
        key = ("any", name, cased, tuple(tuple(p) for p in all_parts))
        rest.append(_shared(key, partial(_grouped_leaf, name, cased, all_parts, slow)))
    return rest


def _keyword(node: ConditionValueExpression) -> Predicate:
    value = node.value
    if isinstance(value, SigmaString):
        # A keyword is searched for inside the event's text, as full-text backends do.
        star = SpecialChars.WILDCARD_MULTI
        if not value.startswith(star):
            value = star + value
        if not value.endswith(star):
            value = value + star
    test = value_test(value)

    def anywhere(f: Prepared) -> bool:
        return any(test(v) for v in f.text.values())

    return anywhere


def _all(parts: list[Predicate]) -> Predicate:
    # Small fixed shapes as plain expressions: generator-based all() costs more than a test.
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda f: a(f) and b(f)
    if len(parts) == 3:
        a, b, c = parts
        return lambda f: a(f) and b(f) and c(f)

    def every(f: Prepared) -> bool:
        for p in parts:  # noqa: SIM110  # a loop: all() over a generator is slower here
            if not p(f):
                return False
        return True

    return every


def _any(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda f: a(f) or b(f)
    if len(parts) == 3:
        a, b, c = parts
        return lambda f: a(f) or b(f) or c(f)

    def some(f: Prepared) -> bool:
        for p in parts:  # noqa: SIM110  # as in _all
            if p(f):
                return True
        return False

    return some


def compile_condition(node: Any) -> Predicate:
    """pySigma's post-processed condition tree -> a predicate.

    Raises:
        Unsupported: a node or value type this evaluator does not implement.
    """
    if isinstance(node, ConditionAND):
        return _all([compile_condition(a) for a in node.args])
    if isinstance(node, ConditionOR):
        return _any(_grouped_or(list(node.args)))
    if isinstance(node, ConditionNOT):
        inner = compile_condition(node.args[0])
        return lambda f: not inner(f)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field(node)
    if isinstance(node, ConditionValueExpression):
        return _keyword(node)
    raise Unsupported(f"condition node {type(node).__name__}")
