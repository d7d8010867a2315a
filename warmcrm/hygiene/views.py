"""Hygiene pages: duplicate pairs and the merge page, the slipping list, lost reasons, the stale-flag snooze.

Duplicates, slipping leads and lost reasons are for managers and admins (reps get 403); every lead is
looked up through leads_visible_to, so a lead the user may not see is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads.selectors import lead_get_for, leads_visible_to
from leads.services import lead_snooze_stale

from . import selectors, services
from .forms import MergeForm, SnoozeStaleForm
from .models import DuplicatePair

PAGE_SIZE = 50


def require_reviewer(request: HttpRequest) -> None:
    if not selectors.can_review(request.user):
        raise PermissionDenied("Only managers and admins can review this.")


@require_GET
@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    require_reviewer(request)
    page = Paginator(selectors.open_pairs(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "hygiene/duplicates.html", {"page": page})


def _open_pair(request: HttpRequest, pair_id: int) -> DuplicatePair:
    require_reviewer(request)
    pair = get_object_or_404(DuplicatePair, pk=pair_id, lead_a__isnull=False, lead_b__isnull=False)
    if leads_visible_to(request.user).filter(pk__in=[pair.lead_a_id, pair.lead_b_id]).count() != 2:
        raise Http404("One of these leads no longer exists.")
    return pair


@require_http_methods(["GET", "POST"])
@login_required
def merge(request: HttpRequest, pair_id: int) -> HttpResponse:
    pair = _open_pair(request, pair_id)
    if pair.status != DuplicatePair.Status.OPEN:
        messages.info(request, f"This pair was already decided: {pair.get_status_display().lower()}.")
        return redirect("hygiene:duplicates")
    leads = {
        lead.pk: lead
        for lead in leads_visible_to(request.user)
        .filter(pk__in=[pair.lead_a_id, pair.lead_b_id])
        .select_related("owner", "event")
        .annotate(
            call_count=Count("calls", distinct=True),
            open_follow_ups=Count("follow_ups", filter=Q(follow_ups__status="open"), distinct=True),
        )
    }
    lead_a, lead_b = leads[pair.lead_a_id], leads[pair.lead_b_id]
    differing = services.merge_differences(lead_a, lead_b)
    form = MergeForm(request.POST if request.method == "POST" else None, lead_a=lead_a, lead_b=lead_b, fields=differing)
    if request.method == "POST" and form.is_valid():
        survivor_id = form.cleaned_data["survivor"]
        survivor, other = (lead_a, lead_b) if survivor_id == lead_a.pk else (lead_b, lead_a)
        try:
            services.lead_merge(
                survivor=survivor, other=other, actor=request.user, take_from_other=form.take_from_other(), pair=pair
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, f"Merged {other} into {survivor}.")
            return redirect("leads:detail", lead_id=survivor.pk)
    rows = []
    for name in services.MERGE_FIELDS:
        field = lead_a._meta.get_field(name)
        rows.append(
            {
                "name": name,
                "label": field.verbose_name.capitalize(),
                "a": _display(lead_a, name),
                "b": _display(lead_b, name),
                "pick": form[f"pick_{name}"] if name in differing else None,
            }
        )
    context = {"pair": pair, "lead_a": lead_a, "lead_b": lead_b, "form": form, "rows": rows}
    return render(request, "hygiene/merge.html", context)


def _display(lead: Any, name: str) -> str:
    if name == "owner":
        return (lead.owner.get_full_name() or lead.owner.get_username()) if lead.owner_id else ""
    if name == "event":
        return str(lead.event) if lead.event_id else ""
    display = getattr(lead, f"get_{name}_display", None)
    return str(display() if display else getattr(lead, name))


@require_POST
@login_required
def not_duplicate(request: HttpRequest, pair_id: int) -> HttpResponse:
    pair = _open_pair(request, pair_id)
    try:
        services.pair_mark_not_duplicate(pair=pair, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{pair.lead_a} and {pair.lead_b} will not be proposed as duplicates again.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/leads/") else "hygiene:duplicates")


@require_GET
@login_required
def slipping(request: HttpRequest) -> HttpResponse:
    require_reviewer(request)
    leads = selectors.slipping_leads_for(request.user)
    total = leads.count()
    rows = leads[:200]
    return render(
        request,
        "hygiene/slipping.html",
        {"leads": rows, "total": total, "shown": len(rows), "overdue_days": settings.HYGIENE_ESCALATE_OVERDUE_DAYS},
    )


@require_GET
@login_required
def lost_reasons(request: HttpRequest) -> HttpResponse:
    require_reviewer(request)
    table = selectors.lost_reasons_by_connection(leads_visible_to(request.user))
    return render(request, "hygiene/lost_reasons.html", {"table": table})


@require_POST
@login_required
def snooze_stale(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The rep still believes in this lead: no stale follow-up and no escalation before the date."""
    lead = lead_get_for(request.user, lead_id)
    form = SnoozeStaleForm(request.POST)
    if form.is_valid():
        try:
            lead_snooze_stale(
                lead=lead, actor=request.user, until=form.cleaned_data["until"], reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, f"{lead} will not be flagged before {form.cleaned_data['until']:%Y-%m-%d}.")
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, f"Snooze not saved: {message}")
    return redirect("leads:detail", lead_id=lead.pk)
