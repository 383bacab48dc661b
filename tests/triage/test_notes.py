"""Ransom note detection by content, family identification, damaged and ordinary inputs."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from rempart.errors import UsageError
from rempart.triage import notes
from rempart.triage._similar import ReferenceNotes
from rempart.triage._text import plain_text

NOTES = Path(__file__).resolve().parents[3] / "shared" / "data" / "ransom-notes"
MISSING = f"reference notes not found at {NOTES} (../shared/data/ransom-notes)"

#: Known limits, kept visible: each must keep failing until it is fixed (strict xfail).
LIMITS = {
    ("darkpower", "readme.pdf"): "a PDF whose text is drawn as outlines: no text to read",
    ("lapiovra", "RansomNote.txt"): "REvil's template word for word; the catalog says revil",
}


def _reference_notes() -> list[tuple[str, str]]:
    if not NOTES.is_dir():
        return []
    return [
        (folder.name, note.name)
        for folder in sorted(p for p in NOTES.iterdir() if p.is_dir())
        for note in sorted(p for p in folder.iterdir() if p.is_file())
    ]


def _cases() -> list[object]:
    return [
        pytest.param(f, n, marks=pytest.mark.xfail(strict=True, reason=LIMITS[(f, n)]))
        if (f, n) in LIMITS
        else pytest.param(f, n)
        for f, n in _reference_notes()
    ] or [pytest.param("", "", marks=pytest.mark.skip(reason=MISSING))]


@pytest.fixture(autouse=True)
def catalog_only() -> Iterator[None]:
    notes.use_reference_notes(None)
    yield
    notes.use_reference_notes(None)


@pytest.mark.parametrize(("family", "name"), _cases())
def test_real_notes_are_recognised_with_their_family(family: str, name: str) -> None:
    finding = notes.analyse_note((NOTES / family / name).read_bytes(), name)
    assert finding is not None
    assert finding.family == family
    assert 0.0 < finding.confidence <= 1.0
    assert finding.evidence


def test_held_out_notes_with_the_other_reference_notes() -> None:
    items = _reference_notes()
    if not items:
        pytest.skip(MISSING)
    texts = [(f, n, plain_text((NOTES / f / n).read_bytes())) for f, n in items]
    readable = [(f, n, t) for f, n, t in texts if t]
    reference = ReferenceNotes.from_texts(readable)
    sizes = Counter(f for f, _, _ in readable)
    wrong = []
    for position, (family, name, _) in enumerate(readable):
        if sizes[family] < 2:
            continue
        notes.use_reference_notes(reference.without(position))
        finding = notes.analyse_note((NOTES / family / name).read_bytes(), name)
        if finding is None or finding.family != family:
            wrong.append((family, name, finding and finding.family))
    assert wrong == []


ORDINARY = {
    "compte_rendu_conseil.txt": (
        "Compte rendu du conseil municipal du 14 mars.\nOrdre du jour : budget primitif, "
        "voirie, cantine.\nLe budget de 120 000 € est adopté. Paiement des factures sous 30 "
        "jours. Prochaine réunion le 11 avril."
    ),
    "procedure_sauvegarde.txt": (
        "Procédure de sauvegarde.\nLes sauvegardes sont chiffrées (AES-256) chaque nuit ; la "
        "clé privée est au coffre. Pour restaurer vos fichiers, ouvrez un ticket. Ne pas "
        "renommer les dossiers partagés. Le chiffrement BitLocker protège les portables."
    ),
    "memo_rancongiciel.txt": (
        "Note de sensibilisation.\nUn rançongiciel chiffre vos fichiers et réclame une rançon "
        "en bitcoin, parfois payable via le navigateur Tor, et menace de publier les données. "
        "Ne payez jamais. Si vous voyez une note de rançon, débranchez le poste et signalez-le "
        "à la DSI."
    ),
    "README.md": "# outils\n\nRun `backup.sh --encrypt` to create an encrypted archive.\n",
    "accueil.html": (
        "<html><head><title>Mairie</title><style>body{}</style></head><body><h1>Bienvenue"
        "</h1><p>Payer la cantine en ligne, contactez-nous : accueil@mairie.fr</p></body></html>"
    ),
    "service_cloud.txt": (
        "All your files are encrypted at rest with AES-256 and only you hold the private key. "
        "To recover your files after a deletion, contact us within 30 days. Plans from 5 EUR "
        "per month, payment by card."
    ),
    "bitlocker.txt": (
        "BitLocker recovery. Your drive is locked. To unlock your data, enter your 48-digit "
        "recovery key (key ID: 1A2B3C4D). Do not modify the boot configuration."
    ),
    "article.txt": (
        "City of Brookfield hit by ransomware. Hackers encrypted the city's servers and demanded "
        "$400,000 in bitcoin. The gang threatened to post stolen data on its leak site within "
        "7 days. The mayor said the city would not pay."
    ),
    "article_fr.txt": (
        "La mairie de Saint-Aubin victime d'une cyberattaque. Les pirates ont chiffré les "
        "serveurs et réclament une rançon de 50 000 euros en bitcoins. Ils menacent de publier "
        "les données des habitants sur le darkweb sous 10 jours."
    ),
    "playbook.txt": (
        "Ransomware playbook. If a ransom note is found: photograph it, do not delete files, do "
        "not rename encrypted files, do not reboot. Never contact the attackers through their "
        "Tor site. Record the bitcoin wallet and onion address as evidence."
    ),
    "ticket.txt": (
        "Bonjour, depuis ce matin mes fichiers ont l'extension .lockbit et je ne peux plus les "
        "ouvrir. Un fichier README demande de payer en bitcoin. Que dois-je faire ?"
    ),
    "decryptor_readme.txt": (
        "STOP/Djvu Decryptor. This free tool decrypts files encrypted by STOP/Djvu ransomware. "
        "To decrypt your files, run the decryptor. Do not rename encrypted files."
    ),
    "export.csv": "agent;montant;date\nDurand;120,50;2024-03-01\nMartin;99,00;2024-03-02\n",
    "crypto.py": (
        "def decrypt(blob, key):\n    '''Decrypt a backup with the private key.'''\n"
        "    return AESGCM(key).decrypt(blob[:12], blob[12:], None)\n"
    ),
    "message.eml": (
        "From: compta@agglo.fr\nTo: accueil@mairie.fr\nSubject: facture\n\nBonjour, la "
        "facture est à payer sous 30 jours. Contactez-nous en cas de question."
    ),
}


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_ordinary_documents_are_not_notes(name: str) -> None:
    assert notes.analyse_note(ORDINARY[name].encode(), name) is None
    assert notes.analyse_note(ORDINARY[name].encode("utf-16"), name) is None


FRENCH_NOTE = (
    "!!! VOS FICHIERS ONT ÉTÉ CHIFFRÉS !!!\nTous vos documents et bases de données ont été "
    "chiffrés et nous avons copié vos données. Pour récupérer vos fichiers, achetez notre "
    "outil de déchiffrement. Paiement en bitcoin sous 72 heures, sinon publication des données. "
    "Ne renommez pas les fichiers. Contactez-nous : recuperation@onionmail.org\n"
    "Votre identifiant : 7H3K-99PL-QQ21"
)


ENGLISH_NOTE = (
    "Attention! Your network has been compromised and every file on your servers is now "
    "encrypted. We also copied 300 GB of your documents. To get the decryption tool, talk to us "
    "in our chat (Tor Browser required). If we do not hear from you within 5 days, your data "
    "goes to our blog. Do not try to restore anything yourself."
)


def test_an_unseen_english_note() -> None:
    finding = notes.analyse_note(ENGLISH_NOTE.encode(), "RESTORE.txt")
    assert finding is not None
    assert finding.family is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
def test_a_french_note_in_any_encoding(encoding: str) -> None:
    data = FRENCH_NOTE.encode(encoding)
    finding = notes.analyse_note(data, "LISEZ-MOI.txt")
    assert finding is not None
    kinds = {i.kind for i in finding.indicators}
    assert {"email", "deadline"} <= kinds


def test_html_and_rtf_notes() -> None:
    body = FRENCH_NOTE.replace("\n", "<br>")
    html = f"<html><head><style>p{{}}</style></head><body><p>{body}</p></body></html>"
    assert notes.analyse_note(html.encode(), "LISEZ-MOI.hta") is not None
    rtf = "{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 " + FRENCH_NOTE.replace("\n", "\\par ")
    rtf = rtf.replace("É", "\\'c9").replace("é", "\\'e9") + "}"
    assert notes.analyse_note(rtf.encode("ascii", "replace"), "LISEZ-MOI.rtf") is not None


def test_a_short_note_naming_its_gang() -> None:
    finding = notes.analyse_note(b"PLAY\nsomeone@gmx.com\n", "ReadMe.txt")
    assert finding is not None and finding.family == "play"
    assert notes.analyse_note(b"PLAY\n", "ReadMe.txt") is None


DAMAGED = [
    b"",
    b"\0" * 5000,
    os.urandom(70_000),
    bytes(range(256)) * 100,
    FRENCH_NOTE.encode("utf-16-le")[:-1],
    FRENCH_NOTE.encode("utf-8")[:-1] + b"\xc3",
    b"\xff\xfe" + b"\x00\xd8" * 10,
    b"{\\rtf1 " + b"{" * 5000,
    b"{\\rtf1 \\u-10000? \\u55296? " + FRENCH_NOTE.encode("ascii", "replace") + b"}",
    b"<" * 100_000,
]


@pytest.mark.parametrize("data", DAMAGED)
def test_damaged_inputs_give_none_or_a_finding(data: bytes) -> None:
    result = notes.analyse_note(data, "whatever.txt")
    assert result is None or result.confidence > 0


def test_damaged_inputs_with_a_reference_set() -> None:
    notes.use_reference_notes(ReferenceNotes.from_texts([("lockbit", "n.txt", FRENCH_NOTE)]))
    for data in DAMAGED:
        result = notes.analyse_note(data, "whatever.txt")
        assert result is None or result.confidence > 0


def test_a_huge_text_costs_only_its_head() -> None:
    data = (b"All your files are encrypted. Send bitcoin. " + b"a" * 100 + b"\n") * 280_000
    assert len(data) > 40_000_000
    start = time.perf_counter()
    notes.analyse_note(data, "big.txt")
    assert time.perf_counter() - start < 2.0


def test_an_invalid_wallet_is_not_an_indicator() -> None:
    text = FRENCH_NOTE + "\nBTC: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"
    finding = notes.analyse_note(text.encode(), "LISEZ-MOI.txt")
    assert finding is not None
    assert not [i for i in finding.indicators if i.kind == "btc"]


def test_reference_folder_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    if not NOTES.is_dir():
        pytest.skip(MISSING)
    monkeypatch.setenv("REMPART_NOTES_DIR", str(NOTES))
    monkeypatch.setattr(notes, "_reference_checked", False)
    finding = notes.analyse_note((NOTES / "lapiovra" / "RansomNote.txt").read_bytes(), "x.txt")
    assert finding is not None and finding.family == "lapiovra"
    assert any(e.startswith("closest known note") for e in finding.evidence)


def test_a_bad_reference_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        notes.load_reference_notes(tmp_path / "missing")
    with pytest.raises(UsageError, match="no readable"):
        notes.load_reference_notes(tmp_path)
    monkeypatch.setenv("REMPART_NOTES_DIR", str(tmp_path / "missing"))
    monkeypatch.setattr(notes, "_reference_checked", False)
    assert notes.analyse_note(FRENCH_NOTE.encode(), "LISEZ-MOI.txt") is not None
