"""Writes of the list import: storing uploads, the job's life (dry run, run, re-run, undo) and the error file.

The rules for reading a file and judging a row live in `leads.importing` (pure). Here rows are
deduplicated and merged set-based, one batch at a time: a batch looks its emails and phones up in one
query, bulk-creates its new leads, bulk-updates the merged ones, and commits together with the job's
counters and the committed length of the error file, so a re-run resumes exactly where the last
committed batch ended and never duplicates anything.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import os
import queue
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from operator import attrgetter, itemgetter
from pathlib import Path
from time import sleep
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from psycopg.types.datetime import TimestamptzLoader

from . import import_reader, importing
from .models import ConnectionType, Event, FollowUp, ImportJob, ImportMapping, ImportRecord, Lead, Stage, TimelineEntry
from .selectors import warmth_weights
from .services import warmth_recompute
from .warmth import WarmthInputs, compute_warmth

logger = logging.getLogger(__name__)

BATCH_SIZE = 10_000  # rows per transaction: a few dozen MB of judged rows at most, a handful of queries each
# A running job whose heartbeat is older has lost its worker (leads.tasks.catch_up queues it again).
STALE_AFTER = timedelta(seconds=settings.IMPORT_STALE_AFTER_SECONDS)
SAMPLE_LIMIT = 100  # warnings and errors kept on the job for the pages; the error file has them all
FILL_FIELDS = ("first_name", "last_name", "title", "company", "email", "phone", "phone_e164", "research_notes")
ERROR_COLUMNS = ("Reason", "Row in file")
_ADVISORY_LOCK = 7_240_401  # PostgreSQL: one import job writes at a time, so two jobs never create the same lead
LOCK_POLL_SECONDS = 1.0  # a job waiting for another import's lock checks again this often


class JobTakenOver(RuntimeError):
    """Another worker claimed this job (ours was presumed dead): stop without writing."""


# --- Settings and reports -----------------------------------------------------------------------------


@dataclass
class ImportOptions:
    """What the admin chose: the mapping, the event, the connection and the owners."""

    mapping: list[str]
    event_name: str = ""
    event_date: date | None = None
    connection_type: str = ConnectionType.EVENT_LIST
    owner_ids: list[int] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    merged: int = 0
    errors: int = 0
    warnings: int = 0
    error_rows: list[dict[str, Any]] = field(default_factory=list)
    warning_rows: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lead_limits() -> dict[str, int | None]:
    """Each importable lead field's max length, as the model declares it."""
    return {name: Lead._meta.get_field(name).max_length for name in FILL_FIELDS}


def options_validate(
    *,
    mapping: Sequence[str],
    column_count: int,
    connection_type: str,
    owner_ids: Sequence[int],
    event_name: str = "",
    event_date: date | None = None,
) -> ImportOptions:
    """The options, or ValidationError with every problem in words."""
    errors: dict[str, list[str]] = {}
    problems = importing.mapping_problems(list(mapping), column_count)
    if problems:
        errors["mapping"] = problems
    if connection_type not in ConnectionType.values:
        choices = ", ".join(ConnectionType.values)
        errors["connection_type"] = [f"“{connection_type}” is not a connection type; use one of {choices}."]
    found = set(get_user_model().objects.filter(pk__in=owner_ids, is_active=True).values_list("pk", flat=True))
    if set(owner_ids) - found:
        errors["owner_ids"] = ["One of the chosen owners does not exist or is inactive."]
    if event_date and not event_name.strip():
        errors["event_name"] = ["Give the event a name."]
    if len(event_name.strip()) > Event._meta.get_field("name").max_length:
        errors["event_name"] = ["The event name is too long (200 characters at most)."]
    if errors:
        raise ValidationError(errors)
    return ImportOptions(
        mapping=list(mapping),
        event_name=event_name.strip(),
        event_date=event_date,
        connection_type=connection_type,
        owner_ids=list(dict.fromkeys(owner_ids)),
    )


# --- Files --------------------------------------------------------------------------------------------


def _media(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def _safe_name(file_name: str) -> str:
    base = os.path.basename(file_name.replace("\\", "/")) or "upload"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)[-100:] or "upload"


def import_file_store(*, source: IO[bytes], file_name: str) -> tuple[str, int]:
    """Copy an upload under MEDIA_ROOT/imports/<uuid>/ and return (relative path, size)."""
    relative = f"imports/{uuid.uuid4().hex}/{_safe_name(file_name)}"
    target = _media(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(target, "wb") as out:
        while chunk := source.read(1024 * 1024):
            out.write(chunk)
            size += len(chunk)
    return relative, size


def _remove_stored(relative: str) -> None:
    folder = _media(relative).parent
    if folder.parent == _media("imports"):
        shutil.rmtree(folder, ignore_errors=True)


def remembered_mapping(headers: Sequence[str]) -> list[str] | None:
    saved = ImportMapping.objects.filter(header_key=importing.header_key(headers)).first()
    if saved is None or len(saved.mapping) != len(headers):
        return None
    return list(saved.mapping)


@transaction.atomic
def import_job_create(*, actor: Any, source: IO[bytes], file_name: str, size: int | None = None) -> ImportJob:
    """Store an upload and read its header. Raises ValidationError (and keeps nothing) when unreadable."""
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size is not None and size > limit:
        raise ValidationError(f"The file is {size / 1048576:.1f} MB; the largest import is {limit / 1048576:.0f} MB.")
    relative, stored_size = import_file_store(source=source, file_name=file_name)
    try:
        if stored_size > limit:
            raise ValidationError(f"The file is larger than {limit / 1048576:.0f} MB, the largest import.")
        with open(_media(relative), "rb") as stream:
            table = importing.read_table(stream, file_name=file_name)
    except importing.UnreadableFile as exc:
        _remove_stored(relative)
        raise ValidationError(str(exc)) from exc
    except ValidationError:
        _remove_stored(relative)
        raise
    mapping = remembered_mapping(table.headers) or importing.guess_mapping(table.headers)
    return ImportJob.objects.create(
        created_by=actor,
        file_name=os.path.basename(file_name)[:255] or "upload",
        stored_path=relative,
        file_size=stored_size,
        headers=table.headers,
        header_row=table.header_row,
        mapping=mapping,
    )


def import_job_preview(*, job: ImportJob, rows: int = 10) -> list[tuple[int, list[str]]]:
    """The first data rows of the stored file, for the mapping page."""
    with open(_media(job.stored_path), "rb") as stream:
        table = importing.read_table(stream, file_name=job.file_name)
        return importing.preview_rows(table.rows, rows)


def import_mapping_remember(*, headers: Sequence[str], mapping: Sequence[str], actor: Any) -> None:
    ImportMapping.objects.update_or_create(
        header_key=importing.header_key(headers),
        defaults={"headers": list(headers), "mapping": list(mapping), "updated_by": actor},
    )


# --- The web flow's steps -----------------------------------------------------------------------------


def _enqueue(job: ImportJob) -> None:
    from warmcrm.celery import enqueue_safely

    from .tasks import import_job_run  # tasks import services; import here to avoid the cycle

    enqueue_safely(import_job_run, job.pk)  # lost when the broker is down: imports_resume_stalled queues it again


@transaction.atomic
def import_job_configure(
    *,
    job: ImportJob,
    actor: Any,
    mapping: Sequence[str],
    connection_type: str,
    owner_ids: Sequence[int],
    event_name: str,
    event_date: date | None,
) -> ImportJob:
    """Save the admin's choices, remember the mapping for this header, and start the dry run."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.CHECKED, ImportJob.Status.CHECKING):
        raise ValidationError("This import has already started; its settings can no longer change.")
    options = options_validate(
        mapping=mapping,
        column_count=len(job.headers),
        connection_type=connection_type,
        owner_ids=owner_ids,
        event_name=event_name,
        event_date=event_date,
    )
    if not options.owner_ids:
        raise ValidationError({"owner_ids": ["Choose the rep who gets these leads, or several to share them."]})
    import_mapping_remember(headers=job.headers, mapping=options.mapping, actor=actor)
    job.mapping, job.connection_type, job.owner_ids = options.mapping, options.connection_type, options.owner_ids
    job.event_name, job.event_date = options.event_name, options.event_date
    job.status, job.check_report, job.heartbeat_at, job.run_token = ImportJob.Status.CHECKING, {}, None, ""
    job.rows_processed = job.progress_percent = 0
    job.failure = ""
    job.save()
    _enqueue(job)
    return job


@transaction.atomic
def import_job_confirm(*, job: ImportJob, actor: Any) -> ImportJob:
    """After the dry run: queue the real import."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.CHECKED:
        raise ValidationError("Run the dry run first; the import starts after you have seen its counts.")
    job.status, job.heartbeat_at, job.run_token = ImportJob.Status.QUEUED, None, ""
    job.rows_processed = job.progress_percent = 0
    job.save()
    _enqueue(job)
    return job


def job_is_stalled(job: ImportJob, *, now: datetime | None = None) -> bool:
    """Queued or running, but no worker has reported for a while: it can be re-run."""
    now = now or timezone.now()
    if job.status == ImportJob.Status.RUNNING:
        return job.heartbeat_at is None or job.heartbeat_at < now - STALE_AFTER
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.CHECKING):
        return (job.heartbeat_at or job.created_at) < now - STALE_AFTER
    return False


@transaction.atomic
def import_job_rerun(*, job: ImportJob, actor: Any) -> ImportJob:
    """Queue a failed or stalled job again; it resumes after its last committed batch."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.FAILED and not job_is_stalled(job):
        raise ValidationError("Only a failed or stalled import can be re-run.")
    if job.status != ImportJob.Status.CHECKING:
        job.status = ImportJob.Status.QUEUED
    job.heartbeat_at, job.run_token, job.failure = None, "", ""
    job.save(update_fields=["status", "heartbeat_at", "run_token", "failure"])
    _enqueue(job)
    return job


def imports_resume_stalled(*, now: datetime | None = None) -> int:
    """Queue again every import whose worker died or whose message was lost (the periodic catch-up)."""
    queued = 0
    active = (ImportJob.Status.QUEUED, ImportJob.Status.CHECKING, ImportJob.Status.RUNNING)
    for job in ImportJob.objects.filter(status__in=active):
        if job_is_stalled(job, now=now):
            try:
                import_job_rerun(job=job, actor=None)
            except ValidationError:
                continue  # a worker took it meanwhile
            logger.warning("import %s had stalled (%s); queued again", job.pk, job.status)
            queued += 1
    return queued


# --- Running --------------------------------------------------------------------------------------


def _claim(job_id: int) -> tuple[ImportJob, str] | str:
    """Take the job for this worker: (job, token), or why not ("busy", "gone", "not runnable")."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return "gone"
    now = timezone.now()
    if job.status not in (ImportJob.Status.CHECKING, ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return "not runnable"
    free = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - STALE_AFTER)
    if job.status == ImportJob.Status.QUEUED:
        free = Q()  # queued: nobody is running it (confirm and re-run clear the token)
    token = uuid.uuid4().hex
    status = ImportJob.Status.CHECKING if job.status == ImportJob.Status.CHECKING else ImportJob.Status.RUNNING
    taken = ImportJob.objects.filter(free, pk=job_id, status=job.status, run_token=job.run_token).update(
        run_token=token, heartbeat_at=now, status=status, started_at=job.started_at or now
    )
    if not taken:
        return "busy"
    job.refresh_from_db()
    return job, token


def import_job_run(*, job_id: int, batch_size: int | None = None) -> str:
    """Run the job's dry run or its import, whichever it is waiting for. Safe to call twice.

    Returns "done", or why it did nothing ("busy" when another worker holds it, "gone", "not runnable").
    """
    batch_size = batch_size or BATCH_SIZE  # read at call time, so settings and tests can change it
    claimed = _claim(job_id)
    if isinstance(claimed, str):
        return claimed
    job, token = claimed
    try:
        with importing.fewer_collections():
            if job.status == ImportJob.Status.CHECKING:
                _job_check(job, token, batch_size=batch_size)
            else:
                _job_import(job, token, batch_size=batch_size)
    except JobTakenOver:
        logger.warning("import %s: another worker took the job over; stopping", job_id)
        return "busy"
    except Exception as exc:
        logger.exception("import %s failed", job_id)
        failed = ImportJob.Status.UPLOADED if job.status == ImportJob.Status.CHECKING else ImportJob.Status.FAILED
        message = str(exc) if isinstance(exc, importing.UnreadableFile) else f"{type(exc).__name__}: {exc}"
        ImportJob.objects.filter(pk=job_id, run_token=token).update(
            status=failed, failure=message[:2000], heartbeat_at=None, run_token=""
        )
        if isinstance(exc, importing.UnreadableFile):
            return "failed"
        raise
    return "done"


def _options_of(job: ImportJob) -> ImportOptions:
    return ImportOptions(
        mapping=list(job.mapping),
        event_name=job.event_name,
        event_date=job.event_date,
        connection_type=job.connection_type,
        owner_ids=list(job.owner_ids),
    )


def _job_check(job: ImportJob, token: str, *, batch_size: int) -> None:
    path = _media(job.stored_path)
    size = max(job.file_size, 1)

    def progress(report: ImportReport, position: int) -> None:
        updated = ImportJob.objects.filter(pk=job.pk, run_token=token).update(
            heartbeat_at=timezone.now(),
            rows_processed=report.rows,
            progress_percent=min(99, position * 100 // size),
        )
        if not updated:
            raise JobTakenOver

    report = import_dry_run(
        path=path,
        file_name=job.file_name,
        options=_options_of(job),
        batch_size=batch_size,
        progress=progress,
        keep_rows=SAMPLE_LIMIT,
    )
    summary = report.as_dict()
    summary["error_rows"] = summary["error_rows"][:SAMPLE_LIMIT]
    summary["warning_rows"] = summary["warning_rows"][:SAMPLE_LIMIT]
    updated = ImportJob.objects.filter(pk=job.pk, run_token=token).update(
        status=ImportJob.Status.CHECKED,
        check_report=summary,
        rows_total=report.rows,
        rows_processed=0,  # the import's own count starts after the confirmation
        progress_percent=100,
        heartbeat_at=None,
        run_token="",
    )
    if not updated:
        raise JobTakenOver


def import_dry_run(
    *,
    path: Path | str,
    file_name: str,
    options: ImportOptions,
    batch_size: int | None = None,
    progress: Any = None,
    keep_rows: int | None = None,
) -> ImportReport:
    """The counts an import would give, writing nothing; `keep_rows` caps the error and warning rows kept."""
    engine = _Engine(options=options, file_name=file_name, job=None)
    report = ImportReport()
    batch_size = batch_size or BATCH_SIZE
    with importing.fewer_collections(), closing(engine), open(path, "rb") as stream:
        table = importing.read_table(stream, file_name=file_name)
        batches, position = _reader(engine, stream, table, path=path, skip=0, batch_size=batch_size)
        with closing(batches):
            for outcomes in batches:
                result = engine.apply(outcomes)
                _add(report, outcomes, result, keep_rows=keep_rows)
                if progress is not None:
                    progress(report, position())
    return report


def _job_import(job: ImportJob, token: str, *, batch_size: int) -> None:
    options = _options_of(job)
    if options.event_name and job.event_id is None:
        job.event, _ = Event.objects.get_or_create(name=options.event_name, date=options.event_date)
        ImportJob.objects.filter(pk=job.pk).update(event=job.event)
    engine = _Engine(options=options, file_name=job.file_name, job=job)
    error_file = _error_file_open(job)
    size = max(job.file_size, 1)
    try:
        path = _media(job.stored_path)
        with open(path, "rb") as stream:
            table = importing.read_table(stream, file_name=job.file_name)
            if job.error_file_bytes == 0:
                error_file.write(codecs.BOM_UTF8)  # so Excel opens the accents right
                _error_write(error_file, [[*table.headers, *ERROR_COLUMNS]])
            skip = job.rows_processed  # a re-run resumes after the last committed batch
            batches, position = _reader(engine, stream, table, path=path, skip=skip, batch_size=batch_size)
            # closing(): on any failure the reader (thread or process) stops before the file it reads is closed.
            with closing(batches):
                # Two connections need the job's rows committed: inside a caller's transaction (the test suite's)
                # the batches run in turn on this one.
                overlapped = connection.vendor == "postgresql" and not connection.in_atomic_block
                batch_run = _batches_overlapped if overlapped else _batches_in_turn
                job = batch_run(job, token, engine, batches, error_file, lambda: position() * 100 // size)
        with transaction.atomic():
            # Each merged lead was rescored by its batch's UPDATE, except referral leads (their score reads the
            # referrer's conversions, which warmth_recompute refreshes): those in one set-based pass here.
            merged = ImportRecord.objects.filter(job_id=job.pk)
            referrals = Lead.objects.filter(pk__in=merged.values("lead_id"), connection_type=ConnectionType.REFERRAL)
            if referrals.exists():
                warmth_recompute(leads=referrals, now=timezone.now())
            finished = ImportJob.objects.filter(pk=job.pk, run_token=token).update(
                status=ImportJob.Status.DONE,
                finished_at=timezone.now(),
                progress_percent=100,
                heartbeat_at=None,
                run_token="",
            )
            if not finished:
                raise JobTakenOver
    finally:
        error_file.close()


def _percent(job: ImportJob, file_percent: int) -> int:
    if job.rows_total:
        return min(99, job.rows_processed * 100 // job.rows_total)
    return min(99, file_percent)


def _locked_job(job: ImportJob, token: str) -> ImportJob:
    """The job's row, locked for this batch's transaction; JobTakenOver when another worker holds it now."""
    locked = ImportJob.objects.select_for_update().filter(pk=job.pk, run_token=token).first()
    if locked is None:
        raise JobTakenOver
    return locked


def _count_batch(
    job: ImportJob, outcomes: _JudgedBatch, result: _BatchResult, error_file: IO[str], file_percent: int
) -> None:
    """Add a batch to the job's counters and error file; saved in the batch's own transaction."""
    _error_write(error_file, [[*cells, reason, number] for number, cells, reason in result.errors])
    job.rows_processed += len(outcomes)
    job.created_count += result.created
    job.merged_count += result.merged
    job.error_count += len(result.errors)
    job.warning_count += len(result.warnings)
    room = SAMPLE_LIMIT - len(job.warning_samples)
    if room > 0:
        job.warning_samples = [*job.warning_samples, *result.warnings[:room]]
    job.error_file_bytes = error_file.tell()
    job.heartbeat_at = timezone.now()
    job.progress_percent = _percent(job, file_percent)
    job.save()


def _batches_in_turn(
    job: ImportJob, token: str, engine: _Engine, batches: Iterator[_JudgedBatch], error_file: IO[str], percent: Any
) -> ImportJob:
    """Each batch looked up, matched, written and committed, one after the other: SQLite (one writer anyway),
    and PostgreSQL inside a caller's transaction, under the same import lock as `_batches_overlapped`."""
    with _import_lock(job, token) if connection.vendor == "postgresql" else nullcontext():
        for outcomes in batches:
            with transaction.atomic():
                locked = _locked_job(job, token)
                engine.job = locked
                result = engine.apply(outcomes)
                _count_batch(locked, outcomes, result, error_file, percent())
                job = locked
    return job


def _batches_overlapped(
    job: ImportJob, token: str, engine: _Engine, batches: Iterator[_JudgedBatch], error_file: IO[str], percent: Any
) -> ImportJob:
    """PostgreSQL, from a worker or the command: two connections take turns, so that one batch's new leads are
    copied in while the batch before commits (its deferred FK checks, a fifth of the database's time), and a
    thread matches each next batch meanwhile. PostgreSQL works on two cores instead of one.

    What keeps it equal to batches in turn: a batch's lookup of the next batch's emails and phones runs in its own
    transaction right after its new leads, so it sees them and every commit up to the batch before the batch before
    (the one its connection wrote last). What that batch before writes (on the other connection, perhaps not
    committed yet) and this batch's merges (written after the lookup, so that the next batch is matched and copied
    in meanwhile) are laid over the rows found as they will be (`_Engine.plan_found`). The next batch writes its new
    leads at once (they depend on nothing uncommitted), but its merges, timeline entries, records and the job's
    counters only after the batch before has committed (a lead that batch created is invisible to the other
    connection until then), and if that batch failed, it rolls back too. Each batch still commits alone with the
    job's counters and error-file length, in file order, so a killed worker's re-run resumes after the last
    committed batch. The import lock, held by this thread's connection for the whole job, keeps other imports from
    writing between a lookup and the writes it decided.
    """
    outcomes = next(batches, None)
    if outcomes is None:
        return job
    engine.job = job
    with (
        _import_lock(job, token),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-match") as matcher,
        _writing_connections() as writers,
    ):
        plan = _planned(matcher, engine, outcomes, engine.found(outcomes))
        earlier: Future[_BatchPlan] | None = None  # the plan of the batch before the one being written
        committed: Future[ImportJob] | None = None
        turn = 0
        while True:
            # The batch is written while the next one is gathered from the reader; it needs that one only once its
            # new leads are in, to look it up.
            following: Future[_JudgedBatch | None] = Future()
            found: Future[list[tuple[Any, ...]]] = Future()
            committed = writers[turn % 2].submit(
                _write_turn, job, token, engine, plan, outcomes, following, found, committed, error_file, percent
            )
            turn += 1
            unread = None
            try:
                following.set_result(next(batches, None))
            except Exception as exc:  # the next rows cannot be read: this batch still commits, as in turn
                unread = exc
            finally:
                if not following.done():  # anything else stops the job; the batch being written still commits
                    following.set_result(None)
            if following.result() is None:
                job = committed.result()
                if unread is not None:
                    raise unread
                return job
            wait([found, committed], return_when=FIRST_COMPLETED)  # a failed batch never finds the next one
            if not found.done():
                committed.result()  # raises the batch's failure
            outcomes = following.result()
            # Planned over the two batches before, which may not have written (or committed) what it finds.
            plan, earlier = _planned(matcher, engine, outcomes, found.result(), before=(earlier, plan[1])), plan[1]


def _planned(
    matcher: ThreadPoolExecutor,
    engine: _Engine,
    outcomes: _JudgedBatch,
    found: list[tuple[Any, ...]],
    before: tuple[Future[_BatchPlan] | None, Future[_BatchPlan]] | None = None,
) -> tuple[Future[_BatchPlan], Future[_BatchPlan]]:
    """A batch planned in the matching thread in two steps: its new leads first (all its first writes need),
    then its merges, decided while the new leads are written. `before`: the plans of the two batches before,
    which `found` may not have seen written (the one thread plans batches in order, so they are done)."""

    def created_step() -> _BatchPlan:
        earlier, previous = (None, None) if before is None else before
        return engine.plan_found(
            outcomes,
            found,
            earlier=earlier.result() if earlier else None,
            previous=previous.result() if previous else None,
        )

    created = matcher.submit(created_step)
    return created, matcher.submit(lambda: engine.plan_merges(created.result()))


def _write_turn(
    job: ImportJob,
    token: str,
    engine: _Engine,
    plan: tuple[Future[_BatchPlan], Future[_BatchPlan]],
    outcomes: _JudgedBatch,
    following: Future[_JudgedBatch | None],
    found: Future[list[tuple[Any, ...]]],
    previous: Future[ImportJob] | None,
    error_file: IO[str],
    percent: Any,
) -> ImportJob:
    """One batch in its own transaction on this thread's connection (see `_batches_overlapped`)."""
    try:
        with transaction.atomic():
            _batch_settings()
            ready = plan[0].result()
            engine.write_created(ready)
            # The next batch is looked up now, before the batch before has committed and before this batch's
            # merges are written, so that it is matched and its new leads copied in on the other connection
            # meanwhile: its matching lays what those two batches write over the rows found (`_Engine.plan_found`).
            if (after := following.result()) is not None:
                found.set_result(engine.found(after))
            if previous is not None:
                previous.result()  # the batch before has committed; its failure rolls this one back
            locked = _locked_job(job, token)
            engine.write_merged(plan[1].result())
            _count_batch(locked, outcomes, ready.result, error_file, percent())
    except BaseException as exc:
        if not found.done():
            found.set_exception(exc)
        raise
    return locked


@contextmanager
def _writing_connections() -> Iterator[list[ThreadPoolExecutor]]:
    """Two single threads, each writing on its own connection (Django's are per thread), closed at the end."""
    writers = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"import-write-{n}") for n in (0, 1)]
    try:
        yield writers
    finally:
        for writer in writers:
            writer.submit(_close_connection).result()
            writer.shutdown()


def _close_connection() -> None:
    """Close the calling thread's connection. A function, so that `connection` is resolved in the writer's
    thread: `writer.submit(connection.close)` would close the job's own connection, bound where it is written."""
    connection.close()


@contextmanager
def _import_lock(job: ImportJob, token: str) -> Iterator[None]:
    """PostgreSQL: one import job writes at a time, so two jobs never create the same lead (a batch is
    matched against a lookup made before it is written). Held by the connection: a killed worker's goes
    with it. A job waiting for it keeps its heartbeat, so it is not taken for dead."""
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_ADVISORY_LOCK])
            if cursor.fetchone()[0]:
                break
            if not ImportJob.objects.filter(pk=job.pk, run_token=token).update(heartbeat_at=timezone.now()):
                raise JobTakenOver
            sleep(LOCK_POLL_SECONDS)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_LOCK])
        except DatabaseError:  # the connection is gone, and the lock went with it
            logger.warning("import %s: the import lock went with its connection", job.pk)


def _batch_settings() -> None:
    # A batch commits with the job's counters and error-file length: if a crash loses the last commits, it
    # loses them together and the re-run redoes those rows. No need to wait for fsync. JIT compiling the
    # batch's few large statements costs more than it saves (~150 ms each).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off; SET LOCAL jit = off")


_JudgedBatch = list[importing.JudgedRow]


def _reader(
    engine: _Engine, stream: IO[bytes], table: importing.Table, *, path: Path | str, skip: int, batch_size: int
) -> tuple[Iterator[_JudgedBatch], Callable[[], int]]:
    """The file's judged batches after the first `skip` rows, and how far into the file (bytes) they are.

    A big file is read and judged by a child process (`leads.import_reader`), on a core of its own and off
    the job's GIL, which the writer needs each time PostgreSQL answers; a small one (under
    IMPORT_READER_PROCESS_MIN_BYTES, where starting a process costs more than it saves) by a thread.
    """
    if os.path.getsize(path) >= settings.IMPORT_READER_PROCESS_MIN_BYTES:
        apart = import_reader.JudgedBatches(
            path=path,
            file_name=engine.file_name,
            mapping=engine.options.mapping,
            region=engine.judge_row.region,
            limits=lead_limits(),
            skip=skip,
            batch_size=batch_size,
        )
        return apart, lambda: apart.position
    return _judged(engine, _skip(table.rows, skip), batch_size), stream.tell


def _judged(engine: _Engine, rows: Iterator[tuple[int, list[str]]], batch_size: int) -> Iterator[_JudgedBatch]:
    """Batches of judged rows, read and judged one or two batches ahead in a thread.

    The pure judging (phone and email validation) is the import's biggest CPU cost; the writer spends a
    good part of each batch waiting for the database, which releases the GIL, so the two overlap.
    """
    results: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                results.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in _batches(rows, batch_size):
                if not put(("batch", engine.judge(batch))):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it in the job's own thread
            put(("error", exc))

    worker = threading.Thread(target=produce, name="import-judge", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = results.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=5)


def _skip(rows: Iterator[tuple[int, list[str]]], count: int) -> Iterator[tuple[int, list[str]]]:
    for index, item in enumerate(rows):
        if index >= count:
            yield item


def _batches(rows: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _add(report: ImportReport, outcomes: list, result: _BatchResult, *, keep_rows: int | None) -> None:
    report.rows += len(outcomes)
    report.created += result.created
    report.merged += result.merged
    report.errors += len(result.errors)
    report.warnings += len(result.warnings)
    errors = [{"row": number, "reason": reason} for number, _, reason in result.errors]
    if keep_rows is None:
        report.error_rows.extend(errors)
        report.warning_rows.extend(result.warnings)
    else:
        report.error_rows.extend(errors[: max(0, keep_rows - len(report.error_rows))])
        report.warning_rows.extend(result.warnings[: max(0, keep_rows - len(report.warning_rows))])


# --- The error file -------------------------------------------------------------------------------


def _error_file_open(job: ImportJob) -> IO[str]:
    """Open the job's error file at its committed length: bytes of a batch that never committed go."""
    if not job.error_path:
        job.error_path = str(Path(job.stored_path).parent / "errors.csv")
        ImportJob.objects.filter(pk=job.pk).update(error_path=job.error_path)
    path = _media(job.error_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = open(path, "a+b")  # noqa: SIM115 - closed by the caller's finally
    raw.truncate(job.error_file_bytes)
    raw.seek(job.error_file_bytes)
    return raw  # type: ignore[return-value]


def _error_write(raw: Any, rows: list[list[Any]]) -> None:
    if not rows:
        return
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    for row in rows:
        writer.writerow([importing.formula_safe(str(cell)) for cell in row])
    raw.write(text.getvalue().encode("utf-8"))
    raw.flush()


def error_file_chunks(*, job: ImportJob, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """The committed bytes of the error file (a batch that never committed may have left more)."""
    left = job.error_file_bytes
    with open(_media(job.error_path), "rb") as handle:
        while left > 0 and (chunk := handle.read(min(chunk_size, left))):
            left -= len(chunk)
            yield chunk


def error_file_rows(*, job: ImportJob, limit: int | None = None) -> list[dict[str, Any]]:
    """Row number, reason and original cells of each error, read back from the error file."""
    if not job.error_path or not job.error_count:
        return []
    text = io.TextIOWrapper(io.BytesIO(b"".join(error_file_chunks(job=job))), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    next(reader, None)
    out: list[dict[str, Any]] = []
    for row in reader:
        if len(row) < 2:
            continue
        out.append({"row": int(row[-1]), "reason": importing.unquote_cell(row[-2]), "cells": row[:-2]})
        if limit is not None and len(out) >= limit:
            break
    return out


def error_file_path(*, job: ImportJob) -> Path | None:
    if not job.error_path or not job.error_count:
        return None
    path = _media(job.error_path)
    return path if path.is_file() else None


# --- The engine: judging rows and deduplicating a batch -----------------------------------------------


# What the warmth formula reads from a lead besides last_conversation_at (a merge may set that one).
SCORE_FIELDS = (
    "connection_type",
    "created_at",
    "unanswered_attempts",
    "last_appointment_at",
    "forgot_us_at",
    "not_interested_at",
)
LOOKUP_FIELDS = (
    "pk",
    "owner_id",
    "event_id",
    "last_conversation_at",
    *FILL_FIELDS,
    *SCORE_FIELDS,
    "warmth",
    "warmth_band",
)


# What a job has already done to a lead, as `_LeadState.recorded` holds it.
CREATED, MERGED = "created", "merged"


def _leads_by_contact(emails: list[str], phones: list[str], job_id: int | None) -> list[tuple[Any, ...]]:
    """Every lead holding one of these emails or phones, oldest first, as LOOKUP_FIELDS plus what this job
    already did to it (CREATED, MERGED or None): one query for the whole batch."""
    if connection.vendor != "postgresql":
        leads = Lead.objects.filter(Q(email__in=emails) | Q(phone_e164__in=phones)).order_by("pk")
        rows = list(leads.values_list(*LOOKUP_FIELDS, "import_job_id"))
        if job_id is None or not rows:
            return [(*row[:-1], None) for row in rows]
        recorded = ImportRecord.objects.filter(job_id=job_id, lead_id__in=[row[0] for row in rows])
        merged = set(recorded.values_list("lead_id", flat=True))
        return [(*row[:-1], CREATED if row[-1] == job_id else (MERGED if row[0] in merged else None)) for row in rows]
    # The keys as two JSON arrays instead of thousands of placeholders (psycopg dumps an array parameter
    # element by element in Python; json.dumps is C): PostgreSQL probes the email and phone indexes with
    # them. A lead the job did not create is probed for the job's record (a join would hash every record the
    # job has written so far, again in every batch).
    columns = ", ".join("l." + Lead._meta.get_field("id" if name == "pk" else name).column for name in LOOKUP_FIELDS)
    records = ImportRecord._meta.db_table
    with connection.cursor() as cursor:
        # psycopg's own timestamptz loader, in C: Django's subclasses psycopg's Python one (~2.4 µs a value, 10x
        # as long, for five timestamp columns per row found). Both give the aware datetimes of the session's time
        # zone, which Django sets to its own.
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(
            f"SELECT {columns}, CASE WHEN l.import_job_id = %s THEN '{CREATED}' WHEN EXISTS "  # nosec B608 # model names only
            f"(SELECT FROM {records} AS r WHERE r.lead_id = l.id AND r.job_id = %s) THEN '{MERGED}' END "
            f"FROM {Lead._meta.db_table} AS l "
            "WHERE l.email = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))) "
            "OR l.phone_e164 = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))) ORDER BY l.id",
            [job_id, job_id, json.dumps(emails), json.dumps(phones)],
        )
        return cursor.fetchall()


def _index_of(found: list[tuple[Any, ...]], written: dict[int, _LeadState] | None = None) -> _Index:
    """`_leads_by_contact`'s rows as lead states, by email and by phone. `written`: leads (by id) whose rows are
    about to change (`_as_written`): each stands in for its row, and all of them are indexed, in id order with
    the rows, as the same lookup made after those writes would have found them."""
    index = _Index()
    fill_end = 4 + len(FILL_FIELDS)
    states = []
    for row in found:
        pk, owner_id, event_id, last_conversation_at = row[:4]
        if written and (state := written.pop(pk, None)) is not None:
            states.append(state)
            continue
        state = _LeadState(
            pk=pk,
            values={name: value or "" for name, value in zip(FILL_FIELDS, row[4:fill_end], strict=True)},
            owner_id=owner_id,
            event_id=event_id,
            last_conversation_at=last_conversation_at,
            new=False,
            row_number=0,
            recorded=row[-1] or "",
            score_inputs=row[fill_end:-3],
            current_warmth=(row[-3], row[-2]),
        )
        states.append(state)
    if written:  # reached by an email or phone its merge gave it, or by none of this batch's keys (no matter)
        states = sorted((*states, *written.values()), key=attrgetter("pk"))
    for state in states:
        index.add(state)  # rows come oldest first: the oldest lead wins when the database holds duplicates
    return index


def _as_written(state: _LeadState) -> _LeadState:
    """A lead a batch created or merged, as the batch's writes leave its row: filled, rescored, and recorded as
    created or merged by this job; a copy, since the next batch's matching changes its own."""
    return _LeadState(
        pk=state.pk,
        values=dict(state.values),
        owner_id=state.owner_id,
        event_id=state.event_id,
        last_conversation_at=state.last_conversation_at,
        new=False,
        row_number=0,
        recorded=state.recorded or MERGED,
        score_inputs=state.score_inputs,
        current_warmth=state.warmth or state.current_warmth,
    )


@dataclass(slots=True)
class _LeadState:
    pk: int | None
    values: dict[str, str]  # FILL_FIELDS
    owner_id: int | None
    event_id: int | None
    last_conversation_at: datetime | None
    new: bool
    row_number: int
    changed: set[str] = field(default_factory=set)
    recorded: str = ""  # what this job already did to the lead: CREATED, MERGED or ""
    score_inputs: tuple[Any, ...] | None = None  # SCORE_FIELDS, for a lead of the database
    warmth: tuple[int, str] | None = None  # (score, band) to write with the merge
    current_warmth: tuple[int, str] | None = None  # (score, band) as the database holds them


@dataclass
class _BatchResult:
    created: int = 0
    merged: int = 0
    errors: list[tuple[int, list[str], str]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


class _Index:
    """Leads by normalised email and by E.164 phone; the first lead a key was seen on keeps it."""

    __slots__ = ("by_email", "by_phone")

    def __init__(self) -> None:
        self.by_email: dict[str, _LeadState] = {}
        self.by_phone: dict[str, _LeadState] = {}

    def add(self, state: _LeadState) -> None:
        values = state.values
        if values["email"]:
            self.by_email.setdefault(values["email"], state)
        if values["phone_e164"]:
            self.by_phone.setdefault(values["phone_e164"], state)


def _batch_keys(outcomes: _JudgedBatch) -> tuple[list[str], list[str]]:
    """The batch's distinct normalised emails and E.164 phones (blanks left out)."""
    emails, phones = set(), set()
    for _, _, values, _, error in outcomes:
        if not error:
            emails.add(values["email"])
            phones.add(values["phone_e164"])
    emails.discard("")
    phones.discard("")
    return list(emails), list(phones)


class _DryRunMemory:
    """The dry run's stand-in for the leads an import would have written, in a temporary table.

    Counts depend only on which lead each email and phone leads to, and on whether that lead still has a
    blank email or phone to fill. So a lead the dry run would create is kept as (its email, its phone), and
    a lead already in the database only once this dry run gave it an email or phone (otherwise the next
    batch's lookup finds it as it is). A batch recalls the rows its own keys reach and writes back what it
    changed: the process holds one batch, however long the file (it held ~1.1 KB per lead it would create).
    The table is the connection's own (TEMPORARY) and dropped when the run ends.
    """

    COLUMNS = ("email", "phone", "phone_e164")
    _CHUNK = 500  # SQLite: keys per IN (...) list

    def __init__(self) -> None:
        self.table = f"import_dry_run_{uuid.uuid4().hex[:16]}"
        self.created = False
        self.next_ref = -1  # leads it would create get -1, -2, ...; leads of the database keep their id

    def _create(self) -> None:
        table = self.table
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {table} (ref bigint PRIMARY KEY, email text NOT NULL, "
                "phone text NOT NULL, phone_e164 text NOT NULL)"
            )
            cursor.execute(f"CREATE INDEX {table}_email ON {table} (email)")
            cursor.execute(f"CREATE INDEX {table}_phone ON {table} (phone_e164)")
        self.created = True

    def drop(self) -> None:
        if self.created:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            self.created = False

    def _rows(self, emails: list[str], phones: list[str]) -> list[tuple[int, str, str, str]]:
        select = f"SELECT ref, email, phone, phone_e164 FROM {self.table}"  # nosec B608 # our own name
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                keys = "ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))"  # see _leads_by_contact
                cursor.execute(
                    f"{select} WHERE email = {keys} OR phone_e164 = {keys}", [json.dumps(emails), json.dumps(phones)]
                )
                return cursor.fetchall()
            found: dict[int, tuple[int, str, str, str]] = {}
            for column, keys in (("email", emails), ("phone_e164", phones)):
                for start in range(0, len(keys), self._CHUNK):
                    chunk = keys[start : start + self._CHUNK]
                    cursor.execute(f"{select} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk)
                    found.update((row[0], row) for row in cursor.fetchall())
            return list(found.values())

    def recall(self, emails: list[str], phones: list[str]) -> tuple[_Index, list[_LeadState]]:
        """The remembered leads holding one of these emails or phones, as an index and as a list."""
        index, states = _Index(), []
        if not self.created or not (emails or phones):
            return index, states
        blank = dict.fromkeys(FILL_FIELDS, "")
        for ref, email, phone, e164 in self._rows(emails, phones):
            state = _LeadState(
                pk=ref,
                values={**blank, "email": email, "phone": phone, "phone_e164": e164},
                owner_id=None,
                event_id=None,
                last_conversation_at=None,
                new=ref < 0,  # a lead it would create: never "merged" into the database
                row_number=0,
            )
            index.add(state)
            states.append(state)
        return index, states

    def remember(self, created: list[_LeadState], touched: list[_LeadState]) -> None:
        """Add the leads it would create; write back the email and phone of leads it gave one."""
        if not (created or touched):
            return
        if not self.created:
            self._create()
        table, columns = self.table, self.COLUMNS
        new_rows = []
        for state in created:
            state.pk, self.next_ref = self.next_ref, self.next_ref - 1
            new_rows.append((state.pk, *[state.values[name] for name in columns]))
        changed = [(state.pk, *[state.values[name] for name in columns]) for state in touched]
        with connection.cursor() as cursor:
            if new_rows and connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} (ref, email, phone, phone_e164) FROM STDIN") as copy:
                    for row in new_rows:
                        copy.write_row(row)
            elif new_rows:
                cursor.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)", new_rows)  # nosec B608
            if changed:
                cursor.executemany(
                    f"INSERT INTO {table} VALUES (%s, %s, %s, %s) ON CONFLICT (ref) DO UPDATE SET "  # nosec B608
                    "email = excluded.email, phone = excluded.phone, phone_e164 = excluded.phone_e164",
                    changed,
                )
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {table}")  # no autovacuum on temporary tables: keep the plan on the indexes


class _Engine:
    """Judges rows and matches them to leads; with a job it writes, without one it only counts."""

    def __init__(self, *, options: ImportOptions, file_name: str, job: ImportJob | None) -> None:
        self.options = options
        self.file_name = file_name
        self.job = job
        self.judge_row = importing.RowJudge(options.mapping, region=settings.PHONE_DEFAULT_REGION, limits=lead_limits())
        # The dry run writes nothing, so what earlier batches "created" is remembered instead, in a temporary
        # table (memory stays flat however long the file); `recalled` is the part this batch's keys reach.
        self.memory = _DryRunMemory() if job is None else None
        self.recalled = _Index()
        # Leads this run has created (or, dry, would have) before the batch being matched: round-robin goes on
        # from there. Counted as batches are matched, since with two connections a batch is matched before the
        # one before it commits its counters; a re-run starts from the committed count.
        self.created_before = job.created_count if job is not None else 0
        self._writer: _OrmWriter | _PostgresWriter | None = None

    def close(self) -> None:
        """Drop the dry run's temporary table (the connection outlives the run in a worker)."""
        if self.memory is not None:
            self.memory.drop()

    def judge(self, batch: list[tuple[int, list[str]]]) -> _JudgedBatch:
        return self.judge_row.judged(batch)

    def _lookup(self, emails: list[str], phones: list[str]) -> _Index:
        return _index_of(self._found(emails, phones))

    def _found(self, emails: list[str], phones: list[str]) -> list[tuple[Any, ...]]:
        if not (emails or phones):
            return []
        return _leads_by_contact(emails, phones, self.job.pk if self.job is not None else None)

    def _next_owner(self, index: int) -> int | None:
        owners = self.options.owner_ids
        return owners[index % len(owners)] if owners else None

    def lookup(self, outcomes: _JudgedBatch) -> _Index:
        """The leads of the database that the batch's emails and phones reach (one query)."""
        return _index_of(self.found(outcomes))

    def found(self, outcomes: _JudgedBatch) -> list[tuple[Any, ...]]:
        """`lookup`'s query alone: its rows, which `plan_found` (in the matching thread) makes an index."""
        return self._found(*_batch_keys(outcomes))

    def plan_found(
        self,
        outcomes: _JudgedBatch,
        found: list[tuple[Any, ...]],
        *,
        earlier: _BatchPlan | None = None,
        previous: _BatchPlan | None = None,
    ) -> _BatchPlan:
        """`plan_created` from `found`'s rows (the matching thread's first step). With two connections `found`
        was looked up in the transaction of the batch before (`previous`), after its new leads, but perhaps
        before `earlier` (the batch before that, on the other connection) committed, and before the merges of
        either were written. Their leads, as those batches leave them, then stand in for the rows found, and
        join them by the emails and phones they hold (the new leads of `earlier`, the merges' filled ones)."""
        if earlier is None and previous is None:
            return self.plan_created(outcomes, _index_of(found))
        emails, phones = map(set, _batch_keys(outcomes))
        found_ids = {row[0] for row in found}
        groups = [*((earlier.created, earlier.merged) if earlier else ()), *((previous.merged,) if previous else ())]
        # Oldest first, so that a lead's state after the later batch wins; only those this batch can reach.
        written = {
            state.pk: _as_written(state)
            for states in groups
            for state in states
            if state.pk in found_ids or state.values["email"] in emails or state.values["phone_e164"] in phones
        }
        return self.plan_created(outcomes, _index_of(found, written))

    def apply(self, outcomes: _JudgedBatch) -> _BatchResult:
        """Match one batch and write it (the import) or remember it (the dry run)."""
        if self.memory is None:
            plan = self.plan(outcomes, self.lookup(outcomes))
            self.write(plan)
            return plan.result
        emails, phones = _batch_keys(outcomes)
        index = self._lookup(emails, phones)
        # The dry run's earlier batches, which win over the database.
        self.recalled, recalled = self.memory.recall(emails, phones)
        result, created, merged = self._match(outcomes, index)
        # What a later batch would find in the database had this been the import: the leads it would
        # create, and the leads (found in the database or remembered) it gave an email or phone.
        touched = {state.pk: state for state in (*recalled, *merged) if state.changed & _CONTACT_FIELDS}
        self.memory.remember(created, list(touched.values()))
        self.recalled = _Index()
        return result

    def _match(self, outcomes: _JudgedBatch, index: _Index) -> tuple[_BatchResult, list[_LeadState], list[_LeadState]]:
        """Each row's lead: a new one, or the one its email or phone reaches (filled). No database access, so
        the next batch is matched in a thread while the database commits this one."""
        result = _BatchResult()
        memory = self.recalled
        created: list[_LeadState] = []
        merged: dict[int, _LeadState] = {}
        event_id = self.job.event_id if self.job is not None else None
        created_before = self.created_before
        by_email, by_phone = index.by_email, index.by_phone
        for number, cells, values, warnings, error in outcomes:
            if error:
                result.errors.append((number, cells, error))
                continue
            if warnings:
                result.warnings.extend({"row": number, "message": message} for message in warnings)
            email, phone = values["email"], values["phone_e164"]
            state = None
            if email:
                state = memory.by_email.get(email) or by_email.get(email)
            if state is None and phone:
                state = memory.by_phone.get(phone) or by_phone.get(phone)
            if state is None:
                state = _LeadState(
                    pk=None,
                    values=values,  # the judged row's own dict: it holds exactly FILL_FIELDS
                    owner_id=self._next_owner(created_before + len(created)),
                    event_id=event_id,
                    last_conversation_at=None,
                    new=True,
                    row_number=number,
                )
                created.append(state)
            else:
                self._fill(state, values, created_before + len(created), event_id, index)
                if not state.new and state.pk is not None:
                    merged.setdefault(state.pk, state)
                    if not state.row_number:
                        state.row_number = number
                result.merged += 1
            index.add(state)
        result.created = len(created)
        self.created_before += len(created)
        return result, created, list(merged.values())

    def _fill(
        self,
        state: _LeadState,
        values: dict[str, str],
        owner_index: int,
        event_id: int | None,
        index: _Index,
    ) -> None:
        """Merge: blank fields are filled, nothing is overwritten, no email or phone is given to a second lead."""
        current = state.values
        for name in FILL_FIELDS:
            if name in ("phone", "phone_e164"):
                continue
            new = values[name]
            if new and not current[name]:
                if name == "email" and self._owner_of_email(new, index, state) is not state:
                    continue
                current[name] = new
                state.changed.add(name)
        # The phone as written and its E.164 form travel together: both blank, or neither is touched.
        e164 = values["phone_e164"]
        if (
            e164
            and not (current["phone"] or current["phone_e164"])
            and self._owner_of_phone(e164, index, state) is state
        ):
            current["phone"], current["phone_e164"] = values["phone"], e164
            state.changed |= {"phone", "phone_e164"}
        if state.owner_id is None and self.options.owner_ids:
            state.owner_id = self._next_owner(owner_index)
            state.changed.add("owner")
        if state.event_id is None and event_id is not None:
            state.event_id = event_id
            state.changed.add("event")

    def _owner_of_email(self, email: str, index: _Index, default: _LeadState) -> _LeadState:
        return self.recalled.by_email.get(email) or index.by_email.get(email) or default

    def _owner_of_phone(self, phone: str, index: _Index, default: _LeadState) -> _LeadState:
        return self.recalled.by_phone.get(phone) or index.by_phone.get(phone) or default

    def _met_at(self, now: datetime) -> datetime | None:
        if not self.options.event_date:
            return None
        met = timezone.make_aware(datetime.combine(self.options.event_date, time(12)))
        return min(met, now)

    def plan(self, outcomes: _JudgedBatch, index: _Index) -> _BatchPlan:
        """An import batch matched, and everything it writes decided (in Python, no database access)."""
        return self.plan_merges(self.plan_created(outcomes, index))

    def plan_created(self, outcomes: _JudgedBatch, index: _Index) -> _BatchPlan:
        """The batch matched and its new leads decided: all that `write_created` needs. `plan_merges` decides
        the rest (the merged leads' warmth, timeline entries and records) while those are written."""
        result, created, merged = self._match(outcomes, index)
        now = timezone.now()
        weights = warmth_weights()
        # Every new lead of a batch has the same warmth inputs (connection, created now, no calls, no referral),
        # so the formula runs once here.
        warmth = compute_warmth(
            WarmthInputs(
                connection_type=self.options.connection_type, created_at=now, event_name=self.options.event_name
            ),
            now=now,
            weights=weights,
        )
        assert self.job is not None
        common = {
            "import_job_id": self.job.pk,
            "connection_type": self.options.connection_type,
            "created_at": now,
            "updated_at": now,
            "warmth": warmth.score,
            "warmth_band": warmth.band,
            "warmth_computed_at": now,
        }
        return _BatchPlan(result, created, merged, [], [], [], now, common)

    def plan_merges(self, plan: _BatchPlan) -> _BatchPlan:
        """`plan_created`'s plan completed with what its merged leads write."""
        job = self.job
        assert job is not None
        now, weights, job_id = plan.now, warmth_weights(), job.pk
        met_at = self._met_at(now)
        updates, entries, records = plan.updates, plan.entries, plan.records
        event_label = self.options.event_name or ""
        if event_label:
            kind, summary = TimelineEntry.Kind.MET_AGAIN, f"Met again at {event_label}"[:300]
        else:
            kind, summary = TimelineEntry.Kind.MERGED, f"Matched again in the list {self.file_name}"[:300]
        for state in plan.merged:
            if state.recorded == CREATED:
                # A later row of the same file as the one that created the lead: same meeting, no "met again".
                if state.changed:
                    updates.append(state)
                continue
            first_time = not state.recorded
            if first_time and met_at and (state.last_conversation_at is None or state.last_conversation_at < met_at):
                state.last_conversation_at = met_at
                state.changed.add("last_conversation_at")
            if first_time:
                # Met again: rescored in the same UPDATE as its filled blanks (one write per merged lead). A
                # referral lead's score reads its referrer's conversions: the job's end rescores those.
                state.warmth = _merged_warmth(state, now=now, weights=weights)
                if state.warmth == state.current_warmth:
                    state.warmth = None  # the same score and band (a re-import without a date): no write for it
            if state.changed or state.warmth is not None:
                updates.append(state)
            if first_time:
                records.append((state.pk, state.row_number))
                data = {
                    "import_job": job_id,
                    "row": state.row_number,
                    "filled": sorted(state.changed - {"last_conversation_at"}),
                }
                entries.append((state.pk, kind, summary, json.dumps(data)))
        return plan

    def write(self, plan: _BatchPlan) -> None:
        """One batch's writes: new leads (their job and row are their "Imported from" line: no timeline entry or
        record of their own), merged leads (blanks, warmth), the merges' timeline entries and import records."""
        self.write_created(plan)
        self.write_merged(plan)

    def _writer_for(self) -> _OrmWriter | _PostgresWriter:
        if self._writer is None:
            self._writer = _PostgresWriter() if connection.vendor == "postgresql" else _OrmWriter()
        return self._writer

    def write_created(self, plan: _BatchPlan) -> None:
        """The batch's new leads (each with its job and row): nothing an earlier batch writes is needed for them."""
        created = plan.created
        new_ids = self._writer_for().insert_leads(created, plan.common)
        for lead_id, state in zip(new_ids, created, strict=True):
            state.pk, state.new, state.recorded = lead_id, False, CREATED

    def write_merged(self, plan: _BatchPlan) -> None:
        """The batch's merged leads, their timeline entries and records: these may be leads the previous batch
        created, so (with two connections) they wait for its commit."""
        job = self.job
        assert job is not None
        writer = self._writer_for()
        writer.update_leads(plan.updates, now=plan.now)
        writer.insert_entries(plan.entries, actor_id=job.created_by_id, at=plan.now)
        writer.insert_records(job.pk, plan.records)


@dataclass(slots=True)
class _BatchPlan:
    """What one import batch writes, decided before any of it is written."""

    result: _BatchResult
    created: list[_LeadState]
    merged: list[_LeadState]  # leads of the database (or of earlier batches) the batch's rows reach
    updates: list[_LeadState]  # merged leads whose fields or warmth change
    entries: list[tuple[int, str, str, str]]  # the merged leads' timeline entries
    records: list[tuple[int, int]]  # the merged leads' import records: (lead, row)
    now: datetime
    common: dict[str, Any]  # every new lead's job, connection, times and warmth


UPDATE_FIELDS = (*FILL_FIELDS, "owner_id", "event_id", "last_conversation_at")
_fill_values = itemgetter(*FILL_FIELDS)  # a lead state's values in FILL_FIELDS order, as one tuple (in C)
WARMTH_FIELDS = ("warmth", "warmth_band", "warmth_computed_at")


def _merged_warmth(state: _LeadState, *, now: datetime, weights: Any) -> tuple[int, str] | None:
    """(score, band) of a lead of the database as the merge leaves it; None for a referral lead."""
    if state.score_inputs is None:
        return None
    inputs = dict(zip(SCORE_FIELDS, state.score_inputs, strict=True))
    if inputs["connection_type"] == ConnectionType.REFERRAL:
        return None
    result = compute_warmth(
        WarmthInputs(last_conversation_at=state.last_conversation_at, **inputs), now=now, weights=weights
    )
    return result.score, result.band


_CONTACT_FIELDS = frozenset({"email", "phone", "phone_e164"})


class _OrmWriter:
    """Portable bulk writes through the ORM (SQLite, the embedded default)."""

    def insert_leads(self, states: list[_LeadState], common: dict[str, Any]) -> list[int]:
        leads = [
            Lead(
                stage=Stage.NEW,
                owner_id=state.owner_id,
                event_id=state.event_id,
                import_row=state.row_number,
                **state.values,
                **common,
            )
            for state in states
        ]
        Lead.objects.bulk_create(leads, batch_size=500)
        return [lead.pk for lead in leads]

    def update_leads(self, states: list[_LeadState], *, now: datetime) -> None:
        if not states:
            return
        for scored in (True, False):  # with or without a new warmth (a lead merged again keeps its own)
            group = [state for state in states if (state.warmth is not None) is scored]
            leads = []
            for state in group:
                lead = Lead(pk=state.pk, owner_id=state.owner_id, event_id=state.event_id, **state.values)
                lead.last_conversation_at, lead.updated_at = state.last_conversation_at, now
                if state.warmth is not None:
                    (lead.warmth, lead.warmth_band), lead.warmth_computed_at = state.warmth, now
                leads.append(lead)
            fields = {name for state in group for name in state.changed}  # model field names: "owner", ...
            fields |= {"updated_at", *(WARMTH_FIELDS if scored else ())}
            if leads:
                Lead.objects.bulk_update(leads, sorted(fields), batch_size=500)

    def insert_entries(self, entries: list[tuple[int, str, str, str]], *, actor_id: int | None, at: datetime) -> None:
        TimelineEntry.objects.bulk_create(
            [
                TimelineEntry(lead_id=lead, kind=kind, actor_id=actor_id, at=at, summary=summary, data=json.loads(data))
                for lead, kind, summary, data in entries
            ],
            batch_size=500,
        )

    def insert_records(self, job_id: int, records: list[tuple[int, int]]) -> None:
        ImportRecord.objects.bulk_create(
            [ImportRecord(job_id=job_id, lead_id=lead, row_number=row) for lead, row in records],
            batch_size=500,
        )


class _PostgresWriter:
    """The same writes on PostgreSQL as COPY and one UPDATE ... FROM unnest(): the import's hot path."""

    LEAD_COLUMNS = ("id", *FILL_FIELDS, "owner", "event", "import_row")

    def __init__(self) -> None:
        self.lead_sequence: str | None = None

    def _copy(self, model: type[Any], columns: Sequence[str], rows: Iterable[tuple[Any, ...]], fixed: dict) -> None:
        """COPY rows (values for the fields named in `columns`) into model's table; every other column gets
        `fixed`'s value, else the field's default as the ORM would save a new instance."""
        given = [model._meta.get_field(name) for name in columns]
        template = model(**fixed)
        others = [f for f in model._meta.concrete_fields if f not in given and not f.primary_key]
        constants = tuple(
            _copy_text(
                f.get_db_prep_save(
                    fixed[f.attname] if f.attname in fixed else f.pre_save(template, add=True), connection
                )
            )
            for f in others
        )
        names = ", ".join(connection.ops.quote_name(f.column) for f in (*given, *others))
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row + constants)

    def insert_leads(self, states: list[_LeadState], common: dict[str, Any]) -> list[int]:
        if not states:
            return []
        with connection.cursor() as cursor:
            if self.lead_sequence is None:
                # Looked up once: pg_get_serial_sequence() for every id took 8x as long (33 ms per 10k, not 4).
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Lead._meta.db_table])
                self.lead_sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self.lead_sequence, len(states)]
            )
            ids = [row[0] for row in cursor.fetchall()]
        fill = _fill_values
        rows = (
            (lead_id, *fill(state.values), state.owner_id, state.event_id, state.row_number)
            for lead_id, state in zip(ids, states, strict=True)
        )
        self._copy(Lead, self.LEAD_COLUMNS, rows, {"stage": Stage.NEW, **common})
        return ids

    def update_leads(self, states: list[_LeadState], *, now: datetime) -> None:
        if not states:
            return
        columns = [Lead._meta.get_field(name).column for name in UPDATE_FIELDS]
        types = ["text"] * len(FILL_FIELDS) + ["bigint", "bigint", "timestamptz", "integer", "text"]
        # A lead merged again by this job (a later row) keeps the warmth its first merge wrote: NULL here.
        assignments = ", ".join(f"{c} = v.{c}" for c in columns)
        assignments += ", warmth = COALESCE(v.warmth, l.warmth), warmth_band = COALESCE(v.warmth_band, l.warmth_band)"
        assignments += ", warmth_computed_at = CASE WHEN v.warmth IS NULL THEN l.warmth_computed_at ELSE %s END"
        # The rows as one JSON array of arrays: json.dumps is C, where psycopg dumps array parameters
        # element by element in Python (~3 s per 100k rows in the profile).
        names = ["id", *columns, "warmth", "warmth_band"]
        typed = zip(names, ["bigint", *types], strict=True)
        fields = ", ".join(f"(e->>{i})::{t} AS {name}" for i, (name, t) in enumerate(typed))
        fill = _fill_values
        rows = [
            [
                state.pk,
                *fill(state.values),
                state.owner_id,
                state.event_id,
                state.last_conversation_at.isoformat() if state.last_conversation_at else None,
                *(state.warmth or (None, None)),
            ]
            for state in states
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Lead._meta.db_table} AS l SET {assignments}, updated_at = %s "  # nosec B608 # model names
                f"FROM (SELECT {fields} FROM jsonb_array_elements(%s::jsonb) AS e) AS v WHERE l.id = v.id",
                [now, now, json.dumps(rows)],
            )

    def insert_entries(self, entries: list[tuple[int, str, str, str]], *, actor_id: int | None, at: datetime) -> None:
        if entries:
            fixed = {"actor_id": actor_id, "at": at}
            self._copy(TimelineEntry, ("lead", "kind", "summary", "data"), entries, fixed)

    def insert_records(self, job_id: int, records: list[tuple[int, int]]) -> None:
        # Never a conflict: a lead gets one record per job, and the batch knows what this job recorded (its
        # lookup reads the records under the import lock), so a plain COPY does.
        if records:
            self._copy(ImportRecord, ("lead", "row_number"), records, {"job_id": job_id})


def _copy_text(value: Any) -> Any:
    """A constant column's value as COPY text (PostgreSQL parses it for the column's type), once per batch."""
    if value is None:
        return value
    if isinstance(value, str):
        return str(value)  # a choice's enum member as its plain text
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, float, date)):
        return str(value)
    return value


# --- The command's one call ---------------------------------------------------------------------


def import_run_now(
    *, path: Path | str, file_name: str, options: ImportOptions, actor: Any | None, batch_size: int | None = None
) -> tuple[ImportJob, ImportReport]:
    """Import a file in this process (the command): a job in the history like any other, so undo works."""
    with open(path, "rb") as stream:
        table = importing.read_table(stream, file_name=file_name)  # an unreadable file stops here: nothing stored
        headers, header_row = table.headers, table.header_row
        stream.seek(0)
        relative, size = import_file_store(source=stream, file_name=file_name)
    job = ImportJob.objects.create(
        created_by=actor,
        file_name=os.path.basename(file_name)[:255],
        stored_path=relative,
        file_size=size,
        headers=headers,
        header_row=header_row,
        mapping=options.mapping,
        event_name=options.event_name,
        event_date=options.event_date,
        connection_type=options.connection_type,
        owner_ids=options.owner_ids,
        status=ImportJob.Status.QUEUED,
    )
    outcome = import_job_run(job_id=job.pk, batch_size=batch_size)
    job.refresh_from_db()
    if outcome != "done" or job.status != ImportJob.Status.DONE:
        raise RuntimeError(job.failure or f"The import did not run ({outcome}).")
    report = ImportReport(
        rows=job.rows_processed,
        created=job.created_count,
        merged=job.merged_count,
        errors=job.error_count,
        warnings=job.warning_count,
        error_rows=[{"row": e["row"], "reason": e["reason"]} for e in error_file_rows(job=job)],
        warning_rows=list(job.warning_samples),
    )
    return job, report


# --- Undo -----------------------------------------------------------------------------------------

UNDO_REASONS = {
    "called": "called since the import",
    "stage": "its stage changed",
    "owner": "its owner changed",
    "later_import": "merged by a later import",
    "follow_up": "someone scheduled a follow-up",
    "referral": "has a referral",
    "edited": "edited since the import",
}


@transaction.atomic
def import_job_undo(*, job: ImportJob, actor: Any) -> dict[str, Any]:
    """Remove the leads this import created that nobody has touched since; say which stay and why."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        raise ValidationError("Only a finished or failed import can be undone.")
    touched_after = job.finished_at or job.heartbeat_at or timezone.now()
    created = Lead.objects.filter(import_job=job)
    entries = TimelineEntry.objects.filter(lead_id=OuterRef("pk"))
    checks: dict[str, Any] = {
        "stage": ~Q(stage=Stage.NEW) | Exists(entries.filter(kind=TimelineEntry.Kind.STAGE_CHANGED)),
        "owner": Exists(entries.filter(kind=TimelineEntry.Kind.OWNER_CHANGED)),
        "later_import": Exists(ImportRecord.objects.filter(lead_id=OuterRef("pk")).exclude(job_id=job.pk)),
        "follow_up": Exists(FollowUp.objects.filter(lead_id=OuterRef("pk"), created_by__isnull=False)),
        "referral": Q(referral__isnull=False),
        "edited": Q(updated_at__gt=touched_after + timedelta(seconds=1)),
    }
    if apps.is_installed("calls"):
        call_model = apps.get_model("calls", "Call")  # leads never imports calls at module level
        checks["called"] = Exists(call_model.objects.filter(lead_id=OuterRef("pk")))
    annotated = created.annotate(**{f"why_{name}": Q(condition) for name, condition in checks.items()})
    fields = ["pk", "first_name", "last_name", *(f"why_{name}" for name in checks)]
    kept: list[dict[str, Any]] = []
    by_reason: dict[str, int] = {}
    removable: list[int] = []
    for row in annotated.values(*fields).order_by("pk").iterator(chunk_size=2000):
        reasons = [UNDO_REASONS[name] for name in checks if row[f"why_{name}"]]
        if not reasons:
            removable.append(row["pk"])
            continue
        for reason in reasons:
            by_reason[reason] = by_reason.get(reason, 0) + 1
        if len(kept) < 500:
            name = f"{row['first_name']} {row['last_name']}".strip()
            kept.append({"lead_id": row["pk"], "name": name, "reasons": reasons})
    for start in range(0, len(removable), 1000):
        Lead.objects.filter(pk__in=removable[start : start + 1000]).delete()
    report = {
        "removed": len(removable),
        "kept": created.count(),  # what is left of the created leads after the delete
        "kept_leads": kept,
        "kept_by_reason": by_reason,
        "merged_left": job.records.count(),
    }
    job.status, job.undone_at, job.undone_by, job.undo_report = ImportJob.Status.UNDONE, timezone.now(), actor, report
    job.save(update_fields=["status", "undone_at", "undone_by", "undo_report"])
    return report
