"""Small named log samples, written by tests (text logs) or read from ../shared/data (evtx)."""

from __future__ import annotations

from pathlib import Path

import pytest

EVTX = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "evtx-attack-samples"
#: Sysmon: an Atomic Red Team run that deletes shadow copies, the backup catalog, recovery
ATOMIC = EVTX / "AutomatedTestingTools" / "PanacheSysmon_vs_AtomicRedTeam01.evtx"
#: Security: WMI lateral movement, 4624 type 3 then 4688 on the target
WMI_LATERAL = EVTX / "Lateral Movement" / "LM_WMI_4624_4688_TargetHost.evtx"

SAMBA_LOG = """\
[2026/11/21 23:10:00.100000,  1] ../../source3/modules/vfs_full_audit.c:1234(do_log)
  10.213.0.2|agent|PC12|share|openat|ok|/srv/share/a.docx
[2026/11/21 23:10:00.200000,  1] ../../source3/modules/vfs_full_audit.c:1234(do_log)
  10.213.0.2|agent|PC12|share|renameat|ok|/srv/share/a.docx|/srv/share/a.docx.lock
this line is damaged |||
"""

AUTH_LOG = """\
Nov 21 22:58:01 fs1 sshd[811]: Accepted password for agent from 10.213.0.9 port 50100 ssh2
Nov 21 22:58:30 fs1 sudo:  agent : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/id
Nov 21 22:59:00 fs1 useradd[900]: new user: name=backdoor, UID=1001, GID=1001
2026-11-21T23:00:01.123456+01:00 fs1 sshd[812]: Failed password for invalid user x from 10.0.0.7 \
port 2 ssh2
<86>1 2026-11-21T22:00:02.5Z fs1 sshd 813 - - Accepted publickey for root from 10.213.0.9 \
port 3 ssh2
garbage without a time
"""


def samba_burst(path: Path, writes: int, minute: str = "2026/11/21 23:11") -> Path:
    """A Samba log of `writes` renames by one client within one minute."""
    lines = []
    for i in range(writes):
        lines.append(f"[{minute}:{i % 60:02d}.000000,  1] vfs_full_audit.c:1(do_log)")
        lines.append(f"  10.213.0.2|agent|PC12|share|renameat|ok|/s/f{i}.docx|/s/f{i}.docx.lock")
    path.write_text("\n".join(lines) + "\n")
    return path


def text_logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "smbd.log").write_text(SAMBA_LOG)
    (folder / "auth.log").write_text(AUTH_LOG)
    (folder / "notes.txt").write_text("not a log at all\njust words\n")
    return folder


def evtx_samples() -> tuple[Path, Path]:
    if not ATOMIC.is_file() or not WMI_LATERAL.is_file():
        pytest.skip(f"evtx samples not found under {EVTX}")
    return ATOMIC, WMI_LATERAL
