"""Per-account scores: one account spread over several SMB clients, each below the threshold."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.indicators import Hit
from rempart.guard.respond.clients import BlockClient
from rempart.guard.scoring import THRESHOLD, ActorState
from rempart.guard.users import MIN_SHARE, Users


def client(address: str, score: float, user: str = "alice") -> ActorState:
    state = ActorState(Actor(ActorKind.SMB_CLIENT, address=address, user=user))
    state.score = score
    state.hits.append(Hit(score, f"encrypted: {address}/a.docx"))
    state.paths.append(f"{address}/a.docx")
    state.first_seen = datetime.now(UTC)
    state.last_seen = time.monotonic()  # as the scorer stamps each actor it sees
    return state


def test_two_clients_below_threshold_raise_one_alarm_on_the_account() -> None:
    users = Users("/srv/share")
    users.seen("alice", "10.0.0.7")  # seen on a third machine, writing nothing suspect
    a, b = client("10.0.0.8", 1.25), client("10.0.0.9", 1.25)
    assert a.score < THRESHOLD and b.score < THRESHOLD
    assert not users.scored("alice", "10.0.0.8", a)
    assert users.scored("alice", "10.0.0.9", b)
    assert not users.scored("alice", "10.0.0.9", b)  # once
    alarm = users.alarm("alice", "inc-1")
    assert alarm.actor.key == "user:alice" and alarm.actor.kind is ActorKind.USER
    # every address seen recently, the most recent first: block-client blocks them all
    assert alarm.actor.addresses == ("10.0.0.9", "10.0.0.8", "10.0.0.7")
    assert alarm.score == 2.5 and alarm.incident == "inc-1"
    assert (
        alarm.reasons[0] == "account alice writing from 2 clients: 10.0.0.8 (1.25), 10.0.0.9 (1.25)"
    )
    assert set(alarm.paths) == {"10.0.0.8/a.docx", "10.0.0.9/a.docx"}


def test_one_client_alone_is_that_clients_alarm_not_the_accounts() -> None:
    users = Users("/srv/share")
    users.seen("alice", "10.0.0.9")
    assert not users.scored("alice", "10.0.0.8", client("10.0.0.8", 5.0))
    # the smbd child serving the same client before it was named: still one address
    assert not users.scored("alice", "10.0.0.8", client("10.0.0.8", 1.0))


def test_everyday_points_on_a_second_client_do_not_count() -> None:
    users = Users("/srv/share")
    assert not users.scored("alice", "10.0.0.8", client("10.0.0.8", 1.75))
    assert MIN_SHARE > 0.25
    assert not users.scored("alice", "10.0.0.9", client("10.0.0.9", 0.25))  # a rename
    assert users.scored("alice", "10.0.0.9", client("10.0.0.9", MIN_SHARE))


def test_accounts_are_kept_apart_and_unnamed_ones_ignored() -> None:
    users = Users("/srv/share")
    assert not users.scored("alice", "10.0.0.8", client("10.0.0.8", 1.5))
    assert not users.scored("bob", "10.0.0.9", client("10.0.0.9", 1.5, user="bob"))
    assert not users.scored(None, "10.0.0.10", client("10.0.0.10", 1.5, user=""))
    assert users.seen("", "10.0.0.10") is None


def test_block_client_on_a_user_alarm_blocks_each_address_and_refuses_loopback() -> None:
    options = {
        "never_block": ["10.0.0.7"],
        "ports": [445],
        "all_ports": False,
        "action": "reject",
        "netns": "",
    }
    actor = Actor(ActorKind.USER, user="alice", addresses=("10.0.0.9", "10.0.0.7", "127.0.0.1"))
    alarm = Alarm(actor, datetime.now(UTC), 3.0, ("account alice writing from 2 clients",))
    r = BlockClient(options).respond(alarm, dry_run=True)
    assert r.actor_key == "user:alice" and r.dry_run
    assert "would block 10.0.0.9 (ports 445)" in r.detail
    assert "10.0.0.7 not blocked" in r.detail and "127.0.0.1 not blocked" in r.detail
    assert not r.ok  # a refused address is said, and the next alarm tries again
    assert r.extra["address"] == "10.0.0.9 10.0.0.7 127.0.0.1"
    empty = Alarm(Actor(ActorKind.USER, user="bob"), datetime.now(UTC), 3.0, ())
    assert BlockClient(options).respond(empty, dry_run=True).detail == "no address"


def test_samba_names_and_the_hook_see_the_accounts_addresses() -> None:
    from rempart.guard.respond.hook import hook_env
    from rempart.guard.respond.samba import _same_user

    assert _same_user("RMPTEST\\Alice", "alice") and _same_user("alice", "ALICE")
    assert not _same_user("alice2", "alice")
    actor = Actor(ActorKind.USER, user="alice", addresses=("10.0.0.9", "10.0.0.8"))
    env = hook_env(Alarm(actor, datetime.now(UTC), 3.0, ()), dry_run=False)
    assert env["REMPART_ACTOR"] == "user:alice" and env["REMPART_USER"] == "alice"
    assert env["REMPART_ADDRESSES"] == "10.0.0.9 10.0.0.8" and env["REMPART_ADDRESS"] == ""
