"""Import pages (admins only): upload, mapping and dry run, the job's progress, results, error file, undo.

Thin: validate a form, call one service in `leads.import_services`, render. The job page is one template;
its changing part (`job-state`) is polled by htmx while a job runs and is rendered in full on reload.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import import_services
from .import_forms import ImportSettingsForm, ImportUploadForm
from .models import ImportJob
from .roles import is_admin

RUNNING = (ImportJob.Status.CHECKING, ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


def admin_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous users go to the login page; signed-in users who are not admins get 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied("Only admins can import leads.")
        return view(request, *args, **kwargs)

    return wrapper


def _history(request: HttpRequest, form: ImportUploadForm, status: int = 200) -> HttpResponse:
    jobs = ImportJob.objects.select_related("created_by", "event").order_by("-created_at", "-id")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    template = "imports/index.html#import-history" if request.htmx and request.method == "GET" else "imports/index.html"
    return render(request, template, {"form": form, "page": page}, status=status)


@require_GET
@admin_only
def import_index(request: HttpRequest) -> HttpResponse:
    return _history(request, ImportUploadForm())


@require_POST
@admin_only
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_services.import_job_create(
                actor=request.user, source=upload, file_name=upload.name, size=upload.size
            )
        except ValidationError as exc:
            form.add_error("file", exc.messages)
        else:
            return redirect("imports:detail", job_id=job.pk)
    return _history(request, form, status=400)


def _job_context(job: ImportJob, form: ImportSettingsForm | None = None, editing: bool = False) -> dict[str, Any]:
    context: dict[str, Any] = {"job": job, "running": job.status in RUNNING, "editing": editing}
    context["stalled"] = import_services.job_is_stalled(job)
    if job.status == ImportJob.Status.UPLOADED or editing:
        context["form"] = form or ImportSettingsForm(job=job)
        context["preview"] = import_services.import_job_preview(job=job)
        context["remembered"] = import_services.remembered_mapping(job.headers) is not None
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED, ImportJob.Status.UNDONE):
        context["error_rows"] = import_services.error_file_rows(job=job, limit=20)
        context["has_error_file"] = import_services.error_file_path(job=job) is not None
    return context


@require_http_methods(["GET", "POST"])
@admin_only
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by", "event", "undone_by"), pk=job_id)
    editing = job.status == ImportJob.Status.CHECKED and request.GET.get("edit") == "1"
    if request.method == "POST":
        form = ImportSettingsForm(request.POST, job=job)
        if form.is_valid():
            data = form.cleaned_data
            try:
                import_services.import_job_configure(
                    job=job,
                    actor=request.user,
                    mapping=data["mapping"],
                    connection_type=data["connection_type"],
                    owner_ids=[user.pk for user in data["owners"]],
                    event_name=data["event_name"],
                    event_date=data["event_date"],
                )
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
                for field, problems in errors.items():
                    field = {"owner_ids": "owners"}.get(field, field)
                    form.add_error(field if field in form.fields else None, problems)
            else:
                return redirect("imports:detail", job_id=job.pk)
        return render(request, "imports/job.html", _job_context(job, form, editing=True), status=400)
    return render(request, "imports/job.html", _job_context(job, editing=editing))


@require_GET
@admin_only
def import_state(request: HttpRequest, job_id: int) -> HttpResponse:
    """The changing part of the job page, polled by htmx every second while the job runs."""
    job = get_object_or_404(ImportJob.objects.select_related("created_by", "event", "undone_by"), pk=job_id)
    return render(request, "imports/job.html#job-state", _job_context(job))


def _act(request: HttpRequest, job_id: int, action: Callable[..., Any], success: str) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=job_id)
    try:
        action(job=job, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return redirect("imports:detail", job_id=job.pk)


@require_POST
@admin_only
def import_confirm(request: HttpRequest, job_id: int) -> HttpResponse:
    return _act(request, job_id, import_services.import_job_confirm, "Import started.")


@require_POST
@admin_only
def import_rerun(request: HttpRequest, job_id: int) -> HttpResponse:
    return _act(request, job_id, import_services.import_job_rerun, "Re-run queued: it continues after its last batch.")


@require_POST
@admin_only
def import_undo(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=job_id)
    try:
        report = import_services.import_job_undo(job=job, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        kept = f"; kept {report['kept']} that someone has worked on (listed below)" if report["kept"] else ""
        messages.success(request, f"Undone: removed {report['removed']} leads this import created{kept}.")
    return redirect("imports:detail", job_id=job.pk)


@require_GET
@admin_only
def import_error_file(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=job_id)
    if import_services.error_file_path(job=job) is None:
        messages.error(request, "This import has no error file.")
        return redirect("imports:detail", job_id=job.pk)
    response = StreamingHttpResponse(import_services.error_file_chunks(job=job), content_type="text/csv; charset=utf-8")
    name = Path(job.file_name).stem[:80] or "import"
    response["Content-Disposition"] = f'attachment; filename="{_ascii(name)}-errors.csv"'
    return response


def _ascii(name: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name)
