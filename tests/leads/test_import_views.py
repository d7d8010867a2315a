"""The import pages end to end: upload, mapping, dry run, confirm, progress, results, error file, undo, access."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from leads import import_services
from leads.models import ImportJob, ImportMapping, Lead, TimelineEntry
from tests.factories import CallFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "import_files"


@pytest.fixture(autouse=True)
def eager(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from warmcrm.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def upload(client, name: str, data: bytes | None = None):
    content = data if data is not None else (FILES / name).read_bytes()
    return client.post(reverse("imports:upload"), {"file": SimpleUploadedFile(name, content)})


def settings_post(job: ImportJob, owners, **overrides) -> dict:
    data = {f"column_{i}": field for i, field in enumerate(job.mapping)}
    data.update(event_name="Boston Expo", event_date="2026-03-01", connection_type="event_list")
    data["owners"] = [owner.pk for owner in owners]
    data.update(overrides)
    return data


def through_dry_run(client, capture, name: str, owners, **overrides) -> ImportJob:
    response = upload(client, name)
    assert response.status_code == 302
    job = ImportJob.objects.latest("pk")
    with capture(execute=True):
        response = client.post(reverse("imports:detail", args=[job.pk]), settings_post(job, owners, **overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    return job


# --- Access -------------------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("imports:index"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("who", ["rep_client", "manager_client"])
def test_reps_and_managers_get_403_everywhere(request, who, admin_user):
    client = request.getfixturevalue(who)
    job = ImportJob.objects.create(created_by=admin_user, file_name="x.csv", stored_path="imports/x/x.csv")
    for name in ("index", "upload"):
        method = client.post if name == "upload" else client.get
        assert method(reverse(f"imports:{name}")).status_code == 403
    for name in ("detail", "state", "errors"):
        assert client.get(reverse(f"imports:{name}", args=[job.pk])).status_code == 403
    for name in ("confirm", "rerun", "undo"):
        assert client.post(reverse(f"imports:{name}", args=[job.pk])).status_code == 403


def test_the_nav_link_is_for_admins_only(admin_client_role, rep_client):
    link = f'href="{reverse("imports:index")}"'
    assert link in admin_client_role.get(reverse("imports:index")).content.decode()
    assert link not in rep_client.get(reverse("leads:list")).content.decode()


# --- Upload -------------------------------------------------------------------------------------------


def test_upload_shows_the_preview_with_the_guessed_mapping(admin_client_role):
    response = upload(admin_client_role, "title_rows.csv")
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("imports:detail", args=[job.pk])
    assert (job.header_row, job.headers) == (4, ["Name", "Email", "Phone", "Notes"])
    page = admin_client_role.get(response["Location"]).content.decode()
    assert "Tia Title" in page and "Booth 12" in page
    assert '<option value="full_name" selected>Full name</option>' in page
    assert '<option value="notes" selected>Notes</option>' in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "The file is empty."),
        ("binary.csv", "not a CSV or XLSX file"),
        ("unmappable.csv", "No usable columns"),
    ],
)
def test_unreadable_uploads_are_refused_with_the_reason_and_nothing_kept(admin_client_role, name, message, settings):
    response = upload(admin_client_role, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


def test_upload_over_the_size_limit_is_refused(admin_client_role, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    response = upload(admin_client_role, "big.csv", b"Name,Email\n" + b"A B,a@example.com\n" * 70_000)
    assert response.status_code == 400
    assert "The file is larger than 1 MB, the largest import." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_uploaded_files_are_stored_under_media_imports(admin_client_role, settings):
    upload(admin_client_role, "pipe_delimited.csv")
    job = ImportJob.objects.get()
    assert job.stored_path.startswith("imports/")
    assert (Path(settings.MEDIA_ROOT) / job.stored_path).read_bytes() == (FILES / "pipe_delimited.csv").read_bytes()


# --- Mapping, dry run, confirm --------------------------------------------------------------------


def test_mapping_problems_are_shown_and_nothing_starts(admin_client_role, rep):
    upload(admin_client_role, "utf8_bom_comma.csv")
    job = ImportJob.objects.get()
    data = settings_post(job, [rep], column_2="", column_3="")  # neither email nor phone
    response = admin_client_role.post(reverse("imports:detail", args=[job.pk]), data)
    assert response.status_code == 400
    assert "Choose a column for the email or the phone." in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_an_owner_is_required(admin_client_role):
    upload(admin_client_role, "utf8_bom_comma.csv")
    job = ImportJob.objects.get()
    response = admin_client_role.post(reverse("imports:detail", args=[job.pk]), settings_post(job, []))
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_the_whole_flow_upload_dry_run_confirm_results(
    admin_client_role, django_capture_on_commit_callbacks, rep, other_rep
):
    LeadFactory(email="dee@example.com", first_name="Dee", last_name="Before", company="", owner=rep)
    job = through_dry_run(admin_client_role, django_capture_on_commit_callbacks, "duplicates.csv", [rep, other_rep])
    assert job.status == ImportJob.Status.CHECKED
    # Dee merges twice by email; "Dee Phone" has a phone no lead holds yet, so it is new, like "Other Person".
    assert (job.check_report["rows"], job.check_report["created"], job.check_report["merged"]) == (4, 2, 2)
    assert Lead.objects.count() == 1  # the dry run wrote nothing
    page = admin_client_role.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "Import 4 rows" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_role.post(reverse("imports:confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_processed, job.created_count, job.merged_count, job.error_count) == (4, 2, 2, 0)
    assert Lead.objects.count() == 3
    dee = Lead.objects.get(email="dee@example.com")
    assert dee.company == "Dupe Inc"
    assert dee.timeline_entries.filter(kind=TimelineEntry.Kind.MET_AGAIN, summary="Met again at Boston Expo").exists()
    page = admin_client_role.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "Results" in page and "Undo this import" in page
    history = admin_client_role.get(reverse("imports:index")).content.decode()
    assert "duplicates.csv" in history and "adam" in history


def test_the_mapping_is_remembered_for_the_next_file_with_that_header(
    admin_client_role, django_capture_on_commit_callbacks, rep
):
    upload(admin_client_role, "utf8_bom_comma.csv")
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_role.post(reverse("imports:detail", args=[job.pk]), settings_post(job, [rep], column_4=""))
    assert ImportMapping.objects.get().mapping[4] == ""
    upload(admin_client_role, "utf8_bom_comma.csv")
    again = ImportJob.objects.latest("pk")
    assert again.mapping == ["first_name", "last_name", "email", "phone", ""]
    page = admin_client_role.get(reverse("imports:detail", args=[again.pk])).content.decode()
    assert "what you chose last time" in page


def test_confirm_before_the_dry_run_is_refused(admin_client_role):
    upload(admin_client_role, "pipe_delimited.csv")
    job = ImportJob.objects.get()
    response = admin_client_role.post(reverse("imports:confirm", args=[job.pk]), follow=True)
    assert "Run the dry run first" in response.content.decode()
    assert not Lead.objects.exists()


# --- Progress ---------------------------------------------------------------------------------------


def test_progress_is_polled_while_running_and_survives_a_reload(admin_client_role, admin_user):
    job = ImportJob.objects.create(
        created_by=admin_user,
        file_name="big.csv",
        stored_path="imports/x/big.csv",
        status=ImportJob.Status.RUNNING,
        heartbeat_at=timezone.now(),
        rows_total=10_000,
        rows_processed=4_000,
        progress_percent=40,
        created_count=3_000,
        merged_count=900,
        error_count=100,
    )
    state_url = reverse("imports:state", args=[job.pk])
    partial = admin_client_role.get(state_url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="job-state"')
    assert f'hx-get="{state_url}"' in partial and 'hx-trigger="every 1s"' in partial
    assert '<progress max="100" value="40"' in partial
    assert "4,000 of 10,000 rows" in partial and "3,000 created" in partial
    assert "<html" not in partial
    page = admin_client_role.get(reverse("imports:detail", args=[job.pk])).content.decode()  # a reload
    assert '<progress max="100" value="40"' in page and 'hx-trigger="every 1s"' in page

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, progress_percent=100)
    finished = admin_client_role.get(state_url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in finished  # polling stops
    assert "Results" in finished


def test_progress_advances_batch_by_batch(admin_client_role, django_capture_on_commit_callbacks, rep, monkeypatch):
    rows = "Name,Email\n" + "".join(f"P {n},p{n}@example.com\n" for n in range(10))
    upload(admin_client_role, "ten.csv", rows.encode())
    job = ImportJob.objects.get()
    seen: list[int] = []
    real_save = ImportJob.save

    def spy(self, *args, **kwargs):
        if self.status == ImportJob.Status.RUNNING:
            seen.append(self.progress_percent)
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(import_services, "BATCH_SIZE", 3)
    monkeypatch.setattr(ImportJob, "save", spy)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_role.post(reverse("imports:detail", args=[job.pk]), settings_post(job, [rep]))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_role.post(reverse("imports:confirm", args=[job.pk]))
    assert seen == [30, 60, 90, 99]  # rows done / rows counted by the dry run, per committed batch
    job.refresh_from_db()
    assert (job.status, job.progress_percent, job.created_count) == (ImportJob.Status.DONE, 100, 10)


def test_a_stalled_job_offers_a_re_run(admin_client_role, admin_user):
    job = ImportJob.objects.create(
        created_by=admin_user,
        file_name="x.csv",
        stored_path="imports/x/x.csv",
        status=ImportJob.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(minutes=10),
    )
    page = admin_client_role.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert reverse("imports:rerun", args=[job.pk]) in page


# --- Results, error file, escaping ----------------------------------------------------------------


def test_error_file_download_is_formula_safe_and_names_are_escaped(
    admin_client_role, django_capture_on_commit_callbacks, rep
):
    job = through_dry_run(admin_client_role, django_capture_on_commit_callbacks, "formulas.csv", [rep])
    preview = admin_client_role.get(reverse("imports:detail", args=[job.pk]) + "?edit=1").content.decode()
    assert "<script>alert(1)</script>" not in preview
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_role.post(reverse("imports:confirm", args=[job.pk]))
    job.refresh_from_db()
    assert (job.created_count, job.error_count) == (2, 1)

    response = admin_client_role.get(reverse("imports:errors", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="formulas-errors.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["Name", "Email", "Company", "Reason", "Row in file"]
    assert rows[1][:3] == ["Bad Row", "bad-email", "'@SUM(1+1)"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    page = admin_client_role.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "Download the error file" in page and "No valid contact" in page
    lead = Lead.objects.get(email="script@example.com")
    detail = admin_client_role.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "<script>alert(1)</script>" not in detail


def test_no_error_file_when_there_are_no_errors(admin_client_role, django_capture_on_commit_callbacks, rep):
    job = through_dry_run(admin_client_role, django_capture_on_commit_callbacks, "pipe_delimited.csv", [rep])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_role.post(reverse("imports:confirm", args=[job.pk]))
    page = admin_client_role.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "Download the error file" not in page
    response = admin_client_role.get(reverse("imports:errors", args=[job.pk]), follow=True)
    assert "This import has no error file." in response.content.decode()


# --- Undo and re-run ------------------------------------------------------------------------------


def test_undo_from_the_page_reports_what_it_kept(admin_client_role, django_capture_on_commit_callbacks, rep):
    job = through_dry_run(admin_client_role, django_capture_on_commit_callbacks, "cp1252_accents.csv", [rep])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_role.post(reverse("imports:confirm", args=[job.pk]))
    called = Lead.objects.get(email="jose@example.com")
    CallFactory(lead=called, rep=rep)
    response = admin_client_role.post(reverse("imports:undo", args=[job.pk]), follow=True)
    page = response.content.decode()
    assert "Undone: removed 2 leads this import created; kept 1 that someone has worked on" in page
    assert "José Muñoz" in page and "called since the import" in page
    assert list(Lead.objects.values_list("email", flat=True)) == ["jose@example.com"]
    again = admin_client_role.post(reverse("imports:undo", args=[job.pk]), follow=True).content.decode()
    assert "Only a finished or failed import can be undone." in again


def test_re_run_of_a_failed_job_from_the_page(admin_client_role, django_capture_on_commit_callbacks, rep):
    job = through_dry_run(admin_client_role, django_capture_on_commit_callbacks, "utf8_bom_comma.csv", [rep])
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, failure="Worker lost")
    assert "Worker lost" in admin_client_role.get(reverse("imports:detail", args=[job.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_role.post(reverse("imports:rerun", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 2)


# --- History: a fixed number of queries -------------------------------------------------------------


@pytest.mark.parametrize("jobs", [2, 20])
def test_history_page_queries_do_not_grow_with_jobs(admin_client_role, django_assert_max_num_queries, jobs):
    for n in range(jobs):
        ImportJob.objects.create(created_by=UserFactory(role="admin"), file_name=f"f{n}.csv", stored_path="x")
    with django_assert_max_num_queries(8):
        response = admin_client_role.get(reverse("imports:index"))
    assert response.content.decode().count("imports/") >= jobs
