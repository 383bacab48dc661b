"""The kinds of file a practice share holds: weight, extension and how to make one.

Each maker takes a `FileContext` (a generator seeded by (seed, file index), the file's date,
department and title) and returns bytes, so a file's content never depends on which process
made it or in which order.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import io
import json
import lzma
import random
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

import numpy as np

from rempart.exercise import _docs, _media, _owner
from rempart.exercise._content import FIRST, LAST, TOWN, Words
from rempart.registry import Registry


@dataclass
class FileContext:
    seed: int
    index: int
    rng: random.Random
    when: dt.datetime
    dept: str
    title: str

    @property
    def words(self) -> Words:
        return Words(self.rng)


@dataclass(frozen=True)
class Kind:
    name: str
    ext: str
    weight: float
    make: Callable[[FileContext], bytes]
    owner_encrypted: bool = False


KINDS: Registry[Kind] = Registry("practice file kind")


def _office(kind: str) -> Callable[[FileContext], bytes]:
    return lambda c: _docs.office(kind, c.seed, c.rng, c.when, f"{c.title} - {TOWN}")


def _rows(c: FileContext, n: int) -> list[list[str]]:
    return c.words.rows(n, c.when.year)


def _csv(c: FileContext) -> bytes:
    n = int(min(20000, c.rng.lognormvariate(4.5, 1.2)))
    lines = ["Nom;Adresse;Montant;Date"] + [";".join(row) for row in _rows(c, n)]
    # Excel exports of town-hall software are often still in Windows-1252
    return ("\r\n".join(lines) + "\r\n").encode(c.rng.choice(("utf-8", "cp1252")))


def _txt(c: FileContext) -> bytes:
    w = c.words
    return "\n\n".join([c.title] + [w.paragraph() for _ in range(c.rng.randint(1, 25))]).encode()


def _html(c: FileContext) -> bytes:
    w = c.words
    paras = "".join(f"<p>{w.paragraph()}</p>\n" for _ in range(c.rng.randint(2, 20)))
    return (
        f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>{c.title}'
        f"</title></head>\n<body><h1>{c.title}</h1>\n{paras}</body></html>\n"
    ).encode()


def _xml(c: FileContext) -> bytes:
    items = "".join(
        f'  <mandat numero="{i}" montant="{amount}" date="{date}">{name}</mandat>\n'
        for i, (name, _a, amount, date) in enumerate(_rows(c, c.rng.randint(5, 400)))
    )
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<flux exercice="{c.when.year}">\n'
    return f"{head}{items}</flux>\n".encode()


def _json(c: FileContext) -> bytes:
    rows = [
        dict(zip(("nom", "adresse", "montant", "date"), r, strict=True))
        for r in _rows(c, c.rng.randint(3, 300))
    ]
    return json.dumps(
        {"titre": c.title, "enregistrements": rows}, ensure_ascii=False, indent=1
    ).encode()


def _log(c: FileContext) -> bytes:
    r, t = c.rng, c.when.timestamp()
    levels = ("INFO", "INFO", "INFO", "WARN", "ERROR")
    lines = []
    for _ in range(int(min(40000, r.lognormvariate(6, 1.2)))):
        t += r.expovariate(1 / 40)
        stamp = dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(
            f"{stamp} {r.choice(levels)} poste-{r.randint(1, 40):02d} "
            f"{r.choice(FIRST).lower()}.{r.choice(LAST).lower()} "
            f"{r.choice(('ouverture session', 'impression', 'sauvegarde', 'erreur SMB'))}"
        )
    return ("\n".join(lines) + "\n").encode()


def _sqlite(c: FileContext) -> bytes:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE registre (id INTEGER PRIMARY KEY, nom TEXT, adresse TEXT, "
        "montant TEXT, date TEXT)"
    )
    db.executemany(
        "INSERT INTO registre (nom, adresse, montant, date) VALUES (?,?,?,?)",
        _rows(c, c.rng.randint(20, 3000)),
    )
    db.commit()
    data = db.serialize()
    db.close()
    return bytes(data)


def _members(c: FileContext) -> dict[str, bytes]:
    makers = (
        ("releve.csv", _csv),
        ("note.txt", _txt),
        ("courrier.docx", _office("docx")),
        ("photo.jpg", lambda ctx: _media.image_file("jpeg", ctx.rng, ctx.seed)),
    )
    chosen = c.rng.choices(makers, weights=(4, 4, 2, 1), k=c.rng.randint(1, 4))
    return {f"{i:02d}-{name}": make(c) for i, (name, make) in enumerate(chosen)}


def _zip(c: FileContext) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _members(c).items():
            zf.writestr(zipfile.ZipInfo(name, c.when.timetuple()[:6]), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _eml(c: FileContext) -> bytes:
    w, r = c.words, c.rng
    msg = EmailMessage()
    sender, to = w.person(), w.person()
    msg["From"] = f"{sender} <{sender.split()[0].lower()}@mairie-saint-martin.fr>"
    msg["To"] = f"{to} <{to.split()[0].lower()}@agglo-exemple.fr>"
    msg["Subject"] = c.title
    msg["Date"] = format_datetime(c.when)
    msg["Message-ID"] = f"<{c.seed}.{c.index}@mairie-saint-martin.fr>"
    msg.set_content(f"Bonjour,\n\n{w.paragraph()}\n\nCordialement,\n{sender}\n")
    for i in range(r.choices((0, 1, 2), weights=(5, 4, 1))[0]):
        if r.random() < 0.5:
            msg.add_attachment(
                _media.pdf(r, c.seed, c.title),
                maintype="application",
                subtype="pdf",
                filename=f"piece-jointe-{i + 1}.pdf",
            )
        else:
            photo = _media.picture(r, c.seed, r.randint(480, 1024), r.randint(360, 768))
            msg.add_attachment(
                _media.encode(photo, "jpeg"),
                maintype="image",
                subtype="jpeg",
                filename=f"photo-{i + 1}.jpg",
            )
    if msg.is_multipart():
        msg.set_boundary(f"==rempart-{c.seed}-{c.index}==")
    return bytes(msg)


def _pdf(c: FileContext) -> bytes:
    return _media.pdf(c.rng, c.seed, c.title, with_image=c.rng.random() < 0.15)


def _random_bin(c: FileContext) -> bytes:
    size = int(min(2_000_000, c.rng.lognormvariate(10.5, 1.3)))
    return np.random.default_rng([c.seed, c.index]).bytes(size)


def _image(kind: str) -> Callable[[FileContext], bytes]:
    return lambda c: _media.image_file(kind, c.rng, c.seed)


def _register_builtins() -> None:
    add = KINDS.add
    for name, weight in (("docx", 13), ("xlsx", 9), ("pptx", 2), ("odt", 3), ("ods", 2)):
        add(name, Kind(name, name, weight, _office(name)))
    add("pdf", Kind("pdf", "pdf", 13, _pdf))
    for name, ext, weight in (
        ("jpeg", "jpg", 11),
        ("png", "png", 3),
        ("gif", "gif", 1),
        ("webp", "webp", 2),
    ):
        add(name, Kind(name, ext, weight, _image(name)))
    add("sqlite", Kind("sqlite", "sqlite", 1, _sqlite))
    add("zip", Kind("zip", "zip", 2, _zip))
    add(
        "gz",
        Kind("gz", "csv.gz", 1, lambda c: gzip.compress(_csv(c), 6, mtime=int(c.when.timestamp()))),
    )
    add("xz", Kind("xz", "log.xz", 0.5, lambda c: lzma.compress(_log(c), preset=1)))
    add("bz2", Kind("bz2", "xml.bz2", 0.5, lambda c: bz2.compress(_xml(c), 9)))
    add("eml", Kind("eml", "eml", 5, _eml))
    for name, weight, make in (
        ("csv", 6, _csv),
        ("txt", 5, _txt),
        ("html", 2, _html),
        ("xml", 2, _xml),
        ("json", 2, _json),
        ("log", 3, _log),
    ):
        add(name, Kind(name, name, weight, make))
    owner: tuple[tuple[str, str, float, Callable[[FileContext], bytes]], ...] = (
        (
            "docx-enc",
            "docx",
            0.5,
            lambda c: _owner.office(_office("docx")(c), c.seed, c.rng, c.when),
        ),
        (
            "xlsx-enc",
            "xlsx",
            0.5,
            lambda c: _owner.office(_office("xlsx")(c), c.seed, c.rng, c.when),
        ),
        ("pdf-enc", "pdf", 0.5, lambda c: _owner.pdf(_pdf(c))),
        ("zip-aes", "zip", 0.5, lambda c: _owner.zip_aes(_members(c), c.when, c.rng)),
        ("7z", "7z", 0.4, lambda c: _owner.seven_zip(_members(c), c.when, c.rng)),
        (
            "gpg",
            "xlsx.gpg",
            0.3,
            lambda c: _owner.openpgp(_office("xlsx")(c), "export.xlsx", c.when, c.rng),
        ),
    )
    for owner_name, ext, owner_weight, owner_make in owner:
        add(owner_name, Kind(owner_name, ext, owner_weight, owner_make, owner_encrypted=True))
    add("random", Kind("random", "bin", 0.4, _random_bin))


_register_builtins()
