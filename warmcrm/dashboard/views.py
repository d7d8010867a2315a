"""The dashboard page and its CSV exports. Managers and admins only; reps get 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from leads.models import ConnectionType
from leads.roles import sees_all_leads

from . import charts, exports, selectors, services
from .filters import DEFAULT_PERIOD, DashboardFilterForm


def manager_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not sees_all_leads(request.user):
            raise PermissionDenied("The dashboards are for managers.")
        return view(request, *args, **kwargs)

    return wrapped


def _every(seconds: int) -> str:
    """120 -> '2 minutes', 45 -> '45 seconds'."""
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return "minute" if minutes == 1 else f"{minutes} minutes"


@require_GET
@login_required
@manager_required
@vary_on_headers("HX-Request")
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET or {"period": DEFAULT_PERIOD}, user=request.user)
    context: dict[str, Any] = {"form": form, "query": request.GET.urlencode()}
    template = "dashboard/index.html#panels" if request.htmx else "dashboard/index.html"
    if not form.is_valid():
        # htmx swaps only 2xx answers in, and the messages must reach the page; without htmx, a real 400.
        return render(request, template, context, status=200 if request.htmx else 400)
    user, filters = request.user, form.filters()
    summary = services.summary_ensure_fresh()
    with selectors.reading_dashboard():
        rows = selectors.cohort_rows(user, filters)
        cohort = selectors.cohort_counts(user, filters, rows)
        context.update(
            filters=filters,
            funnel=selectors.funnel(user, filters, cohort),
            connections=selectors.conversion_by_connection(user, filters, cohort),
            events=selectors.events(user, filters, rows),
            referrers=selectors.referrers(user, filters),
            reps=selectors.rep_activity(user, filters),
            bands=selectors.warmth_bands(user, filters),
            stale=selectors.stale_list(user, filters),
        )
    context.update(
        stale_after_days=settings.STALE_AFTER_DAYS,
        connection_label=ConnectionType(filters.connection_type).label if filters.connection_type else "",
        generated_at=timezone.now(),
        summary_built_at=summary.built_at,
        summary_every=_every(settings.DASHBOARD_SUMMARY_SECONDS),
    )
    context["charts"] = {
        "funnel": charts.funnel_chart(context["funnel"]),
        "connections": charts.connections_chart(context["connections"]),
        "events": charts.events_chart(context["events"]),
        "referrers": charts.referrers_chart(context["referrers"]),
        "reps": charts.reps_chart(context["reps"]),
        "bands": charts.bands_chart(context["bands"]),
    }
    return render(request, template, context)


@require_GET
@login_required
@manager_required
def export(request: HttpRequest, panel: str) -> HttpResponse:
    if panel not in exports.PANELS:
        raise Http404("No such table.")
    form = DashboardFilterForm(request.GET or {"period": DEFAULT_PERIOD}, user=request.user)
    if not form.is_valid():
        messages = "; ".join(str(error) for errors in form.errors.values() for error in errors)
        return HttpResponse(f"Fix the filters first: {messages}", status=400, content_type="text/plain; charset=utf-8")
    filename = f"warmcrm-{panel}-{timezone.localdate():%Y-%m-%d}.csv"
    services.summary_ensure_fresh()
    with selectors.reading_dashboard():
        header, rows = exports.panel_table(panel, request.user, form.filters())
        return exports.csv_response(filename, header, rows)
