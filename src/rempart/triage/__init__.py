"""Triage: for every file, whether it is intact, encrypted (fully or partly) or a ransom note."""

from rempart.triage.verdicts import Classification, Indicator, NoteFinding, Verdict

__all__ = ["Classification", "Indicator", "NoteFinding", "Verdict"]
