"""The family catalog: ids, aliases, duplicates refused, extensions, markers, ranking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rempart.errors import RegistryError
from rempart.triage import families
from rempart.triage._catalog import build, catalog

NOTES = Path(__file__).resolve().parents[3] / "shared" / "data" / "ransom-notes"


def _note_folders() -> list[str]:
    if not NOTES.is_dir():
        return []
    return sorted(p.name for p in NOTES.iterdir() if p.is_dir())


def test_every_reference_family_has_a_catalog_entry() -> None:
    folders = _note_folders()
    if not folders:
        pytest.skip(f"reference notes not found at {NOTES} (../shared/data/ransom-notes)")
    missing = [name for name in folders if families.canonical(name) != name.lower()]
    assert missing == []


@pytest.mark.parametrize(
    ("alias", "family"),
    [
        ("blackcat", "alphv"),
        ("BlackCat", "alphv"),
        ("sodinokibi", "revil"),
        ("lockbit3", "lockbit"),
        ("LockBit  Black", "lockbit"),
        ("lockbit 3.0", "lockbit"),
        ("Djvu", "stop"),
        ("cl0p", "clop"),
        ("Royal", "royal"),
        ("agenda", "qilin"),
        ("ransomexx", "ransomexx"),
    ],
)
def test_aliases_resolve(alias: str, family: str) -> None:
    assert families.canonical(alias) == family


def test_unknown_names_resolve_to_none() -> None:
    assert families.canonical("not-a-family") is None
    assert families.canonical("") is None


def test_every_entry_can_be_recognised() -> None:
    for family_id, entry in catalog().families.items():
        assert entry.name, family_id
        assert entry.names or entry.phrases or entry.markers, family_id


def test_catalog_refuses_duplicate_aliases() -> None:
    table = {
        "one": {"name": "One", "aliases": ["shared"]},
        "two": {"name": "Two", "aliases": ["shared"]},
    }
    with pytest.raises(RegistryError, match="'shared' is already registered"):
        build(table, "test catalog")


def test_catalog_refuses_an_alias_equal_to_another_id() -> None:
    table = {"one": {"name": "One"}, "two": {"name": "Two", "aliases": ["one"]}}
    with pytest.raises(RegistryError, match="'one'"):
        build(table)


def test_catalog_refuses_ids_differing_only_in_case() -> None:
    with pytest.raises(RegistryError, match="'dup'"):
        build({"dup": {"name": "A"}, "DUP": {"name": "B"}})


@pytest.mark.parametrize(
    "entry",
    [
        {"aliases": ["x"]},
        {"name": "X", "names": "not a list"},
        {"name": "X", "markers": [{"at": "middle", "text": "abc"}]},
        {"name": "X", "markers": [{"at": "head"}]},
    ],
)
def test_malformed_entries_are_refused_with_their_location(entry: dict[str, object]) -> None:
    with pytest.raises(RegistryError, match=r"test catalog \[bad\]"):
        build({"bad": entry}, "test catalog")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("budget.xlsx.lockbit", ("lockbit",)),
        ("photo.jpg.WNCRY", ("wannacry",)),
        ("contrat.pdf.key.hive", ("hive",)),
        ("rapport.docx.basta", ("blackbasta",)),
        ("dir/sub/deliberation.odt.royal_w", ("royal",)),
        ("song.mp3", ()),
        ("README", ()),
        ("", ()),
    ],
)
def test_by_extension(filename: str, expected: tuple[str, ...]) -> None:
    assert families.by_extension(filename) == expected
    assert families.is_known_extension(filename) == bool(expected)


def test_by_marker_head_and_tail() -> None:
    random_bytes = os.urandom(4096)
    assert families.by_marker(b"WANACRY!" + random_bytes[:100], random_bytes) == (
        "wannacry",
        "head marker 'WANACRY!'",
    )
    babuk = families.by_marker(random_bytes, random_bytes + b"choung dong looks like hot dog!!")
    assert babuk is not None and babuk[0] == "babuk"
    stop_tail = random_bytes + b"{36A698B9-D67C-4E07-BE82-0EC5B14B4DF5}"
    assert families.by_marker(random_bytes, stop_tail) == (
        "stop",
        "tail marker '{36A698B9-D67C-4E07-BE82-0EC5B14B4DF5}'",
    )
    ryuk = families.by_marker(random_bytes, b"\0" * 10 + b"HERMES" + random_bytes[:300])
    assert ryuk is not None and ryuk[0] == "ryuk"


def test_by_marker_needs_the_marker_in_place() -> None:
    assert families.by_marker(b"", b"") is None
    assert families.by_marker(b"xxWANACRY!", b"") is None
    assert families.by_marker(b"plain text", b"the end") is None
    # A tail marker belongs to the appended trailer: deep inside the content it is not one.
    deep = b"{36A698B9-D67C-4E07-BE82-0EC5B14B4DF5}" + os.urandom(families.TAIL_SPAN)
    assert families.by_marker(b"", deep) is None
    assert families.by_marker(b"", deep[-families.TAIL_SPAN - 1 :] + b"HERMES") is not None


def test_rank_prefers_self_names_over_phrases() -> None:
    text = "~~ LockBit 3.0 the world's fastest and most stable ransomware ~~ its just a business"
    ranked = families.rank(text, "ABC.README.txt")
    assert ranked[0].family == "lockbit"
    assert any("note name" in reason for reason in ranked[0].evidence)
    assert {c.family for c in ranked} >= {"lockbit", "revil"}


def test_rank_uses_case_for_common_words() -> None:
    assert families.rank("PLAY\n")[0].family == "play"
    assert families.rank("Children play in the park") == []


def test_rank_reads_vanity_onion_hosts_and_named_extensions() -> None:
    onion = "hiveleakdbtnp76ulyhi52eag6c6tyc3xw7ez7iqy6wc34gd2nekazyd.onion"
    assert families.rank("visit our site", onions=[onion])[0].family == "hive"
    assert families.rank("all files now have extension .encoded01")[0].family == "sugar"


def test_note_names_alone_decide_nothing() -> None:
    assert families.rank("nothing to see here", "RyukReadMe.txt") == []
    assert "ryuk" in families.note_name_families("RyukReadMe.txt")
