"""The walk: batches, completion markers, symlinks never followed, deep chains reopened cheaply."""

from __future__ import annotations

import os
from pathlib import Path

from rempart.triage import walk
from rempart.triage._worker import DirOpener


def _listings(root: Path, batch: int = 128) -> list[walk.Listing]:
    fd = walk.open_root(os.fsencode(root))
    try:
        return list(walk.walk(fd, batch=batch))
    finally:
        os.close(fd)


def test_batches_and_one_last_listing_per_directory(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for i in range(10):
        (tmp_path / "a" / f"f{i}").write_text("x")
    (tmp_path / "a" / "b" / "g").write_text("y")
    got = _listings(tmp_path, batch=4)
    by_dir: dict[bytes, list[walk.Listing]] = {}
    for listing in got:
        by_dir.setdefault(listing.rel, []).append(listing)
    assert set(by_dir) == {b"", b"a", b"a/b"}
    for listings in by_dir.values():
        assert [x.last for x in listings] == [False] * (len(listings) - 1) + [True]
    assert sum(len(x.files) for x in by_dir[b"a"]) == 10
    assert max(len(x.files) for x in by_dir[b"a"]) == 4


def test_symlinked_directory_is_reported_not_entered(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    (tmp_path / "escape").symlink_to("/")
    got = _listings(tmp_path)
    files = [walk.join(x.rel, f) for x in got for f in x.files]
    assert files == [b"real/f"]
    others = {o.rel: o for x in got for o in x.others}
    assert others[b"alias"].kind == others[b"escape"].kind == "symlink"


def test_missing_root_is_a_scan_error(tmp_path: Path) -> None:
    import pytest

    from rempart.errors import ScanError

    with pytest.raises(ScanError, match="no such directory"):
        walk.open_root(os.fsencode(tmp_path / "missing"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ScanError, match="not a directory"):
        walk.open_root(os.fsencode(tmp_path / "file"))


def test_dir_opener_reuses_the_common_prefix(tmp_path: Path) -> None:
    for rel in ("a/b/c", "a/b/d", "a/e", "f"):
        (tmp_path / rel).mkdir(parents=True)
        (tmp_path / rel / "marker").write_text(rel)
    root = walk.open_root(os.fsencode(tmp_path))
    opener = DirOpener(root)
    for rel in (b"a/b/c", b"a/b/d", b"a/e", b"f", b"", b"a/b/c"):
        fd = opener.open(rel)
        marker = os.open("marker", os.O_RDONLY, dir_fd=fd) if rel else None
        if marker is not None:
            assert os.read(marker, 100) == rel
            os.close(marker)
        assert opener.rel == rel
        assert len(opener.fds) == (rel.count(b"/") + 1 if rel else 0)
    os.close(root)
