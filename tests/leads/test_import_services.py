"""The import's writes: dedupe and merge, the timeline, warmth, counts, re-runs without duplicates, undo."""

from __future__ import annotations

import csv
import io
from contextlib import closing, contextmanager
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads import import_services, importing
from leads.models import Event, ImportJob, ImportRecord, Lead, Stage, TimelineEntry
from leads.selectors import lead_timeline
from leads.services import lead_set_owner, lead_set_stage, warmth_recompute
from tests.factories import CallFactory, LeadFactory, ReferralFactory

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "import_files"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def options_for(path: Path, **overrides) -> import_services.ImportOptions:
    with open(path, "rb") as stream:
        headers = importing.read_table(stream, file_name=path.name).headers
    values = {"mapping": importing.guess_mapping(headers), "event_name": "Boston Expo", "event_date": date(2026, 3, 1)}
    values.update(overrides)
    return import_services.ImportOptions(**values)


def run(path: Path, *, batch_size: int = 2000, actor=None, **overrides):
    return import_services.import_run_now(
        path=path, file_name=path.name, options=options_for(path, **overrides), actor=actor, batch_size=batch_size
    )


def upload(actor, name: str) -> ImportJob:
    with open(FILES / name, "rb") as source:
        return import_services.import_job_create(actor=actor, source=source, file_name=name)


def write_csv(tmp_path: Path, rows: list[list[str]], name: str = "list.csv") -> Path:
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


# --- Reading cases end to end ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "created", "errors", "warnings"),
    [
        ("utf8_bom_comma.csv", 2, 2, 0, 0),
        ("utf8_semicolon.csv", 2, 2, 0, 0),
        ("cp1252_accents.csv", 3, 3, 0, 0),
        ("tab_delimited.tsv", 2, 2, 0, 0),
        ("pipe_delimited.csv", 1, 1, 0, 0),
        ("title_rows.csv", 2, 2, 0, 0),
        ("quoted_newlines.csv", 2, 2, 0, 0),
        ("utf16_excel.txt", 1, 1, 0, 0),
        ("contacts.xlsx", 3, 2, 1, 0),
        ("invalid_contacts.csv", 5, 2, 3, 2),
        ("overlong.csv", 2, 1, 1, 0),
        ("header_only.csv", 0, 0, 0, 0),
        ("formulas.csv", 3, 2, 1, 0),
    ],
)
def test_each_reading_case_imports_with_the_expected_counts(name, rows, created, errors, warnings, rep):
    _, report = run(FILES / name, owner_ids=[rep.pk])
    assert (report.rows, report.created, report.merged, report.errors, report.warnings) == (
        rows,
        created,
        0,
        errors,
        warnings,
    )
    assert Lead.objects.count() == created
    assert report.created + report.merged + report.errors == report.rows


def test_accents_are_stored_intact(rep):
    run(FILES / "cp1252_accents.csv", owner_ids=[rep.pk])
    soren = Lead.objects.get(email="soren@example.com")
    assert (soren.first_name, soren.last_name, soren.company) == ("Søren", "Æbelø", "Smørrebrød ApS")


def test_xlsx_numeric_phone_becomes_e164(rep):
    run(FILES / "contacts.xlsx", owner_ids=[rep.pk])
    assert Lead.objects.get(email="xena@example.com").phone_e164 == "+14155550108"
    yann = Lead.objects.get(email="yann@example.com")
    assert yann.phone_e164 == "+14155550109"
    assert yann.company == "=1+2"  # a formula is stored as the text it is


def test_created_leads_get_event_connection_owner_timeline_and_warmth(rep, admin_user):
    job, _ = run(FILES / "utf8_bom_comma.csv", owner_ids=[rep.pk], actor=admin_user)
    lead = Lead.objects.get(email="zoe@example.com")
    event = Event.objects.get(name="Boston Expo", date=date(2026, 3, 1))
    assert (lead.event_id, lead.connection_type, lead.owner_id, lead.stage) == (event.pk, "event_list", rep.pk, "new")
    assert lead.phone_e164 == "+14155550101"
    # The creating import is the lead's own column, shown on its timeline; no entry or record is written for it.
    assert not lead.timeline_entries.exists()
    (item,) = [item for item in lead_timeline(lead) if item.kind == "imported"]
    assert item.summary == "Imported from utf8_bom_comma.csv (Boston Expo)"
    assert (item.actor, item.at) == (admin_user.get_full_name(), job.started_at)
    assert lead.warmth > 0 and lead.warmth_computed_at is not None
    assert (lead.import_job_id, lead.import_row) == (job.pk, 2)
    assert not ImportRecord.objects.filter(lead=lead).exists()


def test_round_robin_shares_the_leads(rep, other_rep, tmp_path):
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(6)]
    run(write_csv(tmp_path, rows), owner_ids=[rep.pk, other_rep.pk], batch_size=4)
    owners = list(Lead.objects.order_by("pk").values_list("owner_id", flat=True))
    assert owners == [rep.pk, other_rep.pk] * 3


def test_chosen_connection_type_is_used(rep):
    run(FILES / "pipe_delimited.csv", owner_ids=[rep.pk], connection_type="event_asked")
    assert Lead.objects.get().connection_type == "event_asked"


# --- Dedupe and merge -------------------------------------------------------------------------------


def test_duplicates_within_the_file_merge_into_one_lead(rep):
    _, report = run(FILES / "duplicates.csv", owner_ids=[rep.pk])
    assert (report.rows, report.created, report.merged, report.errors) == (4, 2, 2, 0)
    dee = Lead.objects.get(email="dee@example.com")
    # later rows filled the blanks of the first: phone from row 3, company from row 3, title from row 4 (by phone)
    assert (dee.phone_e164, dee.company, dee.title) == ("+14155550105", "Dupe Inc", "Buyer")
    assert dee.first_name == "Dee" and dee.last_name == "Dupe"  # never overwritten by "Dee Phone"
    assert not dee.timeline_entries.filter(kind=TimelineEntry.Kind.MET_AGAIN).exists()


def test_duplicates_across_batches_of_one_file_still_merge(rep, tmp_path):
    rows = [["Name", "Email", "Phone"], ["A One", "a@example.com", ""], ["B Two", "b@example.com", ""]]
    rows += [["A Again", "A@EXAMPLE.com", "415-555-0110"], ["B Phone", "", ""], ["B Again", "b@example.com", ""]]
    _, report = run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=2)
    assert (report.created, report.merged, report.errors) == (2, 2, 1)
    assert Lead.objects.get(email="a@example.com").phone_e164 == "+14155550110"


def test_existing_leads_are_merged_blanks_filled_and_warmed(rep, other_rep):
    long_ago = timezone.now() - timedelta(days=400)
    existing = LeadFactory(
        owner=other_rep,
        first_name="Dee",
        last_name="Original",
        email="dee@example.com",
        phone="",
        phone_e164="",
        company="",
        title="Boss",
        last_conversation_at=long_ago,
        connection_type="cold",
    )
    Lead.objects.filter(pk=existing.pk).update(warmth=0)
    show_day = timezone.localdate() - timedelta(days=2)
    _, report = run(FILES / "duplicates.csv", owner_ids=[rep.pk], event_date=show_day)
    assert (report.created, report.merged) == (1, 3)
    existing.refresh_from_db()
    assert (existing.last_name, existing.title) == ("Original", "Boss")  # non-blank fields never overwritten
    assert (existing.company, existing.phone_e164) == ("Dupe Inc", "+14155550105")  # blanks filled
    assert existing.owner_id == other_rep.pk
    met = existing.timeline_entries.get(kind=TimelineEntry.Kind.MET_AGAIN)
    assert met.summary == "Met again at Boston Expo"
    assert timezone.localdate(existing.last_conversation_at) == show_day
    assert existing.warmth > 0  # the conversation at the show warmed a lead the decay had cooled to 0
    assert existing.event.name == "Boston Expo"


def test_each_merged_lead_is_written_once_with_its_new_warmth(rep, other_rep):
    long_ago = timezone.now() - timedelta(days=400)
    cold = LeadFactory(email="dee@example.com", phone="", phone_e164="", company="", last_conversation_at=long_ago)
    referred = ReferralFactory(lead__email="other@example.com", lead__connection_type="referral").lead
    CallFactory(lead=cold)
    Lead.objects.filter(pk__in=[cold.pk, referred.pk]).update(warmth=0, warmth_band="cold", warmth_computed_at=long_ago)
    show_day = timezone.localdate() - timedelta(days=2)
    with CaptureQueriesContext(connection) as queries:
        _, report = run(FILES / "duplicates.csv", owner_ids=[rep.pk], event_date=show_day)
    assert (report.created, report.merged) == (0, 4)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].replace('"', "").startswith("UPDATE leads_lead ")]
    merge = [sql for sql in updates if "company" in sql]
    assert len(merge) == 1 and "warmth_band" in merge[0]  # blanks, score and band in one statement
    rescores = [sql for sql in updates if sql not in merge and ('"warmth" =' in sql or '"warmth_band" =' in sql)]
    assert rescores and all("referral" in sql for sql in rescores)  # after the batches, only referral leads
    scored = {lead.pk: (lead.warmth, lead.warmth_band) for lead in Lead.objects.all()}
    cold.refresh_from_db()
    assert cold.warmth > 0 and cold.warmth_computed_at > long_ago and cold.company == "Dupe Inc"
    warmth_recompute(leads=Lead.objects.all(), now=timezone.now())  # the set-based formula agrees
    assert {lead.pk: (lead.warmth, lead.warmth_band) for lead in Lead.objects.all()} == scored


def test_a_re_import_that_changes_nothing_writes_no_lead(rep):
    run(FILES / "duplicates.csv", owner_ids=[rep.pk], event_name="", event_date=None)
    before = {lead.pk: (lead.warmth, lead.warmth_band, lead.updated_at) for lead in Lead.objects.all()}
    with CaptureQueriesContext(connection) as queries:
        _, report = run(FILES / "duplicates.csv", owner_ids=[rep.pk], event_name="", event_date=None)
    assert (report.created, report.merged) == (0, 4)
    assert not [q for q in queries.captured_queries if q["sql"].replace('"', "").startswith("UPDATE leads_lead ")]
    assert {lead.pk: (lead.warmth, lead.warmth_band, lead.updated_at) for lead in Lead.objects.all()} == before


def test_a_later_conversation_is_kept(rep):
    recent = timezone.now() - timedelta(hours=1)
    existing = LeadFactory(email="dee@example.com", last_conversation_at=recent)
    run(FILES / "duplicates.csv", owner_ids=[rep.pk])
    existing.refresh_from_db()
    assert existing.last_conversation_at == recent


def test_existing_lead_matched_by_phone_when_email_differs(rep):
    existing = LeadFactory(email="someone@else.com", phone="415 555 0105", phone_e164="+14155550105")
    _, report = run(FILES / "duplicates.csv", owner_ids=[rep.pk])
    assert report.merged >= 1
    assert Lead.objects.filter(phone_e164="+14155550105").count() == 1
    existing.refresh_from_db()
    assert existing.email == "someone@else.com"


def test_importing_the_same_file_twice_creates_nothing_the_second_time(rep):
    _, first = run(FILES / "duplicates.csv", owner_ids=[rep.pk])
    _, second = run(FILES / "duplicates.csv", owner_ids=[rep.pk])
    assert first.created == 2
    assert (second.created, second.merged, second.errors) == (0, 4, 0)
    assert Lead.objects.count() == 2


def test_no_event_means_no_warming_but_a_merged_entry(rep):
    existing = LeadFactory(email="dee@example.com", last_conversation_at=None)
    run(FILES / "duplicates.csv", owner_ids=[rep.pk], event_name="", event_date=None)
    existing.refresh_from_db()
    assert existing.last_conversation_at is None
    assert existing.timeline_entries.get().kind == TimelineEntry.Kind.MERGED


def test_the_lookup_reads_a_lead_s_times_as_the_orm_does(rep):
    # On PostgreSQL it reads them with psycopg's own (C) timestamptz loader instead of Django's.
    lead = LeadFactory(owner=rep, email="times@example.com", last_conversation_at=timezone.now() - timedelta(days=3))
    lead.refresh_from_db()
    (row,) = import_services._leads_by_contact(["times@example.com"], [], None)
    fields = import_services.LOOKUP_FIELDS
    at, created = row[fields.index("last_conversation_at")], row[fields.index("created_at")]
    assert (at, created) == (lead.last_conversation_at, lead.created_at)
    assert at.tzinfo == lead.last_conversation_at.tzinfo and at.utcoffset() == timedelta(0)


# --- Counts invariant -------------------------------------------------------------------------------

row_strategy = st.tuples(
    st.sampled_from(["", "Ann Lee", "Bo", "<script>x</script> Y", "A" * 120]),
    st.sampled_from(["", "a@example.com", "B@EXAMPLE.COM", "bad", "c@example.com"]),
    st.sampled_from(["", "415-555-0120", "4155550121", "123", "+44 20 7946 0958"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy, max_size=12), batch_size=st.integers(1, 5))
def test_every_row_ends_created_merged_or_error(rows, batch_size, rep, tmp_path):
    path = write_csv(tmp_path, [["Name", "Email", "Phone"], *map(list, rows)], name="generated.csv")
    _, first = run(path, owner_ids=[rep.pk], batch_size=batch_size)
    assert first.created + first.merged + first.errors == first.rows == sum(1 for r in rows if any(r))
    _, again = run(path, owner_ids=[rep.pk], batch_size=batch_size)
    assert again.created == 0
    assert (again.merged, again.errors) == (first.created + first.merged, first.errors)


# --- Dry run ----------------------------------------------------------------------------------------


def test_dry_run_counts_what_the_import_does_and_writes_nothing(rep, tmp_path):
    LeadFactory(email="dee@example.com")
    leads_before, entries_before = Lead.objects.count(), TimelineEntry.objects.count()
    path = FILES / "duplicates.csv"
    dry = import_services.import_dry_run(path=path, file_name=path.name, options=options_for(path), batch_size=1)
    assert (Lead.objects.count(), TimelineEntry.objects.count()) == (leads_before, entries_before)
    assert not Event.objects.filter(name="Boston Expo").exists()
    _, real = run(path, owner_ids=[rep.pk], batch_size=1)
    assert (dry.rows, dry.created, dry.merged, dry.errors) == (real.rows, real.created, real.merged, real.errors)


def remembered(engine) -> set[tuple[str, str, bool]]:
    """The dry run's temporary table: (email, E.164 phone, would be created) per lead."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT email, phone_e164, ref FROM {engine.memory.table}")
        return {(email, phone, ref < 0) for email, phone, ref in cursor.fetchall()}


def test_dry_run_remembers_only_what_a_later_batch_could_not_find_in_the_database(tmp_path):
    LeadFactory(email="known@example.com", phone="", company="")
    given = LeadFactory(email="", phone="(415) 555-0142")
    rows = [
        ["Name", "Email", "Phone", "Company"],
        ["Known Again", "known@example.com", "", "Filled Co"],  # merges, no new email or phone: not kept
        ["Phone Only", "given@example.com", "415-555-0142", ""],  # merges and gains an email: kept
        ["Brand New", "new@example.com", "415-555-0143", "New Co"],  # would be created: kept, as email and phone
    ]
    path = write_csv(tmp_path, rows)
    engine = import_services._Engine(options=options_for(path), file_name=path.name, job=None)
    with open(path, "rb") as stream:
        batch = list(importing.read_table(stream, file_name=path.name).rows)
    with closing(engine):
        result = engine.apply(engine.judge(batch))
        assert (result.created, result.merged) == (1, 2)
        assert remembered(engine) == {
            ("given@example.com", "+14155550142", False),
            ("new@example.com", "+14155550143", True),
        }
        again = engine.apply(engine.judge(batch))  # the next batch: the remembered leads merge, nothing is created
        assert (again.created, again.merged) == (0, 3)
        assert len(remembered(engine)) == 2
        index, states = engine.memory.recall(["given@example.com"], [])
        assert [state.pk for state in states] == [given.pk] and index.by_phone["+14155550142"] is states[0]
        table = engine.memory.table
    with connection.cursor() as cursor, pytest.raises(DatabaseError):
        cursor.execute(f"SELECT 1 FROM {table}")  # dropped when the run ends


def test_dry_run_drops_its_table_when_it_fails(tmp_path, monkeypatch):
    path = write_csv(tmp_path, [["Name", "Email"], ["A", "a@example.com"], ["B", "b@example.com"]])
    tables = []
    real_remember = import_services._DryRunMemory.remember

    def remember_then_fail(self, created, touched):
        real_remember(self, created, touched)
        tables.append(self.table)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(import_services._DryRunMemory, "remember", remember_then_fail)
    with pytest.raises(RuntimeError, match="worker killed"):
        import_services.import_dry_run(path=path, file_name=path.name, options=options_for(path), batch_size=1)
    assert len(tables) == 1
    with connection.cursor() as cursor, pytest.raises(DatabaseError):
        cursor.execute(f"SELECT 1 FROM {tables[0]}")


# Small pools of names, emails and phones, so rows repeat each other and the database by email, by phone, or both.
contact_row = st.tuples(
    st.sampled_from(["Ann", "Bo", ""]),
    st.sampled_from(["", "a@example.com", "B@Example.com ", "b@example.com", "c@example.com", "bad-email"]),
    st.sampled_from(["", "(415) 555-0101", "415.555.0102", "+1 415 555 0103", "555"]),
    st.sampled_from(["", "Acme"]),
)
existing_lead = st.tuples(
    st.sampled_from(["", "a@example.com", "c@example.com"]),
    st.sampled_from(["", "(415) 555-0101", "(415) 555-0103", "not a number"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(contact_row, max_size=14), existing=st.lists(existing_lead, max_size=3), batch_size=st.integers(1, 4)
)
def test_dry_run_counts_equal_the_import_counts(rows, existing, batch_size, rep, tmp_path):
    with transaction.atomic():
        point = transaction.savepoint()
        for email, phone in existing:
            LeadFactory(email=email, phone=phone)
        path = write_csv(tmp_path, [["Name", "Email", "Phone", "Company"], *map(list, rows)], name="generated.csv")
        options = options_for(path, owner_ids=[rep.pk])
        dry = import_services.import_dry_run(path=path, file_name=path.name, options=options, batch_size=batch_size)
        _, real = run(path, owner_ids=[rep.pk], batch_size=batch_size)
        counts = ("rows", "created", "merged", "errors", "warnings")
        assert [getattr(dry, name) for name in counts] == [getattr(real, name) for name in counts]
        transaction.savepoint_rollback(point)


def test_dry_run_counts_duplicates_within_the_file_by_email_and_by_phone_across_batches(rep, tmp_path):
    LeadFactory(email="", phone="(415) 555-0109")
    rows = [
        ["Name", "Email", "Phone"],
        ["First", "first@example.com", ""],  # created
        ["First Again", "FIRST@example.com", "(415) 555-0101"],  # merged by email, gains the phone
        ["By Phone", "", "415-555-0101"],  # merged by the phone the lead gained in an earlier batch
        ["Second", "", "(415) 555-0102"],  # created
        ["Second Again", "second@example.com", "+1 415 555 0102"],  # merged by phone, gains the email
        ["By Email", "second@example.com", ""],  # merged by that email
        ["Known", "known@example.com", "(415) 555-0109"],  # merged into the database's lead, gains the email
        ["Known Again", "known@example.com", ""],  # merged by the email the database's lead gained
        ["Taken", "first@example.com", "(415) 555-0102"],  # merged by email; the phone belongs to another
        ["Phone Taken", "", "(415) 555-0102"],  # still the second lead's
    ]
    path = write_csv(tmp_path, rows)
    options = options_for(path, owner_ids=[rep.pk])
    dry = import_services.import_dry_run(path=path, file_name=path.name, options=options, batch_size=1)
    assert (dry.rows, dry.created, dry.merged, dry.errors) == (10, 2, 8, 0)
    _, real = run(path, owner_ids=[rep.pk], batch_size=1)
    assert (real.rows, real.created, real.merged, real.errors) == (10, 2, 8, 0)
    assert Lead.objects.get(email="first@example.com").phone_e164 == "+14155550101"
    assert Lead.objects.get(email="second@example.com").phone_e164 == "+14155550102"


# --- Error file -------------------------------------------------------------------------------------


def test_error_file_has_original_columns_a_reason_and_no_live_formulas(rep):
    job, report = run(FILES / "formulas.csv", owner_ids=[rep.pk])
    raw = b"".join(import_services.error_file_chunks(job=job))
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel opens the accents right
    data = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0] == ["Name", "Email", "Company", "Reason", "Row in file"]
    assert rows[1][:3] == ["Bad Row", "bad-email", "'@SUM(1+1)"]
    assert rows[1][3].startswith("No valid contact")
    assert rows[1][4] == "4"
    assert report.error_rows == [{"row": 4, "reason": rows[1][3]}]


def test_the_error_file_re_imports_once_fixed(rep, tmp_path):
    job, _ = run(FILES / "formulas.csv", owner_ids=[rep.pk])
    fixed = b"".join(import_services.error_file_chunks(job=job)).replace(b"bad-email", b"fixed@example.com")
    path = tmp_path / "fixed.csv"
    path.write_bytes(fixed)
    _, report = run(path, owner_ids=[rep.pk])
    assert (report.rows, report.created, report.errors) == (1, 1, 0)
    assert Lead.objects.get(email="fixed@example.com").company == "@SUM(1+1)"


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's overlapped batches")
# A worker runs the import outside any transaction, on two connections of its own; the test suite's transaction
# (which those connections could not see) would make it run the batches in turn on one, so these tests commit.
overlapped = pytest.mark.django_db(transaction=True)


# --- Re-running a killed job ------------------------------------------------------------------------


def dies_on_third_batch(monkeypatch, name: str):
    """`_Engine.<name>` raises "worker killed" on its third call; returns the real method."""
    real, calls = getattr(import_services._Engine, name), {"n": 0}

    def dies(self, plan):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(self, plan)

    monkeypatch.setattr(import_services._Engine, name, dies)
    return real


@pytest.mark.parametrize("reader", ["thread", "child process"])
def test_a_killed_job_re_runs_from_its_last_batch_without_duplicates(rep, tmp_path, monkeypatch, settings, reader):
    if reader == "child process":  # leads.import_reader: the re-run's child skips the committed rows
        settings.IMPORT_READER_PROCESS_MIN_BYTES = 0
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com" if n % 3 else "bad"] for n in range(10)]
    path = write_csv(tmp_path, rows)
    real_write = dies_on_third_batch(monkeypatch, "write")
    with pytest.raises(RuntimeError):
        run(path, owner_ids=[rep.pk], batch_size=3)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert "worker killed" in job.failure
    assert job.rows_processed == 6
    monkeypatch.setattr(import_services._Engine, "write", real_write)

    import_services.import_job_rerun(job=job, actor=None)  # the task runs on commit; run it here directly
    assert import_services.import_job_run(job_id=job.pk, batch_size=3) == "done"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_processed, job.created_count, job.error_count) == (10, 6, 4)
    assert Lead.objects.count() == 6
    error_rows = import_services.error_file_rows(job=job)
    assert [e["row"] for e in error_rows] == [2, 5, 8, 11]  # each once, in order


@pytest.mark.parametrize(
    "batches",
    ["in turn", pytest.param("on two connections", marks=[postgres_only, overlapped])],
)
def test_rows_that_fail_to_read_keep_the_batches_before_them(rep, tmp_path, monkeypatch, batches):
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(10)]
    real_judge = importing.RowJudge.__call__

    def judge(self, cells):
        if cells[0] == "P 7":
            raise ValueError("the disk went away")
        return real_judge(self, cells)

    monkeypatch.setattr(importing.RowJudge, "__call__", judge)
    with pytest.raises(ValueError, match="the disk went away"):
        run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=3)
    job = ImportJob.objects.get()
    assert (job.status, job.rows_processed, job.created_count) == (ImportJob.Status.FAILED, 6, 6)
    assert Lead.objects.count() == 6


@pytest.fixture
def batch_events(monkeypatch):
    """What each batch of 3 rows did, in order: ("merged" | "committed", batch, backend, thread), where
    "merged" is its counters (written after its merges) and "committed" its commit."""
    import threading

    events = []
    real_count = import_services._count_batch

    def count(job, outcomes, result, error_file, percent):
        number = (outcomes[0][0] - 2) // 3  # data rows start at row 2: rows 2-4 are batch 0, 5-7 batch 1, ...
        events.append(("merged", number, None, None))
        backend, thread = connection.connection.info.backend_pid, threading.current_thread().name
        transaction.on_commit(lambda: events.append(("committed", number, backend, thread)))
        return real_count(job, outcomes, result, error_file, percent)

    monkeypatch.setattr(import_services, "_count_batch", count)
    return events


@postgres_only
@overlapped
def test_batches_take_turns_on_two_connections_each_waiting_for_the_commit_before(rep, tmp_path, batch_events):
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(18)]  # 6 batches, all new
    job, report = run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=3)
    assert (report.rows, report.created, job.status) == (18, 18, ImportJob.Status.DONE)
    committed = [event for event in batch_events if event[0] == "committed"]
    assert [event[1] for event in committed] == [0, 1, 2, 3, 4, 5]  # in file order
    writers = [(backend, thread) for _, _, backend, thread in committed]
    assert len(set(writers)) == 2 and writers[0] != writers[1]  # two connections, taking turns
    assert writers[0::2] == [writers[0]] * 3 and writers[1::2] == [writers[1]] * 3
    assert all(thread.startswith("import-write") for _, thread in writers)
    position = {event[:2]: index for index, event in enumerate(batch_events)}
    for number in range(1, 6):  # counters (and merges) only once the batch before has committed
        assert position[("committed", number - 1)] < position[("merged", number)]


@postgres_only
@overlapped
def test_merges_into_leads_the_batch_before_created_see_them_across_connections(rep, other_rep, tmp_path):
    rows = [["Name", "Email", "Phone", "Company"]]
    for n in range(12):  # the same 4 people three times, bringing a phone, then a company: in the next batch
        phone, company = f"+1212867530{n % 4}" if n >= 4 else "", "Acme" if n >= 8 else ""
        rows.append([f"P {n % 4}", f"p{n % 4}@example.com", phone, company])
    job, report = run(write_csv(tmp_path, rows), owner_ids=[rep.pk, other_rep.pk], batch_size=3)
    assert (report.rows, report.created, report.merged) == (12, 4, 8)
    assert Lead.objects.count() == 4
    assert set(Lead.objects.values_list("company", flat=True)) == {"Acme"}
    assert Lead.objects.filter(phone_e164__startswith="+121286753").count() == 4
    assert Lead.objects.filter(import_job=job).count() == 4
    # Each was created by the first of its three rows and merged twice by this job: no record, no "met again".
    assert sorted(Lead.objects.values_list("import_row", flat=True)) == [2, 3, 4, 5]
    assert not ImportRecord.objects.filter(job=job).exists()


@postgres_only
@overlapped
def test_the_next_batch_sees_what_the_merges_of_the_batch_before_filled_in(rep, tmp_path):
    # Batch 1 reaches Ana, whom batch 0 merged on the other connection, by the phone batch 0 gave her.
    LeadFactory(first_name="Ana", last_name="Costa", email="ana@example.com", phone="", phone_e164="", company="")
    rows = [
        ["Name", "Email", "Phone", "Company"],
        ["Ana Costa", "ana@example.com", "+12128675301", "Acme"],  # batch 0: fills Ana's phone and company
        ["P 1", "p1@example.com", "", ""],
        ["P 2", "p2@example.com", "", ""],
        ["Ana C.", "", "+12128675301", "Beta"],  # batch 1: Ana again, by the phone batch 0 gave her
        ["Ana Costa", "ana@example.com", "", "Gamma"],  # and by email: her company stays Acme
        ["P 3", "p3@example.com", "", ""],
    ]
    job, report = run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=3)
    assert (report.rows, report.created, report.merged) == (6, 3, 3)
    ana = Lead.objects.get(email="ana@example.com")
    assert (ana.phone_e164, ana.company) == ("+12128675301", "Acme")
    assert Lead.objects.count() == 4
    assert ImportRecord.objects.filter(job=job, lead=ana).count() == 1  # merged once: one record, one "met again"
    assert TimelineEntry.objects.filter(lead=ana, kind=TimelineEntry.Kind.MET_AGAIN).count() == 1


@postgres_only
@overlapped
def test_the_next_batch_is_copied_in_while_the_batch_before_writes_its_merges(rep, tmp_path, monkeypatch):
    import itertools
    import threading

    copying = [threading.Event() for _ in range(4)]
    created_calls, merged_calls = itertools.count(), itertools.count()
    real_created, real_merged = import_services._Engine.write_created, import_services._Engine.write_merged

    def created(self, plan):
        copying[next(created_calls)].set()
        return real_created(self, plan)

    def merged(self, plan):
        number = next(merged_calls)
        if number < 3:  # batch 3 is the last
            assert copying[number + 1].wait(timeout=10), f"batch {number + 1} waited for batch {number}'s merges"
        return real_merged(self, plan)

    monkeypatch.setattr(import_services._Engine, "write_created", created)
    monkeypatch.setattr(import_services._Engine, "write_merged", merged)
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n % 5}@example.com"] for n in range(12)]  # 4 batches, repeats
    _, report = run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=3)
    assert (report.rows, report.created, report.merged) == (12, 5, 7)


def _import_outcome() -> tuple[list, list, list]:
    """What an import left in the database, without its ids: the leads in id order, their records and entries."""
    fields = ("pk", "first_name", "last_name", "company", "email", "phone", "phone_e164", "owner_id", "event__name")
    fields += ("warmth", "warmth_band", "last_conversation_at", "import_row", "import_job_id")
    leads = list(Lead.objects.order_by("pk").values_list(*fields))
    at = {row[0]: index for index, row in enumerate(leads)}
    records = sorted((at[lead], row) for lead, row in ImportRecord.objects.values_list("lead_id", "row_number"))
    entries = sorted(
        (at[lead], kind, summary, data["row"], tuple(data["filled"]))
        for lead, kind, summary, data in TimelineEntry.objects.values_list("lead_id", "kind", "summary", "data")
    )
    return [(*row[1:-1], row[-1] is not None) for row in leads], records, entries


@postgres_only
@overlapped
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(contact_row, min_size=1, max_size=14),
    existing=st.lists(
        st.tuples(
            st.sampled_from(["", "a@example.com", "b@example.com", "c@example.com"]),
            st.sampled_from(["", "+14155550101", "+14155550102", "+14155550103"]),
            st.sampled_from(["", "Old Co"]),
        ),
        max_size=3,
    ),
    batch_size=st.integers(1, 4),
)
def test_batches_on_two_connections_leave_what_batches_in_turn_leave(
    rows, existing, batch_size, rep, other_rep, tmp_path
):
    # Each next batch is looked up before the merges of the batch before are written and before the batch before
    # that (on the other connection) has committed, here always, and matched with what those two batches write
    # laid over what it found: the result is the one of batches in turn.
    path = write_csv(tmp_path, [["Name", "Email", "Phone", "Company"], *map(list, rows)], name="generated.csv")
    batches = -(-sum(1 for row in rows if any(row)) // batch_size)
    outcomes = []
    with time_machine.travel(timezone.now(), tick=False):
        for in_turn in (True, False):
            for model in (TimelineEntry, ImportRecord, Lead, ImportJob, Event):
                model.objects.all().delete()
            for email, phone, company in existing:
                Lead.objects.create(first_name="Old", email=email, phone=phone, phone_e164=phone, company=company)
            # Inside a transaction the batches run in turn on this connection; outside it, on two.
            with transaction.atomic() if in_turn else _each_commit_after_the_lookup_two_batches_on(batches):
                run(path, owner_ids=[rep.pk, other_rep.pk], batch_size=batch_size)
            outcomes.append(_import_outcome())
    assert outcomes[0] == outcomes[1]


@contextmanager
def _each_commit_after_the_lookup_two_batches_on(batches: int):
    """Batch N's counters, and so its commit, wait until batch N+2 has been looked up (in batch N+1's turn, on
    the other connection): what a busy machine may do, made certain."""
    import itertools
    import threading

    looked_up = [threading.Event() for _ in range(batches)]
    lookups, counts = itertools.count(), itertools.count()
    real_found, real_count = import_services._Engine.found, import_services._count_batch

    def found(self, outcomes):
        number = next(lookups)  # batch 0 is looked up first, then each turn looks up the batch after its own
        try:
            return real_found(self, outcomes)
        finally:
            looked_up[number].set()

    def count(job, outcomes, result, error_file, percent):
        number = next(counts)
        if number + 2 < batches:
            assert looked_up[number + 2].wait(timeout=10), f"batch {number + 2} waited for batch {number}'s commit"
        return real_count(job, outcomes, result, error_file, percent)

    with (
        mock.patch.object(import_services._Engine, "found", found),
        mock.patch.object(import_services, "_count_batch", count),
    ):
        yield


@postgres_only
@overlapped
def test_round_robin_goes_on_across_batches_matched_before_the_one_before_commits(rep, other_rep, tmp_path):
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(9)]  # 3 batches of 3, all new
    run(write_csv(tmp_path, rows), owner_ids=[rep.pk, other_rep.pk], batch_size=3)
    owners = list(Lead.objects.order_by("pk").values_list("owner_id", flat=True))
    assert owners == [rep.pk, other_rep.pk] * 4 + [rep.pk]


@postgres_only
@overlapped
def test_each_next_batch_is_matched_in_a_thread_while_the_previous_one_commits(rep, tmp_path, monkeypatch):
    import threading

    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n % 7}@example.com"] for n in range(20)]  # repeats across batches
    planned_in = []
    for name in ("plan_created", "plan_merges"):  # a batch's new leads, then (while they are written) its merges
        real = getattr(import_services._Engine, name)

        def step(self, *args, real=real, name=name):
            planned_in.append((name, threading.current_thread().name))
            return real(self, *args)

        monkeypatch.setattr(import_services._Engine, name, step)
    job, report = run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=3)
    assert (report.rows, report.created, report.merged) == (20, 7, 13)
    assert Lead.objects.count() == 7
    assert [name for name, _ in planned_in] == ["plan_created", "plan_merges"] * 7
    assert all(thread.startswith("import-match") for _, thread in planned_in)


@postgres_only
@overlapped
def test_a_batch_is_written_while_the_next_one_is_gathered(rep, tmp_path, monkeypatch):
    """The second batch is handed out only once the first one's new leads are being written: the job's thread
    gathers a batch from the reader while the writer before it works, not before the writer may start."""
    import threading

    writing = threading.Event()
    real_created, real_reader = import_services._Engine.write_created, import_services._reader

    def created(self, plan):
        writing.set()
        return real_created(self, plan)

    def reader(*args, **kwargs):
        batches, position = real_reader(*args, **kwargs)

        def gathered():
            with closing(batches):
                for number, batch in enumerate(batches):
                    if number == 1:
                        assert writing.wait(timeout=10), "the second batch was gathered before the first was written"
                    yield batch

        return gathered(), position

    monkeypatch.setattr(import_services._Engine, "write_created", created)
    monkeypatch.setattr(import_services, "_reader", reader)
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(9)]
    _, report = run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=3)
    assert (report.rows, report.created) == (9, 9)


@postgres_only
@overlapped
def test_a_failed_batch_rolls_back_its_new_leads_already_written_and_the_re_run_completes(rep, tmp_path, monkeypatch):
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(12)]
    real_merged = dies_on_third_batch(monkeypatch, "write_merged")
    with pytest.raises(RuntimeError):
        run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=3)
    job = ImportJob.objects.get()
    assert (job.status, job.rows_processed, job.created_count) == (ImportJob.Status.FAILED, 6, 6)
    assert Lead.objects.count() == 6  # the third batch's new leads, copied in before its merges failed, are gone
    assert sorted(Lead.objects.values_list("email", flat=True)) == sorted(f"p{n}@example.com" for n in range(6))
    monkeypatch.setattr(import_services._Engine, "write_merged", real_merged)

    import_services.import_job_rerun(job=job, actor=None)
    assert import_services.import_job_run(job_id=job.pk, batch_size=3) == "done"
    job.refresh_from_db()
    assert (job.status, job.rows_processed, job.created_count) == (ImportJob.Status.DONE, 12, 12)
    assert Lead.objects.count() == 12
    assert Lead.objects.filter(import_job=job).count() == 12


@postgres_only
@overlapped
def test_a_batch_failing_once_the_next_one_has_started_rolls_both_back(rep, tmp_path, monkeypatch):
    import threading
    from concurrent.futures import Future

    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(12)]
    handed, written = {"n": 0}, []

    class FailsAfterHandingOver(Future):
        """The second batch fails (its commit, say) just after handing the third its lookup."""

        def set_result(self, result):
            super().set_result(result)
            if not threading.current_thread().name.startswith("import-write"):
                return  # the job's thread handing a writer its next batch, not a lookup handed on
            handed["n"] += 1
            if handed["n"] == 2:
                raise RuntimeError("connection lost")

    real_created = import_services._Engine.write_created

    def created(self, plan):
        written.append(sorted(state.row_number for state in plan.created))
        return real_created(self, plan)

    monkeypatch.setattr(import_services, "Future", FailsAfterHandingOver)
    monkeypatch.setattr(import_services._Engine, "write_created", created)
    with pytest.raises(RuntimeError, match="connection lost"):
        run(write_csv(tmp_path, rows), owner_ids=[rep.pk], batch_size=3)
    assert written[:3] == [[2, 3, 4], [5, 6, 7], [8, 9, 10]]  # the third batch wrote its new leads...
    job = ImportJob.objects.get()
    assert (job.status, job.rows_processed, job.created_count) == (ImportJob.Status.FAILED, 3, 3)
    assert sorted(Lead.objects.values_list("email", flat=True)) == [f"p{n}@example.com" for n in range(3)]  # ...gone
    monkeypatch.setattr(import_services, "Future", Future)
    monkeypatch.setattr(import_services._Engine, "write_created", real_created)

    import_services.import_job_rerun(job=job, actor=None)
    assert import_services.import_job_run(job_id=job.pk, batch_size=3) == "done"
    job.refresh_from_db()
    assert (job.status, job.rows_processed, job.created_count, Lead.objects.count()) == (
        ImportJob.Status.DONE,
        12,
        12,
        12,
    )


@pytest.fixture
def other_session_holds_the_import_lock():
    """Another worker's import, as PostgreSQL sees it: a second connection holding the import lock."""
    import psycopg

    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], autocommit=True
    )
    other.execute("SELECT pg_advisory_lock(%s)", [import_services._ADVISORY_LOCK])
    yield other
    other.close()


@postgres_only
def test_an_import_waits_for_another_import_and_keeps_its_heartbeat(
    rep, tmp_path, monkeypatch, other_session_holds_the_import_lock
):
    beats = []

    def other_import_finishes(seconds):
        beats.append(ImportJob.objects.get().heartbeat_at)
        other_session_holds_the_import_lock.execute("SELECT pg_advisory_unlock(%s)", [import_services._ADVISORY_LOCK])

    monkeypatch.setattr(import_services, "sleep", other_import_finishes)
    rows = [["Name", "Email"], ["P 1", "p1@example.com"]]
    job, report = run(write_csv(tmp_path, rows), owner_ids=[rep.pk])
    assert len(beats) == 1 and beats[0] is not None  # it said it was alive while it waited
    assert (report.created, job.status) == (1, ImportJob.Status.DONE)


@postgres_only
def test_a_job_waiting_for_the_import_lock_stops_when_another_worker_takes_it(
    rep, tmp_path, monkeypatch, other_session_holds_the_import_lock
):
    monkeypatch.setattr(import_services, "sleep", lambda seconds: ImportJob.objects.update(run_token="another-worker"))
    rows = [["Name", "Email"], ["P 1", "p1@example.com"]]
    with pytest.raises(RuntimeError, match="did not run"):
        run(write_csv(tmp_path, rows), owner_ids=[rep.pk])
    assert not Lead.objects.exists()


def test_a_running_job_with_a_live_worker_is_not_taken_twice(rep):
    job, _ = run(FILES / "pipe_delimited.csv", owner_ids=[rep.pk])
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now())
    assert import_services.import_job_run(job_id=job.pk) == "busy"
    with pytest.raises(ValidationError, match="Only a failed or stalled import"):
        import_services.import_job_rerun(job=ImportJob.objects.get(pk=job.pk), actor=None)
    assert Lead.objects.count() == 1


# --- Undo -------------------------------------------------------------------------------------------


def test_undo_removes_untouched_leads_and_says_which_it_kept(rep, other_rep, admin_user, tmp_path):
    rows = [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(6)]
    path = write_csv(tmp_path, rows)
    existing = LeadFactory(email="p0@example.com", first_name="Pre", last_name="Existing")
    job, report = run(path, owner_ids=[rep.pk], actor=admin_user)
    assert (report.created, report.merged) == (5, 1)
    called, staged, reowned, later = (Lead.objects.get(email=f"p{n}@example.com") for n in (1, 2, 3, 4))
    CallFactory(lead=called, rep=rep)
    lead_set_stage(lead=staged, actor=rep, stage=Stage.ATTEMPTED)
    lead_set_owner(lead=reowned, actor=admin_user, owner=other_rep)
    run(write_csv(tmp_path, [["Name", "Email"], ["P 4", "p4@example.com"]], name="later.csv"), owner_ids=[rep.pk])

    result = import_services.import_job_undo(job=job, actor=admin_user)
    assert result["removed"] == 1
    assert not Lead.objects.filter(email="p5@example.com").exists()
    assert Lead.objects.filter(pk__in=[existing.pk, called.pk, staged.pk, reowned.pk, later.pk]).count() == 5
    reasons = {item["lead_id"]: item["reasons"] for item in result["kept_leads"]}
    assert reasons[called.pk] == ["called since the import"]
    assert "its stage changed" in reasons[staged.pk]
    assert "its owner changed" in reasons[reowned.pk]
    assert "merged by a later import" in reasons[later.pk]
    assert result["kept"] == 4 and result["merged_left"] == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE and job.undone_by == admin_user
    with pytest.raises(ValidationError):
        import_services.import_job_undo(job=job, actor=admin_user)


def test_undo_keeps_an_edited_lead(rep, admin_user, tmp_path):
    job, _ = run(write_csv(tmp_path, [["Name", "Email"], ["Ed It", "ed@example.com"]]), owner_ids=[rep.pk])
    lead = Lead.objects.get()
    Lead.objects.filter(pk=lead.pk).update(updated_at=timezone.now() + timedelta(minutes=5))
    result = import_services.import_job_undo(job=job, actor=admin_user)
    assert result["removed"] == 0
    assert result["kept_leads"][0]["reasons"] == ["edited since the import"]


# --- Options ------------------------------------------------------------------------------------------


def test_bad_options_are_refused_with_messages(rep):
    with pytest.raises(ValidationError) as error:
        import_services.options_validate(
            mapping=["company", ""], column_count=2, connection_type="psychic", owner_ids=[rep.pk, 999999]
        )
    messages = error.value.message_dict
    assert "Choose a column for the name (first name, last name or full name)." in messages["mapping"]
    assert "is not a connection type" in messages["connection_type"][0]
    assert messages["owner_ids"] == ["One of the chosen owners does not exist or is inactive."]


def test_an_unreadable_upload_keeps_nothing(admin_user, media):
    with pytest.raises(ValidationError, match="No usable columns"):
        upload(admin_user, "unmappable.csv")
    assert not ImportJob.objects.exists()
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_remembered_mapping_is_used_for_the_same_header(admin_user):
    job = upload(admin_user, "utf8_bom_comma.csv")
    assert job.mapping == ["first_name", "last_name", "email", "phone", "company"]
    import_services.import_mapping_remember(
        headers=["first name", "LAST NAME", "E-mail", "phone", "company"],
        mapping=["first_name", "last_name", "email", "phone", ""],
        actor=admin_user,
    )
    again = upload(admin_user, "utf8_bom_comma.csv")
    assert again.mapping == ["first_name", "last_name", "email", "phone", ""]


def test_uploads_over_the_limit_are_refused(admin_user, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    with pytest.raises(ValidationError, match="largest import"):
        upload(admin_user, "overlong.csv")
    assert not ImportJob.objects.exists()
