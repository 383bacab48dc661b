"""Roles and what each may do: the one table every permission check reads."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # manages users of the organisation, and everything a responder does
    RESPONDER = "responder"  # the shared service's technicians and the response provider
    OFFICIAL = "official"  # mayor, general director: decides, approves public statements
    COMMUNICATIONS = "communications"  # drafts public statements
    VIEWER = "viewer"
    INVESTIGATOR = "investigator"  # national agency, police: read-only, one incident


class Permission(StrEnum):
    READ = "read"
    LOG = "log"  # append to the logbook
    TASKS = "tasks"  # create, assign, close tasks
    DECIDE = "decide"  # record decisions
    CONTACTS = "contacts"
    SCANS = "scans"  # attach scan results
    MANAGE = "manage"  # create incidents, invite people, edit the incident
    USERS = "users"  # create users and give roles in an organisation
    DRAFT_STATUS = "draft_status"
    APPROVE_STATUS = "approve_status"


_ALL = frozenset(Permission)
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _ALL - {Permission.APPROVE_STATUS},
    Role.RESPONDER: frozenset(
        {
            Permission.READ,
            Permission.LOG,
            Permission.TASKS,
            Permission.DECIDE,
            Permission.CONTACTS,
            Permission.SCANS,
            Permission.MANAGE,
        }
    ),
    # The four-eyes rule of the status page: communications drafts, an official approves.
    Role.OFFICIAL: frozenset(
        {
            Permission.READ,
            Permission.LOG,
            Permission.TASKS,
            Permission.DECIDE,
            Permission.CONTACTS,
            Permission.DRAFT_STATUS,
            Permission.APPROVE_STATUS,
        }
    ),
    Role.COMMUNICATIONS: frozenset({Permission.READ, Permission.LOG, Permission.DRAFT_STATUS}),
    Role.VIEWER: frozenset({Permission.READ}),
    Role.INVESTIGATOR: frozenset({Permission.READ}),
}


def allows(roles: frozenset[Role], permission: Permission) -> bool:
    """True when any of `roles` grants `permission`."""
    return any(permission in GRANTS[r] for r in roles)
