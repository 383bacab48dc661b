"""The scan's store side: opened after the workers start, and Ctrl-C held out of a commit."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from rempart.store import open_store
from rempart.triage import _persist, export, scanner


def test_ctrl_c_during_a_write_waits_for_the_end_of_it() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), _persist._no_sigint():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # Python acts on the signal here, at the latest
            done.append(1)
        done.append(2)
    assert done[-1] == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_pending_ctrl_c_is_raised_before_the_write_starts() -> None:
    handler = signal.getsignal(signal.SIGINT)
    seen = []
    signal.signal(signal.SIGINT, lambda *_: seen.append("old"))
    try:
        with _persist._no_sigint():
            os.kill(os.getpid(), signal.SIGINT)
            seen.append("block")
        assert seen == ["block", "old"]  # the usual handler ran once, after the block
    finally:
        signal.signal(signal.SIGINT, handler)


def _tree(root: Path, dirs: int, per_dir: int) -> Path:
    for d in range(dirs):
        folder = root / f"d{d:02}"
        folder.mkdir(parents=True)
        for i in range(per_dir):
            (folder / f"f{i}.txt").write_text(f"Compte rendu {d}-{i}\n" * 3)
    (root / "lien").symlink_to("d00")  # stored without reading: held until the store opens
    return root


@pytest.mark.parametrize("dirs", [1, 40], ids=["fewer-batches-than-queued", "more"])
def test_a_store_opened_by_the_scan_gets_every_file_once(
    tmp_path: Path, store_url: str, dirs: int
) -> None:
    root = _tree(tmp_path / "share", dirs, 150)
    opener = scanner.StoreOpener(store_url)
    opts = scanner.ScanOptions(workers=2, hash="none", batch=16)
    run = scanner.scan(opener, root, options=opts)
    assert run.status == "done"
    assert run.files == dirs * 150 + 1
    summary = export.summarise(opener(), run.scan_id)
    assert summary.total_files == dirs * 150 + 1
    # every directory is recorded done (a resume would skip them all)
    assert _persist.done_dirs(opener(), run.scan_id) == {
        b"",
        *(f"d{d:02}".encode() for d in range(dirs)),
    }


def test_a_bad_store_fails_the_scan_clearly_after_the_workers_started(tmp_path: Path) -> None:
    root = _tree(tmp_path / "share", 2, 10)
    bad = tmp_path / "not-a-store.db"
    bad.write_bytes(b"this is not a database" * 100)
    from rempart.errors import StoreError

    with pytest.raises(StoreError, match="cannot open the incident store"):
        scanner.scan(
            scanner.StoreOpener(f"sqlite:///{bad}"), root, options=scanner.ScanOptions(workers=2)
        )


_PROBE = """
import sys
from pathlib import Path
from rempart.triage import _worker, scanner

root, seen, db = sys.argv[1:]

def probe(*args):
    # runs in each forked worker: what the scan process had loaded when it forked
    Path(seen).write_text(" ".join(m for m in ("sqlalchemy", "jinja2") if m in sys.modules))
    _worker.init_process(*args)

scanner.init_process = probe
sys.argv = ["rempart", "scan", root, "--db", db, "--workers", "2", "--json"]
from rempart.cli import main
sys.exit(main())
"""


def test_the_scan_command_forks_its_workers_before_loading_the_database_libraries(
    tmp_path: Path,
) -> None:
    import subprocess

    root = _tree(tmp_path / "share", 2, 5)
    seen = tmp_path / "seen.txt"
    db = f"sqlite:///{tmp_path / 's.db'}"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(root), str(seen), db],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert seen.read_text() == ""
    assert '"files": 11' in done.stdout


def test_an_engine_still_works_as_before(tmp_path: Path) -> None:
    root = _tree(tmp_path / "share", 3, 20)
    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    run = scanner.scan(engine, root, options=scanner.ScanOptions(workers=2, hash="none"))
    assert run.files == 61
