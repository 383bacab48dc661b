"""Issue 6: `evidence add` through a mounted SMB share never writes to it (the server says so).

A private smbd with vfs_full_audit serves a share in its own network namespace; it is mounted
with smbnetfs (FUSE: this kernel has no CIFS) and acquired into a local locker. The server's
audit log must show no write, rename, unlink or mkdir, and the files on the server side keep
their bytes and modification times. Skips (saying why) when not root, when a package is
missing or when the FUSE mount fails.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _samba import SambaServer, samba_server  # tests/e2e is on sys.path (rootdir-relative imports)
from sqlalchemy import insert

from rempart.forensics import evidence
from rempart.store import open_store
from rempart.store.models import Incident

OLD_NS = 1_500_000_000_000_000_000


@pytest.fixture
def smb() -> Iterator[SambaServer]:
    with samba_server() as srv:
        yield srv


def _server_state(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_acquiring_a_mounted_share_writes_nothing_to_it(smb: SambaServer, tmp_path: Path) -> None:
    share = smb.share_dir
    (share / "Finances" / "2026").mkdir(parents=True)
    (share / "Finances" / "2026" / "budget.xlsx.akira").write_bytes(os.urandom(200_000))
    (share / "README-RESTORE.txt").write_text("Your files are encrypted.\n")
    for path in share.rglob("*"):
        os.utime(path, ns=(OLD_NS, OLD_NS))
    smb.chown_share()
    before = _server_state(share)
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as conn:
        conn.execute(insert(Incident).values(key="mairie", title="mairie"))
    evidence.create_key(engine, "alice", tmp_path / "keys")
    signer = evidence.load_signer(engine, "alice", tmp_path / "keys")
    writing = {"pwrite", "pwrite_send", "write", "renameat", "unlinkat", "mkdirat"}
    with smb.fuse_mount() as mounted:
        done = evidence.acquire(
            engine,
            mounted,
            incident="mairie",
            description="the town hall's share, as mounted",
            signer=signer,
            locker=tmp_path / "locker",
        )
        assert done.files == 2
        assert [a for a in smb.audit() if a.op in writing] == []
        assert _server_state(share) == before
        # the audit does see writes: one made on purpose, after the checks
        (mounted / "probe.txt").write_text("x")
    assert any(a.op in writing for a in smb.audit())
    copy = Path(done.locker_path or "") / "share" / "Finances" / "2026" / "budget.xlsx.akira"
    assert (
        hashlib.sha256(copy.read_bytes()).hexdigest()
        == before["Finances/2026/budget.xlsx.akira"][0]
    )
    assert evidence.verify_store(engine, "mairie").ok
