"""The tar format of the shards: members written byte for byte the same every time, and a
reader that names the byte offset where a damaged tar goes wrong.

Members are POSIX ustar entries with a fixed mtime, owner, group and mode, so the same samples
always give the same bytes (``webdataset.TarWriter`` stamps the current time). The archive ends
with two zero blocks and is padded to a multiple of 10,240 bytes, as ``tarfile`` and GNU tar
write it. Every reader of tars (``tarfile``, GNU tar, webdataset, open_clip) reads them.

The reader parses headers itself (with ``tarfile``'s header parser for each 512-byte block) so
that it can say where damage is: a bad header checksum at byte X, a member whose data stops at
byte Y, a missing end-of-archive marker. It understands the pax and GNU long-name entries other
writers use, so it verifies tars it did not write.
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


def _pax_path(data: bytes) -> str | None:
    """The ``path`` record of a pax extended header ("LEN path=VALUE\\n" records)."""
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        if space < 0:
            return None
        length = int(data[position:space])
        keyword, _, value = data[space + 1 : position + length - 1].partition(b"=")
        if keyword == b"path":
            return value.decode("utf-8", "surrogateescape")
        position += length
    return None


def iter_members(stream: BinaryIO) -> Iterator[tuple[TarMember, bytes]]:
    """Every regular file of the tar with its data, in order; raises ``TarDamage`` at the first
    byte that cannot be read. Directories and other entry types are skipped."""
    offset = 0
    long_name: str | None = None
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
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as error:
            raise TarDamage(offset, f"not a tar header ({error})") from None
        data_offset = offset + BLOCK
        if info.size > MAX_MEMBER_BYTES:
            raise TarDamage(
                offset,
                f"member {info.name!r} declares {info.size:,} bytes, more than a sample's member "
                f"may hold ({MAX_MEMBER_BYTES:,})",
            )
        data = _read_exactly(stream, info.size)
        if len(data) < info.size:
            raise TarDamage(
                data_offset + len(data),
                f"member {info.name!r} needs {info.size:,} bytes of data from byte {data_offset:,}; "
                f"the file ends after {len(data):,} (truncated)",
            )
        pad = -info.size % BLOCK
        if pad and len(_read_exactly(stream, pad)) < pad:
            raise TarDamage(data_offset + info.size, f"the padding after {info.name!r} is cut off (truncated)")
        if info.type == tarfile.GNUTYPE_LONGNAME:
            long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
        elif info.type == tarfile.XHDTYPE:
            long_name = _pax_path(data) or long_name
        elif info.type in tarfile.REGULAR_TYPES:
            yield TarMember(long_name or info.name, offset, data_offset, info.size), data
            long_name = None
        else:
            long_name = None
        offset = data_offset + info.size + pad
