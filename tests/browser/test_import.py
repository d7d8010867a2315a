"""The import flow in Chromium: upload, mapping, a dry run and an import whose progress the page polls."""

from __future__ import annotations

from pathlib import Path

import pytest

from leads import import_services
from leads.models import ImportJob, Lead
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FILES = Path(__file__).parents[1] / "leads" / "import_files"


@pytest.fixture
def queued(monkeypatch, settings, tmp_path) -> list[int]:
    """Jobs the pages queue; the test plays the Celery worker so it can watch the page wait for it."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    jobs: list[int] = []
    monkeypatch.setattr(import_services, "_enqueue", lambda job: jobs.append(job.pk))
    return jobs


def test_admin_imports_a_list_and_watches_it_finish(page, login, admin_user, rep, queued):
    login(admin_user.username)
    page.get_by_role("link", name="Import").click()
    page.set_input_files("input[type=file]", str(FILES / "cp1252_accents.csv"))
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_text("Søren Æbelø").wait_for()
    page.locator("input[name=owners]").first.check()
    page.get_by_label("Event", exact=True).fill("Nordic Fair")
    screenshot(page, "import-mapping")
    page.get_by_role("button", name="Dry run").click()
    page.get_by_text("Dry run in progress").wait_for()

    job = ImportJob.objects.get()
    assert queued == [job.pk]
    assert import_services.import_job_run(job_id=job.pk) == "done"  # the worker; the page polls every second
    page.get_by_role("button", name="Import 3 rows").wait_for(timeout=5_000)
    screenshot(page, "import-dry-run")
    page.get_by_role("button", name="Import 3 rows").click()
    page.get_by_role("heading", name="Importing").wait_for()
    assert import_services.import_job_run(job_id=job.pk) == "done"
    page.get_by_role("heading", name="Results").wait_for(timeout=5_000)
    screenshot(page, "import-results")
    assert Lead.objects.count() == 3
    page.get_by_role("link", name="All imports").click()
    page.get_by_role("link", name="cp1252_accents.csv").wait_for()
