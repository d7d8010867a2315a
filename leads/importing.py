"""Reading contact lists: CSV/TSV/XLSX sniffing, encodings, the header row, column guessing, row rules.

Pure: plain values in, plain values out, no ORM. `leads.import_services` feeds it a file and the
lead field limits, and writes what it returns. Everything streams: a file is never read whole.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import hashlib
import io
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import IO, Any

from .contact import InvalidPhone, is_valid_email, normalize_email, normalize_phone

# How many allocations wake Python's cyclic garbage collector while an import runs (its default: 700).
IMPORT_GC_THRESHOLD = 50_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with the cyclic garbage collector woken every IMPORT_GC_THRESHOLD allocations, not 700.

    An import allocates millions of small objects (cells, values, tuples, rows to write) that live for one batch
    and form no cycles, so reference counting frees them; at the default threshold the collector still ran
    thousands of times per 100k rows and now and then walked every object alive, about a fifth of the import's
    Python CPU (docs/benchmarks.md, Import). It still runs, less often; the thresholds are put back afterwards
    (a Celery worker runs other tasks next).
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], IMPORT_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


# The lead fields a column can fill. "full_name" is split into first and last name.
FIELD_LABELS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "email": "Email",
    "phone": "Phone",
    "company": "Company",
    "title": "Job title",
    "notes": "Notes",
}
NAME_FIELDS = ("first_name", "last_name", "full_name")
CONTACT_FIELDS = ("email", "phone")

_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("First Name", "FirstName", "First", "Given Name", "Forename"),
    "last_name": ("Last Name", "LastName", "Last", "Surname", "Family Name"),
    "full_name": ("Name", "Full Name", "Contact", "Contact Name", "Attendee", "Attendee Name"),
    "email": ("Email", "E-mail", "E-Mail Address", "Email Address", "Work Email", "Business Email", "Mail"),
    "phone": (
        "Phone",
        "Phone Number",
        "Work Phone",
        "Business Phone",
        "Mobile",
        "Mobile Phone",
        "Mobile Number",
        "Cell",
        "Cell Phone",
        "Telephone",
        "Tel",
    ),
    "company": ("Company", "Company Name", "Organization", "Organisation", "Account", "Account Name", "Employer"),
    "title": ("Title", "Job Title", "Position", "Role", "Job Role"),
    "notes": ("Notes", "Note", "Comments", "Comment", "Description"),
}

HEADER_SEARCH_ROWS = 10  # the header is the first row within these that names two known columns
MIN_KNOWN_COLUMNS = 2
MAX_COLUMNS = 200  # wider rows are cut here; no contact list has 200 useful columns
SNIFF_BYTES = 64 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# XLSX is a zip: refuse archives that would expand far beyond any real contact list.
XLSX_MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
XLSX_MAX_RATIO = 200
XLSX_MAX_ROWS = 1_048_576  # Excel's own limit: more is a crafted file
XLSX_MAX_COLUMNS = 16_384 // 16  # 1024 columns: more is a "whole sheet" dimension, not a list


class UnreadableFile(ValueError):
    """The file cannot be read as a contact list at all; the message says why, in a user's words."""


# --- Headers and mapping ------------------------------------------------------------------------------


def normalise_header(text: Any) -> str:
    """Case, accents, spaces and punctuation do not matter: "E-Mail Address" == "email address"."""
    folded = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


ALIASES: dict[str, str] = {normalise_header(alias): name for name, aliases in _ALIASES.items() for alias in aliases}


def field_for_header(text: Any) -> str | None:
    return ALIASES.get(normalise_header(text))


def guess_mapping(headers: Sequence[Any]) -> list[str]:
    """The lead field for each column ("" = ignored). A field goes to the first column that names it."""
    taken: set[str] = set()
    mapping: list[str] = []
    for header in headers:
        name = field_for_header(header)
        if name and name not in taken:
            taken.add(name)
            mapping.append(name)
        else:
            mapping.append("")
    return mapping


def header_key(headers: Sequence[Any]) -> str:
    """The key a remembered mapping is stored under: the same header, however it is spelled, gives one key."""
    return hashlib.sha256("\x1f".join(normalise_header(h) for h in headers).encode()).hexdigest()


def mapping_problems(mapping: Sequence[str], column_count: int) -> list[str]:
    """What makes a mapping unusable, in words; empty when it can import rows."""
    problems: list[str] = []
    if len(mapping) != column_count:
        problems.append(f"The mapping has {len(mapping)} columns but the file has {column_count}.")
    unknown = sorted({name for name in mapping if name and name not in FIELD_LABELS})
    if unknown:
        problems.append(f"Unknown field: {', '.join(unknown)}.")
    doubled = sorted(FIELD_LABELS[name] for name, n in Counter(m for m in mapping if m).items() if n > 1)
    if doubled:
        problems.append(f"Each field can come from one column only: {', '.join(doubled)}.")
    if not any(name in mapping for name in NAME_FIELDS):
        problems.append("Choose a column for the name (first name, last name or full name).")
    if not any(name in mapping for name in CONTACT_FIELDS):
        problems.append("Choose a column for the email or the phone.")
    return problems


def find_header_row(rows: Sequence[Sequence[Any]]) -> int | None:
    """Index of the first row naming at least two known columns, looking at the first rows only."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if len({name for name in (field_for_header(cell) for cell in row) if name}) >= MIN_KNOWN_COLUMNS:
            return index
    return None


# --- Reading bytes ------------------------------------------------------------------------------------


def _cp1252_or_latin1(error: UnicodeError) -> tuple[str, int]:
    # The five bytes cp1252 leaves undefined are Latin-1 control characters: keep them, never fail.
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


def _utf8_then_cp1252(error: UnicodeError) -> tuple[str, int]:
    # A file that starts as UTF-8 can still carry a stray Windows byte further down (a pasted name).
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("cp1252", errors="warmcrm-latin1"), error.end


codecs.register_error("warmcrm-latin1", _cp1252_or_latin1)
codecs.register_error("warmcrm-cp1252", _utf8_then_cp1252)


def detect_encoding(head: bytes) -> tuple[str, str]:
    """(encoding, error handler) for a text file that starts with `head`."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "warmcrm-cp1252"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "replace"  # Excel's "Unicode text" export
    try:
        # The sample may end inside a multi-byte character: decode incrementally without a final flush.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252", "warmcrm-latin1"
    return "utf-8", "warmcrm-cp1252"


def looks_binary(head: bytes) -> bool:
    """NUL bytes or many control characters: an image, a PDF, an old .xls, not a text list."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return controls > len(head) // 100


def sniff_delimiter(sample: str) -> str:
    """The delimiter (, ; tab |) that splits the sample's lines into the most, and most regular, columns."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample cut the last line short
    best, best_score = ",", (0, 0, 0)
    for delimiter in (",", ";", "\t", "|"):
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in row)]
        except csv.Error:
            continue
        if not counts:
            continue
        mode, regular = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (regular, mode, -len(counts))
        if score > best_score:
            best, best_score = delimiter, score
    return best


@dataclass
class Table:
    """A readable list: its header, where it is, and a lazy stream of its non-blank data rows."""

    kind: str  # "csv" or "xlsx"
    headers: list[str]
    header_row: int  # 1-based row number in the file
    rows: Iterator[tuple[int, list[str]]]  # (1-based row number, cells padded to the header's width)
    encoding: str = ""
    delimiter: str = ""


def read_table(stream: IO[bytes], *, file_name: str = "") -> Table:
    """Open a CSV/TSV/XLSX byte stream as a Table; raises UnreadableFile with the reason.

    The stream must stay open while `rows` is iterated.
    """
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if not head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise UnreadableFile("The file is empty.")
    if head.startswith(b"PK\x03\x04"):
        records = _xlsx_records(stream)
        kind, encoding, delimiter = "xlsx", "", ""
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile("This is an old Excel .xls file: save it as .xlsx or CSV and upload that.")
    else:
        encoding, errors = detect_encoding(head)
        if not encoding.startswith("utf-16") and looks_binary(head):
            raise UnreadableFile("The file is not a CSV or XLSX file (it looks like binary data).")
        sample = head.decode(encoding, errors=errors if encoding != "utf-8" else "ignore")
        delimiter = "\t" if file_name.lower().endswith((".tsv", ".tab")) else sniff_delimiter(sample)
        text = _BorrowedText(stream, encoding=encoding, errors=errors, newline="")
        records = _csv_records(text, delimiter)
        kind = "csv"
    return _table(kind, records, encoding=encoding, delimiter=delimiter)


class _BorrowedText(io.TextIOWrapper):
    """Text over a byte stream the caller owns: dropping it must not close their file."""

    def close(self) -> None:
        """Leave the caller's stream open: whoever opened it closes it."""

    def __del__(self) -> None:
        """IOBase.__del__ would close the caller's stream too."""


def _csv_records(text: IO[str], delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    try:
        yield from reader
    except csv.Error as exc:
        raise UnreadableFile(f"The file stops being valid CSV near row {reader.line_num}: {exc}.") from exc


def _table(kind: str, records: Iterator[list[str]], *, encoding: str, delimiter: str) -> Table:
    numbered = ((number, row) for number, row in enumerate(records, start=1))
    first: list[tuple[int, list[str]]] = []
    for number, row in numbered:
        if any(cell.strip() for cell in row):
            first.append((number, row[:MAX_COLUMNS]))
        if len(first) >= HEADER_SEARCH_ROWS:
            break
    if not first:
        raise UnreadableFile("The file is empty.")
    index = find_header_row([row for _, row in first])
    if index is None:
        shown = ", ".join(cell.strip() for cell in first[0][1] if cell.strip())[:120]
        raise UnreadableFile(
            "No usable columns: none of the first rows names two known columns "
            f"(like Name, Email, Phone, Company). The first row has: {shown or 'nothing'}."
        )
    header_number, header_cells = first[index]
    headers = [cell.replace("\x00", "").strip() for cell in header_cells]  # JSON in PostgreSQL refuses a NUL
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)

    def data_rows() -> Iterator[tuple[int, list[str]]]:
        for number, row in first[index + 1 :]:
            yield number, _fit(row, width)
        for number, row in numbered:
            if "".join(row).strip():  # the same as any(cell.strip() for cell in row), in one call
                yield number, _fit(row, width)

    return Table(kind, headers, header_number, data_rows(), encoding=encoding, delimiter=delimiter)


def _fit(row: list[str], width: int) -> list[str]:
    return row[:width] + [""] * (width - len(row)) if len(row) != width else row


# --- XLSX -------------------------------------------------------------------------------------------


def _xlsx_records(stream: IO[bytes]) -> Iterator[list[str]]:
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile("The file is not a CSV or XLSX file (a damaged or foreign zip archive).") from exc
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise UnreadableFile("The file is a zip archive but not an XLSX workbook.")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if total > XLSX_MAX_UNCOMPRESSED_BYTES or (total > 50 * 1024 * 1024 and total / packed > XLSX_MAX_RATIO):
        raise UnreadableFile("The workbook expands to far more data than a contact list holds; it was refused.")
    stream.seek(0)
    import openpyxl  # imported here: CSV imports never pay for it

    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for broken workbooks; all mean the same here
        raise UnreadableFile(f"The XLSX workbook cannot be opened ({type(exc).__name__}).") from exc
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise UnreadableFile("The workbook has no sheets.")
    try:
        max_row, max_column = sheet.max_row, sheet.max_column
    except Exception:  # a sheet without a dimension record: the row and column caps below still apply
        max_row = max_column = None
    if (max_row or 0) > XLSX_MAX_ROWS or (max_column or 0) > XLSX_MAX_COLUMNS:
        raise UnreadableFile(
            f"The first sheet claims {max_row or 0:,} rows and {max_column or 0:,} columns; "
            f"the limit is {XLSX_MAX_ROWS:,} rows and {XLSX_MAX_COLUMNS:,} columns."
        )
    return _sheet_rows(workbook, sheet)


def _sheet_rows(workbook: Any, sheet: Any) -> Iterator[list[str]]:
    rows = sheet.iter_rows(values_only=True)
    try:
        count = 0
        while True:
            try:
                row = next(rows, None)
            except Exception as exc:  # read-only openpyxl parses the sheet as it goes: damage shows up here
                where = f" past row {count}" if count else ""
                raise UnreadableFile(
                    f"The XLSX workbook is damaged: its first sheet cannot be read{where} ({type(exc).__name__})."
                ) from exc
            if row is None:
                return
            count += 1
            if count > XLSX_MAX_ROWS:
                raise UnreadableFile(f"The first sheet has more than {XLSX_MAX_ROWS:,} rows.")
            yield [cell_text(value) for value in row[:MAX_COLUMNS]]
    finally:
        workbook.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees: 14155550100.0 -> "14155550100", dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


# --- Row rules ----------------------------------------------------------------------------------------

_HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam"}
_PARTICLES = {
    "van",
    "von",
    "de",
    "der",
    "den",
    "da",
    "das",
    "dos",
    "del",
    "della",
    "di",
    "du",
    "la",
    "le",
    "ter",
    "ten",
}


def split_name(full: str) -> tuple[str, str]:
    """("First names", "Last name") from a full name: "Smith, Anna" and "Dr. Anna van der Berg" both work."""
    text = " ".join(full.split())
    if not text:
        return "", ""
    if "," in text:
        last, _, first = text.partition(",")
        if first.strip() and last.strip() and " " not in last.strip():
            return " ".join(first.split()), last.strip()
        text = text.replace(",", " ")
    words = text.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in _HONORIFICS:
        words = words[1:]
    if len(words) == 1:
        return words[0], ""
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def unquote_cell(value: str) -> str:
    """Undo the formula guard of our own error file (a leading ' before = + - @) so a fixed file re-imports."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def formula_safe(value: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


@dataclass(slots=True)
class RowOutcome:
    """What one data row becomes: lead values (with `email` and `phone_e164` normalised) or an error.

    `values` holds every field of TARGET plus `phone_e164`, blank ("") where the row gives nothing.
    """

    values: dict[str, str]
    warnings: tuple[str, ...] = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def keys(self) -> tuple[str, str]:
        return self.values["email"], self.values["phone_e164"]


# Lead field each mapped column fills; the model field names are the service's business.
TARGET = {"first_name": "first_name", "last_name": "last_name", "email": "email", "phone": "phone"}
TARGET.update({"company": "company", "title": "title", "notes": "research_notes"})
_BLANK = dict.fromkeys(("first_name", "last_name", "title", "company", "email", "phone", "phone_e164"), "")
_BLANK["research_notes"] = ""
# Length limits are checked in this order, so the error names the fields as the row reads.
_LENGTH_ORDER = ("first_name", "last_name", "company", "title", "notes", "email", "phone")


def row_outcome(
    cells: Sequence[str], mapping: Sequence[str], *, region: str, limits: Mapping[str, int | None]
) -> RowOutcome:
    """Apply the row rules: a name and one valid contact, nothing too long; bad extra contacts are warnings.

    `limits` holds each lead field's max length (None = unlimited), as the model declares it.
    """
    return RowJudge(mapping, region=region, limits=limits)(cells)


# A judged data row as the import's batches carry it: (row number, cells, values, warnings, error). The cells
# only for an error row (the error file is their one reader); `values` and `warnings` are RowOutcome's.
JudgedRow = tuple[int, list[str], dict[str, str], tuple[str, ...], str]


class RowJudge:
    """`row_outcome` for one mapping, region and limits, prepared once: the importer calls it per row."""

    def __init__(self, mapping: Sequence[str], *, region: str, limits: Mapping[str, int | None]) -> None:
        self.columns = [(index, name, name == "notes") for index, name in enumerate(mapping) if name]
        self.region = region
        self.lengths = [
            (name, limit, _label(TARGET.get(name, name)))
            for name in _LENGTH_ORDER
            if (limit := limits.get(TARGET.get(name, name)))
        ]

    def __call__(self, cells: Sequence[str]) -> RowOutcome:
        raw: dict[str, str] = {}
        size = len(cells)
        for index, name, is_notes in self.columns:
            if index < size:
                cell = cells[index].strip() if is_notes else " ".join(cells[index].split())
                if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
                    cell = cell[1:]  # unquote_cell: our own error file's formula guard
                raw[name] = cell
        if "\x00" in "".join(raw.values()):  # past the sniffed head: PostgreSQL cannot store it, nor quote it
            return RowOutcome(_BLANK.copy(), error=_nul_error(raw))
        get = raw.get
        first, last = get("first_name", ""), get("last_name", "")
        if not (first or last) and get("full_name"):
            first, last = split_name(raw["full_name"])
        values = _BLANK.copy()
        values["first_name"], values["last_name"] = first, last
        values["company"], values["title"] = get("company", ""), get("title", "")
        values["research_notes"] = get("notes", "")
        if not (first or last):
            return RowOutcome(values, error="No name: the row needs a first, last or full name.")
        too_long = []
        for name, limit, label in self.lengths:
            value = first if name == "first_name" else last if name == "last_name" else get(name, "")
            if len(value) > limit:
                too_long.append(f"{label} is {len(value)} characters long (the limit is {limit})")
        if too_long:
            return RowOutcome(values, error="; ".join(too_long) + ".")

        warnings: list[str] = []
        email = normalize_email(get("email", ""))
        if email and not is_valid_email(email):
            warnings.append(f"“{raw['email']}” is not a valid email address.")
            email = ""
        phone, phone_e164 = get("phone", ""), ""
        if phone:
            phone_e164, problem = _phone_check(phone, self.region)
            if problem:
                warnings.append(problem)
                phone = ""
        if not (email or phone_e164):
            reason = " ".join(warnings) if warnings else "No email or phone."
            return RowOutcome(values, error=f"No valid contact: {reason}".strip())
        values["email"], values["phone"], values["phone_e164"] = email, phone, phone_e164
        return RowOutcome(values, tuple(warnings))

    def judged(self, rows: Iterable[tuple[int, list[str]]]) -> list[JudgedRow]:
        """Numbered rows judged, as `JudgedRow`s: plain tuples, which the file reader's process sends to the job
        as they are (pickle loads them in C; outcome objects cost the job's receiving thread a rebuild each)."""
        judged = []
        for number, cells in rows:
            outcome = self(cells)
            error = outcome.error
            judged.append((number, cells if error else [], outcome.values, outcome.warnings, error))
        return judged


@lru_cache(maxsize=65_536)
def _phone_check(phone: str, region: str) -> tuple[str, str]:
    """(E.164, "") or ("", why not): lists repeat switchboard numbers, so each is judged once."""
    try:
        return normalize_phone(phone, region=region), ""
    except InvalidPhone as exc:
        return "", str(exc)


def _nul_error(raw: Mapping[str, str]) -> str:
    labels = ", ".join(FIELD_LABELS[name] for name, value in raw.items() if "\x00" in value)
    return f"{labels}: the cell holds a NUL character (a zero byte); remove it."


def _label(target: str) -> str:
    return {"research_notes": "Notes", "first_name": "First name", "last_name": "Last name"}.get(
        target, target.replace("_", " ").capitalize()
    )


def preview_rows(rows: Iterable[tuple[int, list[str]]], count: int = 10) -> list[tuple[int, list[str]]]:
    """The first `count` data rows, for the mapping page."""
    out: list[tuple[int, list[str]]] = []
    for item in rows:
        out.append(item)
        if len(out) >= count:
            break
    return out
