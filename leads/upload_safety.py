"""Hostile uploads, refused before anything is stored or parsed: zip bombs dressed as XLSX, sheets that claim a
million columns, CSV lines of a million delimiters.

Pure: a seekable byte stream in, `UploadRefused` with the reason out. A workbook is judged by its zip directory
(before anything is inflated), a few small XML parts, and one streamed pass over its first sheet; a CSV by one
pass; both in 1 MB chunks, so a check costs well under a second and a few megabytes of memory whatever the file
holds (bench/upload_safety.py). The importer (`leads.importing`) keeps its own caps as a second line.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from typing import IO

from defusedxml import ElementTree

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
CHUNK_BYTES = 1024 * 1024

# A workbook: what a contact list of up to a million rows can need, and no more.
XLSX_MAX_MEMBERS = 10_000
XLSX_MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024  # all parts together, as the zip directory declares them
XLSX_MAX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024  # openpyxl holds every shared string in memory
XLSX_MAX_RATIO = 100  # real sheets pack 5-20x; a bomb packs 1000x and more
XLSX_RATIO_FROM_BYTES = 10 * 1024 * 1024  # small parts may pack as tight as they like
XLSX_MAX_ROWS = 1_048_576  # Excel's own limit
XLSX_MAX_COLUMNS = 1024  # a list has tens of columns; "A1:XFD1048576" is a whole-sheet dimension
XML_PART_MAX_BYTES = 1024 * 1024  # workbook.xml and its relationships are a few kB
SHEET_HEAD_BYTES = 64 * 1024  # the <dimension> element comes before the data
XLSX_MAX_ROW_BYTES = 16 * 1024 * 1024  # one <row> of XML; a contact's row is a few kB
MIN_CELL_BYTES = 4  # "<c/>": the shortest cell element

# A CSV: one physical line, and the delimiters on it.
CSV_MAX_LINE_BYTES = 128 * 1024  # the csv module's own field limit; a row of 200 columns is a few kB
CSV_MAX_FIELDS = 10_000
CSV_DELIMITERS = (b",", b";", b"\t", b"|")

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData[\s>/]")
_PAST_ZZZ = re.compile(rb" r=\"([A-Za-z]{4,})\d")  # 4 letters: past ZZZ (Excel ends at XFD); literal start: fast
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Za-z]{1,4})(\d{1,8})(?::([A-Za-z]{1,4})(\d{1,8}))?\"")


class UploadRefused(ValueError):
    """The upload is refused; the message says why, in words for the person who sent it."""


def upload_check(stream: IO[bytes]) -> None:
    """Refuse a hostile CSV or XLSX; leave the stream at its start either way."""
    try:
        head = stream.read(len(ZIP_MAGIC))
        stream.seek(0)
        if head == ZIP_MAGIC:
            _xlsx_check(stream)
        elif head != OLE_MAGIC:  # an old .xls: the importer says what to do with it
            _csv_check(stream)
    finally:
        stream.seek(0)


# --- XLSX -------------------------------------------------------------------------------------------


def _xlsx_check(stream: IO[bytes]) -> None:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadRefused("The file is not a CSV or XLSX file (a damaged or foreign zip archive).") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > XLSX_MAX_MEMBERS:
            raise UploadRefused(f"The workbook holds {len(infos):,} parts; a contact list needs a handful.")
        total = sum(info.file_size for info in infos)
        if total > XLSX_MAX_UNCOMPRESSED_BYTES:
            raise UploadRefused(
                f"The workbook expands to {total / 1048576:,.0f} MB; the most an import may expand to is "
                f"{XLSX_MAX_UNCOMPRESSED_BYTES / 1048576:,.0f} MB."
            )
        for info in infos:
            if info.file_size > XLSX_RATIO_FROM_BYTES and info.file_size > XLSX_MAX_RATIO * max(info.compress_size, 1):
                raise UploadRefused(
                    f"The workbook's part {info.filename} expands {info.file_size // max(info.compress_size, 1):,} "
                    f"times ({info.file_size / 1048576:,.0f} MB): that is a zip bomb, not a contact list."
                )
            if info.filename.lower() == "xl/sharedstrings.xml" and info.file_size > XLSX_MAX_SHARED_STRINGS_BYTES:
                raise UploadRefused(
                    f"The workbook's text table is {info.file_size / 1048576:,.0f} MB; the largest accepted is "
                    f"{XLSX_MAX_SHARED_STRINGS_BYTES / 1048576:,.0f} MB. Save the sheet as CSV and upload that."
                )
        sheet = _first_sheet_path(archive)
        if sheet is not None:
            try:
                _dimension_check(archive, sheet)
                _cells_check(archive, sheet)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
                # The directory read fine but the sheet's bytes do not unpack (a cut or patched file): was a 500.
                raise UploadRefused(
                    f"The workbook is damaged: its part {sheet} cannot be unpacked ({type(exc).__name__})."
                ) from exc


def _small_xml(archive: zipfile.ZipFile, name: str):
    info = archive.getinfo(name)
    if info.file_size > XML_PART_MAX_BYTES:
        raise UploadRefused(f"The workbook's part {name} is {info.file_size / 1048576:,.0f} MB; it should be a few kB.")
    try:
        return ElementTree.fromstring(archive.read(name))
    except Exception as exc:  # defusedxml refuses entities and DTDs; any parse error means the same here
        raise UploadRefused(f"The workbook's part {name} is not valid XML ({type(exc).__name__}).") from exc


def _first_sheet_path(archive: zipfile.ZipFile) -> str | None:
    """The first sheet's part, as workbook.xml and its relationships name it (None if they do not)."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        raise UploadRefused("The file is a zip archive but not an XLSX workbook.")
    sheet = _small_xml(archive, "xl/workbook.xml").find(f"{_MAIN_NS}sheets/{_MAIN_NS}sheet")
    if sheet is None or "xl/_rels/workbook.xml.rels" not in names:
        return None
    for rel in _small_xml(archive, "xl/_rels/workbook.xml.rels"):
        if rel.get("Id") == sheet.get(_REL_ID):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            return path if path in names else None
    return None


def _dimension_check(archive: zipfile.ZipFile, sheet: str) -> None:
    with archive.open(sheet) as part:
        head = part.read(SHEET_HEAD_BYTES)
    found = _DIMENSION.search(head)
    if not found:
        return
    last_column, last_row = (found[3], found[4]) if found[3] else (found[1], found[2])
    columns, rows = column_number(last_column.decode()), int(last_row)
    if columns > XLSX_MAX_COLUMNS or rows > XLSX_MAX_ROWS:
        raise UploadRefused(
            f"The first sheet claims {rows:,} rows and {columns:,} columns; an import takes at most "
            f"{XLSX_MAX_ROWS:,} rows and {XLSX_MAX_COLUMNS:,} columns. Delete the empty columns, or save as CSV."
        )


def _cells_check(archive: zipfile.ZipFile, sheet: str) -> None:
    """The sheet's rows as they are, whatever its <dimension> claims: streamed in 1 MB pieces, one row at a time.

    Refuses a row of more cells than XLSX_MAX_COLUMNS (a million empty <c/> elements), a cell past column ZZZ
    (openpyxl cannot read one), more rows than XLSX_MAX_ROWS and a single row over XLSX_MAX_ROW_BYTES.
    """
    with archive.open(sheet) as part:
        head = part.read(SHEET_HEAD_BYTES)
        found = _SHEET_DATA.search(head)
        prefix = found[1] if found and found[1] else b""
        row_tag = b"<" + prefix + b"row"
        cell_tags = [b"<" + prefix + b"c" + end for end in (b" ", b">", b"/>")]
        rows = 0  # <row> tags seen so far; what comes before the first is "row 0"
        open_row = b""
        chunk = head
        while chunk:
            data = open_row + chunk
            bad = _PAST_ZZZ.search(data)
            if bad:
                raise UploadRefused(
                    f"The first sheet has a cell at column {bad[1].decode()}, past the last column a spreadsheet has."
                )
            pieces = data.split(row_tag)
            open_row = pieces.pop()
            pieces.append(open_row)
            if max(map(len, pieces)) > MIN_CELL_BYTES * XLSX_MAX_COLUMNS:  # else no row here has that many cells
                for offset, piece in enumerate(pieces):
                    cells = sum(piece.count(tag) for tag in cell_tags)
                    if cells > XLSX_MAX_COLUMNS:
                        raise UploadRefused(
                            f"Row {rows + offset:,} of the first sheet has {cells:,} cells or more; an import takes "
                            f"at most {XLSX_MAX_COLUMNS:,} columns. Delete the empty columns, or save as CSV."
                        )
            rows += len(pieces) - 1
            if rows > XLSX_MAX_ROWS:
                raise UploadRefused(f"The first sheet has more than {XLSX_MAX_ROWS:,} rows.")
            if len(open_row) > XLSX_MAX_ROW_BYTES:
                raise UploadRefused(
                    f"Row {rows:,} of the first sheet is over {XLSX_MAX_ROW_BYTES // 1048576} MB of XML; "
                    "a row of a contact list is a few kB."
                )
            chunk = part.read(CHUNK_BYTES)


def column_number(letters: str) -> int:
    """Spreadsheet column letters as a number: A -> 1, Z -> 26, AA -> 27, XFD -> 16384."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


# --- CSV --------------------------------------------------------------------------------------------


def _csv_check(stream: IO[bytes]) -> None:
    """Every physical line under CSV_MAX_LINE_BYTES and CSV_MAX_FIELDS delimiters, read in 1 MB chunks."""
    line_number = 1
    carry = b""
    while chunk := stream.read(CHUNK_BYTES):
        lines = (carry + chunk).split(b"\n")
        carry = lines.pop()
        if lines and max(map(len, lines)) > CSV_MAX_FIELDS:  # else no line here can break either limit
            for offset, line in enumerate(lines):
                _line_check(line, line_number + offset)
        line_number += len(lines)
        _line_check(carry, line_number, partial=True)
    _line_check(carry, line_number)


def _line_check(line: bytes, number: int, *, partial: bool = False) -> None:
    if len(line) > CSV_MAX_LINE_BYTES:
        raise UploadRefused(
            f"Line {number:,} of the file is {'over ' if partial else ''}{len(line) / 1024:,.0f} kB long; "
            f"a row of a contact list is at most {CSV_MAX_LINE_BYTES // 1024} kB."
        )
    if len(line) > CSV_MAX_FIELDS and not partial:  # a shorter line cannot hold that many delimiters
        fields = max(line.count(delimiter) for delimiter in CSV_DELIMITERS) + 1
        if fields > CSV_MAX_FIELDS:
            raise UploadRefused(
                f"Line {number:,} of the file has {fields:,} columns; an import takes at most {CSV_MAX_FIELDS:,}."
            )
