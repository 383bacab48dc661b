"""Workloads that move files around: zip, unzip, bulk copy, rsync-style backup, log rotation."""

from __future__ import annotations

import calendar
import datetime as dt
import gzip
import io
import os
import time
import zipfile
from pathlib import Path, PurePosixPath

from rempart.exercise._workload_core import OUTPUT_DIR, WORKLOADS, Session

ALL = ("",)  # every file ends with the empty suffix
_OLD_LOG = 7 * 86400  # logrotate's "weekly": files older than this are compressed


def _dos_time(mtime_ns: int) -> tuple[int, int, int, int, int, int]:
    when = dt.datetime.fromtimestamp(max(mtime_ns // 10**9, 315532800), dt.UTC)  # >= 1980
    return (when.year, when.month, when.day, when.hour, when.minute, when.second)


@WORKLOADS.register("zip-folder")
def zip_folder(s: Session) -> None:
    """Zip a department folder into an archive next to it (as Explorer's "Send to zip")."""
    dept = s.rng.choice(s.departments())
    archive = s.free(s.root / f"{dept.name}.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in s.sources(ALL, under=dept):
            if not s.fits(path, archive):
                break
            info = zipfile.ZipInfo(
                path.relative_to(s.root).as_posix(), _dos_time(os.lstat(path).st_mtime_ns)
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, s.read(path))
    s.create(archive, buf.getvalue())
    s.outputs.append(s.rel(archive))


def _member_path(name: str) -> PurePosixPath | None:
    """The safe relative path of a zip member, or None (absolute, `..`, drive letters)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in name or not path.parts:
        return None
    return path


@WORKLOADS.register("unzip")
def unzip(s: Session) -> None:
    """Extract an archive found in the share into a new folder, mtimes kept like `unzip`."""
    for archive in sorted(s.sources([".zip"]), key=lambda _: s.rng.random()):
        data = s.read(archive)
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            s.skip(archive, f"not a readable zip ({exc})")
            continue
        with zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if any(i.flag_bits & 0x1 for i in infos) or any(i.compress_type == 99 for i in infos):
                s.skip(archive, "password-protected: needs its owner's password")
                continue
            folder = s.output(f"unzip-{archive.stem}")
            for info in infos:
                member = _member_path(info.filename)
                if member is None or _is_link(info):
                    s.skip(archive, f"member {info.filename!r} not extracted (unsafe path)")
                    continue
                target = folder.joinpath(*member.parts)
                if not s.fits(target):
                    return
                s.mkdirs(target.parent)
                mtime = calendar.timegm((*info.date_time, 0, 0, 0)) * 10**9
                s.create(target, zf.read(info), mtime_ns=mtime)
        return
    s.note = "no readable, unprotected zip archive in the share (run zip-folder first)"


def _is_link(info: zipfile.ZipInfo) -> bool:
    """A member stored as a Unix symlink: never recreated, it could point anywhere."""
    return (info.external_attr >> 16) & 0o170000 == 0o120000


def _copy_tree(s: Session, src: Path, dest: Path, *, only_changed: bool) -> None:
    for path in s.sources(ALL, under=src):
        target = dest.joinpath(*path.relative_to(src).parts)
        info = os.lstat(path)
        if only_changed and os.path.lexists(target):
            old = os.lstat(target)
            if old.st_size == info.st_size and old.st_mtime_ns == info.st_mtime_ns:
                continue  # rsync's quick check: same size and mtime, nothing to send
        tmp = target.with_name(f".{target.name}.{s.rng.randrange(16**6):06x}")
        if not s.fits(path, target, tmp):
            return
        s.mkdirs(target.parent)
        data = s.read(path)
        if only_changed:
            s.replace(target, data, tmp, mtime_ns=info.st_mtime_ns)
        else:
            s.create(target, data, mtime_ns=info.st_mtime_ns)


@WORKLOADS.register("bulk-copy")
def bulk_copy(s: Session) -> None:
    """Copy a department's folder tree (contents and mtimes) into `workload/`."""
    dept = s.rng.choice(s.departments())
    _copy_tree(s, dept, s.output(f"copie-{dept.name}"), only_changed=False)


@WORKLOADS.register("backup")
def backup(s: Session) -> None:
    """Mirror a department to `workload/sauvegarde/`: only changed files, mtimes kept."""
    dept = s.rng.choice(s.departments())
    dest = s.root / OUTPUT_DIR / "sauvegarde" / dept.name
    s.mkdirs(dest)
    s.outputs.append(s.rel(dest))
    _copy_tree(s, dept, dest, only_changed=True)


@WORKLOADS.register("compress-logs")
def compress_logs(s: Session) -> None:
    """Gzip .log and .txt files older than a week next to themselves, then delete them."""
    cutoff = (time.time() - _OLD_LOG) * 10**9
    for path in s.sources([".log", ".txt"]):
        info = os.lstat(path)
        if info.st_mtime_ns > cutoff:
            continue
        target = path.with_name(path.name + ".gz")
        if os.path.lexists(target):
            s.skip(path, f"{target.name} already exists")
            continue
        if not s.fits(path, target):
            return
        buf = io.BytesIO()
        with gzip.GzipFile(path.name, "wb", 6, buf, mtime=info.st_mtime_ns // 10**9) as gz:
            gz.write(s.read(path))
        s.create(target, buf.getvalue(), mtime_ns=info.st_mtime_ns)
        s.delete(path)
