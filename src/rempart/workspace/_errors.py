"""The workspace's errors: each says what went wrong and what to do about it."""

from __future__ import annotations

from rempart.errors import RempartError


class WorkspaceError(RempartError):
    """Base of the workspace's errors."""


class NotFound(WorkspaceError):
    """The organisation, user, incident, task... does not exist, or the actor may not see it.

    One error for both, so that a user of another town cannot probe which incidents exist.
    """


class Forbidden(WorkspaceError):
    """The actor sees the object but their role does not allow this change."""


class Invalid(WorkspaceError):
    """A value given by the user is not acceptable (unknown role, empty title...)."""


class WeakPassword(Invalid):
    """The password would be too easy to guess."""


class BadCredentials(WorkspaceError):
    """Unknown e-mail or wrong password (deliberately not saying which)."""


class LoginThrottled(WorkspaceError):
    """Too many failed sign-ins for this account or address: wait before trying again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed sign-ins: try again in {retry_after} s",
            hint="an administrator can check the audit log",
        )
        self.retry_after = retry_after


class PlaybookError(WorkspaceError):
    """A playbook file is damaged or does not follow the playbook format."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}", hint="fix the playbook file")
        self.path = path
