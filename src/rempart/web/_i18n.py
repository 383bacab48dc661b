"""What the pages say, in French and English.

One table of (French, English) pairs: a missing translation is a KeyError in the tests,
never a page half in one language.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

LANGS = ("fr", "en")

_TEXT: dict[str, tuple[str, str]] = {
    "colon": ("\u00a0: ", ": "),  # French puts a (no-break) space before a colon
    "app": ("Rempart : cellule de crise", "Rempart: incident workspace"),
    "login": ("Connexion", "Sign in"),
    "logout": ("Déconnexion", "Sign out"),
    "email": ("Adresse e-mail", "E-mail address"),
    "password": ("Mot de passe", "Password"),
    "incidents": ("Incidents", "Incidents"),
    "no_incidents": ("Aucun incident visible.", "No incident to show."),
    "new_incident": ("Ouvrir un incident", "Open an incident"),
    "create": ("Créer", "Create"),
    "key": ("Identifiant", "Key"),
    "title": ("Titre", "Title"),
    "description": ("Description", "Description"),
    "owner": ("Organisation pilote", "Organisation in charge"),
    "towns": ("Communes touchées", "Towns affected"),
    "towns_help": ("identifiants séparés par des virgules", "slugs separated by commas"),
    "services": ("Services touchés", "Services affected"),
    "services_help": ("séparés par des virgules", "separated by commas"),
    "severity": ("Gravité", "Severity"),
    "first_seen": ("Première détection (UTC)", "First seen (UTC)"),
    "created": ("Ouvert le", "Opened"),
    "logbook": ("Main courante", "Logbook"),
    "entries": ("entrées en main courante", "logbook entries"),
    "logbook_empty": ("Aucune entrée.", "No entry yet."),
    "append": ("Ajouter à la main courante", "Add to the logbook"),
    "what": ("Quoi", "What"),
    "source": ("Source", "Source"),
    "when": ("Quand", "When"),
    "who": ("Qui", "Who"),
    "corrects": ("corrige l'entrée", "corrects entry"),
    "chain_ok": ("Chaîne de hachage intègre", "Hash chain intact"),
    "chain_broken": ("Chaîne de hachage rompue", "Hash chain broken"),
    "invite": ("Inviter sur cet incident", "Invite to this incident"),
    "role": ("Rôle", "Role"),
    "investigator": ("Enquêteur (lecture seule)", "Investigator (read-only)"),
    "viewer": ("Lecteur", "Viewer"),
    "responder": ("Intervenant", "Responder"),
    "tasks": ("Tâches", "Tasks"),
    "no_tasks": ("Aucune tâche.", "No task."),
    "playbook": ("Déroulé (playbook)", "Playbook"),
    "add_playbook": ("Ajouter les tâches", "Add its tasks"),
    "add_task": ("Ajouter une tâche", "Add a task"),
    "due": ("Échéance", "Due"),
    "assignee": ("Responsable", "Assignee"),
    "status": ("État", "Status"),
    "mark_done": ("Fait", "Done"),
    "decisions": ("Décisions", "Decisions"),
    "no_decisions": ("Aucune décision.", "No decision yet."),
    "decision": ("Décision", "Decision"),
    "rationale": ("Motif", "Rationale"),
    "decided_by": ("Prise par", "Taken by"),
    "record": ("Enregistrer", "Record"),
    "contacts": ("Contacts", "Contacts"),
    "no_contacts": ("Aucun contact.", "No contact yet."),
    "kind": ("Type", "Kind"),
    "name": ("Nom", "Name"),
    "phone": ("Téléphone", "Phone"),
    "reference": ("Référence", "Reference"),
    "notes": ("Notes", "Notes"),
    "add": ("Ajouter", "Add"),
    "scans": ("Analyses des partages", "Share scans"),
    "no_scans": ("Aucune analyse rattachée.", "No scan attached."),
    "share": ("Partage", "Share"),
    "town": ("Commune", "Town"),
    "files": ("Fichiers", "Files"),
    "encrypted": ("Chiffrés", "Encrypted"),
    "families": ("Familles", "Families"),
    "notes_found": ("Notes de rançon", "Ransom notes"),
    "chart_tasks": ("Avancement des tâches", "Task progress"),
    "chart_scans": ("Part de fichiers chiffrés par partage", "Encrypted share of files"),
    "chart_services": ("État des services", "Services' status"),
    "public_status": ("Page publique", "Public page"),
    "communications": ("Communication", "Communications"),
    "no_desk": (
        "Aucune commune dont vous rédigez ou approuvez la page publique.",
        "No town whose public page you draft or approve.",
    ),
    "drafts": ("Brouillons à approuver", "Drafts awaiting approval"),
    "no_drafts": ("Aucun brouillon.", "No draft."),
    "draft": ("Proposer", "Draft"),
    "approve": ("Approuver et publier", "Approve and publish"),
    "reject": ("Rejeter", "Reject"),
    "service": ("Service", "Service"),
    "message_fr": ("Message (français)", "Message (French)"),
    "message_en": ("Message (anglais)", "Message (English)"),
    "drafted_by": ("Proposé par", "Drafted by"),
    "current": ("Situation publiée", "Published status"),
    "history": ("Historique", "History"),
    "updated": ("Mis à jour", "Updated"),
    "feed": ("Flux Atom", "Atom feed"),
    "public_intro": (
        "Services de la commune pendant l'incident informatique en cours.",
        "The town's services during the current IT incident.",
    ),
    "fraud": (
        "Attention aux tentatives de fraude : la mairie ne vous demandera jamais vos "
        "coordonnées bancaires ni vos mots de passe par e-mail, SMS ou téléphone.",
        "Beware of fraud: the town hall will never ask for your bank details or passwords "
        "by e-mail, text message or phone.",
    ),
    "nothing_published": ("Aucune information publiée.", "Nothing published yet."),
    "error": ("Erreur", "Error"),
    "back": ("Retour", "Back"),
    "other_lang": ("English", "Français"),
    # statuses of a public service
    "st.working": ("Fonctionne", "Working"),
    "st.degraded": ("Dégradé", "Degraded"),
    "st.read_only": ("Lecture seule", "Read-only"),
    "st.partial_outage": ("Panne partielle", "Partial outage"),
    "st.down": ("Interrompu", "Down"),
    # task statuses
    "ts.todo": ("À faire", "To do"),
    "ts.doing": ("En cours", "In progress"),
    "ts.blocked": ("Bloquée", "Blocked"),
    "ts.done": ("Faite", "Done"),
    "ts.skipped": ("Sans objet", "Skipped"),
    # severities
    "sev.unknown": ("Inconnue", "Unknown"),
    "sev.low": ("Faible", "Low"),
    "sev.medium": ("Moyenne", "Medium"),
    "sev.high": ("Élevée", "High"),
    "sev.critical": ("Critique", "Critical"),
    # HTTP errors shown on the error page
    "err.404": ("Introuvable.", "Not found."),
    "err.csrf": (
        "Formulaire expiré ou falsifié : rechargez la page et recommencez.",
        "Expired or forged form: reload the page and try again.",
    ),
    "err.login": ("E-mail ou mot de passe incorrect.", "Wrong e-mail or password."),
    "err.throttled": (
        "Trop d'essais : réessayez dans {seconds} s.",
        "Too many attempts: try again in {seconds} s.",
    ),
}


class Messages(Mapping[str, str]):
    """The texts of one language, looked up like a dict (templates: `t["login"]`)."""

    def __init__(self, index: int) -> None:
        self._index = index

    def __getitem__(self, key: str) -> str:
        return _TEXT[key][self._index]

    def __iter__(self) -> Iterator[str]:
        return iter(_TEXT)

    def __len__(self) -> int:
        return len(_TEXT)


@functools.cache
def messages(lang: str) -> Messages:
    return Messages(LANGS.index(lang) if lang in LANGS else 0)


def when(value: datetime | None) -> str:
    """A time for people: UTC, to the minute (the logbook keeps the microseconds)."""
    if value is None:
        return "—"
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.strftime("%Y-%m-%d %H:%M UTC")
