"""Settings declared once, each with its default and its help text."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str


DB = Setting(
    "db",
    "REMPART_DB",
    "sqlite:///rempart.db",
    "Incident store URL: a SQLite file (default, in the current folder) or postgresql://...",
)
NOTES_DIR = Setting(
    "notes_dir",
    "REMPART_NOTES_DIR",
    "",
    "Folder of known ransom notes (<family>/<note>) that sharpens family identification.",
)

# The evidence locker (rempart evidence).
EVIDENCE_LOCKER = Setting(
    "evidence_locker",
    "REMPART_EVIDENCE_LOCKER",
    "evidence-locker",
    "Evidence locker folder (copies of acquired items), on a disk of its own ideally.",
)
EVIDENCE_KEYS = Setting(
    "evidence_keys",
    "REMPART_EVIDENCE_KEYS",
    "~/.rempart/keys",
    "Folder of the responders' private signing keys (files 0600).",
)
EVIDENCE_MAX_COPY = Setting(
    "evidence_max_copy",
    "REMPART_EVIDENCE_MAX_COPY",
    "64G",
    "Items larger than this are hashed and recorded in place, not copied (K, M, G, T).",
)
KEY_PASSPHRASE = Setting(
    "key_passphrase",
    "REMPART_KEY_PASSPHRASE",
    "",
    "Passphrase of the responder's private key, when it has one (else asked on a terminal).",
)
RESPONDER = Setting(
    "responder",
    "REMPART_RESPONDER",
    "",
    "The responder who signs custody entries (default: the login name).",
)

# Containment (rempart contain).
CONTAIN_NETNS = Setting(
    "contain_netns",
    "REMPART_CONTAIN_NETNS",
    "",
    "Network namespace that stands for 'this machine' (hosts with no ssh): labs and tests.",
)

SETTINGS = (
    DB,
    NOTES_DIR,
    EVIDENCE_LOCKER,
    EVIDENCE_KEYS,
    EVIDENCE_MAX_COPY,
    KEY_PASSPHRASE,
    RESPONDER,
    CONTAIN_NETNS,
)


def resolve(setting: Setting, given: str | None = None) -> str:
    """The value from the command line, else the environment, else the default."""
    if given:
        return given
    return os.environ.get(setting.env) or setting.default


def db_url(given: str | None = None) -> str:
    """The store URL; a bare path is taken as a SQLite file."""
    url = resolve(DB, given)
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url
