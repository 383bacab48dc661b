"""What the reports say, in French and English, and how they write numbers, sizes and times."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from rempart.errors import UsageError

_FR: dict[str, str] = {
    "title": "Rapport de tri des fichiers",
    "subtitle": "Analyse après rançongiciel",
    "root": "Dossier analysé",
    "incident": "Incident",
    "scan": "Analyse n°",
    "started": "Début",
    "finished": "Fin",
    "generated": "Rapport produit le",
    "status": "État",
    "status.done": "terminée",
    "status.running": "en cours",
    "status.interrupted": "interrompue",
    "banner.interrupted": "Analyse interrompue : les chiffres ne portent que sur les fichiers "
    "déjà examinés. Relancez la même commande pour reprendre là où elle s'est arrêtée.",
    "banner.running": "Analyse en cours : ce rapport est provisoire et sera incomplet.",
    "files": "fichiers",
    "col.files": "Fichiers",
    "total_files": "Fichiers examinés",
    "total_bytes": "Volume examiné",
    "damaged": "Endommagés",
    "section.verdicts": "Bilan par verdict",
    "section.folders": "Dégâts par dossier (service)",
    "section.families": "Familles de rançongiciel",
    "section.formats": "Par format de fichier",
    "section.notes": "Notes de rançon trouvées",
    "section.indicators": "Indicateurs de compromission",
    "section.window": "Fenêtre de chiffrement",
    "section.samples": "Exemples de fichiers par verdict",
    "section.next": "Que faire maintenant ?",
    "verdict.intact": "Intact",
    "verdict.encrypted": "Chiffré",
    "verdict.partially_encrypted": "Partiellement chiffré",
    "verdict.ransom_note": "Note de rançon",
    "verdict.suspicious": "Suspect",
    "verdict.unreadable": "Illisible",
    "verdict": "Verdict",
    "count": "Nombre",
    "share": "Part",
    "folder": "Dossier",
    "folder.root": "(racine)",
    "others": "autres ({n})",
    "total": "Total",
    "family": "Famille",
    "family.unknown": "inconnue",
    "format": "Format",
    "path": "Chemin",
    "size": "Taille",
    "mtime": "Modifié le",
    "evidence": "Éléments de preuve",
    "confidence": "Confiance",
    "copies": "Exemplaires",
    "more_paths": "… et {n} autres emplacements",
    "more_rows": "{n} autres non affichés",
    "kind": "Type",
    "value": "Valeur",
    "ioc.btc": "Portefeuille Bitcoin",
    "ioc.xmr": "Portefeuille Monero",
    "ioc.onion": "Adresse .onion (Tor)",
    "ioc.email": "Adresse e-mail",
    "ioc.tox": "Identifiant Tox",
    "ioc.session": "Identifiant Session",
    "ioc.victim_id": "Identifiant de victime",
    "ioc.deadline": "Délai",
    "ioc.amount": "Montant",
    "ioc.url": "Adresse web",
    "ioc.hint": "Valeurs à transmettre aux enquêteurs telles quelles (cliquer pour sélectionner).",
    "window.first": "Premier fichier chiffré",
    "window.last": "Dernier fichier chiffré",
    "window.duration": "Durée",
    "window.chart": "Fichiers endommagés par heure de modification",
    "window.bin": "Fichiers endommagés par tranche de {width}",
    "window.table": "Détail par tranche horaire",
    "window.none": "Aucun fichier chiffré : pas de fenêtre de chiffrement.",
    "none.notes": "Aucune note de rançon trouvée.",
    "none.files": "Aucun fichier examiné.",
    "none.samples": "Aucun exemple.",
    "none.families": "Aucune famille identifiée.",
    "sep": "\u00a0: ",
    "chart.verdicts": "Nombre de fichiers par verdict",
    "chart.folders": "Répartition des verdicts par dossier",
    "chart.folders.desc": "Chaque barre vaut 100 % des fichiers du dossier.",
    "chart.families": "Fichiers par famille de rançongiciel",
    "next.intro": "Pour les élus et la direction générale, en attendant les spécialistes :",
    "next.pay": "Ne payez pas la rançon et ne répondez pas aux attaquants : payer ne garantit "
    "ni le retour des fichiers ni le silence, et finance l'attaque suivante.",
    "next.evidence": "Gardez les preuves : ne supprimez, ne renommez et ne « nettoyez » ni les "
    "fichiers chiffrés ni les notes de rançon ; ne réinstallez aucune machine avant les "
    "enquêteurs.",
    "next.isolate": "Isolez : débranchez du réseau (câble et Wi-Fi) les postes et serveurs "
    "touchés, sans les éteindre — leur mémoire contient des traces utiles.",
    "next.call": "Alertez : l'ANSSI / CERT-FR (ou le CSIRT régional), la CNIL sous 72 heures si "
    "des données personnelles sont touchées, et déposez plainte (police ou gendarmerie).",
    "next.restore": "Ne restaurez qu'après avoir compris l'attaque et vérifié que les sauvegardes "
    "sont saines, dans l'ordre des services prioritaires.",
    "footer": "Rapport autonome produit hors ligne par rempart : aucune ressource externe.",
}

_EN: dict[str, str] = {
    "title": "File triage report",
    "subtitle": "Ransomware assessment",
    "root": "Folder scanned",
    "incident": "Incident",
    "scan": "Scan no.",
    "started": "Started",
    "finished": "Finished",
    "generated": "Report generated on",
    "status": "Status",
    "status.done": "complete",
    "status.running": "in progress",
    "status.interrupted": "interrupted",
    "banner.interrupted": "Scan interrupted: the figures only cover the files examined so far. "
    "Run the same command again to resume where it stopped.",
    "banner.running": "Scan in progress: this report is provisional and will be incomplete.",
    "files": "files",
    "col.files": "Files",
    "total_files": "Files examined",
    "total_bytes": "Data examined",
    "damaged": "Damaged",
    "section.verdicts": "Verdicts",
    "section.folders": "Damage per folder (department)",
    "section.families": "Ransomware families",
    "section.formats": "Per file format",
    "section.notes": "Ransom notes found",
    "section.indicators": "Indicators of compromise",
    "section.window": "Encryption window",
    "section.samples": "Sample files per verdict",
    "section.next": "What to do now",
    "verdict.intact": "Intact",
    "verdict.encrypted": "Encrypted",
    "verdict.partially_encrypted": "Partly encrypted",
    "verdict.ransom_note": "Ransom note",
    "verdict.suspicious": "Suspicious",
    "verdict.unreadable": "Unreadable",
    "verdict": "Verdict",
    "count": "Count",
    "share": "Share",
    "folder": "Folder",
    "folder.root": "(root)",
    "others": "others ({n})",
    "total": "Total",
    "family": "Family",
    "family.unknown": "unknown",
    "format": "Format",
    "path": "Path",
    "size": "Size",
    "mtime": "Modified",
    "evidence": "Evidence",
    "confidence": "Confidence",
    "copies": "Copies",
    "more_paths": "… and {n} more places",
    "more_rows": "{n} more not shown",
    "kind": "Kind",
    "value": "Value",
    "ioc.btc": "Bitcoin wallet",
    "ioc.xmr": "Monero wallet",
    "ioc.onion": ".onion address (Tor)",
    "ioc.email": "E-mail address",
    "ioc.tox": "Tox ID",
    "ioc.session": "Session ID",
    "ioc.victim_id": "Victim ID",
    "ioc.deadline": "Deadline",
    "ioc.amount": "Amount",
    "ioc.url": "Web address",
    "ioc.hint": "Pass these values to investigators exactly as shown (click to select).",
    "window.first": "First encrypted file",
    "window.last": "Last encrypted file",
    "window.duration": "Duration",
    "window.chart": "Damaged files per hour of modification",
    "window.bin": "Damaged files per {width} slot",
    "window.table": "Detail per time slot",
    "window.none": "No encrypted file: no encryption window.",
    "none.notes": "No ransom note found.",
    "none.files": "No file examined.",
    "none.samples": "No sample.",
    "none.families": "No family identified.",
    "sep": ": ",
    "chart.verdicts": "Files per verdict",
    "chart.folders": "Verdicts per folder",
    "chart.folders.desc": "Each bar is 100% of the folder's files.",
    "chart.families": "Files per ransomware family",
    "next.intro": "For elected officials and management, until the specialists arrive:",
    "next.pay": "Do not pay the ransom or answer the attackers: paying guarantees neither your "
    "files back nor silence, and it funds the next attack.",
    "next.evidence": "Keep the evidence: do not delete, rename or 'clean' encrypted files or "
    "ransom notes; do not reinstall any machine before the investigators have seen it.",
    "next.isolate": "Isolate: unplug affected computers and servers from the network (cable and "
    "Wi-Fi) but do not switch them off: their memory holds useful traces.",
    "next.call": "Alert: your national cybersecurity agency or CERT (in France ANSSI / CERT-FR), "
    "the data-protection authority within 72 hours if personal data is involved, and the police.",
    "next.restore": "Restore only once the attack is understood and the backups are checked "
    "clean, in order of service priority.",
    "footer": "Self-contained report produced offline by rempart: no external resource.",
}

CATALOGS: Mapping[str, Mapping[str, str]] = {"fr": _FR, "en": _EN}

_UNITS = {"fr": ("o", "Ko", "Mo", "Go", "To", "Po"), "en": ("B", "KB", "MB", "GB", "TB", "PB")}
_DAY = {"fr": "j", "en": "d"}
_IOC_ALIASES = {"bitcoin": "btc", "monero": "xmr", "mail": "email", "e-mail": "email"}
# C0/C1 controls and bidirectional overrides: shown as escapes so that a hostile file name
# can neither drive the terminal nor disguise its extension.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control and bidi-override characters shown as \\xNN or \\uNNNN."""

    def esc(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNPRINTABLE.sub(esc, text)


class Messages:
    """A language's catalog and its ways of writing numbers, sizes, times and durations."""

    def __init__(self, lang: str) -> None:
        if lang not in CATALOGS:
            raise UsageError(
                f"no report language {lang!r}", hint=f"choose one of {', '.join(CATALOGS)}"
            )
        self.lang = lang
        self.catalog = CATALOGS[lang]

    def __call__(self, key: str, **values: object) -> str:
        """The message for `key`, with `{name}` fields filled; the key itself when missing."""
        text = self.catalog.get(key, key)
        return text.format(**values) if values else text

    def verdict(self, verdict: str) -> str:
        return self.catalog.get(f"verdict.{verdict}", printable(verdict))

    def ioc(self, kind: str) -> str:
        kind = _IOC_ALIASES.get(kind.lower(), kind.lower())
        return self.catalog.get(f"ioc.{kind}", printable(kind))

    def number(self, n: float, digits: int = 0) -> str:
        text = f"{n:,.{digits}f}"
        if self.lang == "fr":  # 1 234 567,8 with narrow no-break spaces
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def percent(self, part: float, whole: float) -> str:
        if not whole:
            return "—"
        share = 100 * part / whole
        text = self.number(max(share, 0.1), 1 if 0 < share < 10 else 0)
        text = f"{text}\u00a0%" if self.lang == "fr" else f"{text}%"
        return f"<\u00a0{text}" if 0 < share < 0.1 else text

    def size(self, n: int) -> str:
        units = _UNITS[self.lang]
        value, unit = float(n), 0
        while value >= 1024 and unit < len(units) - 1:
            value, unit = value / 1024, unit + 1
        return f"{self.number(value, 0 if unit == 0 else 1)}\u00a0{units[unit]}"

    def when(self, t: datetime | None, *, seconds: bool = True) -> str:
        if t is None:
            return "—"
        text = t.strftime("%d/%m/%Y %H:%M" if self.lang == "fr" else "%Y-%m-%d %H:%M")
        text += t.strftime(":%S") if seconds else ""
        return f"{text} {t.tzname()}" if t.tzinfo is not None else text

    def duration(self, d: timedelta) -> str:
        minutes = int(d.total_seconds() // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, mins = divmod(rest, 60)
        if days:
            return f"{days}\u00a0{_DAY[self.lang]} {hours}\u00a0h"
        if hours:
            return f"{hours}\u00a0h {mins:02d}\u00a0min"
        if mins:
            return f"{mins}\u00a0min"
        return f"{int(d.total_seconds())}\u00a0s"

    def hours(self, n: int) -> str:
        """A time-slot width given in hours."""
        days, hours = divmod(n, 24)
        parts = [f"{days}\u00a0{_DAY[self.lang]}"] if days else []
        return " ".join([*parts, f"{hours}\u00a0h"] if hours or not days else parts)
