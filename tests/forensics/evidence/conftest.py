"""An incident store with one responder key, a locker and a small tree to acquire."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from rempart.forensics import evidence
from rempart.store import open_store
from rempart.store.models import Incident

OLD_NS = 1_600_000_000_123_456_789  # 2020, with nanoseconds: relatime would update it on read


@dataclass
class Env:
    engine: Engine
    url: str
    keys: Path
    locker: Path
    signer: evidence.Signer
    tmp: Path

    def acquire(self, source: Path, **kw: object) -> evidence.Acquired:
        kw.setdefault("incident", "inc")
        kw.setdefault("description", "test item")
        kw.setdefault("locker", self.locker)
        return evidence.acquire(self.engine, source, signer=self.signer, **kw)  # type: ignore[arg-type]


def make_env(url: str, tmp: Path) -> Env:
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(insert(Incident).values(key="inc", title="inc"))
    keys = tmp / "keys"
    evidence.create_key(engine, "alice", keys)
    return Env(engine, url, keys, tmp / "locker", evidence.load_signer(engine, "alice", keys), tmp)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)


def make_tree(root: Path) -> Path:
    """A small share: text, binary, a nested folder, an undecodable name, a link."""
    (root / "docs" / "deep").mkdir(parents=True)
    (root / "docs" / "compte-rendu.txt").write_text("Conseil municipal du 3 mars.\n" * 50)
    (root / "docs" / "deep" / "photo.bin").write_bytes(os.urandom(300_000))
    (root / "vide.txt").write_bytes(b"")
    (root / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"latin-1 name\n")
    (root / "lien").symlink_to("/etc/passwd")
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            os.utime(path, ns=(OLD_NS, OLD_NS))
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "share")
