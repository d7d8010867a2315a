"""A big file is read and judged in a child process (leads.import_reader): the same outcomes as the thread."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from leads import import_reader, import_services
from leads.models import ImportJob, Lead
from tests.leads.test_import_services import FILES, options_for, run, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def children(monkeypatch):
    """The reader processes started (their Popen objects), counted through the real Popen."""
    started = []
    real = import_reader.subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(import_reader.subprocess, "Popen", popen)
    return started


@pytest.fixture
def apart(settings):
    settings.IMPORT_READER_PROCESS_MIN_BYTES = 0  # every file, however small, goes to the child


def judged_apart(path: Path, *, batch_size: int) -> import_reader.JudgedBatches:
    """The file's batches from a reader process, as the import starts it."""
    return import_reader.JudgedBatches(
        path=path,
        file_name=path.name,
        mapping=options_for(path).mapping,
        region="US",
        limits=import_services.lead_limits(),
        skip=0,
        batch_size=batch_size,
    )


def messy_list(tmp_path: Path) -> Path:
    """Title row, blank rows, accents, bad e-mails beside good phones, no contact, repeats, an over-long value."""
    rows = [["Spring Expo leads"], [], ["Full Name", "E-mail", "Mobile", "Company", "Notes"]]
    for n in range(60):
        email = f"p{n % 40}@example.com" if n % 5 else "not-an-email"
        phone = f"(212) 555-{1000 + n:04d}" if n % 7 else ""
        rows.append([f"Zoë Ñúñez {n}", email, phone, "Smørrebrød ApS" if n % 2 else "", "=cmd|' /C calc'!A0"])
        if n % 9 == 0:
            rows.append([])
    rows.append(["No Contact", "", "", "", ""])
    rows.append(["Too Long", "long@example.com", "", "x" * 300, ""])
    return write_csv(tmp_path, rows)


def dry_run(path: Path, batch_size: int):
    report = import_services.import_dry_run(
        path=path, file_name=path.name, options=options_for(path), batch_size=batch_size, keep_rows=1000
    )
    return report.as_dict()


def test_the_child_judges_every_row_as_the_thread_does(tmp_path, settings, children):
    path = messy_list(tmp_path)
    by_thread = dry_run(path, batch_size=7)
    assert children == []  # a small file: the thread
    settings.IMPORT_READER_PROCESS_MIN_BYTES = 0
    by_child = dry_run(path, batch_size=7)
    assert len(children) == 1 and children[0].returncode == 0  # started, ended on its own, and collected
    assert by_child == by_thread
    # No contact: rows 0 and 35 (bad e-mail, no phone) and "No Contact"; "Too Long": its company.
    assert (by_child["rows"], by_child["errors"]) == (62, 4) and by_child["warnings"] > 0


def test_an_import_read_apart_writes_what_it_reads(apart, rep, children):
    job, report = run(FILES / "contacts.xlsx", owner_ids=[rep.pk])  # XLSX: numbers and dates, in the child
    assert len(children) == 1
    assert (job.status, job.progress_percent) == (ImportJob.Status.DONE, 100)
    assert Lead.objects.get(email="xena@example.com").phone_e164 == "+14155550108"
    assert Lead.objects.get(email="yann@example.com").company == "=1+2"
    assert report.created == Lead.objects.count() > 0


def test_the_child_reports_how_far_into_the_file_it_is(apart, tmp_path):
    path = messy_list(tmp_path)
    seen = []
    import_services.import_dry_run(
        path=path,
        file_name=path.name,
        options=options_for(path),
        batch_size=10,
        progress=lambda report, position: seen.append(position),
    )
    assert len(seen) == 7 and seen == sorted(seen) and seen[0] > 0
    assert seen[-1] == os.path.getsize(path)


def test_rows_the_child_cannot_read_keep_the_batches_before_them(apart, rep, tmp_path):
    path = tmp_path / "list.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(13)])
        writer.writerow(["Huge", "x" * 200_000])  # past the CSV reader's field limit: the file stops being CSV
    with pytest.raises(RuntimeError, match="stops being valid CSV near row 15"):
        run(path, owner_ids=[rep.pk], batch_size=3)
    job = ImportJob.objects.get()
    assert (job.status, job.rows_processed, job.created_count) == (ImportJob.Status.FAILED, 12, 12)
    assert "stops being valid CSV" in job.failure


def test_a_child_that_dies_fails_the_job_with_a_reason(rep, tmp_path):
    # Far more rows than the pipe and the queue hold: the child is still at work when it is killed.
    path = write_csv(tmp_path, [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(20_000)])
    batches = judged_apart(path, batch_size=5)
    assert len(next(batches)) == 5
    os.kill(batches._process.pid, signal.SIGKILL)
    with pytest.raises(import_reader.ReaderFailed, match="stopped before the end of the file"):
        list(batches)
    batches.close()
    assert batches._process.returncode == -signal.SIGKILL


def test_a_reader_whose_job_is_killed_stops(tmp_path):
    """A worker killed mid-import (SIGKILL) leaves no reader behind: its next write meets a broken pipe."""
    path = write_csv(tmp_path, [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(20_000)])
    job = (
        "import os, signal, sys\n"
        "from leads import import_reader, importing\n"
        f"batches = import_reader.JudgedBatches(path={str(path)!r}, file_name='list.csv',"
        " mapping=importing.guess_mapping(['Name', 'Email']), region='US', limits={}, skip=0, batch_size=5)\n"
        "next(batches)\n"
        "print(batches._process.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", job], capture_output=True, text=True, cwd=import_reader._PROJECT, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL
    reader = Path(f"/proc/{int(killed.stdout.split()[0])}/stat")

    def running() -> bool:
        try:
            return reader.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie has stopped
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running()


def test_the_child_sends_chunks_that_the_job_gathers_into_its_batches(tmp_path):
    path = write_csv(tmp_path, [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(7_500)])
    size = import_reader.CHUNK_ROWS + 1_000  # chunks straddle the batches
    batches = judged_apart(path, batch_size=size)
    with closing(batches):
        got = list(batches)
    first = import_reader.FIRST_BATCH_ROWS  # one chunk: the writers start while the child judges the rest
    assert [len(batch) for batch in got] == [first, size, 7_500 - first - size]
    assert [number for batch in got for number, *_ in batch] == list(range(2, 7_502))
