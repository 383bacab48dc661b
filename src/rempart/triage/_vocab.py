"""The vocabulary of ransom notes, in English, French and a little German, Spanish and Italian.

Each cue is a compiled pattern over the lowered text with a weight; a cue counts once however
often it occurs. Counter-cues are what awareness memos, IT procedures and meeting minutes say
about ransomware and a note never says ("do not pay", "report it to", "phishing"...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FILES_EN = r"(?:files|data|documents|network|systems?|servers?|computers?|photos|databases|pcs?)"
_FILES_FR = r"(?:fichiers|données|documents|réseau|serveurs?|ordinateurs?|postes?|systèmes?)"


@dataclass(frozen=True)
class Cue:
    """One kind of thing ransom notes say; `core` cues are the ones a note cannot do without."""

    key: str
    weight: float
    core: bool
    pattern: re.Pattern[str]


def _cue(key: str, weight: float, core: bool, *alternatives: str) -> Cue:
    return Cue(key, weight, core, re.compile("|".join(alternatives), re.MULTILINE))


CUES: tuple[Cue, ...] = (
    _cue(
        "files encrypted",
        3,
        True,
        rf"\b(?:your|all|our|vos|tous vos|toutes vos|ihre|sus"
        rf"|i tuoi)\b[^.\n]{{0,40}}\b(?:{_FILES_EN}|{_FILES_FR})\b"
        r"[^.\n]{0,50}(?:encrypt|encryp|crypted|locked|en-?xrypt|chiffr|verrouill|verschlüssel"
        r"|cifrad|encriptad|crittografat)",
        r"(?:encrypted|locked|chiffrés?|crypted) (?:by|par) (?:us|our|nous|[a-z0-9]+ (?:strain"
        r"|ransomware|team))",
        r"\bwe (?:have )?(?:encrypted|locked)\b|\bencrypt(?:ed|ing) (?:all )?(?:of )?your\b",
    ),
    _cue(
        "decryption offered",
        2,
        True,
        r"decrypt(?:or|er|ion tool|ion software|ion program|ion key|ing tool| tool| program"
        r"| software)",
        r"test[- ]decrypt|decrypt (?:one|1|two|2|3|some|a few|several) (?:of your )?files?",
        r"(?:buy|purchase|pay for|get|receive|obtain|otbtain)\b[^.\n]{0,30}(?:private|secret"
        r"|unique) key",
        r"decryption (?:is )?(?:impossible|not possible)",
        r"(?:outil|logiciel|programme|clé) de (?:déchiffrement|décryptage)|déchiffreur|clé privée",
        r"entschlüssel|descifrar|decifrare|to decrypt (?:them|your|all)|we (?:will|can) decr(?:ypt"
        r"|pyt)",
    ),
    _cue(
        "recovery offered",
        2,
        True,
        r"(?:take|get) back your (?:data|files)|(?:to|can|will|we) (?:help you )?"
        r"(?:recover|restore|decrypt|return|get back|unlock) "
        r"(?:all )?(?:of )?your (?:important )?(?:files|data|documents|network|systems)",
        r"(?:récupérer|restaurer|déchiffrer) (?:tous )?vos (?:fichiers|données|documents)",
    ),
    _cue(
        "crypto ransom",
        2,
        False,
        r"\bbitcoins?\b|\bbtc\b|monero|\bxmr\b|crypto-?currency|\bransom\b|rançon\b|lösegeld"
        r"|rescate",
    ),
    _cue(
        "titled as ransomware",
        2,
        True,
        r"^[^a-z0-9\n]{0,12}[a-z0-9][a-z0-9 ._-]{1,30} ransomware[^a-z0-9\n]{0,12}$",
    ),
    _cue("payment", 1, False, r"\bpay(?:ment|ing)?\b|\bprice\b|\bpaiement\b|\bpayer\b|\bprix\b"),
    _cue(
        "tor",
        2,
        False,
        r"\btor[ -]?browser|torproject|\.onion\b|\btor (?:site|network|website|link|chat)"
        r"|navigateur tor",
    ),
    _cue(
        "data leak threat",
        2,
        True,
        r"(?:publish|leak|sell|disclos|upload|releas)\w*\b[^.\n]{0,60}\b(?:data|files|information"
        r"|documents)",
        r"\b(?:data|files|information)\b[^.\n]{0,40}\b(?:stolen|downloaded|exfiltrated|leaked"
        r"|copied)",
        r"\b(?:stole|downloaded|exfiltrated|copied)\b[^.\n]{0,40}\b(?:data|files|information"
        r"|documents)",
        r"\bwe (?:have )?(?:also )?(?:exfiltrated|downloaded|stole|copied|took)\b",
        r"leak (?:site|blog)|our (?:blog|news (?:site|website))",
        r"publi\w+ (?:vos|les) données|données[^.\n]{0,40}(?:volées|exfiltrées|publiées"
        r"|divulguées)",
    ),
    _cue(
        "do-not rules",
        2,
        False,
        r"do not (?:try to )?(?:rename|modify|delete|move|edit|change|use third|shut|reboot"
        r"|turn off)",
        r"don'?t (?:try to )?(?:rename|modify|move|delete|change)|(?:rename"
        r"|modify)\w*[^.\n]{0,40}encrypted",
        r"third[- ]party (?:software|decrypt|tools?|recovery)|permanent(?:ly)? (?:damage|los"
        r"|corrupt)",
        r"ne (?:pas )?(?:renommer|modifier|supprimer|déplacer)|ne (?:renommez|modifiez|supprimez)",
    ),
    _cue(
        "contact channel",
        1,
        False,
        r"contact us|write (?:to )?us|e-?mail us|reach us|our (?:support|chat|website|team)\b",
        r"\btox\b|jabber|telegram|getsession|twitter|contactez[- ]nous|écrivez[- ]nous",
    ),
    _cue(
        "victim id",
        1,
        False,
        r"\b(?:personal|unique|victim|login|company|recovery|client) (?:id|identifier)\b",
        r"\byour (?:personal |unique )?(?:id|identifier|key)\b",
        r"identifiant (?:personnel|unique)",
    ),
    _cue(
        "deadline",
        1,
        False,
        r"\b\d+ ?(?:hours|days|heures|jours)\b|deadline|within \d+|price (?:will )?(?:increase"
        r"|double|go up)",
    ),
    _cue("guarantee", 1, False, r"guarantee|as (?:a )?proof|for free|gratuitement|garantie"),
    _cue(
        "breach claim",
        1,
        False,
        r"what happen|whats happen|qu'est-il arrivé",
        r"your (?:network|company|systems?|infrastructure) (?:has been|have been|was|were|is) "
        r"(?:hacked|breached|compromised|penetrated|infected|attacked|locked)",
        r"votre (?:réseau|entreprise|système) (?:a été|est) (?:piraté|compromis|infecté|attaqué)",
    ),
)

COUNTER_CUES: tuple[Cue, ...] = (
    _cue(
        "advice not to pay",
        3,
        False,
        r"do not pay|don'?t pay|never pay|ne (?:payez|pas payer)|ne jamais payer",
        r"paying (?:the )?ransom (?:does|is|will) not|le paiement de la rançon|payer la rançon ne",
    ),
    _cue(
        "reporting advice",
        3,
        False,
        r"\banssi\b|cybermalveillance|cert-fr|\bcnil\b|signal(?:ez|er)\b|incident response",
        r"report (?:it |this |them |any \w+ )?(?:immediately|to (?:the |your )?(?:it\b|helpdesk"
        r"|security|service))",
        r"plan de reprise|astreinte|service informatique|\bdsi\b|\brssi\b",
        r"\bhelpdesk\b|help desk|it department (?:will|must|should)",
    ),
    _cue(
        "awareness",
        3,
        False,
        r"sensibilisation|awareness|\btraining\b|\bformations?\b|hame[cç]onnage|phishing"
        r"|bonnes pratiques",
        r"best practices?|ransomware (?:attacks?|groups?|gangs?|operators?|is|are)\b",
        r"(?:les|un|le|des) rançongiciels?|what is ransomware|les attaquants|the attackers",
    ),
    _cue(
        "told in the third person",
        3,
        False,
        r"\bvictims\b|\bvictimes\b|\btheir files\b|\bleurs (?:fichiers|données)\b",
        r"\bthe (?:operators|affiliates|attackers|gang)\b|\bthreat actors?\b|\bles attaquants\b",
        r"\bthreaten(?:s|ed)? to\b|\bthey (?:threaten|demand|ask)|\bmenacent de\b|\bexigent\b",
        r"\b(?:the|a|la|une) (?:ransom note|note de rançon)",
    ),
    _cue(
        "decryptor documentation",
        3,
        False,
        r"\bfree (?:decryptor|decryption tool|tool)\b|\bthis (?:free )?tool\b|no ?more ?ransom",
        r"\b(?:emsisoft|bitdefender|kaspersky|avast|eset)\b",
        r"outil (?:gratuit|de déchiffrement gratuit)",
    ),
    _cue(
        "threat intelligence",
        3,
        False,
        r"indicators? of compromise|indicateurs? de compromission|\biocs?\b",
        r"\badvisory\b|\bbulletin\b|mitre|att&ck|\bttps\b|\bcve-\d",
    ),
    _cue(
        "procedure or minutes",
        3,
        False,
        r"encrypted at rest|chiffrées? au repos|end-to-end|de bout en bout",
        r"\bprocedure\b|procédure|\bmeeting\b|réunion|conseil municipal|ordre du jour|\bminutes\b",
        r"compte[- ]rendu|\bagenda\b|\bif you (?:see|notice|receive|find)|si vous (?:constatez"
        r"|recevez|voyez)",
    ),
)

#: The cues a note cannot do without: a text with none of them is looked at further only
#: when it is short enough to be a gang's bare contact card (see `notes._short_note`).
CORE_CUES = tuple(cue for cue in CUES if cue.core)

#: What only an extortioner says: a note needs one of these (or a wallet, an onion site, a
#: gang's name) besides its core claim, so "your files are encrypted at rest" is no note.
THREAT_KEYS = frozenset(
    {
        "crypto ransom",
        "tor",
        "data leak threat",
        "do-not rules",
        "decryption offered",
        "breach claim",
        "titled as ransomware",
    }
)

#: A cheap first look: ordinary files without any of these words are not read further.
PREFILTER = re.compile(r"crypt|ransom|rançon|bitcoin|monero|\.onion|tor[ -]?browser|verschl")
#: The same words as plain substrings: `in` finds one twice as fast as the alternation
#: (a test keeps the two in step).
PREFILTER_WORDS = (
    *("crypt", "ransom", "rançon", "bitcoin", "monero", ".onion", "verschl"),
    *("torbrowser", "tor browser", "tor-browser"),
)
#: Words too common to open every file they appear in (every e-mail has an "@", every
#: French budget "chiffres"): enough only in a short text, like a two-line note.
WEAK_PREFILTER = re.compile(r"chiffr|leak|stolen|@")
SHORT_TEXT = 4096
#: Encoded blobs (MIME attachments, keys): no words in them, and slow for every cue.
BLOB = re.compile(r"^[A-Za-z0-9+/=]{60,}\r?$\n?", re.MULTILINE)
#: Notes are short; cues look at this much text at most.
MAX_TEXT = 32 * 1024

#: File names ransom notes are usually given (weak evidence, never decisive).
NOTE_NAME = re.compile(
    r"read|decrypt|recover|restore|instruction|unlock|ransom|how.?to|help|files|warning|_info"
    r"|!|#|\+|@",
    re.IGNORECASE,
)
