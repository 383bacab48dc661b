"""Acquisition: three digests in one read, a verified copy, the source left exactly as found."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rempart.forensics import evidence
from rempart.forensics.evidence._hashing import tree_digests
from rempart.store.evidence import CustodyEntry, EvidenceFile, EvidenceItem

from .conftest import OLD_NS, Env, make_env


def _state(root: Path) -> dict[str, tuple[bytes | str, int, int]]:
    """Content, mtime and atime of everything under root (links not followed)."""
    found = {}
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            body: bytes | str = os.readlink(path)  # before lstat: reading a link sets its atime
        elif path.is_dir():
            body = "dir"
        else:
            body = _read_noatime(path)
        st = path.lstat()
        found[str(path)] = (body, st.st_mtime_ns, st.st_atime_ns)
    return found


def _read_noatime(path: Path) -> bytes:
    # the test itself must not move the access times it checks
    fd = os.open(path, os.O_RDONLY | os.O_NOATIME)
    try:
        return os.read(fd, 1 << 24)
    finally:
        os.close(fd)


def test_file_item_has_the_three_digests_and_a_verified_copy(
    store_url: str, tmp_path: Path
) -> None:
    env = make_env(store_url, tmp_path)
    src = tmp_path / "ransom.exe"
    data = os.urandom(3 * (1 << 20) + 17)  # more than one 1 MiB chunk, not a multiple
    src.write_bytes(data)
    done = env.acquire(src)
    assert done.digests == evidence.Digests(
        hashlib.sha256(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
        hashlib.md5(data).hexdigest(),
    )
    assert done.size == len(data) and done.files == 1 and not done.in_place
    copy = Path(done.locker_path or "") / "ransom.exe"
    assert copy.read_bytes() == data
    assert copy.stat().st_mode & 0o777 == 0o444
    st = src.stat()
    with env.engine.connect() as conn:
        item = conn.execute(select(EvidenceItem)).one()
        assert item.source_mtime_ns == st.st_mtime_ns and item.source_ctime_ns == st.st_ctime_ns
        assert item.source_path == str(src) and item.source_host and item.acquired_by == "alice"
        log = evidence.entries(conn, item.id)
    assert [e.fields["action"] for e in log] == ["acquired"]
    assert log[0].fields["details"]["digests"]["md5"] == done.digests.md5


def test_the_source_is_never_written_nor_its_times_changed(env: Env, tree: Path) -> None:
    before = _state(tree)
    assert before[str(tree / "vide.txt")][2] == OLD_NS
    env.acquire(tree)
    env.acquire(tree / "docs", in_place=True)
    assert _state(tree) == before


def test_a_tree_hashes_as_its_sha256sum_listing(env: Env, tree: Path) -> None:
    done = env.acquire(tree)
    names = sorted(
        os.fsencode(p.relative_to(tree.parent))
        for p in tree.rglob("*")
        if p.is_file() and not p.is_symlink()
    )
    listing = subprocess.run(
        ["sha256sum", "--", *names], cwd=tree.parent, capture_output=True, check=True
    ).stdout
    assert done.digests.sha256 == hashlib.sha256(listing).hexdigest()
    assert done.files == 4 and done.skipped == ("share/lien",)  # the link is named, not followed
    assert not (Path(done.locker_path or "") / "share" / "lien").exists()
    assert tree_digests([]).sha256 == hashlib.sha256(b"").hexdigest()


def test_rerun_does_not_duplicate_and_again_acquires_a_second_time(env: Env, tree: Path) -> None:
    first = env.acquire(tree)
    second = env.acquire(tree)
    assert second.already and second.id == first.id
    third = env.acquire(tree, again=True)
    assert not third.already and third.id != first.id
    with env.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EvidenceItem)) == 2


def test_an_interrupted_copy_records_nothing_and_the_rerun_resumes_it(
    env: Env, tmp_path: Path
) -> None:
    src = tmp_path / "disque"
    src.mkdir()
    first, second = os.urandom(3 << 20), os.urandom(3 << 20)
    (src / "a.img").write_bytes(first)
    (src / "b.img").write_bytes(second)

    def stop(done: int, total: int) -> None:
        if done > 4 << 20:  # a.img copied, b.img half-way
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        env.acquire(src, progress=stop)
    with env.engine.connect() as conn:
        for table in (EvidenceItem, EvidenceFile, CustodyEntry):
            assert conn.scalar(select(func.count()).select_from(table)) == 0
    [partial] = env.locker.joinpath("inc").glob(".partial-*")
    held_a, held_b = partial / "disque" / "a.img", partial / "disque" / "b.img"
    assert held_a.read_bytes() == first and 0 < held_b.stat().st_size < len(second)
    inode_a = held_a.stat().st_ino
    # a crash can leave damage in what was written: one flipped byte, and garbage past the end
    with open(held_b, "r+b") as f:
        f.seek(10)
        f.write(bytes([second[10] ^ 0xFF]))
        f.seek(0, os.SEEK_END)
        f.write(b"garbage")
    (partial / "disque" / "gone.img").write_bytes(b"the source no longer has it")

    done = env.acquire(src)
    copy = Path(done.locker_path or "") / "disque"
    assert (copy / "a.img").read_bytes() == first and (copy / "b.img").read_bytes() == second
    assert (copy / "a.img").stat().st_ino == inode_a  # compared, not written again
    assert sorted(p.name for p in copy.iterdir()) == ["a.img", "b.img"]
    assert [p.name for p in env.locker.joinpath("inc").iterdir()] == [done.uid]
    assert done.files == 2 and done.size == len(first) + len(second)


def test_a_stale_partial_copy_from_a_killed_run_is_replaced(env: Env, tree: Path) -> None:
    env.acquire(tree / "vide.txt")  # creates the incident's locker folder
    folder = env.locker / "inc"
    key = hashlib.sha1(
        os.uname().nodename.encode() + b"\0" + os.fsencode(tree), usedforsecurity=False
    ).hexdigest()[:16]
    (folder / f".partial-{key}" / "share").mkdir(parents=True)
    (folder / f".partial-{key}" / "share" / "half.bin").write_bytes(b"x" * 10)
    done = env.acquire(tree)
    names = sorted(p.name for p in folder.iterdir())
    assert f".partial-{key}" not in names and done.uid in names
    assert not (Path(done.locker_path or "") / "share" / "half.bin").exists()


def _assert_nothing_recorded(env: Env) -> None:
    with env.engine.connect() as conn:
        for table in (EvidenceItem, EvidenceFile, CustodyEntry):
            assert conn.scalar(select(func.count()).select_from(table)) == 0
    leftovers = list(env.locker.rglob("*")) if env.locker.exists() else []
    assert [p for p in leftovers if p.is_file()] == []
    assert [p for p in leftovers if p.name.startswith(".partial")] == []


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    mnt = tmp_path / "small"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_a_disk_that_fills_during_the_copy_records_nothing(
    env: Env, tmp_path: Path, small_disk: Path
) -> None:
    # 400 small files: 4 KB of bytes in all, but a 4 KiB page each on tmpfs (1.6 MB > 1 MiB),
    # so the free-space check passes and the disk fills during the copy
    src = tmp_path / "many"
    src.mkdir()
    for i in range(400):
        (src / f"f{i:03d}.txt").write_bytes(b"%010d" % i)
    env.locker = small_disk / "locker"
    with pytest.raises(evidence.AcquisitionError, match="disk is full"):
        env.acquire(src)
    _assert_nothing_recorded(env)
    # too large from the start: refused before any byte is copied
    big = tmp_path / "big.img"
    big.write_bytes(os.urandom(2 << 20))
    with pytest.raises(evidence.AcquisitionError, match="not enough space"):
        env.acquire(big)
    _assert_nothing_recorded(env)
    env.locker = tmp_path / "locker"  # a bigger locker: the same command now works
    assert env.acquire(src).files == 400


def test_larger_than_max_copy_is_recorded_in_place(env: Env, tree: Path) -> None:
    done = env.acquire(tree, max_copy=1000)
    assert done.in_place and done.locker_path is None
    assert not env.locker.exists() or not any(env.locker.rglob("*.bin"))
    assert evidence.verify_store(env.engine, "inc").ok


def test_errors_are_clear(env: Env, tree: Path, tmp_path: Path) -> None:
    with pytest.raises(evidence.UnknownError, match="unknown incident 'nope'"):
        env.acquire(tree, incident="nope")
    assert env.acquire(tree, incident="new", create_incident=True).files == 4
    with pytest.raises(evidence.AcquisitionError, match=r"cannot read .*missing"):
        env.acquire(tmp_path / "missing")
    with pytest.raises(evidence.EvidenceError, match="inside the source"):
        env.acquire(tree, locker=tree / "docs" / "locker")
    assert not (tree / "docs" / "locker").exists()
    with pytest.raises(evidence.EvidenceError, match="already inside the evidence locker"):
        env.acquire(env.locker / "new")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(evidence.AcquisitionError, match="neither a regular file nor a folder"):
        env.acquire(tmp_path / "pipe")
    # the store itself lives in tmp_path: acquiring tmp_path would write into it
    with pytest.raises(evidence.EvidenceError, match=r"incident store .* is inside the source"):
        env.acquire(tmp_path, locker=tmp_path.parent / "elsewhere")
    # a source whose reads fail (a bad sector, a lost share): /proc/self/mem at offset 0
    for in_place in (False, True):
        with pytest.raises(evidence.AcquisitionError, match="cannot read /proc/self/mem"):
            env.acquire(Path("/proc/self/mem"), in_place=in_place)
    assert not list(env.locker.rglob(".partial*"))


def test_a_link_given_by_the_user_is_followed(env: Env, tree: Path, tmp_path: Path) -> None:
    (tmp_path / "to-report").symlink_to(tree / "docs" / "compte-rendu.txt")
    done = env.acquire(tmp_path / "to-report")
    expected = hashlib.sha256((tree / "docs" / "compte-rendu.txt").read_bytes()).hexdigest()
    assert done.files == 1 and done.digests.sha256 == expected


def test_an_incident_named_dot_dot_stays_inside_the_locker(env: Env, tree: Path) -> None:
    done = env.acquire(tree / "vide.txt", incident="..", create_incident=True)
    assert Path(done.locker_path or "").parent == env.locker / "__"
