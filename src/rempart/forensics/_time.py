"""Timestamps as logs write them -> microseconds since the epoch (UTC), keeping the precision."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache

_PRECISION = {0: "s", 1: "100ms", 2: "10ms", 3: "ms", 4: "100us", 5: "10us", 6: "us", 7: "100ns"}
_PRECISION.update({8: "10ns", 9: "ns"})


@lru_cache(maxsize=4096)
def _seconds(text: str) -> int:
    # Logs hold many events per second: the slow part (calendar arithmetic) is cached.
    return int(datetime.fromisoformat(text).timestamp())


@lru_cache(maxsize=4096)
def _local_seconds(text: str, zone: tzinfo) -> int:
    # A time repeated when clocks go back is read as its first occurrence (fold 0).
    return int(datetime.fromisoformat(text).replace(tzinfo=zone).timestamp())


def zone_given(zone: tzinfo) -> str:
    """How a precision says that times without a zone were read in `zone` (`--tz`)."""
    return f"zone {zone} given"


def parse_iso(text: str, zone: tzinfo | None = None) -> tuple[int, str]:
    """`2019-08-14T14:06:44.4956743Z` -> (microseconds UTC, precision "100ns").

    A time without a zone is read in `zone` (the user's `--tz`), else as UTC; its precision
    says which.

    Raises:
        ValueError: not an ISO 8601 time.
    """
    if len(text) == 27 and text[26] == "Z" and text[19] == "." and text[10] == "T":
        # The evtx parser's one shape (2019-08-14T14:06:44.495674Z): no general parsing.
        digits = text[20:26]
        if digits.isdigit():
            return _seconds(text[:19] + "+00:00") * 1_000_000 + int(digits), "us"
    body, offset = text, "+00:00"
    if body.endswith("Z"):
        body = body[:-1]
    elif len(body) > 6 and body[-6] in "+-" and body[-3] == ":":
        body, offset = body[:-6], body[-6:]
    else:
        offset = ""
    whole, _, frac = body.partition(".")
    if frac and not frac.isdigit():
        raise ValueError(f"not an ISO time: {text!r}")
    whole = whole.replace(" ", "T")
    micros = int((frac + "000000")[:6]) if frac else 0
    precision = _PRECISION.get(len(frac), "ns")
    if offset:
        return _seconds(whole + offset) * 1_000_000 + micros, precision
    if zone is not None:
        return _local_seconds(whole, zone) * 1_000_000 + micros, f"{precision}, {zone_given(zone)}"
    return _seconds(whole + "+00:00") * 1_000_000 + micros, precision + ", no zone (UTC read)"


def iso_from_us(us: int) -> str:
    """Microseconds since the epoch -> ISO 8601 with microseconds and a Z."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_user_time(text: str) -> int:
    """A --since/--until value (ISO date or time; UTC when no zone) -> microseconds.

    Raises:
        ValueError: not a date or time.
    """
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1_000_000)
