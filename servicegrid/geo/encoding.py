"""Which text encoding a Chinese source file uses: shapefile .dbf tables and CSV registers.

Chinese shapefiles are often written in GBK (code page 936) or GB18030 without the .cpg file
that would say so, and GDAL then reads them as Latin-1 and returns mojibake without a word.
This module decides the encoding from the bytes themselves and says why, so a reader can pass
the right codec to GDAL or pandas and put the reason in front of the user.

The candidates are tried in a fixed order, each one a strict decode of every text byte:

1. UTF-8 (a UTF-8 byte-order mark, or text that decodes strictly; multi-byte UTF-8 almost never
   happens by accident in GBK text, so a clean decode is strong evidence);
2. Big5 only when the .dbf language driver byte says code page 950;
3. GBK (code page 936, a superset of GB2312);
4. GB18030 (a superset of GBK that also covers rare characters such as CJK Extension A/B,
   used in some village and person names).

A general-purpose detector such as charset-normalizer is not used: on short Chinese samples it
may pick Big5, Shift-JIS or a Latin code page, whereas the encodings met in county data are
these few, ordered by the superset relation, and a strict decode either succeeds or not.

In a .dbf, text cells have fixed widths and some writers cut a multi-byte character at the end
of a cell. Such a cut is accepted (it is a truncation, not a wrong encoding) as long as it is a
single incomplete character at the very end of a cell.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = [
    "EncodingGuess",
    "codec_label",
    "dbf_language_driver",
    "dbf_text_bytes",
    "detect_dbf_encoding",
    "detect_text_encoding",
    "normalize_codec",
    "sibling",
]

_BOM = codecs.BOM_UTF8
_CELL_END = b"\n"
# A replacement character that is not a single incomplete character at the end of a cell.
_BAD_REPLACEMENT = re.compile("\ufffd(?!\n|$)|\ufffd\ufffd")

# dBase language driver ids (byte 29 of the .dbf header) that name a Chinese code page.
_LDID_CODEPAGE = {
    0x4D: "936",  # Chinese GBK (PRC)
    0x7A: "936",  # PRC GBK
    0x4F: "950",  # Chinese Big5 (Taiwan)
    0x78: "950",  # Taiwan Big5
    0x57: "ANSI",  # the writer's ANSI code page, whatever it was
}

_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with byte-order mark)",
    "gbk": "GBK",
    "gb18030": "GB18030",
    "big5": "Big5",
}


@dataclass(frozen=True)
class EncodingGuess:
    """The codec to read a file with, and the reason in one sentence (empty for plain ASCII)."""

    encoding: str
    reason: str


def normalize_codec(name: str) -> str | None:
    """The Python codec name for an encoding label as found in a .cpg file or given by a user.

    Accepts codec names (``GBK``, ``utf8``), Windows code page numbers (``936``, ``65001``)
    and ``CP936``-style labels; returns None for a label Python does not know.

    Examples
    --------
    >>> normalize_codec("936"), normalize_codec("UTF-8"), normalize_codec("GB2312")
    ('gbk', 'utf-8', 'gbk')
    """
    text = name.strip().strip("\ufeff").strip()
    if not text:
        return None
    lowered = text.casefold().replace("_", "-")
    special = {"65001": "utf-8", "936": "gbk", "cp936": "gbk", "gb2312": "gbk", "54936": "gb18030"}
    if lowered in special:
        return special[lowered]
    if lowered.isdigit():
        lowered = f"cp{lowered}"
    try:
        return codecs.lookup(lowered).name
    except LookupError:
        return None


def codec_label(codec: str) -> str:
    """How a codec is named to users (``GBK``, ``UTF-8``, ``GB18030``)."""
    return _LABELS.get(codec, codec.upper())


def sibling(path: str | PathLike[str], suffix: str) -> Path | None:
    """The file next to ``path`` with the same stem and ``suffix`` in any letter case, if any."""
    path = Path(path)
    for candidate in (path.with_suffix(suffix.lower()), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    wanted = (path.stem + suffix).casefold()
    if path.parent.is_dir():
        for candidate in path.parent.iterdir():
            if candidate.name.casefold() == wanted and candidate.is_file():
                return candidate
    return None


def dbf_language_driver(dbf: str | PathLike[str]) -> int:
    """The language driver id, byte 29 of the .dbf header (0 when none was written)."""
    with open(dbf, "rb") as handle:
        header = handle.read(32)
    if len(header) < 32:
        msg = "the .dbf table is shorter than its 32-byte header; the file is truncated"
        raise InputError(msg, source=Path(dbf).name)
    return header[29]


def dbf_text_bytes(dbf: str | PathLike[str]) -> bytes:
    """The raw bytes of every field name and every character cell of a .dbf, one per line.

    Cells are joined with a newline so that a strict decode sees where each cell ends.
    """
    source = Path(dbf).name
    data = Path(dbf).read_bytes()
    if len(data) < 32:
        msg = "the .dbf table is shorter than its 32-byte header; the file is truncated"
        raise InputError(msg, source=source)
    n_records = int.from_bytes(data[4:8], "little")
    header_len = int.from_bytes(data[8:10], "little")
    record_len = int.from_bytes(data[10:12], "little")
    names: list[bytes] = []
    spans: list[tuple[int, int]] = []
    offset = 1  # each record starts with the deletion flag
    for start in range(32, min(header_len, len(data)) - 31, 32):
        block = data[start : start + 32]
        if block[0] == 0x0D:
            break
        ftype = chr(block[11])
        # shapelib: numeric widths are one byte, other widths may use byte 17 as the high byte
        width = block[16] if ftype in "NF" else block[16] + 256 * block[17]
        names.append(block[:11].split(b"\x00", 1)[0])
        if ftype == "C":
            spans.append((offset, width))
        offset += width
    parts = [_CELL_END.join(names), _CELL_END]
    body = data[header_len:]
    if record_len > 0 and spans:
        n = min(n_records, len(body) // record_len)
        table = np.frombuffer(body[: n * record_len], dtype=np.uint8).reshape(n, record_len)
        columns = [table[:, off : off + width] for off, width in spans]
        ends = np.full((n, 1), _CELL_END[0], dtype=np.uint8)
        cells = np.hstack([part for col in columns for part in (col, ends)])
        parts.append(cells.tobytes())
    return b"".join(parts)


def _decodes(data: bytes, codec: str, *, cells: bool) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        if not cells:
            return False
        return _BAD_REPLACEMENT.search(data.decode(codec, errors="replace")) is None
    return True


def detect_text_encoding(data: bytes, *, source: str, cells: bool = False) -> EncodingGuess:
    """The encoding of ``data`` among UTF-8, GBK and GB18030, with the reason.

    Parameters
    ----------
    data : bytes
        The text bytes (a whole CSV file, or the cells of a .dbf from :func:`dbf_text_bytes`).
    source : str
        The file name, for the error message.
    cells : bool, default False
        Whether ``data`` are newline-separated fixed-width cells, where one character cut at
        the end of a cell is tolerated.

    Raises
    ------
    InputError
        When none of the candidates decodes the bytes.
    """
    if data.startswith(_BOM):
        return EncodingGuess("utf-8-sig", "encoding UTF-8 (the file starts with a UTF-8 byte-order mark)")
    if data.isascii():
        return EncodingGuess("utf-8", "")
    if _decodes(data, "utf-8", cells=cells):
        return EncodingGuess("utf-8", "encoding UTF-8 detected: the text decodes cleanly as UTF-8")
    if _decodes(data, "gbk", cells=cells):
        return EncodingGuess(
            "gbk", "encoding GBK detected: the text is not valid UTF-8 and decodes cleanly as GBK"
        )
    if _decodes(data, "gb18030", cells=cells):
        return EncodingGuess(
            "gb18030",
            "encoding GB18030 detected: the text is neither UTF-8 nor GBK and decodes cleanly as "
            "GB18030 (it holds characters outside GBK)",
        )
    msg = (
        "the text is not UTF-8, GBK or GB18030; pass the encoding explicitly "
        "(--encoding, e.g. big5 or cp1252)"
    )
    raise InputError(msg, source=source)


def detect_dbf_encoding(shp: str | PathLike[str], *, encoding: str | None = None) -> EncodingGuess | None:
    """The encoding of a shapefile's attribute table, with the reason for the user.

    In order: ``encoding`` when given (checked against the bytes); the .cpg file when present,
    non-empty and consistent with the bytes; otherwise detection from the .dbf bytes, with the
    language driver byte (header byte 29) reported as supporting evidence.

    Returns None when the shapefile has no .dbf (GDAL then reads geometry only).

    Raises
    ------
    InputError
        When a given encoding or every candidate fails to decode the table's text.
    """
    shp = Path(shp)
    dbf = sibling(shp, ".dbf")
    if dbf is None:
        return None
    data = dbf_text_bytes(dbf)
    if encoding is not None:
        codec = normalize_codec(encoding)
        if codec is None:
            msg = f"unknown encoding {encoding!r}; use e.g. utf-8, gbk, gb18030 or big5"
            raise InputError(msg, source=shp.name)
        if not _decodes(data, codec, cells=True):
            msg = (
                f"the .dbf text is not valid {codec_label(codec)}; leave --encoding out to detect "
                "it, or try gb18030"
            )
            raise InputError(msg, source=shp.name)
        return EncodingGuess(codec, f"encoding {codec_label(codec)} as given")
    cpg = sibling(shp, ".cpg")
    cpg_text = cpg.read_text(encoding="ascii", errors="replace").strip() if cpg is not None else ""
    why_detect = "no .cpg" if cpg is None else "empty .cpg" if not cpg_text else ""
    if cpg_text:
        codec = normalize_codec(cpg_text)
        chinese = _chinese_under(data, codec) if codec is not None else None
        if chinese is not None:
            return EncodingGuess(
                chinese,
                f"warning: the .cpg says {cpg_text!r} ({codec_label(codec)}), but the .dbf text is Chinese "
                f"in {codec_label(chinese)} (read as {codec_label(codec)} it would be mojibake); read as "
                f"{codec_label(chinese)}: correct the .cpg or delete it",
            )
        if codec is not None and _decodes(data, codec, cells=True):
            reason = f"encoding {codec_label(codec)} from the .cpg file" if not data.isascii() else ""
            return EncodingGuess(codec, reason)
        why_detect = (
            f"the .cpg names {cpg_text!r}, which Python does not know"
            if codec is None
            else f"the .cpg says {codec_label(codec)} but the .dbf text is not valid {codec_label(codec)}"
        )
    ldid = dbf_language_driver(dbf)
    page = _LDID_CODEPAGE.get(ldid)
    if page == "950" and not _decodes(data, "utf-8", cells=True) and _decodes(data, "big5", cells=True):
        guess = EncodingGuess("big5", "encoding Big5 detected: the text decodes cleanly as Big5")
    else:
        guess = detect_text_encoding(data, source=shp.name, cells=True)
    if not guess.reason:
        return guess
    detail = guess.reason.split(": ", 1)[1]
    label = codec_label(guess.encoding)
    evidence = _ldid_evidence(ldid, page, guess.encoding)
    return EncodingGuess(
        guess.encoding, f"encoding {label} detected from the .dbf bytes ({why_detect}): {detail}{evidence}"
    )


_MULTIBYTE = ("utf-8", "utf-8-sig", "gbk", "gb18030", "big5", "big5hkscs", "cp950", "hz", "gb2312")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def _chinese_under(data: bytes, codec: str) -> str | None:
    """The Chinese encoding of ``data`` when a single-byte ``codec`` (a .cpg's 1252, Latin-1 …)
    would read it as mojibake, else None.

    Read in a Western code page, GBK or UTF-8 Chinese becomes runs of accented letters: nearly
    every non-ASCII character stands next to another. Western text has its accented letters
    alone between ASCII ones. The bytes must also decode cleanly as UTF-8, GBK or GB18030, into
    text whose non-ASCII characters are (nearly) all Chinese.
    """
    if codec in _MULTIBYTE or data.isascii():
        return None
    high = np.frombuffer(data, dtype=np.uint8) >= 0x80
    paired = high & (np.r_[False, high[:-1]] | np.r_[high[1:], False])
    if paired.sum() < 0.9 * high.sum():
        return None
    for candidate in ("utf-8", "gbk", "gb18030"):
        if _decodes(data, candidate, cells=True):
            text = data.decode(candidate, errors="replace")
            wide = sum(1 for ch in text if ord(ch) >= 0x80)
            if wide and len(_CJK.findall(text)) >= 0.9 * wide:
                return candidate
            return None
    return None


def _ldid_evidence(ldid: int, page: str | None, codec: str) -> str:
    if page is None:
        return "" if ldid == 0 else f"; the .dbf language driver byte 0x{ldid:02X} names no Chinese code page"
    if page == "ANSI":
        return f"; the .dbf language driver byte 0x{ldid:02X} only says 'ANSI'"
    agrees = (page == "936" and codec in ("gbk", "gb18030")) or (page == "950" and codec == "big5")
    verdict = "agrees" if agrees else "disagrees, and the bytes win"
    return f"; the .dbf language driver byte 0x{ldid:02X} (code page {page}) {verdict}"
