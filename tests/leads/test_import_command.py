"""`manage.py import_leads`: the same import as the web, its JSON output, exit statuses and refusals."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from leads.models import Event, ImportJob, Lead, TimelineEntry

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "import_files"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def run_json(*args: str) -> dict:
    out = io.StringIO()
    call_command("import_leads", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def nothing_written(media: Path) -> bool:
    files = [p for p in media.rglob("*") if p.is_file()] if media.exists() else []
    return not (Lead.objects.exists() or ImportJob.objects.exists() or Event.objects.exists() or files)


def test_json_reports_counts_and_error_rows(rep):
    data = run_json(str(FILES / "invalid_contacts.csv"), "--owner", rep.username, "--event", "Expo")
    assert {k: data[k] for k in ("rows", "created", "merged", "errors", "warnings")} == {
        "rows": 5,
        "created": 2,
        "merged": 0,
        "errors": 3,
        "warnings": 2,
    }
    assert [row["row"] for row in data["error_rows"]] == [4, 5, 6]
    assert data["error_rows"][2]["reason"].startswith("No name")
    assert data["import_id"] == ImportJob.objects.get().pk
    assert Lead.objects.filter(owner=rep).count() == 2
    assert Event.objects.get().name == "Expo"


def test_second_run_of_the_same_file_creates_nothing(rep):
    first = run_json(str(FILES / "duplicates.csv"), "--owner", rep.username)
    second = run_json(str(FILES / "duplicates.csv"), "--owner", rep.username)
    assert (first["created"], second["created"], second["merged"]) == (2, 0, 4)


def test_round_robin_and_connection_and_event_date(rep, other_rep):
    run_json(
        str(FILES / "cp1252_accents.csv"),
        "--round-robin",
        f"{rep.username},{other_rep.username}",
        "--connection",
        "event_asked",
        "--event",
        "Nordic Fair",
        "--event-date",
        "2026-02-03",
    )
    owners = list(Lead.objects.order_by("pk").values_list("owner__username", flat=True))
    assert owners == [rep.username, other_rep.username, rep.username]
    assert set(Lead.objects.values_list("connection_type", flat=True)) == {"event_asked"}
    assert str(Lead.objects.first().event.date) == "2026-02-03"


def test_dry_run_counts_and_writes_nothing(rep, media):
    data = run_json(str(FILES / "duplicates.csv"), "--owner", rep.username, "--event", "Expo", "--dry-run")
    assert (data["rows"], data["created"], data["merged"], data["dry_run"]) == (4, 2, 2, True)
    assert nothing_written(media)
    assert not TimelineEntry.objects.exists()


def test_header_only_file_reports_zero_rows(rep):
    data = run_json(str(FILES / "header_only.csv"), "--owner", rep.username)
    assert (data["rows"], data["created"], data["errors"], data["error_rows"]) == (0, 0, 0, [])


def test_plain_output_is_a_summary_line(rep):
    out = io.StringIO()
    call_command("import_leads", str(FILES / "invalid_contacts.csv"), "--owner", rep.username, stdout=out)
    text = out.getvalue()
    assert text.startswith("Imported 5 rows: 2 created, 0 merged, 3 errors, 2 warnings.")
    assert "row 6: No name" in text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "empty.csv: The file is empty."),
        ("binary.csv", "binary.csv: The file is not a CSV or XLSX file (it looks like binary data)."),
        ("unmappable.csv", "unmappable.csv: No usable columns"),
        ("huge_dimension.xlsx", "huge_dimension.xlsx: The first sheet claims"),
    ],
)
def test_unreadable_files_exit_2_with_one_line_and_write_nothing(name, message, media):
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_leads", str(FILES / name), stderr=err)
    assert exit_info.value.code == 2
    assert err.getvalue().startswith(message)
    assert err.getvalue().strip().count("\n") == 0
    assert nothing_written(media)


def test_a_mapping_without_contact_columns_is_unusable(tmp_path, media):
    path = tmp_path / "names_only.csv"
    path.write_text("First Name,Last Name,Company\nAna,Lee,Acme\n")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_leads", str(path), stderr=err)
    assert exit_info.value.code == 2
    assert "no usable columns. Choose a column for the email or the phone." in err.getvalue()
    assert nothing_written(media)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--owner", "nobody"], "Unknown or inactive user: nobody."),
        (["--round-robin", "rita,ghost"], "Unknown or inactive user: ghost."),
        (["--connection", "telepathy"], "“telepathy” is not a connection type"),
        (["--event", "Expo", "--event-date", "03/01/2026"], "--event-date “03/01/2026” is not a date"),
        (["--event-date", "2026-03-01"], "Give the event a name."),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(args, message, rep, media):
    with pytest.raises(CommandError, match=message):
        call_command("import_leads", str(FILES / "duplicates.csv"), *args)
    assert nothing_written(media)


def test_missing_file_is_a_clear_error():
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_leads", "/nonexistent/list.csv")


def test_the_process_exit_status_is_2_for_an_unreadable_file(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "manage.py", "import_leads", str(FILES / "binary.csv"), "--json"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "binary.csv: The file is not a CSV or XLSX file (it looks like binary data)."
