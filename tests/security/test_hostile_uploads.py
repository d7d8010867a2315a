"""Hostile uploads: zip bombs dressed as XLSX, sheets and rows of a million empty columns, files over the limit.

Each is made here, in the test (nothing large is committed), and is refused with the reason, before anything is
stored: no ImportJob, no file under MEDIA_ROOT, in the web upload and in the import command alike.
"""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from leads import upload_safety
from leads.models import ImportJob, Lead
from leads.upload_safety import UploadRefused, upload_check

pytestmark = pytest.mark.django_db

IMPORT_FILES = Path(__file__).resolve().parents[1] / "leads" / "import_files"
HEADER = b"First name,Last name,Email\n"


def workbook_bytes(rows: list[list[str]] | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows or [["First name", "Last name", "Email"], ["Ana", "Costa", "ana@example.com"]]:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(xlsx: bytes, name: str, change) -> bytes:
    """The workbook with one part's bytes passed through `change`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, change(data) if info.filename == name else data)
    return out.getvalue()


def zip_bomb(megabytes: int = 40) -> bytes:
    """A real workbook whose sheet part is followed by `megabytes` of zeros: about 1000 times smaller packed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook_bytes())) as source, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED, compresslevel=9
    ) as target:
        for info in source.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with target.open(info.filename, "w", force_zip64=True) as part:
                    part.write(source.read(info))
                    zeros = b"\0" * (1024 * 1024)
                    for _ in range(megabytes):
                        part.write(zeros)
            else:
                target.writestr(info.filename, source.read(info))
    return out.getvalue()


def huge_dimension(ref: str = "A1:XFD1048576") -> bytes:
    claim = f'<dimension ref="{ref}"'.encode()
    sheet = "xl/worksheets/sheet1.xml"
    return rewritten(workbook_bytes(), sheet, lambda xml: re.sub(rb'<dimension ref="[^"]*"', claim, xml))


def sheet_edit(old: bytes, new: bytes) -> bytes:
    return rewritten(workbook_bytes(), "xl/worksheets/sheet1.xml", lambda xml: xml.replace(old, new))


def past_zzz() -> bytes:
    """A cell at column ZZZZ: openpyxl raises ValueError on it (a 500, before the check)."""
    return sheet_edit(b'r="C1"', b'r="ZZZZ1"')


def million_delimiters() -> bytes:
    return HEADER + b"," * 1_000_000 + b"\n" + b"Ana,Costa,ana@example.com\n"


def refusal(data: bytes) -> str:
    with pytest.raises(UploadRefused) as caught:
        upload_check(io.BytesIO(data))
    return str(caught.value)


# --- the checks themselves ------------------------------------------------------------------------


def test_a_zip_bomb_dressed_as_xlsx_is_refused_by_its_ratio():
    bomb = zip_bomb()
    assert len(bomb) < 1024 * 1024  # 40 MB of sheet packed under a megabyte
    message = refusal(bomb)
    assert "xl/worksheets/sheet1.xml expands" in message and "zip bomb" in message


def test_a_workbook_that_expands_past_the_total_limit_is_refused(monkeypatch):
    monkeypatch.setattr(upload_safety, "XLSX_MAX_UNCOMPRESSED_BYTES", 20 * 1024 * 1024)
    monkeypatch.setattr(upload_safety, "XLSX_MAX_RATIO", 10_000)  # so the total, not the ratio, refuses it
    assert "The workbook expands to 40 MB; the most an import may expand to is 20 MB." in refusal(zip_bomb())


def test_a_huge_text_table_is_refused(monkeypatch):
    monkeypatch.setattr(upload_safety, "XLSX_MAX_SHARED_STRINGS_BYTES", 100)
    # openpyxl writes inline strings; Excel keeps them in xl/sharedStrings.xml, which openpyxl reads whole.
    shared = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b"<si><t>Ana</t></si>" * 20
    out = io.BytesIO(workbook_bytes())
    with zipfile.ZipFile(out, "a") as workbook:
        workbook.writestr("xl/sharedStrings.xml", shared + b"</sst>")
    message = refusal(out.getvalue())
    assert "The workbook's text table is 0 MB; the largest accepted is 0 MB." in message
    assert "Save the sheet as CSV" in message


@pytest.mark.parametrize(
    ("ref", "claim"),
    [
        ("A1:XFD1048576", "1,048,576 rows and 16,384 columns"),
        ("A1:ZZZZ2", "2 rows and 475,254 columns"),
        ("A1:C99999999", "99,999,999 rows and 3 columns"),
    ],
)
def test_a_sheet_claiming_huge_dimensions_is_refused(ref, claim):
    message = refusal(huge_dimension(ref))
    assert f"The first sheet claims {claim}" in message and "Delete the empty columns" in message


def test_a_cell_past_the_last_column_is_refused():
    assert refusal(past_zzz()) == "The first sheet has a cell at column ZZZZ, past the last column a spreadsheet has."


def test_a_row_of_thousands_of_empty_cells_is_refused_whatever_the_dimension_says():
    wide_row = sheet_edit(b"</row></sheetData>", b"<c/>" * 5000 + b"</row></sheetData>")
    assert b'<dimension ref="A1:C2"' in zipfile.ZipFile(io.BytesIO(wide_row)).read("xl/worksheets/sheet1.xml")
    assert refusal(wide_row).startswith("Row 2 of the first sheet has 5,003 cells or more; an import takes at most")


def test_rows_over_the_limit_and_a_giant_row_are_refused(monkeypatch):
    monkeypatch.setattr(upload_safety, "XLSX_MAX_ROWS", 1)
    understated = sheet_edit(b'<dimension ref="A1:C2"', b'<dimension ref="A1:C1"')  # the rows are counted anyway
    assert refusal(understated) == "The first sheet has more than 1 rows."
    monkeypatch.setattr(upload_safety, "XLSX_MAX_ROWS", 10)
    monkeypatch.setattr(upload_safety, "XLSX_MAX_ROW_BYTES", 100)
    giant = sheet_edit(b"</row></sheetData>", b"<c/>" + b" " * 200 + b"</row></sheetData>")
    assert "Row 2 of the first sheet is over" in refusal(giant)


def test_a_csv_row_of_a_million_delimiters_is_refused():
    message = refusal(million_delimiters())
    assert message == "Line 2 of the file is 977 kB long; a row of a contact list is at most 128 kB."


def test_a_csv_row_of_many_empty_columns_is_refused():
    message = refusal(HEADER + b";" * 50_000 + b"\n")
    assert message == "Line 2 of the file has 50,001 columns; an import takes at most 10,000."


def test_a_file_without_line_breaks_is_refused_while_it_is_read():
    assert "Line 1 of the file is over" in refusal(b"Name," + b"x" * (3 * 1024 * 1024))


def test_a_workbook_with_thousands_of_parts_is_refused(monkeypatch):
    monkeypatch.setattr(upload_safety, "XLSX_MAX_MEMBERS", 5)
    assert "parts; a contact list needs a handful" in refusal(workbook_bytes())


# The importer's test files, all but the one that is hostile on purpose (its refusal is tested above).
ORDINARY = sorted(
    path
    for path in IMPORT_FILES.iterdir()
    if path.suffix in (".csv", ".tsv", ".txt", ".xlsx") and path.name != "huge_dimension.xlsx"
)


@pytest.mark.parametrize("path", ORDINARY, ids=lambda p: p.name)
def test_ordinary_files_pass(path):
    upload_check(io.BytesIO(path.read_bytes()))


def test_a_long_ordinary_csv_passes_and_the_stream_is_rewound():
    data = HEADER + b"".join(b"Ana,Costa %d,ana%d@example.com\n" % (n, n) for n in range(100_000))
    stream = io.BytesIO(data)
    upload_check(stream)
    assert stream.tell() == 0


def test_the_checks_read_in_small_pieces():
    """The zip bomb and the million-delimiter row are judged without holding what they expand to."""
    bomb, wide = zip_bomb(), million_delimiters() * 8
    tracemalloc.start()
    for data in (bomb, wide):
        with pytest.raises(UploadRefused):
            upload_check(io.BytesIO(data))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 6 * 1024 * 1024, f"peak {peak / 1048576:.1f} MB"


# --- the web upload and the command -----------------------------------------------------------------


def _nothing_stored(media_root: str) -> bool:
    media = Path(media_root)
    return not ImportJob.objects.exists() and (not media.exists() or not [p for p in media.rglob("*") if p.is_file()])


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("bomb.xlsx", zip_bomb, "zip bomb, not a contact list"),
        ("wide.xlsx", huge_dimension, "The first sheet claims 1,048,576 rows and 16,384 columns"),
        ("wide.csv", million_delimiters, "Line 2 of the file is 977 kB long"),
        ("zzzz.xlsx", past_zzz, "a cell at column ZZZZ"),
    ],
)
def test_the_web_upload_refuses_them_and_stores_nothing(admin_client_role, settings, tmp_path, name, make, message):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    upload = io.BytesIO(make())
    upload.name = name
    response = admin_client_role.post(reverse("imports:upload"), {"file": upload})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _nothing_stored(settings.MEDIA_ROOT)


def test_the_web_upload_refuses_a_file_over_the_limit(admin_client_role, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    upload = io.BytesIO(HEADER + b"Ana,Costa,ana@example.com\n" * 50_000)
    upload.name = "big.csv"
    response = admin_client_role.post(reverse("imports:upload"), {"file": upload})
    assert response.status_code == 400
    assert "The file is larger than 1 MB, the largest import." in response.content.decode()
    assert _nothing_stored(settings.MEDIA_ROOT)


def test_the_command_refuses_them_with_status_2_and_writes_nothing(tmp_path, capsys, rep):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(zip_bomb())
    with pytest.raises(SystemExit) as exited:
        call_command("import_leads", str(path), "--owner", rep.username)
    assert exited.value.code == 2
    assert "bomb.xlsx: The workbook's part xl/worksheets/sheet1.xml expands" in capsys.readouterr().err
    assert not Lead.objects.exists() and not ImportJob.objects.exists()
