"""rempart contain: plan, apply, verify and undo containment actions, safely.

Actions are registered by name in `ACTIONS` (isolate, isolate-windows, cut-internet,
block-smb, disable-account); `engine` runs a plan host by host with commit-confirmed
rollback on remote hosts.
"""

from __future__ import annotations

from rempart.contain._errors import ChangedSincePlan, ContainError, HostError, InventoryError
from rempart.contain.actions import ACTIONS, Action, Change, Context, LdapSettings, Request

__all__ = [
    "ACTIONS",
    "Action",
    "Change",
    "ChangedSincePlan",
    "ContainError",
    "Context",
    "HostError",
    "InventoryError",
    "LdapSettings",
    "Request",
]
