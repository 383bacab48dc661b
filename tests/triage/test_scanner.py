"""The scanner on hostile trees: every entry gets a verdict, the scan goes on, nothing changes."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from rempart.errors import ScanError
from rempart.store import open_store
from rempart.triage import _worker, export, scanner
from rempart.triage._outputs import refuse_inside


def _scan(tmp_path: Path, root: Path, **opts: object) -> dict[str, dict]:
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    run = scanner.scan(engine, root, options=scanner.ScanOptions(**opts))
    assert run.status == "done"
    out = tmp_path / "scan.jsonl"
    export.write_jsonl(engine, run.scan_id, out)
    return {r["path"]: r for r in map(json.loads, out.read_text().splitlines())}


def test_special_entries_get_a_verdict_and_the_scan_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "share"
    (root / "a").mkdir(parents=True)
    (root / "a" / "doc.txt").write_text("Compte rendu du conseil municipal\n" * 20)
    os.mkfifo(root / "a" / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "a" / "sock"))
    (root / "a" / "loop").symlink_to("..")
    (root / "a" / "self").symlink_to("self")
    (root / "a" / "out").symlink_to("/etc/passwd")
    (root / "empty.txt").write_bytes(b"")
    bad = os.fsencode(root) + b"/acte-\xe9tat-\xff.txt"
    Path(os.fsdecode(bad)).write_text("naissance")
    if os.geteuid() == 0:
        os.mknod(root / "a" / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    try:
        rows = _scan(tmp_path, root, workers=1)
    finally:
        sock.close()
    assert rows["a/doc.txt"]["verdict"] == "intact"
    assert rows["a/pipe"]["verdict"] == "unreadable" and "fifo" in rows["a/pipe"]["evidence"][0]
    assert "socket" in rows["a/sock"]["evidence"][0]
    for link in ("a/loop", "a/self", "a/out"):
        assert rows[link]["verdict"] == "unreadable"
        assert "not followed" in rows[link]["evidence"][0]
    assert rows["empty.txt"]["size"] == 0 and rows["empty.txt"]["verdict"] == "intact"
    if os.geteuid() == 0:
        assert "character device" in rows["a/null"]["evidence"][0]
    # the undecodable name is kept exactly: path round-trips, path_b64 gives the bytes
    odd = next(r for r in rows.values() if "path_b64" in r)
    assert os.fsencode(odd["path"]) == b"acte-\xe9tat-\xff.txt"
    assert len(rows) == (9 if os.geteuid() == 0 else 8)


def test_unreadable_file_and_directory_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "share"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "inside.txt").write_text("x")
    (root / "secret.txt").write_text("salaires")
    (root / "ok.txt").write_text("ok")
    os.chmod(root / "secret.txt", 0)
    os.chmod(root / "locked", 0)
    try:
        if os.geteuid() == 0:
            # root reads everything: scan without the capabilities that bypass permissions
            out = tmp_path / "out.jsonl"
            proc = subprocess.run(
                [
                    "setpriv",
                    "--bounding-set=-dac_override,-dac_read_search",
                    "--",
                    str(Path(sys.executable).parent / "rempart"),
                    "scan",
                    str(root),
                    "--workers",
                    "1",
                    "--json",
                    "--db",
                    f"sqlite:///{tmp_path}/s.db",
                    "--jsonl",
                    str(out),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            assert proc.returncode in (0, 1), proc.stderr
            rows = {r["path"]: r for r in map(json.loads, out.read_text().splitlines())}
        else:
            rows = _scan(tmp_path, root, workers=1)
    finally:
        os.chmod(root / "locked", 0o755)
        os.chmod(root / "secret.txt", 0o644)
    assert rows["secret.txt"]["verdict"] == "unreadable"
    assert rows["secret.txt"]["size"] == len("salaires")
    assert "Permission denied" in rows["secret.txt"]["evidence"][0]
    assert rows["locked"]["verdict"] == "unreadable"
    assert rows["ok.txt"]["verdict"] == "intact"


def test_file_vanishing_or_growing_during_the_scan(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "share"
    root.mkdir()
    growing = root / "growing.log"
    growing.write_text("ligne de journal\n" * 100)
    worker = _worker.Worker(os.fsencode(root), "sha256", 1 << 30)
    rows = worker.batch(b"", (b"gone.txt",))
    assert rows[0].verdict == "unreadable" and "vanished" in rows[0].evidence[0]

    real = _worker.classify

    def classify_while_appending(sample):
        with growing.open("a") as f:  # another process writing while we read
            f.write("une ligne de plus\n")
        return real(sample)

    monkeypatch.setattr(_worker, "classify", classify_while_appending)
    (row,) = worker.batch(b"", (b"growing.log",))
    assert any("changed during the scan" in e for e in row.evidence)
    assert row.verdict != "unreadable"


def test_sparse_50_gb_file_is_sampled_not_read(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    with (root / "disk.img").open("wb") as f:
        f.truncate(50 * 1024**3)
    (root / "small-sparse.bin").open("wb").truncate(10 * 1024**2)
    started = time.monotonic()
    rows = _scan(tmp_path, root, workers=1)  # default: sha256, which skips files over 1 GiB
    assert time.monotonic() - started < 20
    big = rows["disk.img"]
    assert big["size"] == 50 * 1024**3
    assert big["verdict"] not in ("unreadable", "encrypted", "partially_encrypted")
    assert any("not hashed" in e for e in big["evidence"])
    assert rows["small-sparse.bin"]["sha256"] == hashlib.sha256(bytes(10 * 1024**2)).hexdigest()


def test_zip_bomb_is_not_inflated(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    import zipfile

    with (
        zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z,
        z.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        chunk = bytes(1024**2)
        for _ in range(2048):  # 2 GiB of zeros, about 2 MB compressed
            member.write(chunk)
    assert (root / "bomb.zip").stat().st_size < 5 * 1024**2
    started = time.monotonic()
    rows = _scan(tmp_path, root, workers=1, hash="none")
    assert time.monotonic() - started < 10
    assert rows["bomb.zip"]["verdict"] not in ("encrypted", "partially_encrypted", "unreadable")


def test_tree_5000_levels_deep(tmp_path: Path) -> None:
    # Outside pytest's tmp_path: its clean-up of old runs recurses and would overflow here.
    root = Path(tempfile.mkdtemp(prefix="rempart-deep-"))
    fd = os.open(root, os.O_RDONLY)
    fds = [fd]
    try:
        for _ in range(5000):
            os.mkdir("d", dir_fd=fds[-1])
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        leaf = os.open("fond.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fds[-1])
        os.write(leaf, b"tout en bas de l'arborescence\n")
        os.close(leaf)
    finally:
        for f in fds:
            os.close(f)
    rows = _scan(tmp_path, root, workers=2, hash="none")
    (bottom,) = [r for p, r in rows.items() if p.endswith("fond.txt")]
    assert bottom["path"].count("/") == 5000
    assert bottom["verdict"] == "intact"


def _snapshot(root: Path) -> dict[str, tuple]:
    """Content hash, mtime, atime and mode of everything under root.

    Each entry is stat'ed before this function lists or reads it, and atimes are put back
    afterwards, so the snapshot itself never shows up as a change.
    """
    snap, stats, todo = {}, {}, [str(root)]
    while todo:
        d = todo.pop()
        stats[d] = os.lstat(d)
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                todo.append(p)
                continue
            stats[p] = st
    for p, st in stats.items():
        digest = None
        if stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        snap[p] = (digest, st.st_mtime_ns, st.st_atime_ns, st.st_mode)
    for p, st in stats.items():
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    return snap


def test_scan_never_modifies_the_tree(tmp_path: Path) -> None:
    root = tmp_path / "share"
    for i in range(30):
        d = root / f"service-{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"note-{i}.txt").write_text(f"document {i}\n" * (i + 1))
        (d / f"data-{i}.bin").write_bytes(zlib.compress(os.urandom(64)) * (i + 1))
    old = 1_000_000_000 * 10**9  # 2001: any read with relatime would move these atimes
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), ns=(old, old))
    os.utime(root, ns=(old, old))
    before = _snapshot(root)
    _scan(tmp_path, root, workers=2)
    assert _snapshot(root) == before


def test_outputs_inside_the_scanned_tree_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="inside the tree being scanned"):
        refuse_inside(tmp_path, [tmp_path / "sub" / "report.html"])
    refuse_inside(tmp_path / "a", [tmp_path / "b.html"])


def test_a_classifier_bug_on_one_file_does_not_end_the_scan(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "poison.txt").write_text("déclenche un bogue")
    (root / "ok.txt").write_text("un fichier ordinaire")
    real = _worker.classify

    def buggy(sample):
        if sample.name == "poison.txt":
            raise IndexError("index out of range")
        return real(sample)

    monkeypatch.setattr(_worker, "classify", buggy)
    rows = _scan(tmp_path, root, workers=1)
    assert rows["ok.txt"]["verdict"] == "intact"
    assert rows["poison.txt"]["verdict"] == "unreadable"
    assert "internal error while classifying (IndexError" in rows["poison.txt"]["evidence"][0]
