"""Contact lists fuzzed: random bytes, random delimiters and quoting, NUL bytes, huge fields, hostile cells.

Through the importer's pure reading and judging functions, and through the upload, mapping, dry-run and
import steps: never a 500 or a traceback, either a clear refusal that keeps nothing or counts that add up
(created + merged + errors = rows), with every value the import stored storable in PostgreSQL.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads import import_services, importing
from leads.models import ImportJob, Lead
from tests.security.strategies import NUL, has_markup, hostile, hostile_id, long_text, technical_messages

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
HEADERS = ("Name", "Email", "Phone", "Company", "Title", "Notes", "First Name", "Last Name", "Mobile", "Comments")
MAPPING = ["full_name", "email", "phone", "company", "notes"]

cell = st.one_of(
    hostile(max_pieces=3),
    st.sampled_from(["Ana Costa", "ana@example.com", "bo@example.com", "(415) 555-0100", "+44 20 7946 0958", ""]),
)


@st.composite
def contact_list(draw: Any) -> bytes:
    """A CSV as a careless export writes it: any delimiter, quoting and encoding, then maybe damaged."""
    header = draw(st.lists(st.one_of(st.sampled_from(HEADERS), hostile(max_pieces=2)), min_size=1, max_size=7))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 2), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", ":", " "]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE, csv.QUOTE_NONNUMERIC]))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, quoting=quoting, escapechar="\\", lineterminator="\r\n")
    for line in [header, *rows]:
        try:
            writer.writerow(line)
        except csv.Error:  # QUOTE_NONE cannot write a lone empty field: a line break stands for it
            text.write("\r\n")
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    data = text.getvalue().encode(encoding, errors="replace")
    damage = draw(st.sampled_from(["none", "none", "insert", "truncate", "huge"]))
    at = draw(st.integers(min_value=0, max_value=len(data)))
    if damage == "insert":
        data = data[:at] + draw(st.one_of(st.binary(min_size=1, max_size=20), st.just(b"\x00"))) + data[at:]
    elif damage == "truncate":
        data = data[:at]
    elif damage == "huge":  # a field far past every limit, past the 64 KB the reader sniffs
        data = data[:at] + b'"' + b"x" * draw(st.integers(70_000, 200_000)) + b'"' + data[at:]
    return data


@st.composite
def workbook(draw: Any) -> bytes:
    """An XLSX of hostile cells (formulas included: "=1+2" is stored as one), sometimes cut short or patched."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    header = draw(st.lists(st.one_of(st.sampled_from(HEADERS), hostile(max_pieces=2)), min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 1), max_size=8))
    book = openpyxl.Workbook()
    for line in [header, *rows]:
        book.active.append([ILLEGAL_CHARACTERS_RE.sub("", value) for value in line])  # what XML can hold
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    at = draw(st.integers(min_value=0, max_value=1024)) * len(data) // 1024  # the size varies with the save time
    damage = draw(st.sampled_from(["none", "none", "truncate", "patch"]))
    if damage == "truncate":
        data = data[:at]
    elif damage == "patch":
        data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at + 16 :]
    return data


def read_all(data: bytes, file_name: str = "list.csv") -> tuple[importing.Table | None, list, str]:
    """(table, rows, "") or (None, [], the reason) — any other exception fails the test."""
    try:
        table = importing.read_table(io.BytesIO(data), file_name=file_name)
        return table, list(table.rows), ""
    except importing.UnreadableFile as refusal:
        return None, [], str(refusal)


@FUZZ
@given(data=st.one_of(contact_list(), st.binary(max_size=2000), st.text(max_size=500).map(str.encode)))
def test_reading_any_bytes_gives_a_table_or_a_reason(data):
    check_table(*read_all(data))


@settings(FUZZ, max_examples=25)
@given(data=workbook())
def test_reading_any_workbook_gives_a_table_or_a_reason(data):
    check_table(*read_all(data, "list.xlsx"))


def check_table(table: importing.Table | None, rows: list, reason: str) -> None:
    if table is None:
        assert technical_messages([reason]) == [] and reason.endswith("."), reason
        return
    assert table.headers and not any(NUL in header for header in table.headers)  # headers are stored as JSON
    assert all(len(cells) == len(table.headers) for _, cells in rows)
    assert [number for number, _ in rows] == sorted({number for number, _ in rows})


@FUZZ
@given(cells=st.lists(st.one_of(cell, long_text(max_size=400)), min_size=5, max_size=5))
def test_judging_a_row_gives_storable_values_or_a_reason(cells):
    limits = import_services.lead_limits()
    outcome = importing.row_outcome(cells, MAPPING, region="US", limits=limits)
    texts = [outcome.error, *outcome.warnings, *(outcome.values.values() if outcome.ok else ())]
    assert not any(NUL in text for text in texts), outcome  # PostgreSQL refuses NUL in text and in JSON
    if outcome.ok:
        assert outcome.values["first_name"] or outcome.values["last_name"]
        assert outcome.keys != ("", "")
        for name, value in outcome.values.items():
            assert limits.get(name) is None or len(value) <= limits[name], name
    else:
        assert technical_messages([outcome.error]) == []


def test_a_nul_in_a_row_is_a_row_error_without_the_nul():
    """A NUL reached the lead (or the error quoted it into the job's JSON): PostgreSQL refused the batch."""
    outcome = importing.row_outcome(
        ["Ana\x00 Costa", "ana@exam\x00ple.com", "", "", ""], MAPPING, region="US", limits=import_services.lead_limits()
    )
    assert outcome.error == "Full name, Email: the cell holds a NUL character (a zero byte); remove it."
    outcome = importing.row_outcome(
        ["Ana Costa", "ana@example.com", "", "", "a\x00b"], MAPPING, region="US", limits=import_services.lead_limits()
    )
    assert outcome.error == "Notes: the cell holds a NUL character (a zero byte); remove it."


@pytest.mark.django_db
def test_a_nul_past_the_sniffed_bytes_is_one_row_error_and_the_import_finishes(admin_client_role, rep, media):
    """On PostgreSQL the NUL reached the batch insert, the job failed and every later row was lost."""
    data = b"Name,Email,Notes\r\nPat Long,pat@example.com," + b"x" * 70_000 + b"\r\nAna Costa,ana@exa\x00mple.com,\r\n"
    data += b"Bo Berg,bo@example.com,\r\n"
    job = import_services.import_job_create(actor=None, source=io.BytesIO(data), file_name="nul.csv")
    import_services.import_job_configure(
        job=job, actor=None, mapping=["full_name", "email", "notes"], connection_type="event_list",
        owner_ids=[rep.pk], event_name="", event_date=None,
    )  # fmt: skip
    import_services.import_job_run(job_id=job.pk)
    import_services.import_job_confirm(job=job, actor=None)
    import_services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.error_count) == (ImportJob.Status.DONE, 2, 1), job.failure
    [error] = import_services.error_file_rows(job=job)
    assert error["reason"] == "Email: the cell holds a NUL character (a zero byte); remove it."
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["bo@example.com", "pat@example.com"]


def test_a_nul_in_a_header_found_past_the_sniffed_bytes_is_not_kept():
    """The binary check only reads the first 64 KB; a header after a long title row could carry a NUL into JSON."""
    data = b"x" * 70_000 + b"\r\nNa\x00me,Email\r\nAna Costa,ana@example.com\r\n"
    table, rows, reason = read_all(data)
    assert reason == "" and table.headers == ["Name", "Email"]
    assert rows == [(3, ["Ana Costa", "ana@example.com"])]


def damaged_workbook(sheet_xml: bytes) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Name", "Email"])
    book.active.append(["Ana Costa", "ana@example.com"])
    whole, damaged = io.BytesIO(), io.BytesIO()
    book.save(whole)
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(damaged, "w") as target:
        for info in source.infolist():
            part = source.read(info)
            target.writestr(info, sheet_xml if info.filename == "xl/worksheets/sheet1.xml" else part)
    return damaged.getvalue()


@pytest.mark.django_db
def test_a_workbook_whose_sheet_is_damaged_is_refused_with_the_reason(admin_client_role, media):
    """openpyxl opened it, then failed parsing the sheet's rows: a ParseError reached the upload view (a 500)."""
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B2"/>'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
        b'<c r="B1" t="inlineStr"><is><t>Email</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>An\x01'
    )
    response = upload(admin_client_role, damaged_workbook(sheet), "list.xlsx")
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "The XLSX workbook is damaged: its first sheet cannot be read past row 1 (ParseError)."
    ]
    assert not ImportJob.objects.exists() and stored_files(media) == []


@pytest.mark.django_db
def test_a_workbook_whose_sheet_does_not_unpack_is_refused_with_the_reason(admin_client_role, media):
    """The zip directory was fine, the sheet's own header was not: the upload check let BadZipFile through."""
    data = bytearray(damaged_workbook(b""))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        offset = archive.getinfo("xl/worksheets/sheet1.xml").header_offset
    data[offset : offset + 4] = b"XXXX"  # the part's local header magic
    response = upload(admin_client_role, bytes(data), "list.xlsx")
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "The workbook is damaged: its part xl/worksheets/sheet1.xml cannot be unpacked (BadZipFile)."
    ]
    assert not ImportJob.objects.exists() and stored_files(media) == []


# --- Through the pages --------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def stored_files(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


def upload(client: Any, data: bytes, name: str) -> Any:
    response = client.post("/imports/upload/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code in (302, 400)
    assert has_markup(response.content.decode(errors="replace")) == []
    return response


@FUZZ
@given(
    data=st.one_of(contact_list(), workbook(), st.binary(max_size=3000)),
    name=st.one_of(st.just("list.csv"), hostile().map(lambda text: text + ".csv")),  # never a bare "/" or ".."
)
@pytest.mark.django_db
def test_upload_is_a_job_or_a_clear_refusal_that_keeps_nothing(admin_client_role, media, data, name):
    jobs, files = ImportJob.objects.count(), len(stored_files(media))
    response = upload(admin_client_role, data, name)
    if response.status_code == 400 and response.context is None:  # a name that breaks the multipart encoding
        assert ImportJob.objects.count() == jobs  # Django's own 400: the request never reached the view
        return
    if response.status_code == 400:
        errors = response.context["form"].errors
        assert set(errors) == {"file"} and technical_messages(errors["file"]) == []
        assert ImportJob.objects.count() == jobs and len(stored_files(media)) == files
        return
    job = ImportJob.objects.latest("pk")
    assert not any(NUL in header for header in job.headers)
    page = admin_client_role.get(response["Location"])  # the mapping page: headers and preview, escaped
    assert page.status_code == 200 and has_markup(page.content.decode()) == []


@st.composite
def list_with_hostile_rows(draw: Any) -> bytes:
    rows = draw(st.lists(st.lists(cell, min_size=5, max_size=5), min_size=1, max_size=15))
    if draw(st.booleans()):
        rows.append(rows[0])  # the same person twice: merged, not created again
    if draw(st.booleans()):  # long notes first, so a NUL further down is past the 64 KB the reader sniffs
        rows.insert(0, ["Pat Long", "pat@example.com", "", "", "x" * 70_000])
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([["Name", "Email", "Phone", "Company", "Notes"], *rows])
    return codecs.BOM_UTF8 + text.getvalue().encode()


@settings(FUZZ, max_examples=10)
@given(data=list_with_hostile_rows(), event=hostile(max_pieces=2))
@pytest.mark.django_db
def test_import_counts_add_up_and_every_row_is_stored_or_reported(admin_client_role, rep, media, data, event):
    """Upload, mapping, dry run, confirm and run, the way the pages drive it (the worker's step called here)."""
    leads_before = Lead.objects.count()
    response = upload(admin_client_role, data, "hostile.csv")
    if response.status_code == 400:  # a NUL in the first 64 KB: refused as binary, with the reason
        assert NUL.encode() in data[: importing.SNIFF_BYTES]
        assert response.context["form"].errors["file"] == [
            "The file is not a CSV or XLSX file (it looks like binary data)."
        ]
        return
    job = ImportJob.objects.latest("pk")
    form = {f"column_{index}": field for index, field in enumerate(MAPPING)}
    form.update(event_name=event, event_date="2026-03-01", connection_type="event_list", owners=[rep.pk])
    response = admin_client_role.post(f"/imports/{job.pk}/", form)
    assert has_markup(response.content.decode()) == []
    if response.status_code == 400:  # the event name was refused: said on the form, nothing started
        assert technical_messages(response.context["form"].errors.get("event_name", [])) == []
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.UPLOADED
        return
    assert import_services.import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED, job.failure
    check = job.check_report
    assert check["created"] + check["merged"] + check["errors"] == check["rows"]
    admin_client_role.post(f"/imports/{job.pk}/confirm/")
    assert import_services.import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.failure
    assert job.created_count + job.merged_count + job.error_count == job.rows_processed == check["rows"]
    assert [job.created_count, job.merged_count, job.error_count] == [check[k] for k in ("created", "merged", "errors")]
    assert Lead.objects.count() == leads_before + job.created_count
    for page in (f"/imports/{job.pk}/", "/leads/", "/imports/"):
        response = admin_client_role.get(page)
        assert response.status_code == 200 and has_markup(response.content.decode()) == [], page
    if job.error_count:
        errors = b"".join(admin_client_role.get(f"/imports/{job.pk}/errors.csv").streaming_content)
        rows = list(csv.reader(io.StringIO(errors.decode("utf-8-sig"))))
        assert len(rows) == job.error_count + 1
        assert all(not value.startswith(importing.FORMULA_PREFIXES) for row in rows for value in row)



@FUZZ
@given(
    choices=st.fixed_dictionaries(
        {},
        optional={
            **{f"column_{index}": hostile_id() for index in range(3)},
            "event_name": hostile(),
            "event_date": hostile_id(),
            "connection_type": hostile_id(),
            "owners": st.lists(hostile_id(), max_size=3),
        },
    )
)
@pytest.mark.django_db
def test_mapping_form_refuses_what_it_cannot_use_and_starts_nothing(admin_client_role, rep, media, choices):
    response = upload(admin_client_role, b"Name,Email,Notes\r\nAna Costa,ana@example.com,hi\r\n", "list.csv")
    job = ImportJob.objects.latest("pk")
    form = {"column_0": "full_name", "column_1": "email", "column_2": "notes", "event_name": "Expo"}
    form = {**form, "event_date": "2026-03-01", "connection_type": "event_list", "owners": [rep.pk], **choices}
    response = admin_client_role.post(f"/imports/{job.pk}/", form)
    assert response.status_code in (302, 400) and has_markup(response.content.decode()) == []
    job.refresh_from_db()
    if response.status_code == 302:
        assert job.status == ImportJob.Status.CHECKING and job.owner_ids
    else:
        errors = response.context["form"].errors
        assert errors and technical_messages([m for messages in errors.values() for m in messages]) == []
        assert job.status == ImportJob.Status.UPLOADED


@pytest.mark.django_db
def test_an_owner_id_past_64_bits_on_the_mapping_form_is_an_invalid_choice(admin_client_role, rep, media):
    upload(admin_client_role, b"Name,Email\r\nAna Costa,ana@example.com\r\n", "list.csv")
    job = ImportJob.objects.latest("pk")
    form = {"column_0": "full_name", "column_1": "email", "event_name": "Expo", "event_date": "2026-03-01"}
    response = admin_client_role.post(f"/imports/{job.pk}/", {**form, "connection_type": "cold", "owners": [2**70]})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["owners"]
