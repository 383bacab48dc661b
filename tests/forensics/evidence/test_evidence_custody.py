"""Keys and the chain of custody in the store: signed, chained, and every tampering found."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from rempart.forensics import evidence
from rempart.forensics.evidence import Kind
from rempart.forensics.evidence._custody import GENESIS
from rempart.store.evidence import CustodyEntry, EvidenceItem

from .conftest import Env, make_env


def _log(env: Env, item: int, *actions: str) -> None:
    with env.engine.begin() as conn:
        for action in actions:
            evidence.append(conn, item, action, env.signer, note=f"{action} note")


def _kinds(env: Env) -> set[Kind]:
    return {f.kind for f in evidence.verify_store(env.engine, "inc").findings}


@pytest.fixture
def logged(env: Env, tree: Path) -> tuple[Env, int]:
    done = env.acquire(tree)
    _log(env, done.id, "transferred", "examined", "examined")
    return env, done.id


def test_key_files_are_private_and_must_match_the_store(env: Env, tmp_path: Path) -> None:
    key = env.keys / "alice.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert set(evidence.public_keys(env.engine)) == {env.signer.fingerprint}
    with pytest.raises(evidence.EvidenceError, match="already has a key"):
        evidence.create_key(env.engine, "alice", tmp_path / "other")
    with pytest.raises(evidence.UnknownError, match="no key for responder 'bob'"):
        evidence.load_signer(env.engine, "bob", env.keys)
    with pytest.raises(evidence.EvidenceError, match="invalid responder name"):
        evidence.create_key(env.engine, "../etc/x", env.keys)
    # a key file swapped for another one is refused
    evidence.create_key(env.engine, "bob", tmp_path / "bobkeys")
    os.replace(tmp_path / "bobkeys" / "bob.key", key)
    with pytest.raises(evidence.EvidenceError, match="does not match"):
        evidence.load_signer(env.engine, "alice", env.keys)
    key.write_text("not a key")
    with pytest.raises(evidence.EvidenceError, match="cannot read the private key"):
        evidence.load_signer(env.engine, "alice", env.keys)


def test_entries_are_chained_and_signed(store_url: str, tmp_path: Path) -> None:
    from .conftest import make_tree

    env = make_env(store_url, tmp_path)
    done = env.acquire(make_tree(tmp_path / "share"))
    _log(env, done.id, "transferred", "examined")
    with env.engine.connect() as conn:
        log = evidence.entries(conn, done.id)
    assert [e.fields["action"] for e in log] == ["acquired", "transferred", "examined"]
    assert log[0].fields["prev"] == GENESIS
    assert [e.fields["prev"] for e in log[1:]] == [e.entry_hash for e in log[:-1]]
    assert all(e.fields["item_sha256"] == done.digests.sha256 for e in log)
    assert evidence.verify_store(env.engine, "inc").ok
    with pytest.raises(evidence.EvidenceError, match="unknown custody action"):
        _log(env, done.id, "lost")


def test_a_changed_byte_in_the_locker_is_found(logged: tuple[Env, int]) -> None:
    env, item = logged
    with env.engine.connect() as conn:
        root = conn.scalar(select(EvidenceItem.locker_path).where(EvidenceItem.id == item))
    victim = Path(str(root)) / "share" / "docs" / "compte-rendu.txt"
    victim.chmod(0o644)
    data = bytearray(victim.read_bytes())
    data[100] ^= 1
    victim.write_bytes(bytes(data))
    (Path(str(root)) / "share" / "added.txt").write_text("planted")
    report = evidence.verify_store(env.engine, "inc")
    assert {(f.kind, f.item) for f in report.findings} == {
        (Kind.CHANGED, "E-0001"),
        (Kind.EXTRA_FILE, "E-0001"),
    }
    victim.unlink()
    assert Kind.MISSING_FILE in _kinds(env)


def test_a_deleted_entry_is_found_in_the_middle_and_at_the_end(logged: tuple[Env, int]) -> None:
    env, item = logged
    with env.engine.begin() as conn:
        conn.execute(
            delete(CustodyEntry).where(CustodyEntry.item_id == item, CustodyEntry.seq == 3)
        )
    assert _kinds(env) == {Kind.MISSING_ENTRY}  # the last one: the item's head says 4 entries
    with env.engine.begin() as conn:
        conn.execute(
            delete(CustodyEntry).where(CustodyEntry.item_id == item, CustodyEntry.seq == 1)
        )
    findings = evidence.verify_store(env.engine, "inc").findings
    assert {(f.kind, f.seq) for f in findings} == {(Kind.MISSING_ENTRY, 1), (Kind.MISSING_ENTRY, 3)}


def test_an_edited_entry_fails_its_hash_and_signature(logged: tuple[Env, int]) -> None:
    env, _item = logged
    with env.engine.begin() as conn:
        payload = conn.scalar(select(CustodyEntry.payload).where(CustodyEntry.seq == 2))
        fields = json.loads(str(payload))
        fields["note"] = "nothing to see"
        edited = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        conn.execute(update(CustodyEntry).where(CustodyEntry.seq == 2).values(payload=edited))
    assert _kinds(env) == {Kind.ALTERED_ENTRY, Kind.BAD_SIGNATURE}


def test_reordered_entries_are_found(logged: tuple[Env, int]) -> None:
    env, _item = logged
    with env.engine.begin() as conn:
        rows = conn.execute(select(CustodyEntry.id, CustodyEntry.seq).order_by(CustodyEntry.id))
        ids = {seq: ident for ident, seq in rows}
        # swap the rows' places: the log read in order of writing now says 0, 2, 1, 3
        first, second = (
            conn.execute(select(CustodyEntry).where(CustodyEntry.id == ids[s])).one()
            for s in (1, 2)
        )
        for row, other in ((first, second), (second, first)):
            conn.execute(
                update(CustodyEntry)
                .where(CustodyEntry.id == row.id)
                .values(
                    seq=other.seq + 100,
                    payload=other.payload,
                    entry_hash=other.entry_hash,
                    signature=other.signature,
                )
            )
        conn.execute(
            update(CustodyEntry).where(CustodyEntry.seq >= 100).values(seq=CustodyEntry.seq - 100)
        )
    assert Kind.REORDERED_ENTRY in _kinds(env)


def test_a_wrong_signature_and_an_unknown_key_are_found(logged: tuple[Env, int]) -> None:
    env, _item = logged
    with env.engine.begin() as conn:
        sig = conn.scalar(select(CustodyEntry.signature).where(CustodyEntry.seq == 1))
        flipped = ("0" if str(sig)[0] != "0" else "1") + str(sig)[1:]
        conn.execute(update(CustodyEntry).where(CustodyEntry.seq == 1).values(signature=flipped))
    assert _kinds(env) == {Kind.BAD_SIGNATURE}
    with env.engine.begin() as conn:
        conn.execute(update(CustodyEntry).where(CustodyEntry.seq == 1).values(signature=str(sig)))
        conn.execute(
            update(CustodyEntry).where(CustodyEntry.seq == 2).values(key_fingerprint="ab" * 32)
        )
    assert _kinds(env) == {Kind.UNKNOWN_KEY, Kind.ALTERED_ENTRY}


def test_a_record_changed_to_match_new_content_disagrees_with_the_signatures(
    logged: tuple[Env, int],
) -> None:
    env, _item = logged
    with env.engine.begin() as conn:
        conn.execute(update(EvidenceItem).values(sha256="0" * 64))
    assert Kind.RECORD_MISMATCH in _kinds(env)


def test_unknown_item_and_incident(env: Env) -> None:
    with pytest.raises(evidence.UnknownError, match="unknown evidence item 'E-0042'"):
        evidence.item_id(env.engine, "E-0042")
    with pytest.raises(evidence.UnknownError, match="unknown incident"):
        evidence.verify_store(env.engine, "nope")
