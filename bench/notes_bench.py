"""Ransom note benchmark: recall on real notes, false positives on ordinary documents,
family top-1 on held-out notes (catalog alone, and catalog + the other reference notes).

    .venv/bin/python bench/notes_bench.py [--notes ../shared/data/ransom-notes] [--show]

Ordinary documents are generated here: French and English minutes, IT procedures, awareness
memos, incident reports, CERT advisories (with valid IOCs), e-mails, READMEs, HTML, CSV, code.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import sys
import time
from collections import Counter
from pathlib import Path

from rempart.triage import notes
from rempart.triage._similar import ReferenceNotes
from rempart.triage._text import plain_text

DEFAULT_NOTES = Path(__file__).resolve().parents[2] / "shared" / "data" / "ransom-notes"

TOWNS = ["Saint-Aubin", "Villeneuve", "Montreuil-sur-Loire", "Beaumont", "Lacanau", "Brignoles"]
PEOPLE = ["Mme Durand", "M. Martin", "Mme Lefèvre", "M. Petit", "Claire Moreau", "Paul Girard"]
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
FAMILIES = ["LockBit", "BlackCat", "Conti", "Ryuk", "Play", "Akira", "Royal", "Hive", "Medusa"]

MINUTES_FR = [
    "Le conseil municipal s'est réuni le {d} mars à 18h30 sous la présidence de {p}.",
    "Ordre du jour : budget primitif, travaux de voirie, cantine scolaire, questions diverses.",
    "Le budget de {n} 000 € pour la rénovation de l'école est adopté à l'unanimité.",
    "Le paiement des factures de la salle des fêtes interviendra sous {n} jours.",
    "{p} rappelle que le délai de dépôt des dossiers est fixé à 30 jours.",
    "Le prix du repas à la cantine passera à {n},50 € à la rentrée.",
    "Le maire informe le conseil que le serveur de la mairie a été remplacé cet été.",
]
MINUTES_EN = [
    "The town council met on March {d} at 6.30 pm, chaired by {p}.",
    "Agenda: budget, road works, school canteen, any other business.",
    "A budget of ${n},000 for the library roof was approved unanimously.",
    "Invoices for the community hall will be paid within {n} days.",
    "The price of school meals will rise by {n} cents next term.",
]
PROCEDURE_FR = [
    "Procédure de sauvegarde du serveur de fichiers de la mairie de {t}.",
    "La clé privée de chiffrement est conservée dans le coffre du secrétariat.",
    "Pour restaurer vos fichiers, ouvrez un ticket auprès du service informatique.",
    "Ne pas renommer les dossiers partagés sans l'accord de la DSI.",
    "Le chiffrement BitLocker est activé sur tous les postes portables.",
    "Vérifier chaque lundi que la sauvegarde de la nuit s'est terminée sans erreur.",
    "En cas de panne, contactez l'astreinte au 05 {n} {n} {n} {n}.",
    "Le VPN utilise un certificat personnel et une clé privée stockée sur le poste.",
]
PROCEDURE_EN = [
    "Backup procedure for the {t} file server.",
    "Backups are encrypted with AES-256 and the private key is kept offline.",
    "To restore your files from a snapshot, open a ticket with the IT helpdesk.",
    "Do not rename shared folders without approval from IT.",
    "Full-disk encryption is enabled on every laptop; the recovery key is escrowed.",
    "Payment of the backup software licence is due within 30 days.",
]
AWARENESS_FR = [
    "Note de sensibilisation : les rançongiciels, comment s'en protéger.",
    "Un rançongiciel chiffre vos fichiers et exige une rançon, souvent en bitcoin.",
    "Les attaquants menacent parfois de publier les données volées sur un site Tor.",
    "Ne payez jamais la rançon : rien ne garantit que vous récupérerez vos données.",
    "Si vous constatez que vos fichiers ont une extension inconnue, débranchez le câble réseau.",
    "Signalez immédiatement tout incident au service informatique et à l'ANSSI.",
    "Le groupe {f} a revendiqué plusieurs attaques contre des collectivités en 2023.",
    "Méfiez-vous des pièces jointes inattendues : l'hameçonnage reste la première porte d'entrée.",
    "Une note de rançon peut apparaître sur le bureau : ne la supprimez pas, prévenez la DSI.",
]
AWARENESS_EN = [
    "Security awareness: what to do about ransomware.",
    "Ransomware encrypts your files and demands a ransom in bitcoin or monero.",
    "Attackers often threaten to leak stolen data on a Tor website.",
    "Do not pay the ransom: payment does not guarantee you will get your data back.",
    "If you see a ransom note on your desktop, unplug the network cable and call IT.",
    "Report any suspicious e-mail to the helpdesk immediately.",
    "The {f} ransomware group has hit several local authorities this year.",
    "Never try to decrypt files yourself; the incident response team will handle it.",
]
INCIDENT_FR = [
    "Rapport d'incident : le {d} mars, le serveur de fichiers de {t} a été chiffré.",
    "Le rançongiciel {f} a chiffré 12 000 fichiers et déposé une note dans chaque dossier.",
    "Les attaquants réclamaient 2 BTC ; la commune a décidé de ne pas payer la rançon.",
    "Indicateurs de compromission transmis à l'ANSSI et au CERT-FR.",
    "La restauration depuis les sauvegardes hors ligne a pris {n} jours.",
]
INCIDENT_EN = [
    "Incident report: on March {d} the {t} file server was encrypted by {f}.",
    "The attackers demanded 5 BTC and threatened to publish data on their leak site.",
    "The council decided not to pay; files were restored from offline backups in {n} days.",
    "Indicators of compromise were shared with the national CERT.",
]
ADVISORY_EN = [
    "Threat advisory: {f} ransomware targeting local government.",
    "The ransom note tells victims that their files have been encrypted and asks them to "
    "contact the operators through a Tor site.",
    "Indicators of compromise: onion site {onion}, bitcoin wallet {btc}.",
    "Affiliates exfiltrate data before encryption and threaten to publish it on a leak site.",
    "MITRE ATT&CK techniques observed: T1486 (data encrypted for impact), T1490.",
    "Recommendations: patch CVE-2023-4966, enforce MFA, keep offline backups, do not pay.",
]
ADVISORY_FR = [
    "Bulletin d'alerte du CERT : campagne du rançongiciel {f} contre les collectivités.",
    "La note de rançon indique que les fichiers ont été chiffrés et que les données seront "
    "publiées si la victime ne contacte pas les attaquants.",
    "Indicateurs de compromission : {onion}, portefeuille {btc}.",
    "Les attaquants exigent un paiement en bitcoin sous 72 heures.",
    "Ne payez pas la rançon et signalez l'incident à l'ANSSI.",
]
CRYPTO_EMAIL = [
    "Your purchase of 0.05 BTC has been confirmed.",
    "Funds were sent to your wallet {btc}.",
    "Contact us if you did not make this payment. The Exchange team.",
    "Votre paiement de {n} € par carte a été accepté. Merci de votre confiance.",
]
CHARTER_FR = [
    "Charte informatique de la mairie de {t}.",
    "L'utilisation du navigateur Tor et des logiciels de chiffrement non validés est interdite.",
    "Les fichiers professionnels doivent être enregistrés sur le serveur, jamais sur le poste.",
    "Tout agent qui constate un comportement anormal de son poste doit prévenir la DSI.",
    "Il est interdit de renommer ou déplacer les dossiers partagés des autres services.",
]
SERVICE_EN = [
    "All your files are encrypted at rest with AES-256; only you hold the private key.",
    "To recover your files after a deletion, contact us within 30 days.",
    "Your mailbox is almost full: your files will be deleted within 24 hours.",
    "BitLocker recovery: your drive is locked; enter your recovery key to unlock your data.",
    "Plans start at 5 EUR per month; payment by card or transfer.",
    "Contact us at support@cloud-exemple.eu if you cannot sign in.",
]
README = [
    "# rempart-tools\n\nInstall with `pip install .` then run `make test`.",
    "## Usage\n\nRun `backup.sh --encrypt` to create an encrypted archive of /srv/data.",
    "## Licence\n\nAGPL-3.0. Contact maintainers@example.org for questions.",
]
CODE = [
    "def decrypt(blob: bytes, key: bytes) -> bytes:\n"
    "    return AESGCM(key).decrypt(blob[:12], blob[12:], None)",
    "import hashlib\n\ndef digest(path):\n"
    "    return hashlib.sha256(open(path, 'rb').read()).hexdigest()",
    "for f in files:\n    if f.endswith('.locked'):\n        print('encrypted file', f)",
]
EMAIL = [
    "From: {p} <accueil@mairie-exemple.fr>\nTo: dsi@agglo-exemple.fr\nSubject: imprimante",
    "Bonjour,\nla facture n° {n} est à payer sous 30 jours. Cordialement, {p}",
    "Hi, the payment of ${n} for the licence is overdue; please pay within 7 days.",
    "Your password will expire in {n} days. Contact the helpdesk if you need help.",
]


def _onion(rng: random.Random) -> str:
    key = rng.randbytes(32)
    check = hashlib.sha3_256(b".onion checksum" + key + b"\x03").digest()[:2]
    return base64.b32encode(key + check + b"\x03").decode().lower() + ".onion"


def _btc(rng: random.Random) -> str:
    payload = b"\x00" + rng.randbytes(20)
    number = int.from_bytes(payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4])
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = B58[digit] + out
    return "1" + out


def _fill(line: str, rng: random.Random) -> str:
    people, town, family = rng.choice(PEOPLE), rng.choice(TOWNS), rng.choice(FAMILIES)
    d, n = rng.randint(1, 28), rng.randint(2, 99)
    return line.format(onion=_onion(rng), btc=_btc(rng), d=d, n=n, p=people, t=town, f=family)


def _text_doc(bank: list[str], rng: random.Random) -> str:
    lines = rng.sample(bank, k=rng.randint(max(2, len(bank) // 2), len(bank)))
    return "\n\n".join(_fill(line, rng) for line in lines)


def ordinary_documents(count_each: int = 30, seed: int = 7) -> list[tuple[str, bytes]]:
    """(name, content) of ordinary documents: none of them is a ransom note."""
    rng = random.Random(seed)
    banks = {
        "minutes_fr.txt": MINUTES_FR, "minutes_en.txt": MINUTES_EN,
        "procedure_sauvegarde.txt": PROCEDURE_FR, "backup_procedure.txt": PROCEDURE_EN,
        "sensibilisation_rancongiciel.txt": AWARENESS_FR, "ransomware_awareness.txt": AWARENESS_EN,
        "rapport_incident.txt": INCIDENT_FR, "incident_report.txt": INCIDENT_EN,
        "avis_cert.txt": ADVISORY_FR, "threat_advisory.txt": ADVISORY_EN,
        "exchange_receipt.eml": CRYPTO_EMAIL, "service_notice.eml": SERVICE_EN,
        "charte_informatique.txt": CHARTER_FR,
        "README.md": README, "decrypt_helper.py": CODE, "message.eml": EMAIL,
    }  # fmt: skip
    docs: list[tuple[str, bytes]] = []
    for name, bank in banks.items():
        for i in range(count_each):
            text = _text_doc(bank, rng)
            encoding = "utf-16" if i % 7 == 3 else "utf-8"
            docs.append((f"{i:03d}_{name}", text.encode(encoding)))
    for i in range(count_each):
        body = _text_doc(rng.choice([AWARENESS_FR, MINUTES_FR, PROCEDURE_EN]), rng)
        page = f"<html><head><style>p{{color:red}}</style></head><body><p>{body}</p></body></html>"
        docs.append((f"{i:03d}_page.html", page.encode()))
        rows = "\n".join(f"{_fill('{t};{p};{n};{d}', rng)}" for _ in range(20))
        docs.append((f"{i:03d}_export.csv", ("commune;agent;montant;jour\n" + rows).encode()))
    return docs


def _all_notes(root: Path) -> list[tuple[str, str, bytes]]:
    return [
        (folder.name.lower(), note.name, note.read_bytes())
        for folder in sorted(p for p in root.iterdir() if p.is_dir())
        for note in sorted(p for p in folder.iterdir() if p.is_file())
    ]


def _family(data: bytes, name: str) -> str | None:
    return finding.family if (finding := notes.analyse_note(data, name)) else None


def _leave_one_out(all_notes: list[tuple[str, str, bytes]], minimum: int) -> tuple[int, int]:
    """(right, total) over notes of families with `minimum`+ notes, each one identified with
    the reference set minus itself."""
    texts = [(f, n, t) for f, n, d in all_notes if (t := plain_text(d))]
    reference = ReferenceNotes.from_texts(texts)
    sizes = Counter(f for f, _, _ in all_notes)
    index = {(f, n): k for k, (f, n, _) in enumerate(texts)}
    right = total = 0
    for f, n, d in all_notes:
        if sizes[f] >= minimum:
            k = index.get((f, n))
            notes.use_reference_notes(reference if k is None else reference.without(k))
            right, total = right + (_family(d, n) == f), total + 1
    notes.use_reference_notes(None)
    return right, total


def _timed(docs: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()
    for n, d in docs:
        notes.analyse_note(d, n)
    return (time.perf_counter() - start) / len(docs) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=Path, default=DEFAULT_NOTES)
    parser.add_argument("--show", action="store_true", help="list misses and false positives")
    args = parser.parse_args()
    if not args.notes.is_dir():
        print(f"notes folder {args.notes} not found", file=sys.stderr)
        return 2
    all_notes = _all_notes(args.notes)
    notes.use_reference_notes(None)
    found = [(f, n, notes.analyse_note(d, n)) for f, n, d in all_notes]
    recalled = sum(1 for _, _, x in found if x is not None)
    top1_all = sum(1 for f, _, x in found if x is not None and x.family == f)
    docs = ordinary_documents()
    false_pos = [(n, x) for n, d in docs if (x := notes.analyse_note(d, n)) is not None]
    sizes = Counter(f for f, _, _ in all_notes)
    held = [(f, n, d) for f, n, d in all_notes if sizes[f] >= 2]
    catalog_ok = sum(1 for f, n, d in held if _family(d, n) == f)
    ref_ok, ref_total = _leave_one_out(all_notes, 2)
    loo_ok, loo_total = _leave_one_out(all_notes, 1)
    plain = [(n, d) for n, d in docs if "minutes" in n or "export" in n]

    def pct(a: int, b: int) -> str:
        return f"{a}/{b} ({100 * a / b:.1f}%)"

    rows = [
        ("note recall (all reference notes)", pct(recalled, len(all_notes))),
        ("false positives (ordinary documents)", pct(len(false_pos), len(docs))),
        ("family top-1, held-out, catalog alone", pct(catalog_ok, len(held))),
        ("family top-1, held-out, catalog + other notes", pct(ref_ok, ref_total)),
        ("family top-1, all notes, catalog alone", pct(top1_all, len(all_notes))),
        ("family top-1, all notes, catalog + other notes", pct(loo_ok, loo_total)),
        ("time per ordinary document (all kinds)", f"{_timed(docs):.0f} µs"),
        ("time per plain document (minutes, CSV)", f"{_timed(plain):.0f} µs"),
        ("time per ransom note", f"{_timed([(n, d) for _, n, d in all_notes]):.0f} µs"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  result\n{'-' * width}  ------")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    if args.show:
        for f, n, x in found:
            if x is None or x.family != f:
                print(f"miss/wrong: {f}/{n} -> {x.family if x else None}")
        for n, x in false_pos:
            print(f"false positive: {n}: {x.evidence}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
