"""The exported package: standard tools accept it, and refuse it after any tampering."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from rempart.forensics import evidence
from rempart.forensics.evidence import Kind

from .conftest import Env, make_env, make_tree


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export per module (two items: a tree with odd names, one file in place)."""
    tmp = tmp_path_factory.mktemp("export")
    env = make_env(f"sqlite:///{tmp / 'store.db'}", tmp)
    tree = make_tree(tmp / "share")
    first = env.acquire(tree)
    env.acquire(tree / "docs" / "compte-rendu.txt", in_place=True, description="in place")
    evidence.create_key(env.engine, "bob", env.keys)
    bob = evidence.load_signer(env.engine, "bob", env.keys)
    with env.engine.begin() as conn:
        evidence.append(conn, first.id, "examined", bob, note="first look")
    done = evidence.export(env.engine, "inc", tmp / "pkg", signer=env.signer, make_tar=True)
    assert (done.items, done.files, done.entries) == (2, 5, 5)
    assert done.tar is not None and done.tar.is_file()
    assert evidence.verify_store(env.engine, "inc").ok  # the export entries are signed too
    return done.folder


@pytest.fixture
def copy(package: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(package, tmp_path / "pkg", symlinks=True))


def _sha256sum(folder: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, check=False
    )


def _openssl_commands(folder: Path) -> list[list[str]]:
    """The openssl commands VERIFY.txt gives, as a reader would paste them."""
    text = (folder / "VERIFY.txt").read_text(encoding="utf-8").split("VERIFYING THIS")[1]
    text = text.replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines() if "openssl pkeyutl" in line]


def _run_all(folder: Path, commands: list[list[str]]) -> list[int]:
    return [
        subprocess.run(c, cwd=folder, capture_output=True, check=False).returncode for c in commands
    ]


def test_standard_tools_accept_the_package(copy: Path) -> None:
    assert _sha256sum(copy).returncode == 0
    commands = _openssl_commands(copy)
    assert len(commands) == 6  # the manifest and five custody entries
    assert _run_all(copy, commands) == [0] * 6
    assert "Vérifier".upper() in (copy / "VERIFY.txt").read_text(encoding="utf-8")
    manifest = json.loads((copy / "manifest.json").read_text())
    assert [i["included"] for i in manifest["items"]] == [True, False]
    assert {k["name"] for k in manifest["keys"]} == {"alice", "bob"}
    lines = [json.loads(x) for x in (copy / "custody.jsonl").read_text().splitlines()]
    assert [(x["item"], json.loads(x["payload"])["action"]) for x in lines] == [
        ("E-0001", "acquired"),
        ("E-0001", "examined"),
        ("E-0001", "exported"),
        ("E-0002", "acquired"),
        ("E-0002", "exported"),
    ]
    assert evidence.verify_package(copy).ok


def test_the_tar_verifies(package: Path) -> None:
    report = evidence.verify_package(package.with_name("pkg.tar"))
    assert report.ok and report.items == 2


def test_a_changed_byte_fails_sha256sum_and_verify(copy: Path) -> None:
    victim = next(copy.glob("items/E-0001/share/caf*"))  # the undecodable name
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes().replace(b"latin", b"Latin"))
    assert _sha256sum(copy).returncode == 1
    findings = evidence.verify_package(copy).findings
    assert [(f.kind, f.item) for f in findings] == [(Kind.CHANGED, "E-0001")]


def test_a_changed_entry_fails_openssl_and_verify(copy: Path) -> None:
    entry = copy / "custody" / "E-0001" / "0001.bin"
    entry.write_bytes(entry.read_bytes().replace(b"first look", b"first lock"))
    codes = _run_all(copy, _openssl_commands(copy))
    assert codes.count(1) == 1 and codes.count(0) == 5
    assert _sha256sum(copy).returncode == 1
    assert {f.kind for f in evidence.verify_package(copy).findings} == {Kind.DAMAGED_PACKAGE}
    # the same change made in custody.jsonl as well: the hash and the signature no longer match
    _edit_log(copy, lambda lines: [x.replace("first look", "first lock") for x in lines])
    kinds = {f.kind for f in evidence.verify_package(copy).findings}
    assert kinds == {Kind.ALTERED_ENTRY, Kind.BAD_SIGNATURE}


def _edit_log(folder: Path, change) -> None:  # type: ignore[no-untyped-def]
    log = folder / "custody.jsonl"
    log.write_text("\n".join(change(log.read_text().splitlines())) + "\n")


@pytest.mark.parametrize(
    ("change", "kind", "seq"),
    [
        (lambda lines: lines[:1] + lines[2:], Kind.MISSING_ENTRY, 1),
        (lambda lines: lines[:2] + lines[3:], Kind.MISSING_ENTRY, 2),  # the last of E-0001
        (lambda lines: [lines[1], lines[0], *lines[2:]], Kind.REORDERED_ENTRY, 0),
        (lambda lines: [*lines[:2], lines[1], *lines[2:]], Kind.EXTRA_ENTRY, 1),
    ],
    ids=["missing", "truncated", "reordered", "extra"],
)
def test_custody_log_tampering_is_found(copy: Path, change, kind: Kind, seq: int) -> None:  # type: ignore[no-untyped-def]
    _edit_log(copy, change)
    findings = evidence.verify_package(copy).findings
    assert (kind, "E-0001", seq) in {(f.kind, f.item, f.seq) for f in findings}


def test_a_forged_signature_and_a_foreign_key_are_found(copy: Path, tmp_path: Path) -> None:
    def forge(lines: list[str]) -> list[str]:
        entry = json.loads(lines[1])
        entry["signature"] = "00" * 64
        return [lines[0], json.dumps(entry), *lines[2:]]

    _edit_log(copy, forge)
    assert {f.kind for f in evidence.verify_package(copy).findings} >= {Kind.BAD_SIGNATURE}
    # bob's public key replaced by a stranger's: his entry is signed by an unknown key
    stranger = make_env(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "o")
    (copy / "keys" / "bob.pem").write_text(evidence.public_keys(stranger.engine).popitem()[1].pem)
    findings = evidence.verify_package(copy).findings
    assert (Kind.UNKNOWN_KEY, "E-0001", 1) in {(f.kind, f.item, f.seq) for f in findings}


def test_extra_files_and_a_damaged_manifest(copy: Path, tmp_path: Path) -> None:
    (copy / "items" / "E-0001" / "share" / "planted.exe").write_bytes(b"MZ")
    (copy / "items" / "E-0009").mkdir()
    kinds = [(f.kind, f.item) for f in evidence.verify_package(copy).findings]
    assert kinds == [(Kind.EXTRA_FILE, ""), (Kind.EXTRA_FILE, "E-0001")]
    manifest = copy / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"E-0002"', '"E-0003"'))
    kinds = [(f.kind, f.item) for f in evidence.verify_package(copy).findings]
    assert (Kind.BAD_SIGNATURE, "") in kinds  # manifest.json.sig no longer matches
    manifest.write_text("{ not json")
    assert [f.kind for f in evidence.verify_package(copy).findings] == [Kind.DAMAGED_PACKAGE]
    with pytest.raises(evidence.EvidenceError, match="not an evidence package"):
        evidence.verify_package(tmp_path)


def test_export_refuses_a_used_folder_and_an_empty_incident(env: Env, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(evidence.EvidenceError, match="not an empty folder"):
        evidence.export(env.engine, "inc", tmp_path / "used", signer=env.signer)
    with pytest.raises(evidence.EvidenceError, match="no evidence items"):
        evidence.export(env.engine, "inc", tmp_path / "new", signer=env.signer)
    assert not (tmp_path / "new").exists()
    with pytest.raises(evidence.UnknownError):
        evidence.export(env.engine, "nope", tmp_path / "new", signer=env.signer)


def test_export_stops_when_the_locker_copy_changed(env: Env, tree: Path, tmp_path: Path) -> None:
    done = env.acquire(tree / "vide.txt")
    victim = Path(done.locker_path or "") / "vide.txt"
    victim.chmod(0o644)
    victim.write_bytes(b"now not empty")
    with pytest.raises(evidence.EvidenceError, match=re.escape("changed in the locker")):
        evidence.export(env.engine, "inc", tmp_path / "out", signer=env.signer)
    assert not (tmp_path / "out").exists()
    with env.engine.connect() as conn:  # no "exported" entry for an export that did not happen
        assert [e.fields["action"] for e in evidence.entries(conn, done.id)] == ["acquired"]


def test_trusted_keys_received_another_way(copy: Path, tmp_path: Path) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    shutil.copy(copy / "keys" / "alice.pem", trusted)
    shutil.copy(copy / "keys" / "bob.pem", trusted)
    assert evidence.verify_package(copy, trusted).ok
    (trusted / "bob.pem").unlink()  # bob's key not confirmed: his entry does not count
    findings = {(f.kind, f.item, f.seq) for f in evidence.verify_package(copy, trusted).findings}
    assert findings == {(Kind.UNKNOWN_KEY, "", None), (Kind.UNKNOWN_KEY, "E-0001", 1)}
    (tmp_path / "empty.pem").write_text("-----BEGIN PUBLIC KEY-----\ngarbage\n")
    with pytest.raises(evidence.EvidenceError, match="no Ed25519 public key"):
        evidence.verify_package(copy, tmp_path / "empty.pem")
    with pytest.raises(evidence.EvidenceError, match="cannot read trusted key"):
        evidence.verify_package(copy, tmp_path / "missing.pem")


def test_a_damaged_tar_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(evidence.EvidenceError, match="not an evidence package"):
        evidence.verify_package(bad)
