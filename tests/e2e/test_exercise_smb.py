"""Issue 3: `rempart exercise attack` and `undo` work through a mounted SMB share too.

A private smbd (with vfs_full_audit) runs in its own network namespace; the share is mounted with
smbnetfs (FUSE: this kernel has no CIFS). The practice share is built on the server side, attacked
and undone through the mount by the CLI, then checked on the server side. Skips (saying why) when
not root, when a package is missing or when the FUSE mount fails.

Two limits of smbnetfs (libsmbclient 4.17), not of rempart, shape the checks:
- over SMB2/SMB3, open(O_APPEND) fails with EIO (smbnetfs's log: smb_conn_srv_open errno=6,
  ENXIO), so rempart's journal and labels are written at their end without O_APPEND.
- utimens through smbnetfs keeps whole seconds only (1500000000.987654321 comes back as
  1500000000.000000000), so undo restores every byte and name but mtimes only to the second.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _samba import SambaServer, samba_server  # tests/e2e is on sys.path (rootdir-relative imports)

from rempart.exercise import LABELS, STATE_DIR, load, verify

REMPART = str(Path(sys.executable).with_name("rempart"))  # the venv's console script
TIMEOUT = 120
NT1 = "  client min protocol = NT1\n  client max protocol = NT1\n"
SMB3 = "  client min protocol = SMB2\n  client max protocol = SMB3\n"


@pytest.fixture
def smb() -> Iterator[SambaServer]:
    with samba_server() as srv:
        yield srv


def _rempart(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [REMPART, *args], check=False, capture_output=True, text=True, timeout=TIMEOUT
    )


def _ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, f"{' '.join(r.args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize(
    "client_conf",
    [
        pytest.param(NT1, id="smb1"),
        pytest.param(SMB3, id="smb3"),
    ],
)
def test_attack_and_undo_through_mounted_smb_share(smb: SambaServer, client_conf: str) -> None:
    server_root = smb.share_dir / "mairie"
    _ok(_rempart("exercise", "build", str(server_root), "--files", "40", "--seed", "1"))
    smb.chown_share()
    entries = {e.path: e for e in load(server_root)}
    before = {rel: _digest(server_root / rel) for rel in entries}
    assert verify(server_root) == []

    with smb.fuse_mount(client_conf=client_conf) as share:
        client_root = share / "mairie"
        assert sorted(p.name for p in client_root.iterdir()) == sorted(
            p.name for p in server_root.iterdir()
        )

        attack = _ok(
            _rempart("exercise", "attack", str(client_root), "--layout", "mixed", "--seed", "1")
        )

        # the server side was really attacked: ground-truth labels, files changed or renamed
        labels_file = server_root / STATE_DIR / LABELS
        labels = [json.loads(line) for line in labels_file.read_text().splitlines() if line]
        assert labels, attack.stdout
        changed = [
            rel
            for rel, digest in before.items()
            if not (server_root / rel).exists() or _digest(server_root / rel) != digest
        ]
        assert len(changed) == len(entries), f"only {len(changed)} of {len(entries)} changed"

        # ...and Samba's full_audit saw it come from the SMB client (what the guard will read)
        audit = smb.audit()
        ops = {a.op for a in audit if a.result == "ok"}
        assert ops & {"pwrite", "pwrite_send", "write"}, sorted(ops)
        assert "renameat" in ops, sorted(ops)
        assert {a.ip for a in audit} == {"127.0.0.1"}
        assert all(p.startswith(str(smb.share_dir)) for a in audit for p in a.paths)
        renamed = {Path(a.paths[-1]).name for a in audit if a.op == "renameat"}
        assert renamed, audit[:5]

        undo = _rempart("exercise", "undo", str(client_root))

    # every byte and name is back, nothing extra
    assert {rel: _digest(server_root / rel) for rel in entries} == before
    problems = verify(server_root)
    said = " ".join((undo.stdout + undo.stderr).split())  # the CLI wraps long lines
    # mtimes: smbnetfs's utimens keeps whole seconds only; anything else is a real failure
    for problem in problems:
        rel, _, what = problem.rpartition(": ")
        assert what == "mtime differs", (
            f"{problems}\nundo said: {said}\nattack said: {attack.stdout}"
        )
        expected = entries[rel].mtime_ns
        assert os.lstat(server_root / rel).st_mtime_ns == expected - expected % 10**9, problem
    if problems:
        assert undo.returncode == 1 and "mtime differs" in said, said
    else:
        _ok(undo)
