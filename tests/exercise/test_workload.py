"""Legitimate workloads: real effects, the safety of attack, determinism, and no false alarm."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from rempart.cli import main
from rempart.errors import RegistryError
from rempart.exercise import (
    STATE_DIR,
    WORKLOADS,
    Manifest,
    UnsafeTargetError,
    build,
    load_manifest,
    workload,
)
from rempart.store import open_store
from rempart.triage import export, scanner
from rempart.triage.formats import identify
from rempart.triage.sample import from_bytes

KINDS = [
    "zip-folder",
    "unzip",
    "office-save",
    "photo-import",
    "bulk-copy",
    "backup",
    "compress-logs",
    "to-pdf",
    "git-checkout",
]
LIMIT = 60  # enough files to matter, few enough to keep the suite fast


@pytest.fixture(scope="module")
def wl_built(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return build(tmp_path_factory.mktemp("wl-built") / "share", 150, 7)


def _copy(built: Manifest, dest: Path) -> Path:
    shutil.copytree(built.root, dest, symlinks=True, copy_function=shutil.copy2)
    return dest


@pytest.fixture
def share(wl_built: Manifest, tmp_path: Path) -> Path:
    return _copy(wl_built, tmp_path / "share")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    """Path -> sha256 of every file, git's own bookkeeping left out (it holds inodes)."""
    return {
        p.relative_to(root).as_posix(): _sha(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def _scan(root: Path, store: Path) -> dict[str, str]:
    engine = open_store(f"sqlite:///{store}")
    run = scanner.scan(engine, root, options=scanner.ScanOptions(workers=1, hash="none"))
    assert run.status == "done"
    out = store.with_suffix(".jsonl")
    export.write_jsonl(engine, run.scan_id, out)
    return {r["path"]: r["verdict"] for r in map(json.loads, out.read_text().splitlines())}


def test_registry_holds_every_kind_and_refuses_unknown(share: Path) -> None:
    assert sorted(WORKLOADS) == sorted(KINDS)
    with pytest.raises(RegistryError, match="unknown workload"):
        workload(share, "defrag")


@pytest.mark.parametrize("kind", KINDS)
def test_workload_looks_legitimate_to_triage(share: Path, tmp_path: Path, kind: str) -> None:
    state = _tree(share / STATE_DIR)
    report = workload(share, kind, seed=1, limit=LIMIT)
    assert report.kind == kind and report.note is None
    assert 0 < report.touched <= LIMIT
    assert report.files_written + report.files_created > 0
    assert _tree(share / STATE_DIR) == state  # bookkeeping never touched
    verdicts = _scan(share, tmp_path / "store.db")
    alarms = {p: v for p, v in verdicts.items() if v in ("encrypted", "partially_encrypted")}
    assert alarms == {}


def test_zip_folder_archives_the_department(share: Path) -> None:
    report = workload(share, "zip-folder", seed=2, limit=1000)
    (archive,) = report.outputs
    dept = archive.removesuffix(".zip")
    with zipfile.ZipFile(share / archive) as zf:
        assert zf.testzip() is None
        names = sorted(zf.namelist())
        assert names == sorted(
            e.path for e in load_manifest(share) if e.path.startswith(dept + "/")
        )
        assert all(zf.read(n) == (share / n).read_bytes() for n in names)


def test_unzip_extracts_an_archive_of_the_share(share: Path) -> None:
    report = workload(share, "unzip", seed=0)
    (folder,) = report.outputs
    extracted = [p for p in (share / folder).rglob("*") if p.is_file()]
    assert extracted and report.files_created == len(extracted)
    archives = [share / e.path for e in load_manifest(share) if e.kind == "zip"]
    members = {}
    for path in archives:
        with zipfile.ZipFile(path) as zf:
            members.update({n: zf.read(n) for n in zf.namelist()})
    for path in extracted:
        assert path.read_bytes() == members[path.relative_to(share / folder).as_posix()]


def test_office_save_resaves_documents_that_still_open(share: Path) -> None:
    import docx
    import openpyxl

    before = {e.path: e.sha256 for e in load_manifest(share)}
    report = workload(share, "office-save", seed=3, limit=20)
    assert report.files_written >= 3 and not list(share.rglob("~$*"))
    changed = [p for p, sha in before.items() if _sha(share / p) != sha]
    assert changed and all(p.endswith((".docx", ".xlsx")) for p in changed)
    for rel in changed:
        if rel.endswith(".docx"):
            assert docx.Document(str(share / rel)).paragraphs[-1].text
        else:
            assert openpyxl.load_workbook(share / rel).worksheets[0].max_row > 1
    assert all("cannot be opened" in s for s in report.skipped)  # owner-encrypted ones


def test_photo_import_reencodes_at_half_size(share: Path) -> None:
    from PIL import Image

    report = workload(share, "photo-import", seed=0, limit=1000)
    photos = sorted((share / report.outputs[0]).rglob("*.jpg"))
    sources = [e for e in load_manifest(share) if e.kind == "jpeg"]
    assert len(photos) == len(sources) == report.files_created
    for photo in photos:
        with Image.open(photo) as img:
            img.verify()
            assert img.format == "JPEG" and max(img.size) <= 2000


@pytest.mark.parametrize("kind", ["bulk-copy", "backup"])
def test_copies_mirror_content_and_mtime(share: Path, kind: str) -> None:
    report = workload(share, kind, seed=4, limit=1000)
    (dest,) = report.outputs
    dept = next(p for p in share.iterdir() if p.name == Path(dest).name.removeprefix("copie-"))
    sources = sorted(p for p in dept.rglob("*") if p.is_file())
    assert sources and report.files_created == len(sources)
    for src in sources:
        copy = share / dest / src.relative_to(dept)
        assert copy.read_bytes() == src.read_bytes()
        assert copy.stat().st_mtime_ns == src.stat().st_mtime_ns


def test_backup_sends_only_changed_files(share: Path) -> None:
    first = workload(share, "backup", seed=4, limit=1000)
    assert workload(share, "backup", seed=4, limit=1000).touched == 0
    dept = share / Path(first.outputs[0]).name
    changed = sorted(p for p in dept.rglob("*") if p.is_file())[0]
    changed.write_bytes(changed.read_bytes() + b"\n")
    again = workload(share, "backup", seed=4, limit=1000)
    assert (again.files_read, again.files_written, again.files_created) == (1, 1, 0)
    assert (share / first.outputs[0] / changed.relative_to(dept)).read_bytes() == (
        changed.read_bytes()
    )


def test_compress_logs_gzips_and_deletes(share: Path) -> None:
    logs = {e.path: e for e in load_manifest(share) if e.path.endswith((".log", ".txt"))}
    report = workload(share, "compress-logs", seed=0, limit=1000)
    assert report.files_deleted == report.files_created == len(logs)
    for rel, entry in logs.items():
        assert not (share / rel).exists()
        gz = share / (rel + ".gz")
        assert hashlib.sha256(gzip.decompress(gz.read_bytes())).hexdigest() == entry.sha256
        assert gz.stat().st_mtime_ns == entry.mtime_ns


def test_to_pdf_exports_valid_pdfs(share: Path) -> None:
    report = workload(share, "to-pdf", seed=0, limit=1000)
    pdfs = sorted((share / report.outputs[0]).rglob("*.pdf"))
    assert pdfs and len(pdfs) == report.files_created
    for pdf in pdfs:
        check = identify(from_bytes(pdf.read_bytes(), pdf.name))
        assert check is not None and check.format == "pdf" and check.valid


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not on PATH")
def test_git_checkout_switches_branches(share: Path) -> None:
    report = workload(share, "git-checkout", seed=0, limit=LIMIT)
    repo = share / report.outputs[0]
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%s", "--all"], capture_output=True, check=True
    )
    assert log.stdout.decode().split() == ["Revue", "Import", "initial"]
    assert report.files_written > 3 * (report.files_created)  # three checkouts rewrote them


def test_git_checkout_without_git_says_so(share: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(share / "nowhere"))
    report = workload(share, "git-checkout")
    assert report.note == "skipped: git is not on PATH" and report.touched == 0


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_result(wl_built: Manifest, tmp_path: Path, kind: str) -> None:
    trees = []
    for name in ("a", "b"):
        root = _copy(wl_built, tmp_path / name)
        workload(root, kind, seed=9, limit=25)
        trees.append(_tree(root))
    assert trees[0] == trees[1]


def test_refusals(share: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.log").write_text("x")
    with pytest.raises(UnsafeTargetError, match="not a practice share"):
        workload(plain, "compress-logs")
    with pytest.raises(UnsafeTargetError, match="system or home"):
        workload(Path("/"), "bulk-copy")
    link = tmp_path / "link"
    link.symlink_to(share, target_is_directory=True)
    with pytest.raises(UnsafeTargetError, match="symlink"):
        workload(link, "zip-folder")
    assert (plain / "a.log").read_text() == "x"


def test_never_follows_a_symlink_out(share: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "journal.log").write_text("2024-01-01 INFO ok\n")
    os.utime(outside / "journal.log", (1e9, 1e9))
    (share / "lien-vers-dehors").symlink_to(outside, target_is_directory=True)
    (share / "finances" / "lien.log").symlink_to(outside / "journal.log")
    for kind in ("compress-logs", "bulk-copy", "zip-folder", "backup"):
        workload(share, kind, seed=5, limit=1000)
    assert sorted(os.listdir(outside)) == ["journal.log"]
    assert (share / "finances" / "lien.log").is_symlink()
    (share / "workload" / "sauvegarde").rename(tmp_path / "moved")
    (share / "workload" / "sauvegarde").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeTargetError, match="symlink"):
        workload(share, "backup", seed=5)
    assert sorted(os.listdir(outside)) == ["journal.log"]


def test_cli_prints_pid_first_then_a_summary(
    share: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["exercise", "workload", str(share), "--kind", "bulk-copy", "--limit", "10"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith(f"workload pid {os.getpid()}\n")
    assert re.search(r"^bulk-copy: read (\d), wrote 0, created \1, deleted 0 files", out, re.M)
    assert main(["exercise", "workload", "/", "--kind", "backup"]) != 0


def test_rate_paces_the_workload(share: Path) -> None:
    report = workload(share, "compress-logs", limit=8, rate=40)
    assert report.touched == 8 and report.seconds >= 8 / 40 - 0.01
