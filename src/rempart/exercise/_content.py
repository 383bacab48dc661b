"""French municipal vocabulary: departments, folder and file names, sentences, people."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

# (folder name, subjects of its documents); some names carry accents on purpose.
DEPARTMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "etat-civil": (
        "État civil",
        (
            "Acte de naissance",
            "Acte de mariage",
            "Acte de décès",
            "Livret de famille",
            "Reconnaissance anticipée",
            "PACS",
        ),
    ),
    "urbanisme": (
        "Urbanisme",
        (
            "Permis de construire",
            "Déclaration préalable",
            "PLU révision",
            "Certificat d'urbanisme",
            "Arrêté d'alignement",
            "Cadastre",
        ),
    ),
    "finances": (
        "Finances",
        (
            "Budget primitif",
            "Compte administratif",
            "Mandats",
            "Titres de recettes",
            "Subventions associations",
            "Marchés publics",
        ),
    ),
    "rh": (
        "Ressources humaines",
        (
            "Fiche de paie",
            "Arrêté de nomination",
            "Congés",
            "Entretien annuel",
            "Tableau des effectifs",
            "Formation",
        ),
    ),
    "ecoles": (
        "Écoles",
        (
            "Cantine menus",
            "Inscriptions scolaires",
            "Périscolaire",
            "Conseil d'école",
            "Transport scolaire",
            "Effectifs classes",
        ),
    ),
    "services-techniques": (
        "Services techniques",
        (
            "Bon de commande",
            "Entretien voirie",
            "Éclairage public",
            "Bâtiments communaux",
            "Espaces verts",
            "Déneigement",
        ),
    ),
    "communication": (
        "Communication",
        (
            "Bulletin municipal",
            "Communiqué de presse",
            "Affiche fête",
            "Site internet",
            "Réseaux sociaux",
            "Photos cérémonie",
        ),
    ),
    "elus": (
        "Élus",
        (
            "Délibération",
            "Conseil municipal",
            "Procès-verbal",
            "Ordre du jour",
            "Arrêté du maire",
            "Commission travaux",
        ),
    ),
    "archives": (
        "Archives",
        (
            "Registre ancien",
            "Inventaire",
            "Versement",
            "Bordereau",
            "Plan ancien",
            "Correspondance",
        ),
    ),
}
FIRST = (
    "Marie",
    "Jean",
    "Camille",
    "Nathalie",
    "Pierre",
    "Élodie",
    "François",
    "Sophie",
    "Hélène",
    "Thomas",
    "Céline",
    "Jérôme",
    "Anaïs",
    "Loïc",
    "Zoé",
    "Benoît",
    "Inès",
    "Gaël",
)
LAST = (
    "Martin",
    "Bernard",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Girard",
    "Roussel",
    "Fontaine",
    "Chevalier",
    "Perrin",
    "Lemaire",
    "Faure",
    "Gauthier",
    "Mercier",
    "Blanc",
    "Guérin",
)
STREETS = (
    "rue de la Mairie",
    "place de l'Église",
    "avenue Jean Jaurès",
    "chemin des Prés",
    "rue du Moulin",
    "impasse des Tilleuls",
    "route de Saint-Étienne",
    "allée des Écoles",
)
TOWN = "Saint-Martin-des-Champs"
_VERBS = (
    "approuve",
    "examine",
    "prévoit",
    "rappelle",
    "autorise",
    "demande",
    "transmet",
    "valide",
    "constate",
    "propose",
    "reporte",
    "signale",
)
_OBJECTS = (
    "le budget de l'exercice",
    "la convention avec l'intercommunalité",
    "les travaux de réfection de la toiture",
    "le règlement intérieur",
    "la demande de subvention",
    "le tableau des effectifs",
    "le marché de restauration",
    "la modification du PLU",
    "l'entretien des chemins ruraux",
    "le plan de formation",
    "la rénovation énergétique de l'école",
    "le renouvellement de l'éclairage public",
)
_SUBJECTS = (
    "Le conseil municipal",
    "Monsieur le Maire",
    "La commission",
    "Le service",
    "Madame la Directrice générale des services",
    "L'adjoint aux finances",
    "Le secrétariat de mairie",
    "La préfecture",
)
_TAILS = (
    "conformément à la délibération du conseil.",
    "pour un montant de {n} euros TTC.",
    "avant le {d}.",
    "après avis favorable de la commission.",
    "dans le respect du code général des collectivités territoriales.",
    "selon le devis n° {n}.",
    "au titre de l'année {y}.",
)


@functools.cache
def _pools() -> dict[str, list[str]]:
    """Sentences, people, addresses and dates made once: files draw from them in one call.

    Drawing a whole paragraph with `random.choices` instead of a dozen calls per sentence
    keeps text generation off the profile of a 10,000-file build.
    """
    r = random.Random("rempart-words")

    def sentence() -> str:
        day = f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/{r.randint(2015, 2025)}"
        tail = r.choice(_TAILS).format(n=r.randint(120, 250000), d=day, y=r.randint(2015, 2025))
        return f"{r.choice(_SUBJECTS)} {r.choice(_VERBS)} {r.choice(_OBJECTS)} {tail}"

    return {
        "sentences": [sentence() for _ in range(4096)],
        "people": [f"{first} {last.upper()}" for first in FIRST for last in LAST],
        "addresses": [f"{n} {street}, {TOWN}" for n in range(1, 121) for street in STREETS],
        "days": [f"{d:02d}/{m:02d}" for m in range(1, 13) for d in range(1, 29)],
        "amounts": [f"{r.uniform(5, 25000):.2f}".replace(".", ",") for _ in range(4096)],
    }


@dataclass
class Words:
    """French text drawn from one seeded generator."""

    rng: random.Random

    def person(self) -> str:
        return self.rng.choice(_pools()["people"])

    def address(self) -> str:
        return self.rng.choice(_pools()["addresses"])

    def date(self, year: int | None = None) -> str:
        return f"{self.rng.choice(_pools()['days'])}/{year or self.rng.randint(2015, 2025)}"

    def sentence(self) -> str:
        return self.rng.choice(_pools()["sentences"])

    def sentences(self, n: int | None = None) -> list[str]:
        return self.rng.choices(_pools()["sentences"], k=n or self.rng.randint(2, 6))

    def paragraph(self, n: int | None = None) -> str:
        return " ".join(self.rng.choices(_pools()["sentences"], k=n or self.rng.randint(2, 6)))

    def rows(self, n: int, year: int) -> list[list[str]]:
        """`n` rows of (person, address, amount, date), as in a town hall's exports."""
        pools, r = _pools(), self.rng
        days = [f"{d}/{year}" for d in r.choices(pools["days"], k=n)]
        columns = (
            r.choices(pools["people"], k=n),
            r.choices(pools["addresses"], k=n),
            r.choices(pools["amounts"], k=n),
            days,
        )
        return [list(row) for row in zip(*columns, strict=True)]

    def title(self, dept: str) -> str:
        return f"{self.rng.choice(DEPARTMENTS[dept][1])} - {TOWN}"
