"""Review of the per-account guard: what a guard running for weeks keeps, and what it trusts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.guard.conftest import guarding

from rempart.guard import correlate, users
from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.correlate import Client, Correlator
from rempart.guard.respond.clients import BlockClient
from rempart.guard.scoring import ActorState
from rempart.guard.users import Users


def _state(pid: int, score: float, last_seen: float) -> ActorState:
    s = ActorState(Actor(ActorKind.PROCESS, pid=pid), score=score)
    s.last_seen = last_seen
    return s


def test_an_accounts_parts_forget_idle_actors_and_stay_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    u = Users("/srv/share")
    now = 100_000.0
    monkeypatch.setattr(users.time, "monotonic", lambda: now)
    # a week-old smbd child's points no longer count for the account
    assert not u.scored("alice", "10.0.0.8", _state(1, 1.5, now - 7 * 86400))
    assert not u.scored("alice", "10.0.0.9", _state(2, 1.0, now))
    assert len(u.users[(users.SMB, "alice")].parts) == 1
    assert u.users[(users.SMB, "alice")].score == 1.0
    for pid in range(10, 10 + 3 * users._PARTS):  # weeks of connections, each with a point
        u.scored("alice", f"10.1.{pid // 250}.{pid % 250}", _state(pid, 0.1, now))
    assert len(u.users[(users.SMB, "alice")].parts) <= users._PARTS


def test_a_reused_smbd_pid_does_not_inherit_its_client(monkeypatch: pytest.MonkeyPatch) -> None:
    c = Correlator()
    me = os.getpid()  # not an smbd: as a local process given a former smbd's PID
    alive = {me: True}
    monkeypatch.setattr(correlate, "is_smbd", lambda pid: alive.get(pid, False))
    c.audit("/s/a", Client("10.0.0.8", "alice"), me)
    assert c.client_of_pid(me) == Client("10.0.0.8", "alice")
    alive[me] = False  # the smbd exited, the PID went to another process
    now = correlate.time.monotonic() + correlate._SMBD_TTL + 1
    monkeypatch.setattr(correlate.time, "monotonic", lambda: now)
    assert c.client_of_pid(me) is None and c.actor(me, ["/s/b"]) is None
    for pid in range(100_000, 100_000 + 2 * correlate._PIDS):  # one smbd per connection
        c.audit(f"/s/{pid}", Client("10.0.0.9", "bob"), pid)
    assert len(c._by_pid) <= correlate._PIDS


@pytest.fixture
def netns() -> object:
    name = "rgrbc"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for cmd in (
            ["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
            ["addr", "add", "10.231.99.1/24", "dev", "d0"],
            ["addr", "add", "fd31:99::1/64", "dev", "d0", "nodad"],
        ):
            subprocess.run(["ip", "-n", name, *cmd], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_a_user_alarm_never_blocks_the_server_nor_the_responder(
    netns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CLIENT", "10.231.99.50 51234 22")
    options = {
        "never_block": [],
        "ports": [445],
        "all_ports": True,
        "action": "reject",
        "netns": netns,
    }
    seen = ("10.231.99.7", "10.231.99.1", "::ffff:10.231.99.1", "fd31:99::1", "10.231.99.50")
    actor = Actor(ActorKind.USER, user="alice", addresses=seen)
    alarm = Alarm(actor, datetime.now(UTC), 3.0, ("account alice writing from 2 clients",))
    r = BlockClient(options).respond(alarm, dry_run=True)
    assert "would block 10.231.99.7" in r.detail, r.detail
    for own in ("10.231.99.1 ", "::ffff:10.231.99.1 ", "fd31:99::1 "):
        assert f"{own}not blocked: refusing to block the server's own address" in r.detail
    assert "10.231.99.50 not blocked: refusing to block the responder's address" in r.detail
    assert r.detail.count("would block") == 1


def test_block_client_fails_at_start_up_when_the_servers_addresses_are_unknown() -> None:
    from rempart.errors import UsageError

    options = {"never_block": [], "ports": [445], "all_ports": False, "action": "reject"}
    with pytest.raises(UsageError, match="own addresses"):
        BlockClient({**options, "netns": "rgr-no-such-ns"})
    assert BlockClient({**options, "netns": ""}).protected


def test_status_shows_what_was_done_about_a_user_alarm(tmp_path: Path) -> None:
    from sqlalchemy import insert

    from rempart.store import open_store
    from rempart.store.guard import GuardAlarm, GuardResponse, GuardRun

    db = tmp_path / "g.db"
    engine = open_store(f"sqlite:///{db}")
    with engine.begin() as conn:
        added = conn.execute(insert(GuardRun).values(root="/srv/share", alarms=1))
        run = added.inserted_primary_key
        assert run is not None
        reason = "account alice writing from 2 clients: 10.0.0.8 (1.50), 10.0.0.9 (1.00)"
        conn.execute(
            insert(GuardAlarm).values(
                run_id=run[0],
                actor_key="user:alice",
                actor_kind="user",
                user="alice",
                score=2.5,
                reasons=json.dumps([reason]),
            )
        )
        for responder, ok, detail in (
            ("block-client", True, "blocked 10.0.0.8 (ports 445,139, reject); blocked 10.0.0.9"),
            ("close-session", False, "sessions not closed: smbstatus failed"),
        ):
            conn.execute(
                insert(GuardResponse).values(
                    run_id=run[0],
                    responder=responder,
                    actor_key="user:alice",
                    ok=ok,
                    detail=detail,
                )
            )
    rempart = str(Path(sys.executable).parent / "rempart")
    said = subprocess.run(
        [rempart, "guard", "status", "--db", str(db)], capture_output=True, text=True, check=True
    ).stdout
    assert f"  alarm user:alice: {reason}" in said, said
    assert "    response block-client: ok blocked 10.0.0.8" in said, said
    assert "    response close-session: FAILED sessions not closed" in said, said
    as_json = json.loads(
        subprocess.run(
            [rempart, "guard", "status", "--json", "--db", str(db)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert len(as_json[0]["alarm_responses"]["user:alice"]) == 2


def test_readers_do_not_grow_the_scorer_without_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from rempart.guard import scoring
    from rempart.guard.scoring import Scorer

    monkeypatch.setattr(scoring, "MAX_ACTORS", 100)
    scorer = Scorer("/srv/share")
    attacker = scorer.state(Actor(ActorKind.PROCESS, pid=1))
    attacker.score = 1.0  # points so far: kept while readers come and go
    for pid in range(2, 2000):  # `find -exec cat`: one short-lived reader per file
        scorer.state(Actor(ActorKind.PROCESS, pid=pid))
    assert len(scorer.actors) <= 100
    assert scorer.actors["process:1"] is attacker


def test_files_below_a_renamed_folder_keep_their_baseline() -> None:
    from rempart.guard.baseline import Baseline
    from rempart.guard.content import Content
    from rempart.triage.verdicts import Verdict

    b = Baseline("/s")
    docx = Content("docx", Verdict.INTACT, 0.1, 1000, None)
    pdf = Content("pdf", Verdict.INTACT, 0.1, 2000, None)
    b.put("/s/a/x.docx", docx)
    b.put("/s/a/sub/y.pdf", pdf)
    b.put("/s/ab/z.pdf", pdf)
    b.folder_renamed("/s/a", "/s/b")
    b.folder_renamed("/s/b/sub", "/s/b/deeper")
    b.folder_renamed("/s/b", "/s/c")  # a chain: a -> b -> c, and a subfolder in between
    assert b.get("/s/c/x.docx") is docx and "/s/a/x.docx" not in b
    assert b.get("/s/c/x.docx") is docx  # moved: found directly now
    assert b.forget("/s/c/deeper/y.pdf") is pdf and len(b) == 2
    assert b.get("/s/ab/z.pdf") is pdf  # `a` is not a prefix of `ab`
    assert b.get("/s/c/unknown.txt") is None
    b.put("/s/d/w.docx", docx)
    b.folder_renamed("/s/d", "/s/e")
    assert b.move("/s/e/w.docx", "/s/e/w.docx.locked") is docx
    assert b.get("/s/e/w.docx.locked") is docx


WRITER = "import os, sys\nf = sys.argv[1]\nopen(f, 'r+b').write(os.urandom(os.path.getsize(f)))\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="fanotify needs root")
def test_a_file_overwritten_after_its_folder_was_renamed_is_compared_with_before(
    share: Path, tmp_path: Path
) -> None:
    doc = next(
        p for p in sorted(share.rglob("*.docx")) if p.parent != share and p.name[0] not in "!~."
    )
    with guarding(share, tmp_path, kill=False, place_decoys=False) as running:
        known = str(doc) in running.guard.baseline
        moved = doc.parent.with_name(doc.parent.name + "-renamed")
        subprocess.run(["mv", str(doc.parent), str(moved)], check=True)
        time.sleep(0.3)  # the folder's rename is queued before the write
        subprocess.run([sys.executable, "-c", WRITER, str(moved / doc.name)], check=True)
        deadline = time.monotonic() + 10
        reasons: list[str] = []
        while time.monotonic() < deadline and not reasons:
            time.sleep(0.1)
            reasons = [h.reason for s in list(running.guard.scorer.actors.values()) for h in s.hits]
        # the write was compared with the record the baseline kept under the old folder (that
        # record was taken, not left behind under a path that no longer exists)
        assert known and str(doc) not in running.guard.baseline
        assert str(moved / doc.name) in running.guard.baseline
    assert any(r.startswith("encrypted: ") for r in reasons), reasons
