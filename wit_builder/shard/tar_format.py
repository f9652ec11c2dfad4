"""The tar format of the shards: members written byte for byte the same every time, and a
reader that names the byte offset where a damaged tar goes wrong.

Members are POSIX ustar entries with a fixed mtime, owner, group and mode, so the same samples
always give the same bytes (``webdataset.TarWriter`` stamps the current time). The archive ends
with two zero blocks and is padded to a multiple of 10,240 bytes, as ``tarfile`` and GNU tar
write it. Every reader of tars (``tarfile``, GNU tar, webdataset, open_clip) reads them.

The reader parses headers itself (with ``tarfile``'s header parser for each 512-byte block) so
that it can say where damage is: a bad header checksum at byte X, a member whose data stops at
byte Y, a missing end-of-archive marker, a pax record or a size that is not well formed. It
understands the pax and GNU long-name entries other writers use, so it verifies tars it did
not write; an entry that is not a regular file (a link, a device) is named, never followed.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

BLOCK = 512
RECORD = 20 * BLOCK
MTIME = 0  # 1970-01-01: a fixed time, so the tars do not depend on when they were written
MODE = 0o444
_ZERO_BLOCK = bytes(BLOCK)
# The largest member a reader takes into memory. A sample's image, caption or JSON is kilobytes
# to a few megabytes; a header declaring more (a terabyte, say) is damage, named as such, never
# an allocation of that size.
MAX_MEMBER_BYTES = 256 << 20
_READ_PIECE = 16 << 20


def padding(size: int) -> bytes:
    """Zero bytes that bring ``size`` to the next block boundary."""
    return bytes(-size % BLOCK)


def reference_header(name: str, size: int) -> bytes:
    """The header as ``tarfile`` writes it: the reference ``member_header`` is tested against."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = MTIME
    info.mode = MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


# Header fields (offset, bytes): name 0/100, size 124/12, checksum 148/8; the rest is the same
# for every member of ours, so it is built once (``tarfile`` takes ~65 µs a header, this ~3 µs).
_TEMPLATE = bytearray(reference_header("", 0))
_TEMPLATE[148:156] = b" " * 8  # the checksum is computed with its own field as spaces
_TEMPLATE_SUM = sum(_TEMPLATE) - sum(b"00000000000\0")  # without the size field's digits


def member_header(name: str, size: int) -> bytes:
    """The 512-byte ustar header of a regular file ``name`` of ``size`` bytes, byte for byte
    what ``tarfile`` writes (fixed mtime, mode, owner)."""
    encoded = name.encode("utf-8")
    if len(encoded) > 100 or size >= 8**11:
        return reference_header(name, size)  # long names and huge files: tarfile's own rules
    size_field = b"%011o\0" % size
    header = bytearray(_TEMPLATE)
    header[0 : len(encoded)] = encoded
    header[124:136] = size_field
    checksum = _TEMPLATE_SUM + sum(encoded) + sum(size_field)
    header[148:156] = b"%06o\0 " % checksum
    return bytes(header)


def member(name: str, data: bytes) -> list[bytes]:
    """A whole member: header, data and padding, as pieces to write in order."""
    return [member_header(name, len(data)), data, padding(len(data))]


def end_of_archive(written: int) -> bytes:
    """Two zero blocks, then zeros up to a whole record, for an archive of ``written`` bytes so far."""
    end = written + 2 * BLOCK
    return bytes(2 * BLOCK + (-end % RECORD))


class TarDamage(Exception):
    """A tar that cannot be read past some point; ``offset`` is the byte where it goes wrong."""

    def __init__(self, offset: int, message: str):
        super().__init__(f"at byte {offset:,}: {message}")
        self.offset = offset


@dataclass(frozen=True)
class TarMember:
    name: str
    offset: int  # of the member's header
    data_offset: int
    size: int


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, or fewer at the end of the stream; read in bounded pieces."""
    pieces, left = [], size
    while left:
        piece = stream.read(min(left, _READ_PIECE))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def _pax_records(data: bytes, offset: int) -> dict[bytes, bytes]:
    """The records of a pax extended header ("LEN KEYWORD=VALUE\\n" each, LEN counting the whole
    record) whose data starts at byte ``offset``; ``TarDamage`` at the first record that is not
    of that shape (a length that is not a number, zero, negative, or runs past the header)."""
    records: dict[bytes, bytes] = {}
    position = 0
    data = data.rstrip(b"\0")
    while position < len(data):
        space = data.find(b" ", position, position + 21)
        digits = data[position:space] if space > position else data[position : position + 20]
        where = offset + position
        if space <= position or not digits.isdigit():
            raise TarDamage(where, f"a pax record's length {digits[:20]!r} is not a number")
        length = int(digits)
        if length <= len(digits) + 1 or position + length > len(data) or data[position + length - 1] != 10:
            raise TarDamage(where, f"a pax record of length {length:,} does not fit its header ({len(data):,} bytes)")
        keyword, equals, value = data[space + 1 : position + length - 1].partition(b"=")
        if not equals:
            raise TarDamage(where, f"a pax record without '=' ({keyword[:40]!r})")
        records[keyword] = value
        position += length
    return records


# Entries that describe the member after them (pax and GNU long-name headers); every other kind
# of entry than a regular file (a link, a device, a folder, a FIFO) has no place in a shard.
_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_DESCRIBING = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.DIRTYPE: "a folder",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.GNUTYPE_SPARSE: "a sparse file",
}


def member_kind(info: tarfile.TarInfo) -> str:
    """What a non-regular entry is, in words (``a symbolic link to /etc/passwd``)."""
    kind = _KINDS.get(info.type, f"an entry of type {info.type!r}")
    return f"{kind} to {info.linkname!r}" if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE) else kind


def _declared_size(info: tarfile.TarInfo, pax: dict[bytes, bytes], offset: int) -> int:
    """A member's size: its pax ``size`` record when one came before it, else its header's;
    ``TarDamage`` when it is negative or more than a member may hold."""
    size = info.size
    if b"size" in pax:
        if not pax[b"size"].isdigit():
            raise TarDamage(offset, f"the pax size of {info.name!r} is not a number ({pax[b'size'][:20]!r})")
        size = int(pax[b"size"])
    if size < 0:
        raise TarDamage(offset, f"member {info.name!r} declares a negative size ({size:,} bytes)")
    return _within_limit(info.name, size, offset)


def _within_limit(name: str, size: int, offset: int) -> int:
    """``size``, or ``TarDamage`` when it is more than a sample's member may hold."""
    if size > MAX_MEMBER_BYTES:
        limit = f"more than a sample's member may hold ({MAX_MEMBER_BYTES:,})"
        raise TarDamage(offset, f"member {name!r} declares {size:,} bytes, {limit}")
    return size


_USTAR = b"ustar\x0000"  # POSIX ustar's magic and version: the name may have a prefix field
_CHECKSUM = slice(148, 156)


def _octal(field: bytes) -> int | None:
    """A number field as tarfile reads it (up to the first NUL, whitespace stripped, empty as
    0), when it is octal digits alone; None for anything else (base-256, a sign, a stray byte),
    which is left to tarfile's own reading."""
    digits = field.split(b"\0", 1)[0].strip()
    if digits.strip(b"01234567"):
        return None
    return int(digits, 8) if digits else 0


# The number fields tarfile checks in every header besides the size: mode, uid, gid, mtime,
# devmajor, devminor. A header with one it cannot read is not a header to tarfile.
_NUMBERS = (slice(100, 108), slice(108, 116), slice(116, 124), slice(136, 148), slice(329, 337), slice(337, 345))


def plain_header(block: bytes) -> tuple[str, int] | None:
    """(name, size) of a regular file's header in the common form (type ``0`` or NUL, octal
    numbers, a valid checksum), parsed in a few microseconds; None for any other header, which
    ``tarfile.TarInfo.frombuf`` then reads (and judges) as before. Reading every header through
    ``frombuf`` took 37 µs, a tenth of the data stream's time per sample after the image work."""
    if block[156] not in (48, 0):  # another type than a regular file
        return None
    size, stored = _octal(block[124:136]), _octal(block[_CHECKSUM])
    if size is None or stored is None or stored != sum(block) - sum(block[_CHECKSUM]) + 256:
        return None  # tarfile decides (it also takes the signed checksum some old tars wrote)
    if any(block[field.start] not in (0x80, 0xFF) and _octal(block[field]) is None for field in _NUMBERS):
        return None
    name = block[:100].split(b"\0", 1)[0]
    if block[257:265] == _USTAR and (prefix := block[345:500].split(b"\0", 1)[0]):
        name = prefix + b"/" + name
    if not name or name.endswith(b"/"):  # an old tar's folder, written as a file ending in "/"
        return None
    return name.decode("utf-8", "surrogateescape"), size


def iter_members(
    stream: BinaryIO, others: list[tuple[TarMember, str]] | None = None
) -> Iterator[tuple[TarMember, bytes]]:
    """Every regular file of the tar with its data, in order; raises ``TarDamage`` at the first
    byte that cannot be read (every header field is checked before it is used: a size that is
    negative or huge, a pax record that is not well formed, so no header can make it hang or
    allocate). Other entries (links, devices, folders) are skipped, and listed in ``others``
    with what they are when a list is given."""
    offset = 0
    long_name: str | None = None
    pax: dict[bytes, bytes] = {}
    while True:
        block = _read_exactly(stream, BLOCK)
        if not block:
            raise TarDamage(offset, "the file ends without the end-of-archive blocks (truncated at a member boundary?)")
        if len(block) < BLOCK:
            raise TarDamage(
                offset + len(block), f"the header from byte {offset:,} is cut off after {len(block)} bytes (truncated)"
            )
        if block == _ZERO_BLOCK:
            return  # end of archive (the second zero block and the record padding need not be read)
        data_offset = offset + BLOCK
        plain = plain_header(block) if not pax else None
        info = None
        if plain is not None:  # the common case: a regular file, read without tarfile
            name, size, kind = plain[0], _within_limit(plain[0], plain[1], offset), tarfile.REGTYPE
        else:
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.HeaderError as error:
                raise TarDamage(offset, f"not a tar header ({error})") from None
            name, kind = info.name, info.type
            size = _declared_size(info, {} if kind in _DESCRIBING else pax, offset)
        data = _read_exactly(stream, size)
        if len(data) < size:
            raise TarDamage(
                data_offset + len(data),
                f"member {name!r} needs {size:,} bytes of data from byte {data_offset:,}; "
                f"the file ends after {len(data):,} (truncated)",
            )
        pad = -size % BLOCK
        if pad and len(_read_exactly(stream, pad)) < pad:
            raise TarDamage(data_offset + size, f"the padding after {name!r} is cut off (truncated)")
        if kind == tarfile.GNUTYPE_LONGNAME:
            long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
        elif kind == tarfile.XHDTYPE:
            pax = _pax_records(data, data_offset)
            if b"path" in pax:
                long_name = pax[b"path"].decode("utf-8", "surrogateescape")
        elif kind == tarfile.XGLTYPE:
            _pax_records(data, data_offset)  # a global header: checked, its records not used
        elif kind != tarfile.GNUTYPE_LONGLINK:
            found = TarMember(long_name or name, offset, data_offset, size)
            if kind in _REGULAR:
                yield found, data
            elif others is not None and info is not None:
                others.append((found, member_kind(info)))
            long_name, pax = None, {}
        offset = data_offset + size + pad
