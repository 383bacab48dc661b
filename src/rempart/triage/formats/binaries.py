"""Database and executable validators: SQLite, ELF, PE and Mach-O, by their headers and tables."""

from __future__ import annotations

import re
import struct

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import bad, ended, unchecked
from rempart.triage.sample import BudgetExceeded, Sample

_TEXT = re.compile(rb"[\t\n\r -~]*")
_PAGE_TYPES = frozenset({0x02, 0x05, 0x0A, 0x0D})
_PE_MACHINES = frozenset(
    {0x0, 0x14C, 0x166, 0x169, 0x1A2, 0x1A6, 0x1A8, 0x1C0, 0x1C2, 0x1C4, 0x1F0, 0x200, 0x266}
    | {0x284, 0x366, 0x466, 0x5032, 0x5064, 0x6232, 0x6264, 0x8664, 0x9041, 0xAA64, 0xEBC}
)


def _done(fmt: str, sample: Sample, end: int, what: str) -> FormatCheck:
    """As `ended`, but tables past the end of file are truncation, and zero padding no trailer."""
    if end > sample.size:
        return bad(fmt, f"{what} runs to offset {end}, past end of file (truncated)")
    if 0 < sample.size - end < 4096 and not sample.tail[end - sample.size :].strip(b"\0"):
        end = sample.size  # zero padding to an alignment (patchelf, linkers), not a trailer
    return ended(fmt, sample, end, what)


# --- SQLite -------------------------------------------------------------------------------


class SqliteValidator:
    name = "sqlite"

    def sniff(self, sample: Sample) -> bool:
        return sample.head.startswith(b"SQLite format 3\0")

    def validate(self, sample: Sample) -> FormatCheck:
        h = sample.head
        if len(h) < 100:
            return bad("sqlite", "file shorter than its 100-byte header")
        page, write, read, reserved, fmax, fmin, leaf = struct.unpack_from(">HBBBBBB", h, 16)
        page = 65536 if page == 1 else page
        change, pages, _trunk, _free, _cookie, _fmt, _cache, vacuum = struct.unpack_from(
            ">8I", h, 24
        )
        valid_for = struct.unpack_from(">I", h, 92)[0]
        if page < 512 or page & (page - 1) or write not in (1, 2) or read not in (1, 2):
            return bad("sqlite", "impossible page size or file format version at offset 16")
        if (fmax, fmin, leaf) != (64, 32, 32) or page - reserved < 480:
            return bad("sqlite", "payload fractions are not 64/32/32 at offset 21")
        expect = pages * page if valid_for == change and pages else None
        if expect is not None and expect > sample.size:
            why = f"header says {pages} pages, file holds {sample.size / page:.1f}"
            return bad("sqlite", why + " (truncated)")
        if sample.size % page and expect is None:
            return bad("sqlite", f"size {sample.size} is not a multiple of the {page}-byte page")
        allowed = _PAGE_TYPES | ({0, 1, 2, 3, 4, 5} if vacuum else {0})
        damaged: list[int] = []
        limit = expect or sample.size
        for start, data in sample.regions():
            for off in range(-(-start // page) * page, min(start + len(data), limit) - 112, page):
                if vacuum and (off // page - 1) % ((page - reserved) // 5 + 1) == 0:
                    continue  # a pointer-map page: 5-byte entries, no b-tree header
                if not _page_ok(
                    data, off - start, 100 if off == 0 else 0, allowed, page - reserved
                ):
                    damaged.append(off)
        if damaged and (damaged[0] == 0 or len(damaged) > 1):
            return bad(
                "sqlite", f"{len(damaged)} damaged page header(s), first at offset {damaged[0]}"
            )
        return _done("sqlite", sample, expect or sample.size, "the last page")


def _page_ok(data: bytes, at: int, skip: int, allowed: frozenset[int], usable: int) -> bool:
    """The b-tree header of the page at `at` (after `skip` bytes on page 1) and its cells."""
    kind = data[at + skip]
    if kind not in _PAGE_TYPES:  # freelist, overflow or pointer-map page
        return not skip and kind in allowed
    cells, content = struct.unpack_from(">HH", data, at + skip + 3)
    header = skip + (8 if kind in (0x0A, 0x0D) else 12)
    if not cells:
        return True
    if not header + 2 * cells <= (content or 65536) <= usable:
        return False
    count = min(cells, (len(data) - at - header) // 2)
    if count <= 0:
        return True
    pointers = struct.unpack_from(f">{count}H", data, at + header)
    return bool(min(pointers) >= (content or 65536) and max(pointers) < usable)


# --- ELF ----------------------------------------------------------------------------------


class ElfValidator:
    name = "elf"

    def sniff(self, sample: Sample) -> bool:
        return sample.head.startswith(b"\x7fELF")

    def validate(self, sample: Sample) -> FormatCheck:
        h = sample.head
        if len(h) < 52 or h[4] not in (1, 2) or h[5] not in (1, 2) or h[6] != 1:
            return bad("elf", "bad class, byte order or version in e_ident at offset 4")
        wide, bo = h[4] == 2, "<" if h[5] == 1 else ">"
        code = bo + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH")
        try:
            (
                etype,
                _m,
                version,
                _entry,
                phoff,
                shoff,
                _flags,
                ehsize,
                phsize,
                phnum,
                shsize,
                shnum,
                _strndx,
            ) = struct.unpack_from(code, h, 16)
        except struct.error:
            return bad("elf", "file shorter than its header")
        if version != 1 or not (etype <= 4 or etype >= 0xFE00):
            return bad("elf", f"bad e_type {etype} or e_version {version} at offset 16")
        if ehsize != (64 if wide else 52):
            return bad("elf", f"bad e_ehsize {ehsize}")
        if (phnum and phsize != (56 if wide else 32)) or (shnum and shsize != (64 if wide else 40)):
            return bad("elf", "bad program or section header entry size")
        end = max(ehsize, phoff + phnum * phsize, shoff + shnum * shsize)
        if end > sample.size:
            return bad("elf", f"header tables run to offset {end}, past end of file")
        try:
            ph = sample.read(phoff, phnum * phsize)
            sh = sample.read(shoff, shnum * shsize)
        except BudgetExceeded:
            return unchecked("elf")
        pcode = bo + ("IIQQQQ" if wide else "IIIIII")
        for i in range(phnum):
            fields = struct.unpack_from(pcode, ph, i * phsize)
            off, filesz = (fields[2], fields[5]) if wide else (fields[1], fields[4])
            end = max(end, off + filesz if filesz else 0)
        for i in range(shnum):
            _n, stype, *_rest = struct.unpack_from(bo + "II", sh, i * shsize)
            off, size = struct.unpack_from(
                bo + ("QQ" if wide else "II"), sh, i * shsize + (24 if wide else 16)
            )
            if stype not in {8, 0}:  # SHT_NOBITS and SHT_NULL take no file space
                end = max(end, off + size)
        return _done("elf", sample, end, "the last section")


# --- PE -----------------------------------------------------------------------------------


class PeValidator:
    name = "pe"

    def sniff(self, sample: Sample) -> bool:
        head = sample.head[:64]  # a text file that happens to start with "MZ" is not a program
        return head[:2] == b"MZ" and len(head) == 64 and not _TEXT.fullmatch(head)

    def validate(self, sample: Sample) -> FormatCheck:
        h = sample.head
        (lfanew,) = struct.unpack_from("<I", h, 0x3C)
        try:
            header = sample.read(lfanew, 24) if 4 <= lfanew < sample.size else b""
            if header[:4] != b"PE\0\0":
                return _dos(sample)
            machine, nsect, _t, symptr, nsyms, optsize, _c = struct.unpack_from(
                "<HHIIIHH", header, 4
            )
            if machine not in _PE_MACHINES or not 0 < nsect <= 96 or optsize < 2:
                return bad("pe", f"impossible COFF header at offset {lfanew + 4}")
            opt = sample.read(lfanew + 24, optsize)
            magic = struct.unpack_from("<H", opt)[0]
            if magic not in (0x10B, 0x20B):
                return bad("pe", f"bad optional header magic 0x{magic:x} at {lfanew + 24}")
            table = lfanew + 24 + optsize
            sections = sample.read(table, 40 * nsect)
            end = table + 40 * nsect
            for i in range(nsect):
                rawsize, rawptr = struct.unpack_from("<II", sections, 40 * i + 16)
                if rawsize and rawptr + rawsize > sample.size:
                    name = sections[40 * i : 40 * i + 8].rstrip(b"\0").decode("latin-1")
                    return bad("pe", f"section {name!r} runs past end of file (truncated)")
                end = max(end, rawptr + rawsize if rawsize else 0)
            cert = 128 if magic == 0x10B else 144  # security directory entry
            if optsize >= cert + 8:
                where, size = struct.unpack_from("<II", opt, cert)
                end = max(end, where + size if where else 0)
            if symptr and nsyms:
                strings = symptr + 18 * nsyms
                end = max(end, strings + int.from_bytes(sample.read(strings, 4), "little"))
        except struct.error:
            return bad("pe", f"headers unreadable after offset {lfanew}")
        except BudgetExceeded:
            return unchecked("pe")
        return _done("pe", sample, end, "the last section")


def _dos(sample: Sample) -> FormatCheck:
    """An MZ file without a PE header: a plausible DOS program, or damage."""
    last, pages, _relocs, paragraphs, *_regs, reloc_at = struct.unpack_from("<12H", sample.head, 2)
    image = (pages - 1) * 512 + (last or 512) if pages else 0
    if (
        reloc_at < 0x40
        and last < 512
        and 0 < image <= sample.size + 511
        and paragraphs * 16 < image
    ):
        return FormatCheck("exe", True, ("exe: DOS program without PE header",))
    return bad("pe", "e_lfanew at offset 60 does not point to a PE header")


# --- Mach-O -------------------------------------------------------------------------------

_MACHO = {
    b"\xfe\xed\xfa\xce": ">",
    b"\xce\xfa\xed\xfe": "<",
    b"\xfe\xed\xfa\xcf": ">",
    b"\xcf\xfa\xed\xfe": "<",
}


class MachoValidator:
    name = "macho"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:4] in _MACHO

    def validate(self, sample: Sample) -> FormatCheck:
        h = sample.head
        bo, wide = _MACHO[h[:4]], h[:4] in (b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe")
        try:
            _cpu, _sub, ftype, ncmds, sizeofcmds, _flags = struct.unpack_from(bo + "6I", h, 4)
            off = 32 if wide else 28
            if not 1 <= ftype <= 12 or off + sizeofcmds > sample.size or ncmds > 4096:
                return bad("macho", "impossible file type or load command size at offset 12")
            cmds = sample.read(off, sizeofcmds)
            pos, end = 0, off + sizeofcmds
            for _ in range(ncmds):
                cmd, size = struct.unpack_from(bo + "II", cmds, pos)
                if size < 8 or size % 4 or pos + size > sizeofcmds:
                    return bad("macho", f"bad load command at offset {off + pos}")
                if cmd in (0x1, 0x19):  # LC_SEGMENT, LC_SEGMENT_64
                    fmt = bo + ("QQQQ" if cmd == 0x19 else "IIII")
                    _va, _vs, fileoff, filesize = struct.unpack_from(fmt, cmds, pos + 24)
                    end = max(end, fileoff + filesize)
                if cmd == 0x1D:  # LC_CODE_SIGNATURE
                    dataoff, datasize = struct.unpack_from(bo + "II", cmds, pos + 8)
                    end = max(end, dataoff + datasize)
                pos += size
            if pos != sizeofcmds:
                return bad("macho", f"load commands end at {pos}, header says {sizeofcmds}")
        except struct.error:
            return bad("macho", "load commands unreadable")
        except BudgetExceeded:
            return unchecked("macho")
        return _done("macho", sample, end, "the last segment")


for _validator in (SqliteValidator(), ElfValidator(), PeValidator(), MachoValidator()):
    VALIDATORS.add(_validator.name, _validator)
