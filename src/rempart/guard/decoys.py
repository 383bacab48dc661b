"""Decoy documents: placed where a traversal starts, any change to one is decisive.

One decoy sorts first (`!0000 ...`) and one sorts last (`~~~~ ...`) in each watched folder, so
alphabetical and reverse walks reach them before the real files. They are real Word
documents (a ZIP with the parts Word needs) so that encryptors choosing by extension take
them. Samba users should not see them: each gets the hidden bit in `user.DOSATTRIB` (the
xattr Samba reads DOS attributes from; the legacy "0x.." text form), and the share can add
`hide files = /!0000 */~~~~ */`. They are removed when the guard exits cleanly.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import zipfile

FIRST = "!0000 Budget primitif - confidentiel.docx"
LAST = "~~~~ Sauvegarde comptes administratifs.docx"
NAMES = (FIRST, LAST)
_HIDDEN = b"0x22"  # FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_ARCHIVE

_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def document(title: str) -> bytes:
    """A small, valid .docx whose text looks like a town hall's working document."""
    paras = [
        title,
        "Direction des finances - document de travail, ne pas diffuser.",
        "Section de fonctionnement : charges à caractère général, charges de personnel.",
        "Section d'investissement : voirie, bâtiments scolaires, éclairage public.",
    ]
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paras)
    doc = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("word/document.xml", doc)
    return buf.getvalue()


def is_decoy(path: str) -> bool:
    return os.path.basename(path) in NAMES


def place(folders: list[str]) -> list[str]:
    """Write the decoys into each folder; returns the paths of the decoys now in place.

    A decoy already there (left by a guard that was killed or crashed, before systemd
    restarted it) is left as it is but returned too: the tripwire watches it and a clean
    exit removes it, as if this run had placed it.
    """
    placed = []
    for folder in folders:
        for name in NAMES:
            path = os.path.join(folder, name)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                with contextlib.suppress(OSError):
                    if stat.S_ISREG(os.lstat(path).st_mode):  # not a link planted there
                        placed.append(path)
                continue
            except OSError:  # a read-only folder: no decoy there, the others still count
                continue
            with os.fdopen(fd, "wb") as f:
                f.write(document(name.split(" ", 1)[1].rsplit(".", 1)[0]))
            # no user xattrs on this filesystem: visible, but still a decoy
            with contextlib.suppress(OSError):
                os.setxattr(path, "user.DOSATTRIB", _HIDDEN)
            # owned like its folder, so that whoever may change the real files may change it
            with contextlib.suppress(OSError):
                st = os.stat(folder)
                os.chown(path, st.st_uid, st.st_gid)
            placed.append(path)
    return placed


def remove(paths: list[str]) -> None:
    for path in paths:
        # gone: renamed or deleted, which raised the alarm
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
