"""VERIFY.txt: how to check a package with standard tools, in French and in English.

The commands are written out for every custody entry, so a reader can paste them as they are
(from inside the package folder) without knowing rempart.
"""

from __future__ import annotations

from typing import Any

from rempart.forensics.evidence._keys import Signer

_FR = """\
VÉRIFIER CE PAQUET DE PREUVES (français)
========================================

Ce paquet a été produit par rempart (outil de réponse aux rançongiciels).
Exporté par {exporter} (empreinte de clé {exporter_fp}).
Toutes les commandes se lancent depuis le dossier du paquet.

1. Intégrité de tous les fichiers (éléments, journal de traçabilité, clés, manifeste) :

    sha256sum -c SHA256SUMS

   Chaque ligne doit finir par « OK » (ou « Réussi »). Un fichier modifié, même d'un octet,
   est signalé « FAILED » / « ÉCHEC ».

2. Authenticité du manifeste (signature Ed25519 de la personne qui a exporté) :

    openssl pkeyutl -verify -pubin -inkey keys/{exporter}.pem -rawin \\
        -in manifest.json -sigfile manifest.json.sig

   La réponse attendue est « Signature Verified Successfully ».

3. Chaîne de traçabilité : chaque entrée (custody/<élément>/<numéro>.bin) est signée par son
   auteur ; chaque entrée contient l'empreinte SHA-256 de la précédente (champ « prev »),
   et la première vaut 64 zéros. Pour vérifier chaque signature :

{commands}

4. Comparez les empreintes des clés publiques avec celles que les intervenants vous ont
   communiquées par un autre canal (téléphone, courrier) :

    openssl pkey -pubin -in keys/NOM.pem -outform DER | tail -c 32 | sha256sum

   Clés de ce paquet :
{keys}
Les éléments marqués "included": false dans manifest.json, trop volumineux pour être copiés,
ne sont pas dans le paquet : seules leurs empreintes y figurent, à comparer sur place.

Pour une vérification complète en une commande, avec rempart installé (--trusted-keys :
les clés publiques reçues par un autre canal) :

    rempart evidence verify . --trusted-keys DOSSIER_DES_CLES
"""

_EN = """\
VERIFYING THIS EVIDENCE PACKAGE (English)
=========================================

This package was produced by rempart (a ransomware response kit).
Exported by {exporter} (key fingerprint {exporter_fp}).
Run every command from inside the package folder.

1. Integrity of every file (items, custody log, keys, manifest):

    sha256sum -c SHA256SUMS

   Every line must end with "OK". A file changed by even one byte is reported "FAILED".

2. Authenticity of the manifest (Ed25519 signature of the person who exported it):

    openssl pkeyutl -verify -pubin -inkey keys/{exporter}.pem -rawin \\
        -in manifest.json -sigfile manifest.json.sig

   The expected answer is "Signature Verified Successfully".

3. Chain of custody: each entry (custody/<item>/<number>.bin) is signed by its author; each
   entry holds the SHA-256 of the entry before it (field "prev"), the first one 64 zeros.
   To check every signature:

{commands}

4. Compare the public keys' fingerprints with those the responders gave you through another
   channel (telephone, letter):

    openssl pkey -pubin -in keys/NAME.pem -outform DER | tail -c 32 | sha256sum

   Keys in this package:
{keys}
Items marked "included": false in manifest.json were too large to copy: only their
digests are in the package, to be compared where the item lies.

For a complete check in one command, with rempart installed (--trusted-keys: the public keys
received through another channel):

    rempart evidence verify . --trusted-keys KEYS_FOLDER
"""


def verify_text(entries: list[dict[str, Any]], exporter: Signer) -> str:
    commands = "\n".join(
        f"    openssl pkeyutl -verify -pubin -inkey keys/{e['by']}.pem -rawin "
        f"-in {e['bin']} -sigfile {e['sig']}"
        for e in entries
    )
    names = sorted({(e["by"], e["key"]) for e in entries} | {(exporter.name, exporter.fingerprint)})
    keys = "".join(f"     {name}: {fp}\n" for name, fp in names)
    values = {
        "exporter": exporter.name,
        "exporter_fp": exporter.fingerprint,
        "commands": commands,
        "keys": keys,
    }
    return _FR.format(**values) + "\n\n" + _EN.format(**values)
