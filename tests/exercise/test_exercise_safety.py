"""An attack touches only a practice share, and never follows a symlink out of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rempart.exercise import MARKER, STATE_DIR, UnsafeTargetError, attack, undo, verify
from rempart.exercise._safety import check_target


def test_refuses_a_folder_without_the_marker(tmp_path: Path) -> None:
    (tmp_path / "precious.docx").write_bytes(b"real work")
    with pytest.raises(UnsafeTargetError, match="not a practice share"):
        attack(tmp_path, seed=1)
    with pytest.raises(UnsafeTargetError, match="not a practice share"):
        undo(tmp_path)
    assert (tmp_path / "precious.docx").read_bytes() == b"real work"


def test_refuses_root_system_and_home_folders() -> None:
    for path in (Path("/"), Path("/etc"), Path("/root"), Path.home(), Path("/home/alice")):
        with pytest.raises(UnsafeTargetError, match="system or home"):
            check_target(path)


def test_refuses_a_forged_or_linked_marker(share: Path, tmp_path: Path) -> None:
    marker = share / STATE_DIR / MARKER
    marker.write_text('{"what": "trust me"}')
    with pytest.raises(UnsafeTargetError, match="not a rempart practice-share marker"):
        attack(share, seed=1)
    real = tmp_path / "real-marker.json"
    real.write_text("{}")
    marker.unlink()
    marker.symlink_to(real)
    with pytest.raises(UnsafeTargetError, match="not a regular file"):
        attack(share, seed=1)


def test_refuses_a_share_reached_through_a_symlink(share: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(share, target_is_directory=True)
    with pytest.raises(UnsafeTargetError, match="symlink"):
        attack(link, seed=1)


def test_never_follows_symlinks_out_of_the_share(share: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "budget.xlsx").write_bytes(b"the real budget")
    folder = next(p for p in share.iterdir() if p.is_dir() and p.name != STATE_DIR)
    (folder / "raccourci.xlsx").symlink_to(outside / "budget.xlsx")
    (folder / "dossier-lie").symlink_to(outside, target_is_directory=True)
    before = os.lstat(outside).st_mtime_ns

    report = attack(share, layout="full", seed=1, durable=False)

    assert (outside / "budget.xlsx").read_bytes() == b"the real budget"
    assert sorted(p.name for p in outside.iterdir()) == ["budget.xlsx"]  # no note dropped
    assert os.lstat(outside).st_mtime_ns == before
    assert (folder / "raccourci.xlsx").is_symlink() and (folder / "dossier-lie").is_symlink()
    assert not any("raccourci" in x.original for x in report.labels)
    assert undo(share).ok
    (folder / "raccourci.xlsx").unlink()
    (folder / "dossier-lie").unlink()
    assert verify(share) == []
