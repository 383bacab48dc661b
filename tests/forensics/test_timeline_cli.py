"""The whole path through the CLI: ingest, detect, show, export, story."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from _timeline_samples import samba_burst

from rempart.cli import main

SIGMA = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sigma" / "rules" / "windows"
)


def _run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_investigation_end_to_end(
    tmp_path: Path, text_logs: Path, evtx_samples: tuple[Path, Path], capsys
) -> None:  # type: ignore[no-untyped-def]
    atomic, wmi = evtx_samples
    shutil.copy(atomic, text_logs / "sysmon.evtx")
    shutil.copy(wmi, text_logs / "security.evtx")
    samba_burst(text_logs / "smbd-burst.log", 120)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    base = ["--incident", "town", "--db", db]

    code, out, _ = _run(capsys, "timeline", "ingest", str(text_logs), *base, "--json")
    summary = json.loads(out)
    assert code == 1 and summary["events"] > 200  # 1: the damaged lines are warnings
    assert {w["path"] for w in summary["warnings"]} == {
        str(text_logs / n) for n in ("smbd.log", "auth.log")
    }

    jsonl = tmp_path / "matches.jsonl"
    code, out, _ = _run(
        capsys,
        "timeline",
        "detect",
        *base,
        "--rules",
        str(SIGMA / "builtin" / "security"),
        "--jsonl",
        str(jsonl),
        "--json",
    )
    report = json.loads(out)
    assert code == 1 and report["matches"] > 0
    matches = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert {"rule_id", "rule_title", "level", "timestamp", "host", "event_record_id"} <= set(
        matches[0]
    )
    titles = {m["rule_title"] for m in matches}
    assert "Volume Shadow Copies Deleted Before Encryption" in titles
    assert "Network Or Remote Desktop Logon From Another Host" in titles
    assert "SSH Logon Accepted" in titles

    code, out, _ = _run(capsys, "timeline", "story", *base, "--json")
    story = json.loads(out)
    shadow = story["steps"]["shadow_copies_deleted"]
    assert shadow["events"] and shadow["time"].startswith("2019-07-19")
    assert story["first_malicious"]["events"]
    edges = {(e["source"], e["target"]) for e in story["lateral_movement"]}
    assert ("10.213.0.9", "fs1") in edges  # the SSH logons
    assert any(e["kinds"] == ["network"] for e in story["lateral_movement"])
    assert story["mass_smb_writes"][0]["count"] == 120
    accounts = {a["text"] for a in story["accounts"]}
    assert "agent" in accounts
    code, text, _ = _run(capsys, "timeline", "story", *base)
    assert "Shadow copies deleted" in text and "[events #" in text

    out_csv = tmp_path / "timeline.csv"
    code, _, _ = _run(capsys, "timeline", "export", str(out_csv), *base, "--level", "high")
    rows = list(csv.DictReader(out_csv.open()))
    assert rows and set(rows[0]) >= {"message", "datetime", "timestamp_desc"}
    assert all(r["level"] in {"high", "critical"} for r in rows)
    assert rows == sorted(rows, key=lambda r: r["datetime"])

    code, out, _ = _run(
        capsys,
        "timeline",
        "export",
        *base,
        "--format",
        "jsonl",
        "--host",
        "fs1",
        "--since",
        "2026-01-01",
        "--account",
        "agent",
    )
    events = [json.loads(line) for line in out.splitlines()]
    assert events and {e["host"] for e in events} == {"fs1"}
    code, out, _ = _run(capsys, "timeline", "show", *base, "--limit", "3")
    assert code == 0 and out.count("\n") >= 3

    # Re-running everything changes nothing.
    _run(capsys, "timeline", "ingest", str(text_logs), *base, "--json")
    code, out, _ = _run(capsys, "timeline", "detect", *base, "--json")
    assert json.loads(out)["matches"] > 0


def test_user_mistakes_are_one_line_errors(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'store.db'}"
    code, _, err = _run(
        capsys, "timeline", "ingest", str(tmp_path / "nope"), "--incident", "x", "--db", db
    )
    assert code == 2 and "no such file" in err and "Traceback" not in err
    (tmp_path / "auth.log").write_text("Nov 21 22:58:01 fs1 sshd[1]: hello\n")
    code, _, err = _run(
        capsys, "timeline", "ingest", str(tmp_path / "auth.log"), "--incident", "x", "--db", db,
        "--tz", "Europe/Nowhere",
    )  # fmt: skip
    assert code == 2 and "unknown time zone: 'Europe/Nowhere'" in err and "Traceback" not in err
    code, _, err = _run(capsys, "timeline", "story", "--incident", "unknown", "--db", db)
    assert code == 2 and "no incident 'unknown'" in err
    code, _, err = _run(
        capsys,
        "timeline",
        "detect",
        "--incident",
        "x",
        "--db",
        db,
        "--rules",
        str(tmp_path / "none"),
    )
    assert code == 2 and "no such rule" in err
    code, _, err = _run(
        capsys, "timeline", "show", "--incident", "x", "--db", db, "--since", "yesterday"
    )
    assert code == 2 and "--since" in err
